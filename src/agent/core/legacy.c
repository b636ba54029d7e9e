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

/* The program's own functions, chained behind the collector's: one per
 * thread that called sys.setprofile/settrace while the collector was
 * installed (python's trampoline and the program's callable, as that call
 * left them in the thread state), and the one it gave threading for new
 * threads. */
typedef struct legacy_chain {
    PyThreadState *ts;
    Py_tracefunc fn;
    PyObject *obj; /* strong reference */
} legacy_chain;
static struct {
    legacy_chain *v;
    int n, cap;
    PyObject *thread_fn;    /* threading.setprofile's argument, or NULL */
    PyObject *sys_saved[2]; /* sys.setX and sys.getX, replaced */
    PyObject *threading_saved[2]; /* threading.setX and getX */
} legacy_chains[2];

static const char *const legacy_sys_names[2][2] = {
    {"setprofile", "getprofile"}, {"settrace", "gettrace"}};

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

static legacy_chain *
legacy_chain_find(legacy_kind kind, PyThreadState *ts)
{
    for (int i = 0; i < legacy_chains[kind].n; i++)
        if (legacy_chains[kind].v[i].ts == ts)
            return &legacy_chains[kind].v[i];
    return NULL;
}

/* Forget ts's chained function (the last entry takes its place). */
static void
legacy_chain_drop(legacy_kind kind, PyThreadState *ts)
{
    legacy_chain *c = legacy_chain_find(kind, ts);
    if (!c)
        return;
    PyObject *obj = c->obj;
    *c = legacy_chains[kind].v[--legacy_chains[kind].n];
    Py_XDECREF(obj);
}

static int legacy_dispatch_profile(PyObject *obj, PyFrameObject *frame,
                                   int what, PyObject *arg);
static int legacy_dispatch_trace(PyObject *obj, PyFrameObject *frame, int what,
                                 PyObject *arg);
static const Py_tracefunc legacy_dispatchers[2] = {legacy_dispatch_profile,
                                                   legacy_dispatch_trace};

/* The collector's function on ts, through the dispatcher when ts has a
 * chained function, directly when not (no cost then). */
static void
legacy_set_collector(PyThreadState *ts, legacy_kind kind)
{
    Py_tracefunc fn = legacy_pending[kind].fn;
    if (fn && legacy_chain_find(kind, ts))
        fn = legacy_dispatchers[kind];
    legacy_set(ts, kind, fn, legacy_pending[kind].obj);
}

static Py_tracefunc
legacy_slot(PyThreadState *ts, legacy_kind kind)
{
    return kind == LEGACY_PROFILE ? ts->c_profilefunc : ts->c_tracefunc;
}

/* The collector's event, then the program's function's. When that one
 * fails, python's trampoline has removed itself from the thread (the
 * collector with it): the collector goes back alone, and the error goes
 * on as it would under python. */
static int
legacy_dispatch(legacy_kind kind, PyObject *obj, PyFrameObject *frame,
                int what, PyObject *arg)
{
    int rc = legacy_pending[kind].fn
                 ? legacy_pending[kind].fn(obj, frame, what, arg)
                 : 0;
    PyThreadState *ts = PyThreadState_Get();
    legacy_chain *c = legacy_chain_find(kind, ts);
    if (!c)
        return rc;
    int crc = c->fn(c->obj, frame, what, arg);
    if (legacy_slot(ts, kind) != legacy_dispatchers[kind]) {
        legacy_chain_drop(kind, ts);
        legacy_set_collector(ts, kind);
    }
    return rc < 0 ? rc : crc;
}

static int
legacy_dispatch_profile(PyObject *obj, PyFrameObject *frame, int what,
                        PyObject *arg)
{
    return legacy_dispatch(LEGACY_PROFILE, obj, frame, what, arg);
}

static int
legacy_dispatch_trace(PyObject *obj, PyFrameObject *frame, int what,
                      PyObject *arg)
{
    return legacy_dispatch(LEGACY_TRACE, obj, frame, what, arg);
}

/* The program's sys.setprofile(fn) (settrace) while the collector is
 * installed: python's own setter puts fn in the thread state, from where
 * it is taken into the chain, and the collector goes back in front. */
static PyObject *
legacy_chain_set(legacy_kind kind, PyObject *fn)
{
    PyThreadState *ts = PyThreadState_Get();
    legacy_chain_drop(kind, ts);
    if (fn != Py_None) {
        PyObject *r = PyObject_CallFunctionObjArgs(
            legacy_chains[kind].sys_saved[0], fn, NULL);
        if (!r)
            return NULL;
        Py_DECREF(r);
        int n = legacy_chains[kind].n;
        if (n == legacy_chains[kind].cap) {
            int cap = n ? 2 * n : 8;
            legacy_chain *v =
                PyMem_Realloc(legacy_chains[kind].v, (size_t)cap * sizeof *v);
            if (!v)
                return PyErr_NoMemory();
            legacy_chains[kind].v = v;
            legacy_chains[kind].cap = cap;
        }
        legacy_chain *c = &legacy_chains[kind].v[legacy_chains[kind].n++];
        c->ts = ts;
        c->fn = legacy_slot(ts, kind);
        c->obj = kind == LEGACY_PROFILE ? ts->c_profileobj : ts->c_traceobj;
        Py_XINCREF(c->obj);
    }
    legacy_set_collector(ts, kind);
    Py_RETURN_NONE;
}

/* What the program's sys.getprofile() (gettrace) answers: its own
 * function, never the collector. */
static PyObject *
legacy_chain_get(legacy_kind kind)
{
    legacy_chain *c = legacy_chain_find(kind, PyThreadState_Get());
    PyObject *r = c && c->obj ? c->obj : Py_None;
    Py_INCREF(r);
    return r;
}

static PyObject *
legacy_sys_setprofile(PyObject *self, PyObject *fn)
{
    return legacy_chain_set(LEGACY_PROFILE, fn);
}

static PyObject *
legacy_sys_settrace(PyObject *self, PyObject *fn)
{
    return legacy_chain_set(LEGACY_TRACE, fn);
}

static PyObject *
legacy_sys_getprofile(PyObject *self, PyObject *unused)
{
    return legacy_chain_get(LEGACY_PROFILE);
}

static PyObject *
legacy_sys_gettrace(PyObject *self, PyObject *unused)
{
    return legacy_chain_get(LEGACY_TRACE);
}

/* threading.setprofile(fn) (settrace): new threads get the collector, and
 * fn chained behind it (legacy_thread_hook). */
static PyObject *
legacy_threading_set(legacy_kind kind, PyObject *fn)
{
    Py_INCREF(fn);
    Py_XSETREF(legacy_chains[kind].thread_fn, fn == Py_None ? NULL : fn);
    if (fn == Py_None)
        Py_DECREF(fn);
    Py_RETURN_NONE;
}

static PyObject *
legacy_threading_setprofile(PyObject *self, PyObject *fn)
{
    return legacy_threading_set(LEGACY_PROFILE, fn);
}

static PyObject *
legacy_threading_settrace(PyObject *self, PyObject *fn)
{
    return legacy_threading_set(LEGACY_TRACE, fn);
}

static PyObject *
legacy_threading_get(legacy_kind kind)
{
    PyObject *fn = legacy_chains[kind].thread_fn;
    fn = fn ? fn : Py_None;
    Py_INCREF(fn);
    return fn;
}

static PyObject *
legacy_threading_getprofile(PyObject *self, PyObject *unused)
{
    return legacy_threading_get(LEGACY_PROFILE);
}

static PyObject *
legacy_threading_gettrace(PyObject *self, PyObject *unused)
{
    return legacy_threading_get(LEGACY_TRACE);
}

/* [kind][0: set, 1: get], for sys and for threading. */
static PyMethodDef legacy_sys_defs[2][2] = {
    {{"setprofile", legacy_sys_setprofile, METH_O, NULL},
     {"getprofile", legacy_sys_getprofile, METH_NOARGS, NULL}},
    {{"settrace", legacy_sys_settrace, METH_O, NULL},
     {"gettrace", legacy_sys_gettrace, METH_NOARGS, NULL}},
};
static PyMethodDef legacy_threading_defs[2][2] = {
    {{"setprofile", legacy_threading_setprofile, METH_O, NULL},
     {"getprofile", legacy_threading_getprofile, METH_NOARGS, NULL}},
    {{"settrace", legacy_threading_settrace, METH_O, NULL},
     {"gettrace", legacy_threading_gettrace, METH_NOARGS, NULL}},
};

/* Replace mod's setter and getter of that kind by defs (keeping them in
 * saved), or with defs NULL put saved back. A getter the module lacks
 * (threading before 3.10) is left out. */
static void
legacy_swap(PyObject *mod, legacy_kind kind, PyMethodDef defs[2],
            PyObject *saved[2])
{
    for (int i = 0; i < 2; i++) {
        const char *name = legacy_sys_names[kind][i];
        if (!defs) {
            if (saved[i] && PyObject_SetAttrString(mod, name, saved[i]) < 0)
                PyErr_Clear();
            Py_CLEAR(saved[i]);
            continue;
        }
        if (saved[i])
            continue; /* already ours: python's stays the one kept */
        PyObject *old = PyObject_GetAttrString(mod, name);
        PyObject *fn = old ? PyCFunction_New(&defs[i], NULL) : NULL;
        if (fn && PyObject_SetAttrString(mod, name, fn) == 0)
            Py_XSETREF(saved[i], old);
        else
            Py_XDECREF(old);
        Py_XDECREF(fn);
        PyErr_Clear();
    }
}

/* While a collector of that kind is installed, the program's setters go
 * through the chain (on = true); after, python's own are back, and each
 * thread's and threading's function is the program's again. */
static void
legacy_cooperate(legacy_kind kind, bool on)
{
    PyObject *sys = PyImport_ImportModule("sys");
    PyObject *threading = PyImport_ImportModule("threading");
    PyErr_Clear();
    if (sys)
        legacy_swap(sys, kind, on ? legacy_sys_defs[kind] : NULL,
                    legacy_chains[kind].sys_saved);
    if (threading)
        legacy_swap(threading, kind, on ? legacy_threading_defs[kind] : NULL,
                    legacy_chains[kind].threading_saved);
    Py_XDECREF(threading);
    Py_XDECREF(sys);
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
         ts = PyThreadState_Next(ts)) {
        legacy_chain *c = fn ? NULL : legacy_chain_find(kind, ts);
        if (c)
            legacy_set(ts, kind, c->fn, c->obj); /* the program's again */
        else
            legacy_set(ts, kind, fn, obj);
    }
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
    PyThreadState *ts = PyThreadState_Get();
    legacy_set(ts, kind, fn, obj);
    /* The program's function for new threads, as threading would have
     * installed it, behind the collector's. */
    if (fn && legacy_chains[kind].thread_fn) {
        PyObject *r = legacy_chain_set(kind, legacy_chains[kind].thread_fn);
        if (!r)
            return NULL;
        Py_DECREF(r);
    }
    /* The event, to both when chained. */
    Py_tracefunc now = legacy_slot(ts, kind);
    if (now && PyFrame_Check(frame) && PyUnicode_Check(event) &&
        PyUnicode_CompareWithASCIIString(event, "call") == 0 &&
        now(obj, (PyFrameObject *)frame, PyTrace_CALL, Py_None) < 0)
        return NULL;
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

/* threading's function for new threads back to the program's (None if
 * it set none). */
static int
legacy_restore_threading(legacy_kind kind)
{
    PyObject *fn = legacy_chains[kind].thread_fn;
    legacy_chains[kind].thread_fn = NULL;
    if (!fn)
        return legacy_set_threading(kind, false);
    PyObject *threading = PyImport_ImportModule("threading");
    PyObject *r =
        threading ? PyObject_CallMethod(threading,
                                        legacy_threading_setter[kind], "O", fn)
                  : NULL;
    Py_XDECREF(threading);
    Py_DECREF(fn);
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
    legacy_cooperate(kind, true);
    return 0;
}

int
legacy_remove_all(legacy_kind kind)
{
    PyObject *t, *v, *tb;
    PyErr_Fetch(&t, &v, &tb);
    legacy_cooperate(kind, false);
    legacy_set_all(kind, NULL, NULL);
    legacy_pending[kind].fn = NULL;
    Py_CLEAR(legacy_pending[kind].obj);
    while (legacy_chains[kind].n)
        legacy_chain_drop(kind, legacy_chains[kind].v[0].ts);
    int rc = legacy_restore_threading(kind);
    PyErr_Clear();
    PyErr_Restore(t, v, tb);
    return rc;
}

#endif /* before 3.12 */
