/* module.c -- spyglass._agent: the module object and the command dispatcher.
 *
 * `spyglass CMD ...` execs `python -c <glue> CMD ...`; the glue calls
 * _agent.main(argv), which lands here and runs the command's C entry point.
 */
#include "agent/agent.h"
#include "common/err.h"

typedef struct agent_command {
    const char *name;
    int (*main)(int argc, char **argv);
} agent_command;

static const agent_command agent_commands[] = {
    {"timeit", agent_timeit_main},
    /* profile (issue 5) */
    {"profile", agent_profile_main},
    /* lines (issue 6) */
    {"lines", agent_lines_main},
};

/* Features that add a Python API; NULL-terminated. */
static int (*const agent_inits[])(PyObject *) = {
    /* profile (issue 5) */
    agent_profile_init,
    /* lines (issue 6) */
    agent_lines_init,
    NULL,
};

void
agent_print_exception(void)
{
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    if (!type)
        return;
    PyErr_NormalizeException(&type, &value, &tb);
    if (tb && value)
        PyException_SetTraceback(value, tb);
    PyObject *mod = PyImport_ImportModule("traceback");
    PyObject *res = NULL;
    if (mod)
        res = PyObject_CallMethod(mod, "print_exception", "OOO", type,
                                  value ? value : Py_None, tb ? tb : Py_None);
    if (!res) {
        /* Printing failed (e.g. traceback is broken): fall back to the
         * interpreter's own printer for the new error. */
        PyErr_Clear();
        PyErr_Restore(type, value, tb);
        type = value = tb = NULL;
        PyErr_PrintEx(0);
    }
    Py_XDECREF(res);
    Py_XDECREF(mod);
    Py_XDECREF(type);
    Py_XDECREF(value);
    Py_XDECREF(tb);
}

int
agent_export(PyObject *m, const char *name, PyObject *obj)
{
    PyObject *all = PyObject_GetAttrString(m, "__all__");
    if (!all) {
        PyErr_Clear();
        all = PyList_New(0);
        if (!all || PyModule_AddObject(m, "__all__", all) < 0) {
            Py_XDECREF(all);
            return -1;
        }
        Py_INCREF(all);
    }
    PyObject *s = PyUnicode_FromString(name);
    int rc = s && PyList_Check(all) ? PyList_Append(all, s) : -1;
    Py_XDECREF(s);
    Py_DECREF(all);
    if (rc < 0)
        return -1;
    Py_INCREF(obj);
    if (PyModule_AddObject(m, name, obj) < 0) {
        Py_DECREF(obj);
        return -1;
    }
    return 0;
}

/* _agent.main(argv: list[str]) -> int */
static PyObject *
agent_main(PyObject *self, PyObject *args)
{
    PyObject *list;
    if (!PyArg_ParseTuple(args, "O!:main", &PyList_Type, &list))
        return NULL;
    Py_ssize_t n = PyList_GET_SIZE(list);
    if (n < 1) {
        PyErr_SetString(PyExc_ValueError, "main() needs a command name");
        return NULL;
    }
    /* argv strings must outlive the command: keep the bytes objects. */
    PyObject *keep = PyList_New(n);
    char **argv = PyMem_Calloc((size_t)n + 1, sizeof *argv);
    if (!keep || !argv) {
        Py_XDECREF(keep);
        PyMem_Free(argv);
        return PyErr_NoMemory();
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *b = PyUnicode_EncodeFSDefault(PyList_GET_ITEM(list, i));
        if (!b) {
            Py_DECREF(keep);
            PyMem_Free(argv);
            return NULL;
        }
        PyList_SET_ITEM(keep, i, b);
        argv[i] = PyBytes_AS_STRING(b);
    }
    int rc = -1;
    for (size_t i = 0; i < sizeof agent_commands / sizeof *agent_commands;
         i++) {
        if (strcmp(agent_commands[i].name, argv[0]) == 0) {
            rc = agent_commands[i].main((int)n, argv);
            break;
        }
    }
    if (rc == -1) {
        sg_error("unknown in-process command '%s'", argv[0]);
        rc = SG_EXIT_USAGE;
    }
    PyMem_Free(argv);
    Py_DECREF(keep);
    if (PyErr_Occurred())
        return NULL;
    return PyLong_FromLong(rc);
}

static PyMethodDef agent_methods[] = {
    {"main", agent_main, METH_VARARGS,
     "main(argv) -> int\n\nRun a spyglass in-process command; argv[0] is "
     "the command name."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef agent_module = {
    PyModuleDef_HEAD_INIT,
    "spyglass._agent",
    "The in-process half of spyglass: timing loops and deterministic "
    "profilers.",
    -1,
    agent_methods,
    NULL,
    NULL,
    NULL,
    NULL,
};

PyMODINIT_FUNC PyInit__agent(void);

PyMODINIT_FUNC
PyInit__agent(void)
{
    PyObject *m = PyModule_Create(&agent_module);
    if (!m)
        return NULL;
    if (PyModule_AddStringConstant(m, "__version__", SG_VERSION) < 0)
        goto fail;
    for (size_t i = 0; agent_inits[i]; i++)
        if (agent_inits[i](m) < 0)
            goto fail;
    return m;
fail:
    Py_DECREF(m);
    return NULL;
}
