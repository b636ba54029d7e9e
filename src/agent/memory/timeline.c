/* timeline.c -- memory over time inside `spyglass memory` (--timeline).
 *
 * A thread of its own wakes every interval (absolute deadlines on
 * CLOCK_MONOTONIC) and reads the engine's traced total (mem_total: one
 * aligned word, read without a lock; a sample may miss an allocation made
 * at that instant, never tear) and the resident set (/proc/self/statm,
 * one pread). It never takes the GIL nor calls Python; its own mallocs
 * are not traced (mem_busy is set for it, so the --native shim skips
 * them). The selected functions' calls become brackets, as
 * memory_profiler's FUNC lines: the line profiler's watcher tells when a
 * selected frame is pushed and popped (the watcher of lines.c is chained,
 * so its columns are unchanged); at both ends the time, the resident set
 * and the traced heap are read. Brackets are kept per thread on a small
 * stack indexed like the line profiler's own, so an unwound frame closes
 * the brackets above it.
 *
 * A child the program forks has no sampling thread, and its copy of the
 * timeline may have been caught mid-update by it (or its lock held): the
 * child lets go of that copy at the fork (pthread_atfork) and records and
 * writes nothing; the process that started the timeline writes it.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent/commands.h"
#include "agent/memory/internal.h" /* Python.h first */
#include "agent/memory/timeline.h"
#include "common/alloc.h"
#include "common/err.h"
#include "writers/writers.h"

/* An open call of a selected function. */
typedef struct mt_open {
    int idx;          /* its frame's index in the line profiler's stack */
    PyObject *code;   /* borrowed: the line profiler holds it */
    PyObject *module; /* strong: the __name__ of its globals, or NULL */
    double t0;
    uint64_t rss0, heap0;
} mt_open;

/* A thread's open calls. */
typedef struct mt_stack {
    mt_open *v;
    size_t n, cap;
    struct mt_stack *next; /* every thread's, to free them at the end */
} mt_stack;

static struct {
    sg_timeline *tl;
    int heap, rss; /* series */
    pthread_t thread;
    bool running;
    pthread_mutex_t lock; /* the timeline, between the thread and brackets */
    pthread_cond_t wake;  /* the stop, without waiting out an interval */
    bool stop;
    int statm;
    long page;
    uint64_t interval_ns;
    const lines_watcher *chained;
    mt_stack *stacks;
    uint64_t gen; /* a thread's stack of another generation is stale */
    bool at_fork; /* the fork handler is registered (once per process) */
    /* In a forked child: the parent's copies, let go of but kept
     * reachable (they are the parent's, never freed here). */
    sg_timeline *parents_tl;
    mt_stack *parents_stacks;
} mt = {.lock = PTHREAD_MUTEX_INITIALIZER, .statm = -1};

static AGENT_TLS mt_stack *mt_mine;
static AGENT_TLS uint64_t mt_mine_gen;

static double
mt_unix_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t
mt_rss(void)
{
    char buf[128];
    ssize_t n = mt.statm >= 0 ? pread(mt.statm, buf, sizeof buf - 1, 0) : -1;
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    const char *sp = strchr(buf, ' ');
    return sp ? strtoull(sp + 1, NULL, 10) * (uint64_t)mt.page : 0;
}

/* ---- the sampling thread ---- */

/* One sample of both series. The time first: a sample stamped t read
 * memory after t. */
static void
mt_sample(void)
{
    double t = mt_unix_now();
    uint64_t heap = mem_total(), rss = mt_rss();
    sg_timeline_add(mt.tl, mt.heap, t, heap);
    sg_timeline_add(mt.tl, mt.rss, t, rss);
}

/* The samples between the first and the last, which mem_timeline_start
 * and mem_timeline_stop take themselves: a run shorter than an interval,
 * or over before this thread is first scheduled on a busy machine, still
 * has its start and its end. */
static void *
mt_main(void *arg)
{
    (void)arg;
    sigset_t all;
    sigfillset(&all); /* signals are the program's main thread's */
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    mem_busy = 1; /* its own mallocs are not the program's */
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    pthread_mutex_lock(&mt.lock);
    while (!mt.stop) {
        uint64_t ns = (uint64_t)next.tv_nsec + mt.interval_ns;
        next.tv_sec += (time_t)(ns / 1000000000u);
        next.tv_nsec = (long)(ns % 1000000000u);
        /* Deadlines already past are skipped, never bunched up. */
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        while (next.tv_sec < now.tv_sec ||
               (next.tv_sec == now.tv_sec && next.tv_nsec < now.tv_nsec)) {
            ns = (uint64_t)next.tv_nsec + mt.interval_ns;
            next.tv_sec += (time_t)(ns / 1000000000u);
            next.tv_nsec = (long)(ns % 1000000000u);
        }
        while (!mt.stop &&
               pthread_cond_timedwait(&mt.wake, &mt.lock, &next) != ETIMEDOUT)
            ;
        if (!mt.stop)
            mt_sample();
    }
    pthread_mutex_unlock(&mt.lock);
    return NULL;
}

/* ---- brackets ---- */

/* This thread's stack of open calls, current; NULL when out of memory. */
static mt_stack *
mt_stack_get(void)
{
    if (mt_mine && mt_mine_gen == mt.gen)
        return mt_mine;
    mem_busy++;
    mt_stack *s = sg_calloc(1, sizeof *s);
    mem_busy--;
    if (!s)
        return NULL;
    s->next = mt.stacks; /* under the GIL, as every watcher call */
    mt.stacks = s;
    mt_mine = s;
    mt_mine_gen = mt.gen;
    return s;
}

static int
mt_index(const lines_frame *fr)
{
    return (int)(fr - lines_tls.v);
}

/* Forget the open calls at index idx and above (unwound without being
 * told, or stale). */
static void
mt_drop(mt_stack *s, int idx)
{
    while (s->n && s->v[s->n - 1].idx >= idx)
        Py_XDECREF(s->v[--s->n].module);
}

static void
mt_enter(lines_frame *fr)
{
    if (!mt.tl)
        return; /* a forked child's */
    mt_stack *s = mt_stack_get();
    if (!s)
        return;
    mt_drop(s, mt_index(fr));
    mem_busy++;
    int grown = SG_GROW(s->v, s->cap, s->n + 1);
    mem_busy--;
    if (grown < 0)
        return;
    PyObject *globals = PyEval_GetGlobals();
    PyObject *module =
        globals ? PyDict_GetItemString(globals, "__name__") : NULL;
    Py_XINCREF(module);
    s->v[s->n++] = (mt_open){mt_index(fr),  fr->lc->code, module,
                             mt_unix_now(), mt_rss(),     mem_total()};
}

/* "module.qualname", as memory_profiler names a FUNC. */
static void
mt_name(const mt_open *o, char *buf, size_t n)
{
    mem_quiet++;
    PyObject *q = PyObject_GetAttrString(o->code, "co_qualname");
    if (!q) {
        PyErr_Clear();
        q = PyObject_GetAttrString(o->code, "co_name");
    }
    const char *qs = q && PyUnicode_Check(q) ? PyUnicode_AsUTF8(q) : NULL;
    const char *ms = o->module && PyUnicode_Check(o->module)
                         ? PyUnicode_AsUTF8(o->module)
                         : NULL;
    if (!qs || !ms)
        PyErr_Clear();
    snprintf(buf, n, "%s%s%s", ms ? ms : "", ms ? "." : "", qs ? qs : "?");
    Py_XDECREF(q);
    mem_quiet--;
}

static void
mt_leave(lines_frame *fr)
{
    mt_stack *s = mt_mine && mt_mine_gen == mt.gen ? mt_mine : NULL;
    int idx = mt_index(fr);
    if (!s || !mt.tl)
        return;
    mt_drop(s, idx + 1);
    if (!s->n || s->v[s->n - 1].idx != idx)
        return;
    mt_open *o = &s->v[s->n - 1];
    char name[512];
    mt_name(o, name, sizeof name);
    sg_tl_func f = {.name = name,
                    .t0 = o->t0,
                    .t1 = mt_unix_now(),
                    .m0 = o->rss0,
                    .m1 = mt_rss(),
                    .h0 = o->heap0,
                    .h1 = mem_total(),
                    .has_heap = true,
                    .level = (int)s->n - 1};
    mem_busy++;
    pthread_mutex_lock(&mt.lock);
    sg_timeline_add_func(mt.tl, &f);
    pthread_mutex_unlock(&mt.lock);
    mem_busy--;
    mt_drop(s, idx);
}

/* The chained watcher: lines.c's columns, then the brackets. */
static void
mt_begin(lines_frame *fr)
{
    mt.chained->begin(fr);
}

static void
mt_end(lines_frame *fr)
{
    mt.chained->end(fr);
}

static void
mt_quiet(int delta)
{
    mt.chained->quiet(delta);
}

static const lines_watcher mt_watcher = {mt_begin, mt_end,   mt_quiet,
                                         mt_enter, mt_leave, NULL};

/* ---- the command's side ---- */

/* In a forked child: the sampling thread is not there, and the timeline,
 * its lock and the open calls are the parent's as the fork caught them
 * (maybe mid-update). Let go of them without touching them (the copies
 * die with the child, never freed: they may be inconsistent); the
 * watcher stays chained, as lines.c's columns still need it, and records
 * nothing. */
static void
mt_forked(void)
{
    pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;
    mt.lock = fresh;
    mt.running = false;
    if (mt.tl)
        mt.parents_tl = mt.tl;
    if (mt.stacks)
        mt.parents_stacks = mt.stacks;
    mt.tl = NULL;
    mt.stacks = NULL;
    mt.gen++;
    mt.heap = mt.rss = -1;
}

int
mem_timeline_start(double interval_s, const char *cmdline)
{
    mem_busy++;
    mt.tl = sg_timeline_new();
    int run = mt.tl ? sg_timeline_add_run(mt.tl, cmdline, NULL) : -1;
    mt.heap = run < 0 ? -1 : sg_timeline_series(mt.tl, run, 0, SG_TL_HEAP);
    mt.rss = run < 0 ? -1 : sg_timeline_series(mt.tl, run, 0, SG_TL_RSS);
    mem_busy--;
    if (mt.heap < 0 || mt.rss < 0) {
        sg_error("memory: --timeline: out of memory");
        mem_timeline_clear();
        return -1;
    }
    mt.tl->interval_s = interval_s;
    mt.interval_ns = (uint64_t)(interval_s * 1e9);
    mt.statm = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    mt.page = sysconf(_SC_PAGESIZE);
    mt.stop = false;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&mt.wake, &ca);
    pthread_condattr_destroy(&ca);
    if (!mt.at_fork && pthread_atfork(NULL, NULL, mt_forked) == 0)
        mt.at_fork = true;
    mem_busy++;
    mt_sample();
    mem_busy--;
    int err = pthread_create(&mt.thread, NULL, mt_main, NULL);
    if (err) {
        sg_error("memory: --timeline: cannot start its thread: %s",
                 strerror(err));
        mem_timeline_clear();
        return -1;
    }
    mt.running = true;
    mt.gen++;
    mt.chained = lines_watch;
    if (mt.chained)
        lines_watch = &mt_watcher;
    return 0;
}

void
mem_timeline_stop(void)
{
    if (lines_watch == &mt_watcher)
        lines_watch = mt.chained;
    if (!mt.running)
        return;
    pthread_mutex_lock(&mt.lock);
    mt.stop = true;
    pthread_cond_signal(&mt.wake);
    pthread_mutex_unlock(&mt.lock);
    Py_BEGIN_ALLOW_THREADS pthread_join(mt.thread, NULL);
    Py_END_ALLOW_THREADS mt.running = false;
    mem_busy++;
    mt_sample();
    mem_busy--;
    pthread_cond_destroy(&mt.wake);
}

sg_timeline *
mem_timeline_get(void)
{
    return mt.tl;
}

sg_out_result
mem_timeline_write(const rq_memory *o)
{
    static const sg_output what = {"memory", SG_DATA_TIMELINE, "dat", false,
                                   false};
    if (!o->timeline || !mt.tl)
        return SG_OUT_WRITTEN;
    const sg_writer *w =
        agent_request_writer("memory", o->timeline_format, SG_DATA_TIMELINE);
    const char *metrics[] = {"bytes"};
    sg_profile *p = w ? sg_profile_new(SG_PROFILE_TIMELINE, 1, metrics) : NULL;
    if (!p)
        return SG_OUT_LOST;
    p->timeline = mt.tl;
    writer_opts wo = {0};
    wo.title = "spyglass memory";
    sg_out_result r = sg_writer_write_file(&what, w, p, &wo, o->timeline);
    if (r == SG_OUT_WRITTEN)
        fprintf(stderr, "spyglass: memory timeline written to %s (%s)\n",
                o->timeline, w->name);
    p->timeline = NULL;
    sg_profile_free(p);
    return r;
}

void
mem_timeline_clear(void)
{
    mem_timeline_stop();
    while (mt.stacks) {
        mt_stack *s = mt.stacks;
        mt.stacks = s->next;
        mt_drop(s, 0);
        free(s->v);
        free(s);
    }
    mt.gen++; /* every thread's pointer to its stack is stale */
    sg_timeline_free(mt.tl);
    mt.tl = NULL;
    if (mt.statm >= 0)
        close(mt.statm);
    mt.statm = -1;
}
