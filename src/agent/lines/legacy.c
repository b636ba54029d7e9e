/* legacy.c -- the line profiler's 3.8-3.11 backend: C tracing, switched
 * on only while a selected code object runs.
 *
 * A frame-evaluation hook (core/evalhook.h: for the interpreter, so for
 * every thread) looks at each frame about to run: unselected code goes
 * straight to the evaluator with no tracing at all; a selected code object
 * turns the C trace function (core/legacy.h) on for its thread for as long
 * as it runs, and restores the thread's previous tracer when the outermost
 * selected frame returns or yields. While tracing is on, frames of
 * unselected callees get f_trace_lines cleared at their call event, so they
 * never call back per line. Code objects are classified once: a co_extra
 * slot caches the state's address, or a tag meaning "not selected".
 *
 * Deep recursion: the hook costs C stack for every Python call it sees
 * (3.11 no longer inlines Python-to-Python calls while one is installed,
 * about 500 bytes each), so a program that raises the recursion limit and
 * recurses 200,000 deep, which plain 3.11 runs, would overflow the C stack
 * (a thread's 512 KB well before 2,000 frames). When frames nest
 * LINES_HOOK_DEPTH_MAX deep through the hook on a thread, or the thread
 * has used half its C stack (core/cstack.h), the backend leaves the hook
 * for good, for the rest of the run: the hook goes, and the trace function
 * is installed on every thread instead (which costs every call a callback
 * from then on, but no C stack).
 */
#include "agent/lines/lines.h"

#if PY_VERSION_HEX < 0x030C0000

#include "agent/core/cstack.h"

#if PY_VERSION_HEX >= 0x030B0000
/* 3.11 keeps PyFrameObject's fields (f_trace_lines, f_frame) internal. */
#define Py_BUILD_CORE 1
#include "internal/pycore_frame.h"
#undef Py_BUILD_CORE
#else
#include <frameobject.h> /* PyFrameObject's fields */
#endif

int lines_running;
lines_prof *lines_lazy;

static Py_ssize_t extra_index = -1;
/* co_extra value for "not selected": odd (a state's address is even), and
 * made of a new generation whenever the backend starts (core/tls.h), so
 * that a new selection looks at every code object again. */
static uintptr_t unselected_tag = 1;
static AGENT_TLS int classifying;
/* Selected frames running in this thread, and its tracer before them. */
static AGENT_TLS int active;
static AGENT_TLS Py_tracefunc saved_func;
static AGENT_TLS PyObject *saved_obj;
/* Frames nested through the hook on this thread. */
static AGENT_TLS int hook_depth;
/* Well past the default recursion limit (1000), well within a C stack of
 * 8 MB. */
#define LINES_HOOK_DEPTH_MAX 2000
/* The hook is gone and every thread traces (see the header comment). */
static int tracing_all;

#if PY_VERSION_HEX < 0x03090000
static PyObject *lines_eval(PyFrameObject *f, int throwflag);
#else
static PyObject *lines_eval(PyThreadState *ts, evalhook_frame *f,
                            int throwflag);
#endif
static evalhook lines_evalhook = {lines_eval, NULL, false};

static inline PyObject *
frame_code(PyFrameObject *frame)
{
#if PY_VERSION_HEX >= 0x030B0000
    return (PyObject *)frame->f_frame->f_code;
#else
    return (PyObject *)frame->f_code;
#endif
}

/* The byte offset of the instruction frame runs. */
static inline int
frame_lasti(PyFrameObject *frame)
{
#if PY_VERSION_HEX >= 0x030B0000
    return PyFrame_GetLasti(frame);
#elif PY_VERSION_HEX >= 0x030A0000
    return frame->f_lasti * (int)sizeof(_Py_CODEUNIT); /* code units */
#else
    return frame->f_lasti;
#endif
}

static lines_code *
classify(PyObject *code)
{
    void *x = NULL;
    if (_PyCode_GetExtra(code, extra_index, &x) < 0) {
        PyErr_Clear();
        return NULL;
    }
    if (x) {
        if ((uintptr_t)x == unselected_tag)
            return NULL;
        if (!((uintptr_t)x & 1)) {
            lines_code *lc = x;
            return lines_recording(lc->prof) ? lc : NULL;
        }
    }
    lines_code *lc = lines_lookup(code);
    if (!lc && lines_lazy) {
        /* Selection runs Python code (os.path.realpath), whose frames come
         * back here: they are left unclassified until it is done. */
        if (classifying)
            return NULL;
        classifying = 1;
        lines_quiet(1);
        lc = lines_select(lines_lazy, code); /* watch() sets co_extra */
        lines_quiet(-1);
        classifying = 0;
    }
    if (!lc && _PyCode_SetExtra(code, extra_index, (void *)unselected_tag) < 0)
        PyErr_Clear();
    return lc;
}

/* This thread's own tracer, saved while selected frames run: events go on
 * to it (chained), so that a tracer of the program's (coverage.py, a
 * debugger) sees what it would without spyglass. */
static inline bool
chained(void)
{
    return saved_func != NULL;
}

/* The line profiler's part of an event. Frames it does not count are
 * spared their line events unless a chained tracer may want them. */
static void
lines_event(PyFrameObject *frame, int what)
{
    if (what == PyTrace_LINE) {
        lines_frame *fr = lines_top();
        if (!fr || fr->key != frame) {
            /* A frame that started before tracing did. */
            lines_code *lc = classify(frame_code(frame));
            if (!lc) {
                if (!chained())
                    frame->f_trace_lines = 0;
                return;
            }
            if (!(fr = lines_push(lc, frame, lines_now(lc))))
                return;
            if (lines_opwatch)
                frame->f_trace_opcodes = 1;
        }
        uint64_t now = lines_now(fr->lc);
#if PY_VERSION_HEX >= 0x030B0000
        int line = PyFrame_GetLineNumber(frame);
#else
        int line = frame->f_lineno; /* set by the eval loop for tracing */
#endif
        lines_on_line(fr, line, now);
    } else if (what == PyTrace_CALL) {
        lines_code *lc = classify(frame_code(frame));
        if (!lc) {
            if (!chained())
                frame->f_trace_lines = 0;
        } else {
            lines_push(lc, frame, lines_now(lc));
            if (lines_opwatch)
                frame->f_trace_opcodes = 1;
        }
    } else if (what == PyTrace_OPCODE) {
        lines_frame *fr = lines_top();
        if (fr && fr->key == frame && lines_opwatch)
            lines_opwatch->opcode(fr->lc, frame_lasti(frame));
    } else if (what == PyTrace_RETURN) {
        lines_frame *fr = lines_top();
        if (fr && fr->key == frame)
            lines_return_top(fr, lines_now(fr->lc));
    }
}

static int lines_trace(PyObject *obj, PyFrameObject *frame, int what,
                       PyObject *arg);

/* Pass an event on to the chained tracer. One that changes the thread's
 * tracer meanwhile (sys.settrace's trampoline removes itself when the
 * Python tracer raises; coverage.py's stop() removes its own) is
 * followed: the thread's tracer then becomes the chained one, and the
 * line profiler's goes back in front of it. */
static int
lines_chain(PyThreadState *ts, PyFrameObject *frame, int what, PyObject *arg)
{
    int rc = saved_func(saved_obj, frame, what, arg);
    if (ts->c_tracefunc != lines_trace) {
        PyObject *old = saved_obj;
        saved_func = ts->c_tracefunc;
        saved_obj = ts->c_traceobj;
        Py_XINCREF(saved_obj);
        legacy_set(ts, LEGACY_TRACE, lines_trace, NULL);
        Py_XDECREF(old);
    }
    return rc;
}

static int
lines_trace(PyObject *obj, PyFrameObject *frame, int what, PyObject *arg)
{
    PyThreadState *ts = PyThreadState_Get();
    if (!lines_running) {
        /* The profiler stopped while this thread ran a selected frame:
         * the thread's own tracer is back, and this event is its. */
        legacy_set(ts, LEGACY_TRACE, saved_func, saved_obj);
        return saved_func ? saved_func(saved_obj, frame, what, arg) : 0;
    }
    lines_event(frame, what);
    return chained() ? lines_chain(ts, frame, what, arg) : 0;
}

/* Leave the hook for the trace function on every thread (see the header
 * comment). Keeps any exception of the frame about to run. */
static void
trace_everything(void)
{
    PyObject *t, *v, *tb;
    PyErr_Fetch(&t, &v, &tb);
    evalhook_remove(&lines_evalhook);
    tracing_all = 1;
    if (legacy_install_all(LEGACY_TRACE, lines_trace, NULL) < 0) {
        /* threading refused: this thread, at least, goes on counting. */
        PyErr_Clear();
        legacy_set(PyThreadState_Get(), LEGACY_TRACE, lines_trace, NULL);
    }
    PyErr_Restore(t, v, tb);
}

/* The outermost selected frame of this thread is done: its own tracer
 * back in place, unless the program installed another since (which
 * stays), or every thread traces now (the chain goes on). */
static void
restore_tracer(PyThreadState *ts)
{
    if (ts->c_tracefunc == lines_trace && tracing_all)
        return;
    PyObject *obj = saved_obj;
    if (ts->c_tracefunc == lines_trace)
        legacy_set(ts, LEGACY_TRACE, saved_func, obj);
    saved_func = NULL;
    saved_obj = NULL;
    Py_XDECREF(obj);
}

#if PY_VERSION_HEX < 0x03090000
static PyObject *
lines_eval(PyFrameObject *f, int throwflag)
{
    PyThreadState *ts = PyThreadState_GET();
#else
static PyObject *
lines_eval(PyThreadState *ts, evalhook_frame *f, int throwflag)
{
#endif
    if (!lines_running || tracing_all)
        return evalhook_next(&lines_evalhook, ts, f, throwflag);
    if (hook_depth >= LINES_HOOK_DEPTH_MAX || cstack_deep()) {
        /* This frame's call event now reaches the trace function. */
        trace_everything();
        return evalhook_next(&lines_evalhook, ts, f, throwflag);
    }
    hook_depth++;
    PyObject *r;
    if (!classify((PyObject *)f->f_code)) {
        r = evalhook_next(&lines_evalhook, ts, f, throwflag);
        hook_depth--;
        return r;
    }
    if (active++ == 0 && ts->c_tracefunc != lines_trace) {
        saved_func = ts->c_tracefunc;
        saved_obj = ts->c_traceobj;
        Py_XINCREF(saved_obj);
        legacy_set(ts, LEGACY_TRACE, lines_trace, NULL);
    }
    r = evalhook_next(&lines_evalhook, ts, f, throwflag);
    if (--active == 0)
        restore_tracer(ts);
    hook_depth--;
    return r;
}

int
lines_backend_start(void)
{
    if (extra_index < 0) {
        extra_index = _PyEval_RequestCodeExtraIndex(NULL);
        if (extra_index < 0) {
            PyErr_SetString(PyExc_RuntimeError,
                            "spyglass lines: no code extra slot left");
            return -1;
        }
    }
    unselected_tag = (uintptr_t)tls_gen_next() << 1 | 1;
    tracing_all = 0;
    evalhook_install(&lines_evalhook);
    lines_running = 1;
    return 0;
}

int
lines_backend_global(void)
{
    return 0;
}

void
lines_backend_stop(void)
{
    if (!lines_running)
        return;
    lines_running = 0;
    evalhook_remove(&lines_evalhook);
    if (tracing_all) {
        legacy_remove_all(LEGACY_TRACE);
        tracing_all = 0;
    }
}

int
lines_backend_watch(lines_code *lc)
{
    if (extra_index < 0)
        return 0;
    if (_PyCode_SetExtra(lc->code, extra_index, lc) < 0)
        return -1;
    return 0;
}

void
lines_backend_unwatch(lines_code *lc)
{
    if (extra_index >= 0 && _PyCode_SetExtra(lc->code, extra_index, NULL) < 0)
        PyErr_Clear();
}

#endif /* before 3.12 */
