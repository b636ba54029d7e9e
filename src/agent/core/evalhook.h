/* evalhook.h -- the frame-evaluation hook (PEP 523), one per collector.
 *
 * An interpreter-wide function that evaluates every frame, on every
 * thread: a collector sees each frame begin and end with one C call. Its
 * price: while one is installed, 3.11+ no longer inlines Python-to-Python
 * calls, so each call costs C stack (about 500 bytes on 3.11).
 *
 * The hook must pass each frame on with evalhook_next(), to the evaluator
 * it replaced: another tool's hook, or the interpreter's default.
 */
#ifndef SG_AGENT_EVALHOOK_H
#define SG_AGENT_EVALHOOK_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdbool.h>

#if PY_VERSION_HEX < 0x030B0000
#include <frameobject.h>
#endif

#if PY_VERSION_HEX >= 0x030B0000
typedef struct _PyInterpreterFrame evalhook_frame;
#else
typedef PyFrameObject evalhook_frame;
#endif

#if PY_VERSION_HEX >= 0x03090000
typedef _PyFrameEvalFunction evalhook_fn;
#else
/* 3.8 keeps the type internal; this is its definition. */
typedef PyObject *(*evalhook_fn)(PyFrameObject *, int);
#endif

typedef struct evalhook {
    evalhook_fn fn;   /* the collector's hook */
    evalhook_fn prev; /* what it replaced; NULL: the default */
    bool installed;
} evalhook;

/* Whether the interpreter evaluates frames with the default evaluator
 * (no other tool, a debugger or a JIT, holds the hook). */
bool evalhook_is_default(void);
/* Make h->fn the interpreter's evaluator. */
void evalhook_install(evalhook *h);
/* Give back the evaluator h->fn replaced, unless another tool has since
 * installed its own (which then keeps calling h->fn, harmlessly). */
void evalhook_remove(evalhook *h);

static inline PyObject *
evalhook_next(const evalhook *h, PyThreadState *ts, evalhook_frame *f,
              int throwflag)
{
#if PY_VERSION_HEX < 0x03090000
    (void)ts;
    return h->prev ? h->prev(f, throwflag)
                   : _PyEval_EvalFrameDefault(f, throwflag);
#else
    return h->prev ? h->prev(ts, f, throwflag)
                   : _PyEval_EvalFrameDefault(ts, f, throwflag);
#endif
}

#endif
