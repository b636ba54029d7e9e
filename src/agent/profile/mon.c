/* mon.c -- the profiler's events on 3.12+: sys.monitoring.
 *
 * C callbacks (core/mon.h): PY_START, PY_RESUME and PY_THROW enter a
 * Python function; PY_RETURN, PY_YIELD and PY_UNWIND leave it; CALL of a
 * builtin function or method descriptor enters a C function and C_RETURN /
 * C_RAISE leave it. The events are per interpreter, so every thread,
 * existing or new, is profiled. With --no-builtins the CALL family is not
 * registered (it fires on every call, Python ones included).
 *
 * Opt-in (SPYGLASS_PROFILE_HOOK=eval): Python frames through the
 * frame-evaluation hook (core/evalhook.h) instead of the PY_* events: every
 * evaluation of a frame -- a call, a resume of a generator or coroutine, a
 * throw() into one -- passes through prof_eval_frame, which enters before
 * and leaves when the evaluation returns (return, yield or exception): the
 * same calls cProfile counts, for one C call instead of two monitoring
 * dispatches (on 3.12, in instructions: 12% less overhead on mixed code,
 * 9% more on fib, whose calls the hook keeps from being inlined). Not the
 * default because the interpreter then stops inlining Python-to-Python
 * calls, so each costs C stack: a program that raises the recursion limit
 * and recurses deeper than the C recursion limit (about 1500-8000), or
 * than half its thread's C stack (core/cstack.h: before the limit on a
 * small thread, which would overflow), fails with RecursionError under
 * the profiler and not without it. It is
 * also skipped when another tool (a debugger, a JIT) holds the hook.
 *
 * These are the events cProfile uses, so the counts agree: every resume of
 * a generator or coroutine is a call.
 */
#include "agent/profile/profiler.h"

#if PY_VERSION_HEX >= 0x030C0000

#include <stdlib.h>
#include <string.h>

#include "agent/core/cstack.h"

static int prof_mon_tool = -1; /* the tool id while installed */
static PyObject *prof_eval_frame(PyThreadState *tstate,
                                 struct _PyInterpreterFrame *frame,
                                 int throwflag);
static evalhook prof_evalhook = {prof_eval_frame, NULL, false};

static PyObject *
prof_mon_enter(PyObject *self, PyObject *const *args, size_t nargsf,
               PyObject *kwnames)
{
    profiler *P = prof_active;
    if (P && PyVectorcall_NARGS(nargsf) >= 1) {
        uint64_t now = ticks_now();
        if (!prof_enter_fast(P, args[0], now))
            prof_event_enter(P, args[0], args[0], PROF_PYTHON, now);
    }
    Py_RETURN_NONE;
}

static PyObject *
prof_mon_leave(PyObject *self, PyObject *const *args, size_t nargsf,
               PyObject *kwnames)
{
    profiler *P = prof_active;
    if (P && PyVectorcall_NARGS(nargsf) >= 1) {
        uint64_t now = ticks_now();
        if (!prof_leave_fast(P, args[0], now))
            prof_event_leave(P, args[0], now);
    }
    Py_RETURN_NONE;
}

/* CALL(code, offset, callable, arg0): only C functions are entered here
 * (Python functions get PY_START). A method descriptor is a C method
 * called unbound through its type, as `lst.append(x)` compiles to. */
static PyObject *
prof_mon_call(PyObject *self, PyObject *const *args, size_t nargsf,
              PyObject *kwnames)
{
    profiler *P = prof_active;
    if (P && PyVectorcall_NARGS(nargsf) >= 4) {
        PyObject *callable = args[2];
        const void *key = prof_cfunc_key(callable);
        if (key && !(args[3] == mon_MISSING &&
                     Py_IS_TYPE(callable, &PyMethodDescr_Type))) {
            uint64_t now = ticks_now();
            if (!prof_enter_fast(P, key, now))
                prof_event_enter(P, key, callable, PROF_BUILTIN, now);
        }
    }
    Py_RETURN_NONE;
}

static PyObject *
prof_mon_creturn(PyObject *self, PyObject *const *args, size_t nargsf,
                 PyObject *kwnames)
{
    profiler *P = prof_active;
    if (P && PyVectorcall_NARGS(nargsf) >= 3) {
        const void *key = prof_cfunc_key(args[2]);
        if (key) {
            uint64_t now = ticks_now();
            if (!prof_leave_fast(P, key, now))
                prof_event_leave(P, key, now);
        }
    }
    Py_RETURN_NONE;
}

/* Whether frame has not run any instruction yet: 3.12 reports the last
 * instruction as -1 code unit then, 3.13 (which tracks the next one) 0. */
static inline bool
prof_frame_is_fresh(struct _PyInterpreterFrame *frame)
{
    int lasti = PyUnstable_InterpreterFrame_GetLasti(frame);
#if PY_VERSION_HEX >= 0x030D0000
    return lasti <= 0;
#else
    return lasti < 0;
#endif
}

/* The frame-evaluation hook; see the header comment. */
static PyObject *
prof_eval_frame(PyThreadState *tstate, struct _PyInterpreterFrame *frame,
                int throwflag)
{
    if (cstack_deep()) {
        /* One more frame could overflow the C stack (a thread's 256 KB at
         * a few hundred frames, before the interpreter's own C recursion
         * limit): fail the call as that limit would, raised into the
         * frame (as generator.throw() does), which unwinds and frees it. */
        PyErr_SetString(PyExc_RecursionError,
                        "maximum recursion depth exceeded: half of this "
                        "thread's C stack is used, and each call through "
                        "SPYGLASS_PROFILE_HOOK=eval uses more (unset it)");
        return evalhook_next(&prof_evalhook, tstate, frame, 1);
    }
    profiler *P = prof_active;
    if (!P)
        return evalhook_next(&prof_evalhook, tstate, frame, throwflag);
    uint64_t now = ticks_now();
    /* A strong reference; the frame keeps the code alive while it runs and
     * the profiler keeps every code object it has entered. */
    PyObject *code = PyUnstable_InterpreterFrame_GetCode(frame);
    Py_DECREF(code);
    /* Calling a generator (coroutine, async generator) function runs its
     * frame only up to RETURN_GENERATOR, which makes the generator object:
     * that is no call for cProfile (no PY_START), only each later resume
     * is. Such a creation is the frame's first evaluation. */
    if ((((PyCodeObject *)code)->co_flags &
         (CO_GENERATOR | CO_COROUTINE | CO_ASYNC_GENERATOR)) &&
        prof_frame_is_fresh(frame))
        return evalhook_next(&prof_evalhook, tstate, frame, throwflag);
    if (!prof_enter_fast(P, code, now))
        prof_event_enter(P, code, code, PROF_PYTHON, now);
    PyObject *r = evalhook_next(&prof_evalhook, tstate, frame, throwflag);
    /* The profiler may have been disabled, re-enabled or replaced
     * meanwhile: then its stack does not hold this frame (a disable closes
     * every frame; what was entered since has returned), and leaving is a
     * no-op. */
    P = prof_active;
    if (P) {
        now = ticks_now();
        if (!prof_leave_fast(P, code, now))
            prof_event_leave(P, code, now);
    }
    return r;
}

static bool
prof_want_eval_hook(void)
{
    const char *e = getenv("SPYGLASS_PROFILE_HOOK");
    return e && strcmp(e, "eval") == 0 && evalhook_is_default();
}

/* Which callback each event gets, and whether it is a C-function event
 * (registered only with builtins) or a Python-frame one (not registered
 * when the eval hook takes Python frames). */
static const struct {
    mon_event event;
    vectorcallfunc fn;
    bool builtin;
} prof_mon_table[] = {
    {MON_PY_START, prof_mon_enter, false},
    {MON_PY_RESUME, prof_mon_enter, false},
    {MON_PY_THROW, prof_mon_enter, false},
    {MON_PY_RETURN, prof_mon_leave, false},
    {MON_PY_YIELD, prof_mon_leave, false},
    {MON_PY_UNWIND, prof_mon_leave, false},
    {MON_CALL, prof_mon_call, true},
    {MON_C_RETURN, prof_mon_creturn, true},
    {MON_C_RAISE, prof_mon_creturn, true},
};
#define PROF_N_MON (sizeof prof_mon_table / sizeof prof_mon_table[0])

int
prof_hooks_install(profiler *P)
{
    bool eval = prof_want_eval_hook();
    if (!eval || P->builtins) {
        int tool = mon_acquire("spyglass profile");
        if (tool < 0)
            return -1;
        long mask = 0;
        for (size_t i = 0; i < PROF_N_MON; i++) {
            if (prof_mon_table[i].builtin ? !P->builtins : eval)
                continue;
            if (mon_register(tool, prof_mon_table[i].event,
                             prof_mon_table[i].fn) < 0) {
                mon_release(tool);
                return -1;
            }
            mask |= mon_bit[prof_mon_table[i].event];
        }
        if (mon_set_events(tool, mask) < 0) {
            mon_release(tool);
            return -1;
        }
        prof_mon_tool = tool;
    }
    if (eval)
        evalhook_install(&prof_evalhook);
    return 0;
}

int
prof_hooks_remove(profiler *P)
{
    evalhook_remove(&prof_evalhook);
    int rc = mon_release(prof_mon_tool);
    prof_mon_tool = -1;
    return rc;
}

#endif /* 3.12+ */
