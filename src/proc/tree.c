/* tree.c -- the process tree, from /proc; see tree.h.
 *
 * One pass over /proc/[0-9]+/stat gives every process's parent; the
 * descendants follow breadth first over those links. The per-thread
 * /proc/PID/task/TID/children files would read less, but exist only with
 * CONFIG_PROC_CHILDREN and must be read for every thread of every process.
 * The pass reads with open/read (no stdio buffer per file): the subprocess
 * follower repeats it several times a second.
 */
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proc/tree.h"

/* The unsigned number at *p (advanced past it); false when none. */
static bool
take_number(const char **p, unsigned long long *out)
{
    const char *q = *p;
    if (*q < '0' || *q > '9')
        return false;
    unsigned long long v = 0;
    while (*q >= '0' && *q <= '9')
        v = v * 10 + (unsigned long long)(*q++ - '0');
    *out = v;
    *p = q;
    return true;
}

/* Parse a stat line: "pid (comm) state ppid ... starttime ...". By hand,
 * not sscanf: the follower parses one per process on the machine ten
 * times a second, and sscanf's twenty conversions were most of that. */
static int
parse_stat(const char *buf, proc_entry *out)
{
    /* The name is in parentheses and may itself hold ") ": the fields
     * resume after the last ')'. */
    const char *lp = strchr(buf, '(');
    const char *rp = strrchr(buf, ')');
    if (!lp || !rp || rp < lp || rp[1] != ' ' || !rp[2])
        return -1;
    size_t len = (size_t)(rp - lp - 1);
    if (len >= sizeof out->comm)
        len = sizeof out->comm - 1;
    memcpy(out->comm, lp + 1, len);
    out->comm[len] = '\0';
    out->state = rp[2];
    /* Fields 4 (ppid), 22 (starttime) and 23 (vsize); fields 5-21 are
     * skipped, and some of them (tty_nr, priority, nice) may be
     * negative. */
    const char *p = rp + 3;
    unsigned long long v;
    for (int field = 4; field <= 23; field++) {
        if (*p++ != ' ')
            return -1;
        if (field != 4 && field < 22) {
            p += strcspn(p, " ");
            continue;
        }
        if (!take_number(&p, &v))
            return -1;
        if (field == 4)
            out->ppid = (pid_t)v;
        else if (field == 22)
            out->start_time = v;
        else
            out->vsize = v;
    }
    return 0;
}

/* Read a stat file's line into buf (NUL-terminated), path relative to dir
 * (or absolute). Returns 0, or -1. */
static int
read_stat_line(int dir, const char *path, char *buf, size_t size)
{
    int fd = openat(dir, path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, size - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    return 0;
}

/* Read and parse a stat file, path relative to dir (or absolute). */
static int
read_stat(int dir, const char *path, pid_t pid, proc_entry *out)
{
    char buf[1024];
    if (read_stat_line(dir, path, buf, sizeof buf) < 0)
        return -1;
    out->pid = pid;
    return parse_stat(buf, out);
}

int
proc_read(pid_t pid, proc_entry *out)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    return read_stat(AT_FDCWD, path, pid, out);
}

int
proc_last_cpu(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    if (read_stat_line(AT_FDCWD, path, buf, sizeof buf) < 0)
        return -1;
    /* Field 39, counted from the last ')', which field 2 ends with (kept
     * out of parse_stat: the follower parses a stat per process of the
     * machine and needs none of the fields after 23). */
    const char *p = strrchr(buf, ')');
    for (int field = 3; field <= 39 && p; field++)
        p = strchr(p + 1, ' ');
    unsigned long long v;
    return p && (++p, take_number(&p, &v)) ? (int)v : -1;
}

bool
proc_running(pid_t pid, uint64_t start_time)
{
    proc_entry e;
    if (proc_read(pid, &e) < 0 || e.state == 'Z' || e.state == 'X')
        return false;
    return start_time == 0 || e.start_time == start_time;
}

pid_t
proc_parent(pid_t pid)
{
    proc_entry e;
    return proc_read(pid, &e) == 0 ? e.ppid : -1;
}

static int
list_push(proc_list *l, const proc_entry *e)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 256;
        proc_entry *v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return -1;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = *e;
    return 0;
}

/* Every live process but root, into all. */
static int
read_all(pid_t root, proc_list *all)
{
    DIR *d = opendir("/proc");
    if (!d)
        return -1;
    struct dirent *de;
    int rc = 0;
    char path[sizeof de->d_name + 8];
    while (rc == 0 && (de = readdir(d)) != NULL) {
        if (!isdigit((unsigned char)de->d_name[0]))
            continue;
        proc_entry e;
        pid_t pid = (pid_t)atoi(de->d_name);
        /* "PID/stat" under /proc's descriptor: no path formatting. */
        size_t len = strlen(de->d_name);
        memcpy(path, de->d_name, len);
        memcpy(path + len, "/stat", 6);
        if (pid == root || read_stat(dirfd(d), path, pid, &e) < 0 ||
            e.state == 'Z' || e.state == 'X')
            continue;
        rc = list_push(all, &e);
    }
    closedir(d);
    return rc;
}

static int
by_ppid(const void *a, const void *b)
{
    pid_t x = ((const proc_entry *)a)->ppid, y = ((const proc_entry *)b)->ppid;
    return (x > y) - (x < y);
}

/* The first entry of all (sorted by ppid) whose parent is ppid. */
static size_t
first_child(const proc_list *all, pid_t ppid)
{
    size_t lo = 0, hi = all->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (all->v[mid].ppid < ppid)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int
proc_descendants(pid_t root, proc_list *out)
{
    out->n = 0;
    proc_list all = {0};
    if (read_all(root, &all) < 0) {
        proc_list_free(&all);
        return -1;
    }
    if (all.n > 1)
        qsort(all.v, all.n, sizeof *all.v, by_ppid);
    /* Breadth first: out is its own queue. Each process has one parent,
     * so each is queued at most once -- unless pid reuse during the pass
     * made a loop of the links, which the bound of all.n entries ends. */
    int rc = 0;
    pid_t parent = root;
    for (size_t head = 0;; head++) {
        for (size_t i = first_child(&all, parent);
             rc == 0 && i < all.n && all.v[i].ppid == parent && out->n < all.n;
             i++)
            rc = list_push(out, &all.v[i]);
        if (rc < 0 || head == out->n)
            break;
        parent = out->v[head].pid;
    }
    proc_list_free(&all);
    if (rc < 0)
        out->n = 0;
    return rc;
}

void
proc_list_free(proc_list *l)
{
    free(l->v);
    l->v = NULL;
    l->n = l->cap = 0;
}
