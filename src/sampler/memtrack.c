/* memtrack.c -- memory over time from /proc; see memtrack.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/clock.h"
#include "proc/tree.h"
#include "sampler/memtrack.h"

/* A followed process: its open /proc file and its series. */
typedef struct mt_proc {
    pid_t pid;
    uint64_t start_time; /* with pid, names it (tree.h) */
    int fd;              /* statm, or smaps_rollup with pss */
    int rss, pss, swap;  /* its series (-1: none) */
    bool gone;
} mt_proc;

/* What one read found, in bytes. */
typedef struct mt_mem {
    uint64_t rss, pss, swap;
} mt_mem;

struct memtrack {
    memtrack_config cfg;
    sg_timeline *tl;
    int run;
    mt_proc root;
    mt_proc *kids;
    size_t n_kids, cap_kids;
    proc_list scan;
    pid_t *queue; /* the descendants found by the children files */
    size_t n_queue, cap_queue;
    bool no_children_files; /* CONFIG_PROC_CHILDREN is off: full scans */
    uint64_t next_scan_ns;
    uint64_t mono0_ns; /* CLOCK_MONOTONIC at real0: samples' Unix times */
    double real0;      /* are real0 plus the monotonic time since */
    long page;
    memtrack_counts counts;
};

memtrack *
memtrack_new(const memtrack_config *cfg, sg_timeline *tl, int run)
{
    memtrack *m = sg_calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->cfg = *cfg;
    m->tl = tl;
    m->run = run;
    m->root.fd = -1;
    m->page = sysconf(_SC_PAGESIZE);
    tl->interval_s = cfg->interval_s;
    tl->children_summed = cfg->children;
    return m;
}

static void
mt_close(mt_proc *p)
{
    if (p->fd >= 0)
        close(p->fd);
    p->fd = -1;
    p->gone = true;
}

void
memtrack_free(memtrack *m)
{
    if (!m)
        return;
    mt_close(&m->root);
    for (size_t i = 0; i < m->n_kids; i++)
        mt_close(&m->kids[i]);
    free(m->kids);
    free(m->queue);
    proc_list_free(&m->scan);
    free(m);
}

/* Open pid's file and give it its series (pid_key 0 for the root).
 * Returns 0 or an errno value. */
static int
mt_open(memtrack *m, mt_proc *p, pid_t pid, int64_t pid_key, bool series)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/%s", (int)pid,
             m->cfg.pss ? "smaps_rollup" : "statm");
    memset(p, 0, sizeof *p);
    p->pid = pid;
    p->rss = p->pss = p->swap = -1;
    p->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (p->fd < 0)
        return errno == ENOENT ? ESRCH : errno;
    if (series) {
        p->rss = sg_timeline_series(m->tl, m->run, pid_key, SG_TL_RSS);
        if (m->cfg.pss) {
            p->pss = sg_timeline_series(m->tl, m->run, pid_key, SG_TL_PSS);
            p->swap = sg_timeline_series(m->tl, m->run, pid_key, SG_TL_SWAP);
        }
    }
    return 0;
}

int
memtrack_attach(memtrack *m, pid_t pid)
{
    proc_entry e;
    if (proc_read(pid, &e) < 0)
        return ESRCH;
    int err = mt_open(m, &m->root, pid, 0, true);
    if (err)
        return err;
    m->root.start_time = e.start_time;
    /* One read now: a process whose memory cannot be read (another
     * user's smaps_rollup) is refused before sampling starts. */
    char buf[64];
    if (pread(m->root.fd, buf, sizeof buf, 0) < 0) {
        err = errno;
        mt_close(&m->root);
        return err;
    }
    return 0;
}

/* The value in kB after "Key:" in smaps_rollup's text, in bytes. */
static uint64_t
mt_rollup_field(const char *text, const char *key)
{
    const char *p = strstr(text, key);
    return p ? strtoull(p + strlen(key), NULL, 10) * 1024 : 0;
}

/* What a read of a process found. */
enum { MT_GONE, MT_EMPTY, MT_READ };

/* Read p's memory: MT_READ; MT_GONE when it has ended (its file reads
 * nothing, or it is a zombie); MT_EMPTY when it holds no memory for a
 * moment (between the old and the new image of an exec), which is no
 * sample. */
static int
mt_read(memtrack *m, mt_proc *p, mt_mem *out)
{
    char buf[2048];
    if (p->fd < 0)
        return MT_GONE;
    ssize_t n = pread(p->fd, buf, sizeof buf - 1, 0);
    m->counts.reads++;
    if (n <= 0)
        return MT_GONE;
    buf[n] = '\0';
    if (m->cfg.pss) {
        out->rss = mt_rollup_field(buf, "\nRss:");
        out->pss = mt_rollup_field(buf, "\nPss:");
        out->swap = mt_rollup_field(buf, "\nSwap:");
    } else {
        /* statm: size resident shared text lib data dt, in pages. */
        const char *sp = strchr(buf, ' ');
        out->rss = sp ? strtoull(sp + 1, NULL, 10) * (uint64_t)m->page : 0;
        out->pss = out->swap = 0;
    }
    if (out->rss || out->swap)
        return MT_READ;
    m->counts.reads++;
    return proc_running(p->pid, p->start_time) ? MT_EMPTY : MT_GONE;
}

static void
mt_add(memtrack *m, const mt_proc *p, double t, const mt_mem *v)
{
    if (p->rss >= 0)
        sg_timeline_add(m->tl, p->rss, t, v->rss);
    if (p->pss >= 0)
        sg_timeline_add(m->tl, p->pss, t, v->pss);
    if (p->swap >= 0)
        sg_timeline_add(m->tl, p->swap, t, v->swap);
}

/* Whether pid is a child followed now. Its open file proves it is the
 * same process: a pid is not reused while the process holds it, and once
 * it ended the file reads nothing and the child is dropped. */
static bool
mt_known(const memtrack *m, pid_t pid)
{
    for (size_t i = 0; i < m->n_kids; i++)
        if (m->kids[i].pid == pid && !m->kids[i].gone)
            return true;
    return false;
}

/* Follow e, a descendant not followed yet. */
static void
mt_follow(memtrack *m, const proc_entry *e)
{
    if (e->state == 'Z' || e->state == 'X' || mt_known(m, e->pid) ||
        SG_GROW(m->kids, m->cap_kids, m->n_kids + 1) < 0)
        return;
    mt_proc *k = &m->kids[m->n_kids];
    if (mt_open(m, k, e->pid, e->pid, m->cfg.multiprocess) != 0)
        return;
    k->start_time = e->start_time;
    m->n_kids++;
    m->counts.children++;
}

/* Queue pid's children, as the kernel lists them per thread in
 * /proc/PID/task/TID/children. Returns -1 when that file does not exist
 * for a process that does (a kernel without CONFIG_PROC_CHILDREN). */
static int
mt_queue_children(memtrack *m, pid_t pid)
{
    char path[64], buf[4096];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    m->counts.reads++;
    if (!d)
        return 0; /* ended meanwhile */
    struct dirent *e;
    int rc = 0;
    while (rc == 0 && (e = readdir(d))) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        snprintf(path, sizeof path, "/proc/%d/task/%.16s/children", (int)pid,
                 e->d_name);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            rc = errno == ENOENT && proc_running(pid, 0) ? -1 : 0;
            continue;
        }
        ssize_t n = read(fd, buf, sizeof buf - 1);
        close(fd);
        m->counts.reads++;
        buf[n > 0 ? n : 0] = '\0';
        /* A full buffer may end in a cut pid: the rest are found by the
         * next scan's full pass over this thread's list. */
        for (char *p = buf, *end; *p; p = end) {
            long child = strtol(p, &end, 10);
            if (end == p)
                break;
            if (child > 0 &&
                SG_GROW(m->queue, m->cap_queue, m->n_queue + 1) == 0)
                m->queue[m->n_queue++] = (pid_t)child;
        }
    }
    closedir(d);
    return rc;
}

/* The descendants by the children files: breadth first from the root,
 * each new one read once for its identity. -1: no such files. */
static int
mt_scan_children(memtrack *m)
{
    m->n_queue = 0;
    if (mt_queue_children(m, m->root.pid) < 0)
        return -1;
    /* Bounded: a pid appears once per scan unless pids were reused
     * mid-scan into a loop, which the cap ends. */
    for (size_t i = 0; i < m->n_queue && i < 65536; i++) {
        pid_t pid = m->queue[i];
        if (!mt_known(m, pid)) {
            proc_entry e;
            m->counts.reads++;
            if (proc_read(pid, &e) == 0)
                mt_follow(m, &e);
        }
        mt_queue_children(m, pid);
    }
    return 0;
}

/* Find the children born since the last scan: by the kernel's children
 * lists (a few reads), else by a pass over every process's stat. */
static void
mt_scan(memtrack *m)
{
    m->counts.scans++;
    if (!m->no_children_files && mt_scan_children(m) == 0)
        return;
    m->no_children_files = true;
    if (proc_descendants(m->root.pid, &m->scan) < 0)
        return;
    m->counts.reads++; /* the whole pass */
    for (size_t i = 0; i < m->scan.n; i++)
        mt_follow(m, &m->scan.v[i]);
}

/* Drop the children that ended (their series stay). */
static void
mt_prune(memtrack *m)
{
    size_t k = 0;
    for (size_t i = 0; i < m->n_kids; i++)
        if (!m->kids[i].gone)
            m->kids[k++] = m->kids[i];
    m->n_kids = k;
}

static int
mt_tick(void *ctx, uint64_t now_ns)
{
    memtrack *m = ctx;
    bool kids = m->cfg.children || m->cfg.multiprocess;
    if (kids && now_ns >= m->next_scan_ns) {
        mt_scan(m);
        m->next_scan_ns = now_ns + MEMTRACK_SCAN_NS;
    }
    mt_mem root, sum = {0};
    int rr = mt_read(m, &m->root, &root);
    if (rr == MT_GONE) {
        mt_close(&m->root);
        return LOOP_STOP;
    }
    double t = m->real0 + (double)(now_ns - m->mono0_ns) * 1e-9;
    for (size_t i = 0; i < m->n_kids; i++) {
        mt_proc *k = &m->kids[i];
        mt_mem v;
        int r = mt_read(m, k, &v);
        if (r == MT_GONE)
            mt_close(k);
        if (r != MT_READ)
            continue;
        sum.rss += v.rss;
        sum.pss += v.pss;
        sum.swap += v.swap;
        mt_add(m, k, t, &v);
    }
    mt_prune(m);
    if (m->cfg.children) {
        root.rss += sum.rss;
        root.pss += sum.pss;
        root.swap += sum.swap;
    }
    if (rr == MT_READ) {
        mt_add(m, &m->root, t, &root);
        m->counts.samples++;
    }
    return LOOP_OK;
}

void
memtrack_run(memtrack *m, volatile sig_atomic_t *stop)
{
    struct timespec rt;
    clock_gettime(CLOCK_REALTIME, &rt);
    m->mono0_ns = sg_now_ns();
    m->real0 = (double)rt.tv_sec + (double)rt.tv_nsec * 1e-9;
    loop_config lc = {1.0 / m->cfg.interval_s, m->cfg.duration_s, 0};
    /* Kept off the program's CPU as record's loop is: at mprof's rates a
     * tick that preempts the program costs it little, at 1 kHz it would
     * not. */
    if (m->root.fd >= 0)
        loop_run_beside(&lc, m->root.pid, mt_tick, NULL, m, stop,
                        &m->counts.loop);
}

void
memtrack_get_counts(const memtrack *m, memtrack_counts *out)
{
    *out = m->counts;
}
