/* lines_trace.c -- the line profiler's 3.8-3.11 backend: a C trace
 * function (PyEval_SetTrace), confined to the selected code objects.
 *
 * The eval loop calls the trace function for line events only in frames
 * whose f_trace_lines is set. At each frame's call event we look the code
 * object up (a per-code cache in co_extra: the state's address, or a tag
 * meaning "not selected") and clear f_trace_lines in every frame of code
 * that is not selected, so those frames never call us per line. The thread
 * that enables the profiler and every thread started afterwards (through
 * threading.settrace, whose hook swaps itself for the C function on its
 * first call) are traced.
 */
#include "agent/lines.h"

#if PY_VERSION_HEX < 0x030C0000

#if PY_VERSION_HEX >= 0x030B0000
/* 3.11 keeps PyFrameObject's fields (f_trace_lines, f_frame) internal. */
#define Py_BUILD_CORE 1
#include "internal/pycore_frame.h"
#undef Py_BUILD_CORE
#else
#include <frameobject.h> /* PyFrameObject's fields */
#endif

#include "common/err.h"

int lines_running;
lines_prof *lines_lazy;

static Py_ssize_t extra_index = -1;
/* co_extra value for "not selected": odd, and renewed whenever the backend
 * starts, so that a new selection looks at every code object again. */
static uintptr_t unselected_tag = 1;
static Py_tracefunc saved_func;
static PyObject *saved_obj;

static inline PyObject *
frame_code(PyFrameObject *frame)
{
#if PY_VERSION_HEX >= 0x030B0000
    return (PyObject *)frame->f_frame->f_code;
#else
    return (PyObject *)frame->f_code;
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
            return lc->prof->enabled ? lc : NULL;
        }
    }
    lines_code *lc = lines_lookup(code);
    if (!lc && lines_lazy)
        lc = lines_select(lines_lazy, code); /* watch() sets co_extra */
    if (!lc && _PyCode_SetExtra(code, extra_index, (void *)unselected_tag) <
                   0)
        PyErr_Clear();
    return lc;
}

static int
lines_trace(PyObject *obj, PyFrameObject *frame, int what, PyObject *arg)
{
    if (!lines_running) {
        /* A thread still traced after the profiler stopped. */
        PyEval_SetTrace(NULL, NULL);
        return 0;
    }
    if (what == PyTrace_LINE) {
        uint64_t now = sg_now_ns();
        lines_frame *fr = lines_top();
        if (!fr || fr->key != frame) {
            /* A frame that started before tracing did. */
            lines_code *lc = classify(frame_code(frame));
            if (!lc) {
                frame->f_trace_lines = 0;
                return 0;
            }
            if (!(fr = lines_push(lc, frame, now)))
                return 0;
        }
#if PY_VERSION_HEX >= 0x030B0000
        int line = PyFrame_GetLineNumber(frame);
#else
        int line = frame->f_lineno; /* set by the eval loop for tracing */
#endif
        lines_on_line(fr, line, now);
        PyErr_Clear();
    } else if (what == PyTrace_CALL) {
        lines_code *lc = classify(frame_code(frame));
        if (!lc)
            frame->f_trace_lines = 0;
        else if (!lines_push(lc, frame, sg_now_ns()))
            PyErr_Clear();
    } else if (what == PyTrace_RETURN) {
        lines_frame *fr = lines_top();
        if (fr && fr->key == frame) {
            lines_close(fr, sg_now_ns());
            lines_tls.depth--;
        }
    }
    return 0;
}

/* threading.settrace hook: the first event in a new thread installs the C
 * trace function in its place and is handled as a call event. */
static PyObject *
lines_thread_hook(PyObject *self, PyObject *args)
{
    PyObject *frame, *event, *arg;
    if (!PyArg_ParseTuple(args, "OOO", &frame, &event, &arg))
        return NULL;
    if (lines_running) {
        PyEval_SetTrace(lines_trace, NULL);
        if (PyFrame_Check(frame))
            lines_trace(NULL, (PyFrameObject *)frame, PyTrace_CALL, NULL);
    } else {
        PyEval_SetTrace(NULL, NULL);
    }
    Py_RETURN_NONE;
}

static PyMethodDef hook_def = {"_lines_thread_hook", lines_thread_hook,
                               METH_VARARGS, NULL};

static int
set_thread_hook(int on)
{
    PyObject *threading = PyImport_ImportModule("threading");
    if (!threading)
        return -1;
    PyObject *hook = on ? PyCFunction_New(&hook_def, NULL) : Py_None;
    if (!on)
        Py_INCREF(hook);
    PyObject *r = hook ? PyObject_CallMethod(threading, "settrace", "O",
                                             hook)
                       : NULL;
    Py_XDECREF(hook);
    Py_DECREF(threading);
    Py_XDECREF(r);
    return r ? 0 : -1;
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
    unselected_tag += 2;
    if (set_thread_hook(1) < 0)
        return -1;
    /* Keep the tracer that was there (a debugger, coverage) to restore. */
    PyThreadState *ts = PyThreadState_Get();
    saved_func = ts->c_tracefunc;
    saved_obj = ts->c_traceobj;
    Py_XINCREF(saved_obj);
    lines_running = 1;
    PyEval_SetTrace(lines_trace, NULL);
    return 0;
}

void
lines_backend_stop(void)
{
    if (!lines_running)
        return;
    lines_running = 0;
    PyObject *t, *v, *tb;
    PyErr_Fetch(&t, &v, &tb);
    PyEval_SetTrace(saved_func, saved_obj);
    Py_CLEAR(saved_obj);
    saved_func = NULL;
    if (set_thread_hook(0) < 0)
        PyErr_Clear();
    PyErr_Restore(t, v, tb);
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
    if (extra_index >= 0 && _PyCode_SetExtra(lc->code, extra_index, NULL) <
                                0)
        PyErr_Clear();
}

#endif /* before 3.12 */
