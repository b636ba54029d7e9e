/* threads.c -- how long each thread ran while the profiler recorded it:
 * CPU time from the thread's own CPU clock and wall time from the agent's
 * clock, and the wall time of the recording itself.
 *
 * Nothing here runs per call. A thread's clocks are read when it is first
 * seen, when recording stops or starts again, and when the thread ends.
 * A thread that ends before recording stops must be read by itself (its
 * CPU clock goes with it): each thread's state dict (PyThreadState_GetDict,
 * what threading.local uses) holds a small watcher object, which the
 * interpreter releases in that thread, with the GIL held, when the thread
 * state is cleared at the thread's end. The watcher's dealloc reads the
 * clocks. Threads still running are read by their kernel thread id.
 */
#include "agent/profile/profiler.h" /* Python.h first */

#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* The watcher: ends t's record when released. t is NULL once the profiler
 * forgot its threads. */
typedef struct prof_watch {
    PyObject_HEAD
    profiler *P;
    prof_thread *t;
} prof_watch;

/* The CPU clock of thread tid of this process, as glibc's
 * pthread_getcpuclockid builds it (the kernel's MAKE_THREAD_CPUCLOCK:
 * per-thread, scheduler time); false when it cannot be read (the thread
 * is gone). */
static bool
prof_cpu_of(long tid, uint64_t *ns)
{
    clockid_t clock = (clockid_t)((~(unsigned long)tid << 3) | 4 | 2);
    struct timespec ts;
    if (tid <= 0 || clock_gettime(clock, &ts) != 0)
        return false;
    *ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    return true;
}

static bool
prof_cpu_self(uint64_t *ns)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
        return false;
    *ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    return true;
}

/* A stretch of recording begins for t at now, its CPU clock at cpu. */
static void
prof_times_mark(prof_thread *t, uint64_t now, bool known, uint64_t cpu)
{
    t->since = now;
    t->cpu_since = cpu;
    t->cpu_marked = known;
}

/* The stretch that began at t's marks ends at now, its CPU clock at cpu. */
static void
prof_times_add(prof_thread *t, uint64_t now, bool known, uint64_t cpu)
{
    t->wall_ticks += now > t->since ? now - t->since : 0;
    if (known && t->cpu_marked && cpu >= t->cpu_since)
        t->cpu_ns += cpu - t->cpu_since;
    else
        t->cpu_known = false;
}

static void
prof_watch_dealloc(prof_watch *w)
{
    prof_thread *t = w->t;
    if (t) {
        t->watch = NULL;
        if (w->P->enabled && !t->ended) {
            uint64_t cpu = 0;
            bool known = prof_cpu_self(&cpu);
            prof_times_add(t, ticks_now(), known, cpu);
        }
        t->ended = true;
    }
    PyObject_Free(w);
}

/* clang-format off */
static PyTypeObject prof_watch_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "spyglass._agent._thread_watch",
    .tp_basicsize = sizeof(prof_watch),
    .tp_dealloc = (destructor)prof_watch_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Ends a thread's record in the profiler when the thread ends.",
};
/* clang-format on */

/* Put t's watcher in the current thread's state dict (replacing, and so
 * ending, the record of an earlier prof_thread of this OS thread). Runs
 * inside event callbacks: no Python code, and an exception in flight is
 * kept. Without a watcher the thread is still read when recording stops,
 * if it is alive then. */
static void
prof_watch_install(profiler *P, prof_thread *t)
{
    static PyObject *key;
    PyObject *et, *ev, *etb;
    PyErr_Fetch(&et, &ev, &etb);
    PyObject *dict = PyThreadState_GetDict(); /* borrowed */
    if (!key)
        key = PyUnicode_InternFromString("spyglass.profile.thread");
    if (dict && key) {
        prof_watch *w = PyObject_New(prof_watch, &prof_watch_type);
        if (w) {
            w->P = P;
            w->t = t;
            t->watch = (PyObject *)w;
            if (PyDict_SetItem(dict, key, (PyObject *)w) < 0)
                w->t = NULL, t->watch = NULL;
            Py_DECREF(w);
        }
    }
    PyErr_Clear();
    PyErr_Restore(et, ev, etb);
}

void
prof_times_thread_start(profiler *P, prof_thread *t, uint64_t now)
{
    t->tid = (long)syscall(SYS_gettid);
    t->cpu_known = true;
    uint64_t cpu = 0;
    bool known = prof_cpu_self(&cpu);
    prof_times_mark(t, now, known, cpu);
    prof_watch_install(P, t);
}

/* Apply f to every thread still running, with its CPU clock now. */
static void
prof_times_each(profiler *P, uint64_t now,
                void (*f)(prof_thread *, uint64_t, bool, uint64_t))
{
    for (prof_thread *t = P->threads; t; t = t->next) {
        if (t->ended)
            continue;
        uint64_t cpu = 0;
        bool known = prof_cpu_of(t->tid, &cpu);
        f(t, now, known, cpu);
    }
}

void
prof_times_resume(profiler *P, uint64_t now)
{
    P->enabled_at = now;
    prof_times_each(P, now, prof_times_mark);
}

void
prof_times_pause(profiler *P, uint64_t now)
{
    P->wall_ticks += now > P->enabled_at ? now - P->enabled_at : 0;
    prof_times_each(P, now, prof_times_add);
}

void
prof_times_forget(profiler *P)
{
    for (prof_thread *t = P->threads; t; t = t->next)
        if (t->watch)
            ((prof_watch *)t->watch)->t = NULL;
}

int
prof_times_init(void)
{
    return PyType_Ready(&prof_watch_type);
}
