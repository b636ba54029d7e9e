/* profiler.h -- the deterministic function profiler's state and hot path.
 *
 * One profiler records, per thread, a shadow call stack and, shared by all
 * threads, a calling-context tree (CCT): node = (parent node, function),
 * with the number of calls and the self time spent there. Everything that
 * cProfile reports (and every stack format) derives from it afterwards
 * (model/funcstats.c); the hot path only counts.
 *
 * Hot path (one event): the thread's state comes from a thread-local
 * pointer stamped with the profiler's generation (core/tls.h); entering
 * looks the child up in a one-entry cache on the parent node (a loop
 * calling the same function, or recursion, always hits), else in a hash
 * table; the clock is ticks_now() (core/ticks.h). No system calls, no
 * Python objects, no allocation except when a table doubles.
 *
 * Functions are keyed as cProfile keys them: a code object (kept alive by a
 * reference) or, for C functions, their PyMethodDef, so a method called on
 * different objects is one function. Events are the backends' business
 * (mon.c: sys.monitoring on 3.12+; legacy.c: the C profile function on
 * 3.8-3.11); all callbacks run with the GIL held, which is what makes the
 * shared tables safe.
 *
 * A generator or coroutine resume counts as a call, and a yield as a return,
 * exactly as cProfile counts them on every version (each resume is one more
 * ncalls; its time between resume and yield is its own).
 *
 * Out of memory inside a callback (a table or a stack that cannot grow),
 * the profiler fails: it closes every open frame at that moment, stops
 * recording, and says so once; what it recorded until then is written as
 * usual.
 */
#ifndef SG_AGENT_PROFILER_H
#define SG_AGENT_PROFILER_H

#include <assert.h>
#include <stdbool.h>
#include <stdint.h>

#include "agent/agent.h"
#include "agent/core/instr.h"
#include "common/hashmap.h"
#include "model/profile.h"

#ifndef Py_IS_TYPE /* 3.8 */
#define Py_IS_TYPE(ob, type) (Py_TYPE(ob) == (type))
#endif

typedef enum prof_kind {
    PROF_PYTHON = 0,
    PROF_BUILTIN = 1,
    PROF_THREAD = 2,
} prof_kind;

typedef struct prof_func {
    const void *key; /* code object, PyMethodDef, or prof_thread */
    PyObject *code;  /* strong reference (Python functions) */
    PyObject *label; /* C functions: cProfile's label, a str */
    uint8_t kind;
} prof_func;

typedef struct prof_node {
    uint32_t func;
    uint32_t parent;
    uint64_t calls;
    uint64_t ticks;        /* self time, in clock ticks */
    const void *cache_key; /* the child last entered from here */
    uint32_t cache_child;
} prof_node;

typedef struct prof_frame {
    uint32_t node;
    const void *key;
    uint64_t start;
    uint64_t child; /* ticks spent in callees */
} prof_frame;

typedef struct prof_thread {
    struct prof_thread *next;
    unsigned long ident;
    char name[64];
    int name_tries;    /* lookups of the thread's name still allowed */
    uint32_t root;     /* its node under the CCT root */
    prof_frame *stack; /* stack[0] is the thread root itself */
    size_t depth, cap;
    /* Its times while recorded (threads.c): the sums, and the clocks when
     * the current stretch of recording began for it. */
    long tid; /* the kernel's thread id */
    uint64_t wall_ticks, cpu_ns;
    uint64_t since, cpu_since;
    bool cpu_known, cpu_marked;
    bool ended;      /* the thread ended: its clocks are final */
    PyObject *watch; /* borrowed: what tells it ended (threads.c) */
} prof_thread;

typedef struct profiler {
    PyObject_HEAD
    PyObject *dict; /* instance attributes (pstats sets .stats) */
    bool builtins;
    bool enabled;
    bool failed;  /* out of memory in a callback: recording stopped */
    uint64_t gen; /* stamps the threads' TLS caches (core/tls.h) */
    prof_func *funcs;
    size_t n_funcs, cap_funcs;
    hm64 func_index; /* key pointer -> func */
    prof_node *nodes;
    size_t n_nodes, cap_nodes;
    hm64 child_index; /* (parent << 32 | func) -> node */
    prof_thread *threads;
    uint64_t enabled_at; /* ticks when the current recording began */
    uint64_t wall_ticks; /* every recording's wall time until then */
} profiler;

/* The profiler whose hooks are installed (at most one at a time). */
extern profiler *prof_active;

/* This thread's state in the profiler whose generation is gen. Being per
 * OS thread, it tells a new thread from an old one whose ident was
 * reused: each gets its own prof_thread. */
typedef struct prof_tls_slot {
    uint64_t gen;
    prof_thread *thread;
} prof_tls_slot;
extern AGENT_TLS prof_tls_slot prof_tls;

/* Push a call of node child (function key) at time now; there is room. */
static inline void
prof_push(profiler *P, prof_thread *t, uint32_t child, const void *key,
          uint64_t now)
{
    assert(t->depth < t->cap);
    prof_frame *f = &t->stack[t->depth++];
    f->node = child;
    f->key = key;
    f->start = now;
    f->child = 0;
    P->nodes[child].calls++;
}

static inline void
prof_pop(profiler *P, prof_thread *t, uint64_t now)
{
    prof_frame *f = &t->stack[--t->depth];
    uint64_t dt = now > f->start ? now - f->start : 0;
    P->nodes[f->node].ticks += dt > f->child ? dt - f->child : 0;
    t->stack[t->depth - 1].child += dt;
}

/* The callbacks' fast paths: the common event (thread cached, child cached
 * on the parent, room on the stack, thread already named; the return of
 * the function on top) in straight-line code with no calls, so that a
 * callback built on them needs no stack frame of its own. They return
 * false, having done nothing, when the general path (prof_event_*) must
 * run instead. */
static inline bool
prof_enter_fast(profiler *P, const void *key, uint64_t now)
{
    prof_thread *t = prof_tls.thread;
    if (prof_tls.gen != P->gen || t->depth == t->cap || t->name_tries > 0)
        return false;
    prof_node *pn = &P->nodes[t->stack[t->depth - 1].node];
    if (pn->cache_key != key)
        return false;
    prof_push(P, t, pn->cache_child, key, now);
    return true;
}

static inline bool
prof_leave_fast(profiler *P, const void *key, uint64_t now)
{
    prof_thread *t = prof_tls.thread;
    if (prof_tls.gen != P->gen || t->depth <= 1 ||
        t->stack[t->depth - 1].key != key)
        return false;
    prof_pop(P, t, now);
    return true;
}

/* The general paths, out of line (core.c): enter function key
 * (obj describes it the first time it is seen: the code object, or the C
 * callable); leave it, closing any frames above it. */
void prof_event_enter(profiler *P, const void *key, PyObject *obj,
                      prof_kind kind, uint64_t now);
void prof_event_leave(profiler *P, const void *key, uint64_t now);

/* C functions: the key cProfile uses, or NULL when the callable is not one
 * that cProfile records (only builtin functions and method descriptors). */
static inline const void *
prof_cfunc_key(PyObject *callable)
{
    /* Exact types first: PyCFunction_Check on a Python function would walk
     * its type's MRO, on every call. */
    PyTypeObject *tp = Py_TYPE(callable);
    if (tp == &PyFunction_Type)
        return NULL;
    if (tp == &PyMethodDescr_Type)
        return ((PyMethodDescrObject *)callable)->d_method;
    if (tp == &PyCFunction_Type || PyCFunction_Check(callable))
        return ((PyCFunctionObject *)callable)->m_ml;
    return NULL;
}

/* type.c: spyglass.profile, whose instances are profilers. */
extern PyTypeObject profiler_type;

/* core.c */
/* A new profiler's tables (called by the type's tp_new). */
void profiler_setup(profiler *P);
int profiler_enable(profiler *P);
int profiler_disable(profiler *P);
/* Drop everything recorded. */
void profiler_clear(profiler *P);
/* Free the tables (the object itself is the type's). */
void profiler_teardown(profiler *P);

/* threads.c: the threads' CPU and wall time, read when a thread is first
 * seen (start), when recording starts again (resume) or stops (pause), and
 * when a thread ends; forget detaches the threads before they are freed. */
int prof_times_init(void);
void prof_times_thread_start(profiler *P, prof_thread *t, uint64_t now);
void prof_times_resume(profiler *P, uint64_t now);
void prof_times_pause(profiler *P, uint64_t now);
void prof_times_forget(profiler *P);

/* build.c: the profile model of what P recorded; NULL with an exception
 * set on failure. */
sg_profile *profiler_build(profiler *P);

/* mon.c (3.12+) or legacy.c (3.8-3.11): install and remove the event
 * hooks for P. */
int prof_hooks_install(profiler *P);
int prof_hooks_remove(profiler *P);

#endif
