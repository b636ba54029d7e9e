/* mon.c -- tool ids, the callback type and registration (see mon.h). */
#include "agent/core/mon.h"

#if PY_VERSION_HEX >= 0x030C0000

#include <stdbool.h>
#include <stddef.h>

long mon_bit[MON_N_EVENTS];
PyObject *mon_DISABLE, *mon_MISSING;
static PyObject *mon_mod; /* sys.monitoring */

static const char *const mon_event_names[MON_N_EVENTS] = {
    [MON_PY_START] = "PY_START",
    [MON_PY_RESUME] = "PY_RESUME",
    [MON_PY_RETURN] = "PY_RETURN",
    [MON_PY_YIELD] = "PY_YIELD",
    [MON_CALL] = "CALL",
    [MON_LINE] = "LINE",
    [MON_PY_UNWIND] = "PY_UNWIND",
    [MON_PY_THROW] = "PY_THROW",
    [MON_C_RETURN] = "C_RETURN",
    [MON_C_RAISE] = "C_RAISE",
    [MON_INSTRUCTION] = "INSTRUCTION",
    [MON_RAISE] = "RAISE",
};

/* The ids spyglass may take, in order of preference. */
static const int mon_ids[] = {2, 3, 4, 5};
#define MON_N_IDS (sizeof mon_ids / sizeof mon_ids[0])

typedef struct mon_callback {
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

int
mon_init(void)
{
    if (mon_mod)
        return 0;
    if (PyType_Ready(&mon_callback_type) < 0)
        return -1;
    PyObject *sys = PyImport_ImportModule("sys");
    PyObject *mod = sys ? PyObject_GetAttrString(sys, "monitoring") : NULL;
    Py_XDECREF(sys);
    PyObject *events = mod ? PyObject_GetAttrString(mod, "events") : NULL;
    PyObject *disable = mod ? PyObject_GetAttrString(mod, "DISABLE") : NULL;
    PyObject *missing = mod ? PyObject_GetAttrString(mod, "MISSING") : NULL;
    int rc = events && disable && missing ? 0 : -1;
    for (int i = 0; rc == 0 && i < MON_N_EVENTS; i++) {
        PyObject *v = PyObject_GetAttrString(events, mon_event_names[i]);
        mon_bit[i] = v ? PyLong_AsLong(v) : -1;
        Py_XDECREF(v);
        if (mon_bit[i] <= 0) {
            if (!PyErr_Occurred())
                PyErr_Format(PyExc_RuntimeError,
                             "sys.monitoring.events.%s is not a bit",
                             mon_event_names[i]);
            rc = -1;
        }
    }
    Py_XDECREF(events);
    if (rc < 0) {
        Py_XDECREF(disable);
        Py_XDECREF(missing);
        Py_XDECREF(mod);
        return -1;
    }
    mon_DISABLE = disable;
    mon_MISSING = missing;
    mon_mod = mod;
    return 0;
}

/* "a, b" from the names of the tools holding spyglass's ids; NULL on
 * error. */
static PyObject *
mon_holders(void)
{
    PyObject *names = PyList_New(0);
    for (size_t i = 0; names && i < MON_N_IDS; i++) {
        PyObject *t =
            PyObject_CallMethod(mon_mod, "get_tool", "i", mon_ids[i]);
        PyObject *s = t ? PyObject_Str(t) : NULL;
        if (!s || PyList_Append(names, s) < 0)
            Py_CLEAR(names);
        Py_XDECREF(s);
        Py_XDECREF(t);
    }
    PyObject *sep = names ? PyUnicode_FromString(", ") : NULL;
    PyObject *r = sep ? PyUnicode_Join(sep, names) : NULL;
    Py_XDECREF(sep);
    Py_XDECREF(names);
    return r;
}

int
mon_acquire(const char *name)
{
    if (mon_init() < 0)
        return -1;
    for (size_t i = 0; i < MON_N_IDS; i++) {
        PyObject *t =
            PyObject_CallMethod(mon_mod, "get_tool", "i", mon_ids[i]);
        if (!t)
            return -1;
        bool free_id = t == Py_None;
        Py_DECREF(t);
        if (!free_id)
            continue;
        PyObject *r = PyObject_CallMethod(mon_mod, "use_tool_id", "is",
                                          mon_ids[i], name);
        if (!r)
            return -1;
        Py_DECREF(r);
        return mon_ids[i];
    }
    PyObject *held = mon_holders();
    if (held) {
        PyErr_Format(PyExc_RuntimeError,
                     "%s: no free sys.monitoring tool id (2-5 are held by "
                     "%U)",
                     name, held);
        Py_DECREF(held);
    }
    return -1;
}

int
mon_register(int tool, mon_event ev, vectorcallfunc fn)
{
    PyObject *cb = Py_None;
    if (fn) {
        mon_callback *c = PyObject_New(mon_callback, &mon_callback_type);
        if (!c)
            return -1;
        c->call = fn;
        cb = (PyObject *)c;
    } else {
        Py_INCREF(cb);
    }
    PyObject *r = PyObject_CallMethod(mon_mod, "register_callback", "ilO",
                                      tool, mon_bit[ev], cb);
    Py_DECREF(cb);
    Py_XDECREF(r);
    return r ? 0 : -1;
}

int
mon_set_events(int tool, long mask)
{
    PyObject *r = PyObject_CallMethod(mon_mod, "set_events", "il", tool, mask);
    Py_XDECREF(r);
    return r ? 0 : -1;
}

int
mon_set_local_events(int tool, PyObject *code, long mask)
{
    PyObject *r = PyObject_CallMethod(mon_mod, "set_local_events", "iOl", tool,
                                      code, mask);
    Py_XDECREF(r);
    return r ? 0 : -1;
}

int
mon_release(int tool)
{
    if (tool < 0 || !mon_mod)
        return 0;
    PyObject *t, *v, *tb;
    PyErr_Fetch(&t, &v, &tb);
    int rc = mon_set_events(tool, 0);
    for (int i = 0; i < MON_N_EVENTS; i++)
        rc |= mon_register(tool, (mon_event)i, NULL);
    PyObject *r = PyObject_CallMethod(mon_mod, "free_tool_id", "i", tool);
    rc |= r ? 0 : -1;
    Py_XDECREF(r);
    PyErr_Clear();
    PyErr_Restore(t, v, tb);
    return rc;
}

#endif /* 3.12+ */
