/* floor_hook.c -- the cheapest possible profiler, for bench/profile_bench.py.
 *
 * It receives exactly the events spyglass profile asks the interpreter for
 * and does nothing with them: on 3.12+ sys.monitoring callbacks (the same
 * events, callbacks of the same vectorcall kind), on 3.8-3.11 a C profile
 * function on the calling thread. Its overhead is what the interpreter
 * charges for delivering the events, a floor under any in-process
 * deterministic profiler built on them -- spyglass's and cProfile's alike.
 *
 * Built by the benchmark against each interpreter's headers; not part of
 * spyglass.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stddef.h>
#if PY_VERSION_HEX < 0x030B0000
#include <frameobject.h>
#endif

#if PY_VERSION_HEX >= 0x030C0000

typedef struct {
    PyObject_HEAD
    vectorcallfunc call;
} noop_callback;

static PyObject *
noop_call(PyObject *self, PyObject *const *args, size_t nargsf,
          PyObject *kwnames)
{
    (void)self, (void)args, (void)nargsf, (void)kwnames;
    Py_RETURN_NONE;
}

/* clang-format off */
static PyTypeObject noop_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "floor_hook.callback",
    .tp_basicsize = sizeof(noop_callback),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_call = PyVectorcall_Call,
    .tp_vectorcall_offset = offsetof(noop_callback, call),
};
/* clang-format on */

/* PY_START PY_RESUME PY_RETURN PY_YIELD CALL PY_UNWIND PY_THROW C_RETURN
 * C_RAISE: what src/agent/profile/mon.c registers with builtins on. */
static const int events[] = {1 << 0,  1 << 1,  1 << 2,  1 << 3, 1 << 4,
                             1 << 12, 1 << 13, 1 << 15, 1 << 16};
#define TOOL 2

static PyObject *
install(PyObject *m, PyObject *unused)
{
    (void)m, (void)unused;
    if (PyType_Ready(&noop_type) < 0)
        return NULL;
    noop_callback *cb = PyObject_New(noop_callback, &noop_type);
    if (!cb)
        return NULL;
    cb->call = noop_call;
    PyObject *mon = PySys_GetObject("monitoring"); /* borrowed */
    PyObject *r =
        mon ? PyObject_CallMethod(mon, "use_tool_id", "is", TOOL, "floor")
            : NULL;
    int mask = 0;
    for (size_t i = 0; r && i < sizeof events / sizeof events[0]; i++) {
        Py_DECREF(r);
        r = PyObject_CallMethod(mon, "register_callback", "iiO", TOOL,
                                events[i], (PyObject *)cb);
        mask |= events[i];
    }
    Py_DECREF(cb);
    if (!r)
        return NULL;
    Py_DECREF(r);
    return PyObject_CallMethod(mon, "set_events", "ii", TOOL, mask);
}

static PyObject *
uninstall(PyObject *m, PyObject *unused)
{
    (void)m, (void)unused;
    PyObject *mon = PySys_GetObject("monitoring");
    PyObject *r =
        mon ? PyObject_CallMethod(mon, "set_events", "ii", TOOL, 0) : NULL;
    Py_XDECREF(r);
    return r ? PyObject_CallMethod(mon, "free_tool_id", "i", TOOL) : NULL;
}

#else

static int
noop_profile(PyObject *obj, PyFrameObject *frame, int what, PyObject *arg)
{
    (void)obj, (void)frame, (void)what, (void)arg;
    return 0;
}

static PyObject *
install(PyObject *m, PyObject *unused)
{
    (void)m, (void)unused;
    PyEval_SetProfile(noop_profile, NULL);
    Py_RETURN_NONE;
}

static PyObject *
uninstall(PyObject *m, PyObject *unused)
{
    (void)m, (void)unused;
    PyEval_SetProfile(NULL, NULL);
    Py_RETURN_NONE;
}

#endif

static PyMethodDef methods[] = {
    {"install", install, METH_NOARGS, NULL},
    {"uninstall", uninstall, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT,
                                    .m_name = "floor_hook", .m_size = -1,
                                    .m_methods = methods};

PyMODINIT_FUNC
PyInit_floor_hook(void)
{
    return PyModule_Create(&module);
}
