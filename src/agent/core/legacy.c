/* legacy.c -- installing the C profile/trace function on every thread
 * (3.8-3.11; see legacy.h). */
#include "agent/core/legacy.h"

#include <stdbool.h>

#if PY_VERSION_HEX < 0x030C0000

#if PY_VERSION_HEX < 0x030B0000
#include <frameobject.h> /* PyFrame_Check */
#endif
#if PY_VERSION_HEX < 0x03090000
/* 3.8: the count of threads with a trace function, which the eval loop
 * checks before line events, is in the runtime state. */
#define Py_BUILD_CORE 1
#include "internal/pycore_pystate.h"
#undef Py_BUILD_CORE
#endif

/* The function each kind installs on threads that start later. */
static struct {
    Py_tracefunc fn;
    PyObject *obj; /* strong reference, or NULL */
} legacy_pending[2];

static const char *const legacy_threading_setter[2] = {"setprofile",
                                                       "settrace"};

void
legacy_set(PyThreadState *ts, legacy_kind kind, Py_tracefunc fn, PyObject *obj)
{
    PyObject *t, *v, *tb;
    PyErr_Fetch(&t, &v, &tb);
#if PY_VERSION_HEX >= 0x03090000
    int rc = kind == LEGACY_PROFILE ? _PyEval_SetProfile(ts, fn, obj)
                                    : _PyEval_SetTrace(ts, fn, obj);
    if (rc < 0)
        PyErr_Clear(); /* an audit hook said no */
#else
    /* What PyEval_SetProfile/SetTrace do, for any thread state. */
    Py_tracefunc *slot_fn =
        kind == LEGACY_PROFILE ? &ts->c_profilefunc : &ts->c_tracefunc;
    PyObject **slot_obj =
        kind == LEGACY_PROFILE ? &ts->c_profileobj : &ts->c_traceobj;
    if (kind == LEGACY_TRACE)
        _PyRuntime.ceval.tracing_possible +=
            (fn != NULL) - (ts->c_tracefunc != NULL);
    PyObject *old = *slot_obj;
    Py_XINCREF(obj);
    *slot_fn = NULL;
    *slot_obj = NULL;
    /* The other slot stays in force while old is freed (which may run
     * code). */
    ts->use_tracing = ts->c_profilefunc != NULL || ts->c_tracefunc != NULL;
    Py_XDECREF(old);
    *slot_fn = fn;
    *slot_obj = obj;
    ts->use_tracing = ts->c_profilefunc != NULL || ts->c_tracefunc != NULL;
#endif
    PyErr_Restore(t, v, tb);
}

static void
legacy_set_all(legacy_kind kind, Py_tracefunc fn, PyObject *obj)
{
    PyThreadState *me = PyThreadState_Get();
#if PY_VERSION_HEX >= 0x03090000
    PyInterpreterState *interp = PyThreadState_GetInterpreter(me);
#else
    PyInterpreterState *interp = me->interp;
#endif
    for (PyThreadState *ts = PyInterpreterState_ThreadHead(interp); ts;
         ts = PyThreadState_Next(ts))
        legacy_set(ts, kind, fn, obj);
}

/* The hook threading installs in a new thread, called at its first event
 * (frame, event, arg): the C function takes its place and gets the event. */
static PyObject *
legacy_thread_hook(legacy_kind kind, PyObject *args)
{
    PyObject *frame, *event, *arg;
    if (!PyArg_UnpackTuple(args, "hook", 3, 3, &frame, &event, &arg))
        return NULL;
    Py_tracefunc fn = legacy_pending[kind].fn;
    PyObject *obj = legacy_pending[kind].obj;
    legacy_set(PyThreadState_Get(), kind, fn, obj);
    if (fn && PyFrame_Check(frame) && PyUnicode_Check(event) &&
        PyUnicode_CompareWithASCIIString(event, "call") == 0)
        fn(obj, (PyFrameObject *)frame, PyTrace_CALL, Py_None);
    Py_RETURN_NONE;
}

static PyObject *
legacy_profile_hook(PyObject *self, PyObject *args)
{
    return legacy_thread_hook(LEGACY_PROFILE, args);
}

static PyObject *
legacy_trace_hook(PyObject *self, PyObject *args)
{
    return legacy_thread_hook(LEGACY_TRACE, args);
}

static PyMethodDef legacy_hook_defs[2] = {
    {"_profile_hook", legacy_profile_hook, METH_VARARGS, NULL},
    {"_trace_hook", legacy_trace_hook, METH_VARARGS, NULL},
};

/* threading.setprofile(hook) or settrace(hook); hook NULL: None. */
static int
legacy_set_threading(legacy_kind kind, bool on)
{
    PyObject *hook =
        on ? PyCFunction_New(&legacy_hook_defs[kind], NULL) : Py_None;
    if (!hook)
        return -1;
    if (!on)
        Py_INCREF(hook);
    PyObject *threading = PyImport_ImportModule("threading");
    PyObject *r =
        threading ? PyObject_CallMethod(
                        threading, legacy_threading_setter[kind], "O", hook)
                  : NULL;
    Py_XDECREF(threading);
    Py_DECREF(hook);
    Py_XDECREF(r);
    return r ? 0 : -1;
}

int
legacy_install_all(legacy_kind kind, Py_tracefunc fn, PyObject *obj)
{
    Py_XINCREF(obj);
    Py_XSETREF(legacy_pending[kind].obj, obj);
    legacy_pending[kind].fn = fn;
    if (legacy_set_threading(kind, true) < 0) {
        legacy_pending[kind].fn = NULL;
        Py_CLEAR(legacy_pending[kind].obj);
        return -1;
    }
    legacy_set_all(kind, fn, obj);
    return 0;
}

int
legacy_remove_all(legacy_kind kind)
{
    PyObject *t, *v, *tb;
    PyErr_Fetch(&t, &v, &tb);
    legacy_set_all(kind, NULL, NULL);
    legacy_pending[kind].fn = NULL;
    Py_CLEAR(legacy_pending[kind].obj);
    int rc = legacy_set_threading(kind, false);
    PyErr_Clear();
    PyErr_Restore(t, v, tb);
    return rc;
}

#endif /* before 3.12 */
