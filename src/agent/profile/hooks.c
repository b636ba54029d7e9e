/* profiler_hooks.c -- where the profiler's events come from.
 *
 * 3.12+: sys.monitoring, with C (vectorcall) callbacks: PY_START,
 * PY_RESUME and PY_THROW enter a Python function; PY_RETURN, PY_YIELD and
 * PY_UNWIND leave it; CALL of a builtin function or method descriptor
 * enters a C function and C_RETURN / C_RAISE leave it. The events are per
 * interpreter, so every thread, existing or new, is profiled. With
 * --no-builtins the CALL family is not registered (it fires on every call,
 * Python ones included).
 *
 * Opt-in on 3.12+ (SPYGLASS_PROFILE_HOOK=eval): Python frames through the
 * frame-evaluation hook (PEP 523) instead of the PY_* events: every
 * evaluation of a frame -- a call, a resume of a generator or coroutine, a
 * throw() into one -- passes through prof_eval_frame, which enters before
 * and leaves when the evaluation returns (return, yield or exception): the
 * same calls cProfile counts, for one C call instead of two monitoring
 * dispatches (on 3.12, in instructions: 12% less overhead on mixed code,
 * 9% more on fib, whose calls the hook keeps from being inlined). Not the
 * default because the interpreter then stops inlining Python-to-Python
 * calls, so each costs C stack: a program that raises the recursion limit
 * and recurses deeper than the C recursion limit (about 1500-8000) would
 * fail with RecursionError under the profiler and not without it. It is
 * also skipped when another tool (a debugger, a JIT) holds the hook.
 *
 * 3.8-3.11: the C profile function (PyEval_SetProfile): it is per thread,
 * so it is installed on every existing thread state (_PyEval_SetProfile on
 * 3.9-3.11, the public thread-state fields on 3.8) and, through
 * threading.setprofile, on each thread that threading starts afterwards: a
 * C hook runs once at the new thread's first event, replaces itself with
 * the C profile function and replays that event. (Threads started with
 * _thread directly are not seen on these versions.)
 *
 * These are the events cProfile uses on each version, so the counts agree:
 * every resume of a generator or coroutine is a call.
 */
#include "agent/profile/profiler.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#if PY_VERSION_HEX < 0x030B0000
#include <frameobject.h>
#endif

#if PY_VERSION_HEX >= 0x030C0000

/* ---- sys.monitoring (3.12+) ------------------------------------------- */

enum {
    EV_PY_START = 1 << 0,
    EV_PY_RESUME = 1 << 1,
    EV_PY_RETURN = 1 << 2,
    EV_PY_YIELD = 1 << 3,
    EV_CALL = 1 << 4,
    EV_PY_UNWIND = 1 << 12,
    EV_PY_THROW = 1 << 13,
    EV_C_RETURN = 1 << 15,
    EV_C_RAISE = 1 << 16,
};

static PyObject *mon_missing; /* sys.monitoring.MISSING */

static PyObject *
mon_enter(PyObject *self, PyObject *const *args, size_t nargsf,
          PyObject *kwnames)
{
    profiler *P = prof_active;
    if (P && PyVectorcall_NARGS(nargsf) >= 1) {
        uint64_t now = prof_ticks();
        if (!prof_enter_fast(P, args[0], now))
            prof_event_enter(P, args[0], args[0], PROF_PYTHON, now);
    }
    Py_RETURN_NONE;
}

static PyObject *
mon_leave(PyObject *self, PyObject *const *args, size_t nargsf,
          PyObject *kwnames)
{
    profiler *P = prof_active;
    if (P && PyVectorcall_NARGS(nargsf) >= 1) {
        uint64_t now = prof_ticks();
        if (!prof_leave_fast(P, args[0], now))
            prof_event_leave(P, args[0], now);
    }
    Py_RETURN_NONE;
}

/* CALL(code, offset, callable, arg0): only C functions are entered here
 * (Python functions get PY_START). A method descriptor is a C method
 * called unbound through its type, as `lst.append(x)` compiles to. */
static PyObject *
mon_call(PyObject *self, PyObject *const *args, size_t nargsf,
         PyObject *kwnames)
{
    profiler *P = prof_active;
    if (P && PyVectorcall_NARGS(nargsf) >= 4) {
        PyObject *callable = args[2];
        const void *key = prof_cfunc_key(callable);
        if (key && !(args[3] == mon_missing &&
                     Py_IS_TYPE(callable, &PyMethodDescr_Type))) {
            uint64_t now = prof_ticks();
            if (!prof_enter_fast(P, key, now))
                prof_event_enter(P, key, callable, PROF_BUILTIN, now);
        }
    }
    Py_RETURN_NONE;
}

static PyObject *
mon_creturn(PyObject *self, PyObject *const *args, size_t nargsf,
            PyObject *kwnames)
{
    profiler *P = prof_active;
    if (P && PyVectorcall_NARGS(nargsf) >= 3) {
        const void *key = prof_cfunc_key(args[2]);
        if (key) {
            uint64_t now = prof_ticks();
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
    profiler *P = prof_active;
    if (!P)
        return _PyEval_EvalFrameDefault(tstate, frame, throwflag);
    uint64_t now = prof_ticks();
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
        return _PyEval_EvalFrameDefault(tstate, frame, throwflag);
    uint64_t epoch = P->epoch;
    if (!prof_enter_fast(P, code, now))
        prof_event_enter(P, code, code, PROF_PYTHON, now);
    PyObject *r = _PyEval_EvalFrameDefault(tstate, frame, throwflag);
    /* The profiler may have been disabled (or replaced) meanwhile. */
    P = prof_active;
    if (P && P->epoch == epoch) {
        now = prof_ticks();
        if (!prof_leave_fast(P, code, now))
            prof_event_leave(P, code, now);
    }
    return r;
}

static bool
prof_use_eval_hook(void)
{
    const char *e = getenv("SPYGLASS_PROFILE_HOOK");
    if (!e || strcmp(e, "eval") != 0)
        return false;
    PyInterpreterState *interp =
        PyThreadState_GetInterpreter(PyThreadState_Get());
    return _PyInterpreterState_GetEvalFrameFunc(interp) ==
           _PyEval_EvalFrameDefault;
}

/* The callbacks are objects of their own small type whose vectorcall slot
 * is the C function itself: sys.monitoring calls them through
 * PyObject_Vectorcall, and a builtin-function wrapper (PyCFunction) would
 * add its own dispatch and recursion check to every event. Measured with
 * no-op callbacks on 3.12, fib: 164% -> 137% overhead in instructions. */
typedef struct {
    PyObject_HEAD
    vectorcallfunc call;
} mon_callback;

/* clang-format off */
static PyTypeObject mon_callback_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "spyglass._agent.monitoring_callback",
    .tp_basicsize = sizeof(mon_callback),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_call = PyVectorcall_Call,
    .tp_vectorcall_offset = offsetof(mon_callback, call),
};
/* clang-format on */

static const vectorcallfunc mon_funcs[] = {mon_enter, mon_leave, mon_call,
                                           mon_creturn};

static PyObject *
mon_callback_new(vectorcallfunc fn)
{
    if (PyType_Ready(&mon_callback_type) < 0)
        return NULL;
    mon_callback *cb = PyObject_New(mon_callback, &mon_callback_type);
    if (cb)
        cb->call = fn;
    return (PyObject *)cb;
}

static const struct {
    int event;
    int def;
    bool builtin; /* 0: a Python-frame event, 1: a C-function event */
} mon_table[] = {
    {EV_PY_START, 0, false}, {EV_PY_RESUME, 0, false},
    {EV_PY_THROW, 0, false}, {EV_PY_RETURN, 1, false},
    {EV_PY_YIELD, 1, false}, {EV_PY_UNWIND, 1, false},
    {EV_CALL, 2, true},      {EV_C_RETURN, 3, true},
    {EV_C_RAISE, 3, true},
};
#define N_MON (sizeof mon_table / sizeof mon_table[0])

static PyObject *
mon_module(void)
{
    PyObject *sys = PyImport_ImportModule("sys");
    if (!sys)
        return NULL;
    PyObject *mon = PyObject_GetAttrString(sys, "monitoring");
    Py_DECREF(sys);
    return mon;
}

/* Give back P's tool id after a failed install, keeping the exception. */
static void
mon_release_tool(PyObject *mon, profiler *P)
{
    PyObject *t, *v, *tb;
    PyErr_Fetch(&t, &v, &tb);
    PyObject *r = PyObject_CallMethod(mon, "free_tool_id", "i", P->tool_id);
    Py_XDECREF(r);
    PyErr_Clear();
    PyErr_Restore(t, v, tb);
    P->tool_id = -1;
}

int
prof_hooks_install(profiler *P)
{
    P->eval_hook = prof_use_eval_hook();
    if (P->eval_hook && !P->builtins) {
        /* Nothing for sys.monitoring to do. */
        P->tool_id = -1;
        _PyInterpreterState_SetEvalFrameFunc(
            PyThreadState_GetInterpreter(PyThreadState_Get()),
            prof_eval_frame);
        return 0;
    }
    PyObject *mon = mon_module();
    if (!mon)
        return -1;
    if (!mon_missing) {
        mon_missing = PyObject_GetAttrString(mon, "MISSING");
        if (!mon_missing)
            goto fail;
    }
    /* 2 is PROFILER_ID; fall back to the unnamed ids when another tool
     * (e.g. cProfile) holds it. */
    static const int ids[] = {2, 3, 4};
    P->tool_id = -1;
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        PyObject *r = PyObject_CallMethod(mon, "get_tool", "i", ids[i]);
        if (!r)
            goto fail;
        bool free_id = r == Py_None;
        Py_DECREF(r);
        if (free_id) {
            r = PyObject_CallMethod(mon, "use_tool_id", "is", ids[i],
                                    "spyglass");
            if (!r)
                goto fail;
            Py_DECREF(r);
            P->tool_id = ids[i];
            break;
        }
    }
    if (P->tool_id < 0) {
        PyErr_SetString(PyExc_RuntimeError,
                        "no free sys.monitoring tool id for the profiler");
        goto fail;
    }
    int mask = 0;
    for (size_t i = 0; i < N_MON; i++) {
        if (mon_table[i].builtin ? !P->builtins : P->eval_hook)
            continue;
        PyObject *cb = mon_callback_new(mon_funcs[mon_table[i].def]);
        PyObject *r =
            cb ? PyObject_CallMethod(mon, "register_callback", "iiO",
                                     P->tool_id, mon_table[i].event, cb)
               : NULL;
        Py_XDECREF(cb);
        if (!r)
            goto fail_tool;
        Py_DECREF(r);
        mask |= mon_table[i].event;
    }
    PyObject *r =
        PyObject_CallMethod(mon, "set_events", "ii", P->tool_id, mask);
    if (!r)
        goto fail_tool;
    Py_DECREF(r);
    Py_DECREF(mon);
    if (P->eval_hook)
        _PyInterpreterState_SetEvalFrameFunc(
            PyThreadState_GetInterpreter(PyThreadState_Get()),
            prof_eval_frame);
    return 0;
fail_tool:
    mon_release_tool(mon, P);
fail:
    Py_DECREF(mon);
    return -1;
}

int
prof_hooks_remove(profiler *P)
{
    if (P->eval_hook) {
        PyInterpreterState *interp =
            PyThreadState_GetInterpreter(PyThreadState_Get());
        if (_PyInterpreterState_GetEvalFrameFunc(interp) == prof_eval_frame)
            _PyInterpreterState_SetEvalFrameFunc(interp,
                                                 _PyEval_EvalFrameDefault);
        P->eval_hook = false;
    }
    if (P->tool_id < 0)
        return 0;
    /* Keep any exception of the program (disable runs while one may be
     * propagating, e.g. from __exit__). */
    PyObject *t, *v, *tb;
    PyErr_Fetch(&t, &v, &tb);
    int rc = 0;
    PyObject *mon = mon_module();
    if (mon) {
        PyObject *r =
            PyObject_CallMethod(mon, "set_events", "ii", P->tool_id, 0);
        rc |= r ? 0 : -1;
        Py_XDECREF(r);
        for (size_t i = 0; i < N_MON; i++) {
            r = PyObject_CallMethod(mon, "register_callback", "iiO",
                                    P->tool_id, mon_table[i].event, Py_None);
            rc |= r ? 0 : -1;
            Py_XDECREF(r);
        }
        r = PyObject_CallMethod(mon, "free_tool_id", "i", P->tool_id);
        rc |= r ? 0 : -1;
        Py_XDECREF(r);
        Py_DECREF(mon);
    } else {
        rc = -1;
    }
    P->tool_id = -1;
    PyErr_Clear();
    PyErr_Restore(t, v, tb);
    return rc;
}

#else /* PY_VERSION_HEX < 0x030C0000 */

/* ---- the C profile function (3.8-3.11) ---------------------------------- */

static PyObject *
frame_code(PyFrameObject *frame)
{
#if PY_VERSION_HEX >= 0x030B0000
    /* A new reference, but the frame keeps the code alive meanwhile. */
    PyCodeObject *co = PyFrame_GetCode(frame);
    Py_DECREF(co);
    return (PyObject *)co;
#else
    return (PyObject *)frame->f_code;
#endif
}

static int
legacy_cb(PyObject *obj, PyFrameObject *frame, int what, PyObject *arg)
{
    profiler *P = prof_active;
    if (!P)
        return 0;
    uint64_t now = prof_ticks();
    const void *key;
    switch (what) {
    case PyTrace_CALL: {
        PyObject *co = frame_code(frame);
        if (!prof_enter_fast(P, co, now))
            prof_event_enter(P, co, co, PROF_PYTHON, now);
        break;
    }
    case PyTrace_RETURN:
        key = frame_code(frame);
        if (!prof_leave_fast(P, key, now))
            prof_event_leave(P, key, now);
        break;
    case PyTrace_C_CALL:
        if (P->builtins && PyCFunction_Check(arg)) {
            key = ((PyCFunctionObject *)arg)->m_ml;
            if (!prof_enter_fast(P, key, now))
                prof_event_enter(P, key, arg, PROF_BUILTIN, now);
        }
        break;
    case PyTrace_C_RETURN:
    case PyTrace_C_EXCEPTION:
        if (P->builtins && PyCFunction_Check(arg)) {
            key = ((PyCFunctionObject *)arg)->m_ml;
            if (!prof_leave_fast(P, key, now))
                prof_event_leave(P, key, now);
        }
        break;
    default:
        break;
    }
    return 0;
}

static void
set_thread_profile(PyThreadState *ts, profiler *P)
{
#if PY_VERSION_HEX >= 0x03090000
    if (_PyEval_SetProfile(ts, P ? legacy_cb : NULL, (PyObject *)P) < 0)
        PyErr_Clear();
#else
    /* 3.8 has no per-thread setter; its thread state is public. */
    PyObject *old = ts->c_profileobj;
    ts->c_profilefunc = NULL;
    ts->c_profileobj = NULL;
    ts->use_tracing = ts->c_tracefunc != NULL;
    Py_XDECREF(old);
    if (P) {
        Py_INCREF(P);
        ts->c_profileobj = (PyObject *)P;
        ts->c_profilefunc = legacy_cb;
        ts->use_tracing = 1;
    }
#endif
}

static void
set_all_threads(profiler *P)
{
    PyThreadState *me = PyThreadState_Get();
#if PY_VERSION_HEX >= 0x03090000
    PyInterpreterState *interp = PyThreadState_GetInterpreter(me);
#else
    PyInterpreterState *interp = me->interp;
#endif
    for (PyThreadState *ts = PyInterpreterState_ThreadHead(interp); ts;
         ts = PyThreadState_Next(ts))
        set_thread_profile(ts, P);
}

/* threading's profile hook, called by sys.setprofile's trampoline at a new
 * thread's first event (the call of Thread.run). */
static PyObject *
thread_hook(PyObject *self, PyObject *args)
{
    PyObject *frame, *event, *arg;
    if (!PyArg_UnpackTuple(args, "hook", 3, 3, &frame, &event, &arg))
        return NULL;
    profiler *P = prof_active;
    set_thread_profile(PyThreadState_Get(), P);
    if (P && PyFrame_Check(frame) && PyUnicode_Check(event) &&
        PyUnicode_CompareWithASCIIString(event, "call") == 0)
        legacy_cb((PyObject *)P, (PyFrameObject *)frame, PyTrace_CALL, NULL);
    Py_RETURN_NONE;
}

static PyMethodDef thread_hook_def = {"_thread_hook", thread_hook,
                                      METH_VARARGS, NULL};

static int
set_threading_hook(PyObject *hook)
{
    PyObject *threading = PyImport_ImportModule("threading");
    if (!threading)
        return -1;
    PyObject *r = PyObject_CallMethod(threading, "setprofile", "O", hook);
    Py_DECREF(threading);
    if (!r)
        return -1;
    Py_DECREF(r);
    return 0;
}

int
prof_hooks_install(profiler *P)
{
    PyObject *hook = PyCFunction_New(&thread_hook_def, NULL);
    if (!hook)
        return -1;
    int rc = set_threading_hook(hook);
    Py_DECREF(hook);
    if (rc < 0)
        return -1;
    set_all_threads(P);
    return 0;
}

int
prof_hooks_remove(profiler *P)
{
    PyObject *t, *v, *tb;
    PyErr_Fetch(&t, &v, &tb);
    set_all_threads(NULL);
    int rc = set_threading_hook(Py_None);
    PyErr_Clear();
    PyErr_Restore(t, v, tb);
    return rc;
}

#endif
