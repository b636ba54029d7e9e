/* follow.c -- the subprocess follower's thread and queue; see follow.h.
 *
 * The thread owns the table of watched processes (sorted by pid, merged
 * with each sorted scan); the mutex guards only the queue of opened
 * readers and the stop flag. The report counters are the thread's until
 * follow_stop joins it, and read-only after.
 *
 * Out of memory in the thread skips a scan or a process (closing what it
 * opened): it never exits, since the profile collected so far must still
 * be written.
 */
#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/err.h"
#include "proc/tree.h"
#include "sampler/follow.h"

#define SCAN_INTERVAL_NS 100000000u /* look for new processes at 10 Hz */
#define NOTPY_GRACE_NS 2000000000u  /* a launcher may take this to exec */
#define FOLLOW_NICE 10
#define MAX_EXAMPLES 3

typedef enum watch_state {
    W_PENDING,  /* not open yet: retried at each scan */
    W_FOLLOWED, /* handed to the sampler */
    W_DONE,     /* given up on (reported), or gone */
} watch_state;

typedef struct watched {
    pid_t pid;
    uint64_t start_time;
    char comm[16];
    watch_state state;
    rm_errcode last;      /* the last failure to open it */
    uint64_t vsize;       /* its mapped size at the last scan */
    uint64_t tried_vsize; /* ... at the last attempt to open it */
    uint64_t first_seen_ns;
} watched;

/* Processes not followed for one reason. */
typedef struct unfollowed {
    uint64_t count;
    char examples[MAX_EXAMPLES][40];        /* "PID COMM" */
    char msg[sizeof(((rm_error *)0)->msg)]; /* the first one's error */
} unfollowed;

struct follow {
    pid_t root;
    bool with_root; /* the root is watched too (it was not Python yet) */
    pthread_t thread;
    bool running; /* thread started and not joined yet */
    pthread_mutex_t mu;
    pthread_cond_t wake;
    atomic_bool stopping;      /* set under mu, read anywhere */
    follow_item *ready;        /* under mu */
    size_t n_ready, cap_ready; /* under mu */
    atomic_size_t ready_hint;  /* n_ready, readable without mu */
    follow_item *released;     /* under mu: r unused */
    size_t n_rel, cap_rel;     /* under mu */
    follow_item *rel_work;     /* the thread's copy, for one scan */
    size_t n_rel_work, cap_rel_work;
    atomic_uint_least64_t scans;   /* done so far */
    uint64_t seen;                 /* processes met, the thread's */
    watched *w, *w_next;           /* the thread's: sorted by pid, and */
    size_t n_w, cap_w, cap_w_next; /* the next scan's (w_next) */
    proc_list scan;                /* the thread's */
    unfollowed why[RM_EREAD + 1];  /* by rm_errcode */
};

static void
note_unfollowed(follow *f, const watched *w, rm_errcode code, const char *msg)
{
    assert(code > RM_OK && code <= RM_EREAD);
    if (w->pid == f->root && code == RM_ENOTPY)
        return; /* the launcher: no subprocess, and not meant to be Python */
    unfollowed *u = &f->why[code];
    if (u->count < MAX_EXAMPLES)
        snprintf(u->examples[u->count], sizeof u->examples[0], "%d %s",
                 (int)w->pid, w->comm);
    if (u->count == 0 && msg)
        snprintf(u->msg, sizeof u->msg, "%s", msg);
    u->count++;
}

/* Append it to *v (length *n, capacity *cap). False when out of memory. */
static bool
items_push(follow_item **v, size_t *n, size_t *cap, follow_item it)
{
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 16;
        follow_item *nv = realloc(*v, c * sizeof *nv);
        if (!nv)
            return false;
        *v = nv;
        *cap = c;
    }
    (*v)[(*n)++] = it;
    return true;
}

/* Queue an opened reader for the sampler. False when out of memory. */
static bool
enqueue(follow *f, remote *r, const watched *w)
{
    pthread_mutex_lock(&f->mu);
    bool ok = items_push(&f->ready, &f->n_ready, &f->cap_ready,
                         (follow_item){r, w->pid, w->start_time});
    if (ok)
        atomic_store_explicit(&f->ready_hint, f->n_ready,
                              memory_order_release);
    pthread_mutex_unlock(&f->mu);
    return ok;
}

/* Try to open w now; update its state. */
static void
try_open(follow *f, watched *w, uint64_t now)
{
    /* Not Python last time, and the same mapped size now: the answer
     * would be the same. A launcher that execs Python, or a process that
     * maps libpython, changes its size (the scan read it before this
     * attempt, so a change during the attempt shows at the next scan). */
    if (w->last == RM_ENOTPY && w->vsize == w->tried_vsize) {
        if (now - w->first_seen_ns >= NOTPY_GRACE_NS) {
            note_unfollowed(f, w, RM_ENOTPY, NULL);
            w->state = W_DONE;
        }
        return;
    }
    w->tried_vsize = w->vsize;
    rm_error err;
    remote *r = remote_open(w->pid, &err);
    if (r) {
        if (enqueue(f, r, w))
            w->state = W_FOLLOWED;
        else
            remote_close(r); /* out of memory: try again later */
        return;
    }
    w->last = err.code;
    switch (err.code) {
    case RM_ENOTINIT: /* its Python is starting */
    case RM_EREAD:    /* torn by its start-up */
        return;
    case RM_ENOTPY: /* perhaps a launcher that has not exec'd Python yet */
        if (now - w->first_seen_ns < NOTPY_GRACE_NS)
            return;
        break;
    case RM_ENOPROC: /* ended: nothing to report */
        w->state = W_DONE;
        return;
    default: /* RM_EPERM, RM_EVERSION: no use retrying */
        break;
    }
    note_unfollowed(f, w, err.code, err.msg);
    w->state = W_DONE;
}

/* A watched process left the tree (or the recording ended). One that was
 * never Python while it lived was not followed: say so. One that ended
 * while its Python was starting was merely short. (Other failures were
 * reported when they happened.) */
static void
forget(follow *f, const watched *w)
{
    if (w->state == W_PENDING && w->last == RM_ENOTPY)
        note_unfollowed(f, w, RM_ENOTPY, NULL);
}

static int
by_pid(const void *a, const void *b)
{
    pid_t x = ((const proc_entry *)a)->pid, y = ((const proc_entry *)b)->pid;
    return (x > y) - (x < y);
}

/* Room for n entries in the next table. */
static bool
reserve_next(follow *f, size_t n)
{
    if (n <= f->cap_w_next)
        return true;
    size_t cap = f->cap_w_next ? f->cap_w_next : 64;
    while (cap < n)
        cap *= 2;
    watched *v = realloc(f->w_next, cap * sizeof *v);
    if (!v)
        return false;
    f->w_next = v;
    f->cap_w_next = cap;
    return true;
}

static watched
new_watched(const proc_entry *e, uint64_t now)
{
    watched w;
    memset(&w, 0, sizeof w);
    w.pid = e->pid;
    w.start_time = e->start_time;
    w.vsize = e->vsize;
    memcpy(w.comm, e->comm, sizeof w.comm);
    w.state = W_PENDING;
    w.first_seen_ns = now;
    return w;
}

/* Move the processes the sampler released (follow_release) to the
 * thread's own list, for this scan. */
static void
take_released(follow *f)
{
    f->n_rel_work = 0;
    pthread_mutex_lock(&f->mu);
    if (f->n_rel == 0) {
        pthread_mutex_unlock(&f->mu);
        return;
    }
    if (f->n_rel > f->cap_rel_work) {
        follow_item *v = realloc(f->rel_work, f->n_rel * sizeof *v);
        if (v) {
            f->rel_work = v;
            f->cap_rel_work = f->n_rel;
        }
    }
    if (f->n_rel <= f->cap_rel_work) {
        memcpy(f->rel_work, f->released, f->n_rel * sizeof *f->released);
        f->n_rel_work = f->n_rel;
        f->n_rel = 0;
    }
    pthread_mutex_unlock(&f->mu);
}

/* Did the sampler release w since the last scan? (Rare: a linear look.) */
static bool
was_released(const follow *f, const watched *w)
{
    for (size_t k = 0; k < f->n_rel_work; k++)
        if (f->rel_work[k].pid == w->pid &&
            f->rel_work[k].start_time == w->start_time)
            return true;
    return false;
}

/* The root itself, when watched, joins the scan's list. */
static void
scan_root(follow *f)
{
    proc_entry e;
    if (!f->with_root || proc_read(f->root, &e) != 0 || e.state == 'Z')
        return;
    proc_list *l = &f->scan;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        proc_entry *v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return; /* out of memory: at the next scan */
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = e;
}

/* One scan: merge the sorted descendants with the sorted table into the
 * next table; new processes are opened, pending ones retried when due,
 * the ones that left are forgotten. Every entry of the next table is one
 * of the scan's, so it is sized before anything changes. */
static void
scan_once(follow *f)
{
    if (proc_descendants(f->root, &f->scan) < 0)
        return; /* no /proc, or out of memory: try at the next scan */
    scan_root(f);
    if (!reserve_next(f, f->scan.n))
        return;
    proc_entry *s = f->scan.v;
    size_t ns = f->scan.n, n_old = f->n_w, n_next = 0, i = 0, j = 0;
    if (ns > 1)
        qsort(s, ns, sizeof *s, by_pid);
    uint64_t now = sg_now_ns();
    watched *old = f->w, *next = f->w_next;
    take_released(f);
    bool stop = false;
    while (i < ns || j < n_old) {
        /* Opening a reader takes a while: a stop is not kept waiting for
         * a whole scan of a busy pool. */
        stop =
            stop || atomic_load_explicit(&f->stopping, memory_order_relaxed);
        bool in_scan = i < ns, in_old = j < n_old;
        if (in_scan && in_old && s[i].pid == old[j].pid &&
            s[i].start_time == old[j].start_time) {
            watched *w = &next[n_next++];
            *w = old[j++];
            memcpy(w->comm, s[i].comm, sizeof w->comm); /* exec renames */
            w->vsize = s[i].vsize;
            if (w->state == W_FOLLOWED && was_released(f, w))
                *w = new_watched(&s[i], now); /* exec'd: look anew */
            i++;
            if (w->state == W_PENDING && !stop)
                try_open(f, w, now);
        } else if (in_old && (!in_scan || old[j].pid <= s[i].pid)) {
            forget(f, &old[j++]); /* gone, or its pid reused */
        } else {
            watched *w = &next[n_next++];
            *w = new_watched(&s[i++], now);
            f->seen += w->pid != f->root;
            if (!stop)
                try_open(f, w, now);
        }
    }
    assert(n_next <= ns);
    atomic_fetch_add_explicit(&f->scans, 1, memory_order_relaxed);
    /* Swap the tables. */
    f->w = next;
    f->n_w = n_next;
    f->w_next = old;
    size_t cap = f->cap_w;
    f->cap_w = f->cap_w_next;
    f->cap_w_next = cap;
}

static void *
follow_main(void *arg)
{
    follow *f = arg;
    /* Below the sampling thread's priority: on a busy machine a scan may
     * wait, a sample should not. (Linux applies a thread id's nice value
     * to that thread alone.) */
    setpriority(PRIO_PROCESS, (id_t)gettid(), FOLLOW_NICE);
    pthread_mutex_lock(&f->mu);
    while (!f->stopping) {
        pthread_mutex_unlock(&f->mu);
        scan_once(f);
        uint64_t next = sg_now_ns() + SCAN_INTERVAL_NS;
        struct timespec ts = {(time_t)(next / 1000000000u),
                              (long)(next % 1000000000u)};
        pthread_mutex_lock(&f->mu);
        while (!f->stopping &&
               pthread_cond_timedwait(&f->wake, &f->mu, &ts) != ETIMEDOUT)
            ;
    }
    pthread_mutex_unlock(&f->mu);
    return NULL;
}

follow *
follow_start(pid_t root, bool with_root)
{
    follow *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->root = root;
    f->with_root = with_root;
    atomic_init(&f->ready_hint, 0);
    atomic_init(&f->stopping, false);
    atomic_init(&f->scans, 0);
    pthread_mutex_init(&f->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&f->wake, &ca);
    pthread_condattr_destroy(&ca);
    /* Signals are the main thread's business (its sleeps end on them):
     * the follower blocks them all, from its first instruction on. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int e = pthread_create(&f->thread, NULL, follow_main, f);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (e) {
        pthread_cond_destroy(&f->wake);
        pthread_mutex_destroy(&f->mu);
        free(f);
        errno = e;
        return NULL;
    }
    f->running = true;
    return f;
}

size_t
follow_take(follow *f, follow_item **items, size_t *n, size_t *cap)
{
    if (atomic_load_explicit(&f->ready_hint, memory_order_acquire) == 0)
        return 0;
    pthread_mutex_lock(&f->mu);
    size_t k = f->n_ready;
    if (*n + k > *cap) {
        size_t c = *cap ? *cap : 16;
        while (c < *n + k)
            c *= 2;
        *items = sg_xrealloc(*items, c * sizeof **items);
        *cap = c;
    }
    if (k > 0)
        memcpy(*items + *n, f->ready, k * sizeof *f->ready);
    *n += k;
    f->n_ready = 0;
    atomic_store_explicit(&f->ready_hint, 0, memory_order_relaxed);
    pthread_mutex_unlock(&f->mu);
    return k;
}

void
follow_release(follow *f, pid_t pid, uint64_t start_time)
{
    pthread_mutex_lock(&f->mu);
    /* Out of memory: the process is not looked at again; no harm else. */
    items_push(&f->released, &f->n_rel, &f->cap_rel,
               (follow_item){NULL, pid, start_time});
    pthread_mutex_unlock(&f->mu);
}

void
follow_stop(follow *f)
{
    if (!f || !f->running)
        return;
    pthread_mutex_lock(&f->mu);
    atomic_store(&f->stopping, true);
    pthread_cond_signal(&f->wake);
    pthread_mutex_unlock(&f->mu);
    pthread_join(f->thread, NULL);
    f->running = false;
    for (size_t i = 0; i < f->n_ready; i++)
        remote_close(f->ready[i].r);
    f->n_ready = 0;
    /* Still pending at the end: report as if they had left. */
    for (size_t i = 0; i < f->n_w; i++)
        forget(f, &f->w[i]);
    f->n_w = 0;
}

uint64_t
follow_seen(const follow *f)
{
    return f ? f->seen : 0;
}

uint64_t
follow_scans(const follow *f)
{
    return atomic_load_explicit(&((follow *)f)->scans, memory_order_relaxed);
}

static const char *
reason_text(rm_errcode c)
{
    switch (c) {
    case RM_ENOTPY:
        return "not Python";
    case RM_EPERM:
        return "no permission to read their memory";
    case RM_EVERSION:
        return "unsupported Python";
    default:
        return "unreadable";
    }
}

void
follow_report(const follow *f, strbuf *sb)
{
    if (!f)
        return;
    for (int c = RM_OK + 1; c <= RM_EREAD; c++) {
        const unfollowed *u = &f->why[c];
        if (u->count == 0)
            continue;
        sb_printf(sb, "%llu subprocess%s not followed: %s (",
                  (unsigned long long)u->count, u->count == 1 ? "" : "es",
                  reason_text((rm_errcode)c));
        for (uint64_t k = 0; k < u->count && k < MAX_EXAMPLES; k++)
            sb_printf(sb, "%s%s", k ? ", " : "", u->examples[k]);
        sb_puts(sb, u->count > MAX_EXAMPLES ? ", ...)" : ")");
        if (c != RM_ENOTPY && u->msg[0])
            sb_printf(sb, ": %s", u->msg);
        sb_putc(sb, '\n');
    }
}

void
follow_free(follow *f)
{
    if (!f)
        return;
    follow_stop(f);
    for (size_t i = 0; i < f->n_ready; i++)
        remote_close(f->ready[i].r);
    free(f->ready);
    free(f->released);
    free(f->rel_work);
    free(f->w);
    free(f->w_next);
    proc_list_free(&f->scan);
    pthread_cond_destroy(&f->wake);
    pthread_mutex_destroy(&f->mu);
    free(f);
}
