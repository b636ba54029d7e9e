/* module.c -- spyglass._agent: the module object and the command dispatcher.
 *
 * `spyglass CMD ...` validates its command line and execs `python -c <glue>
 * REQUEST...` (src/cli/pylaunch.c); the glue calls
 * _agent.run_request(sys.argv[1:]), which lands here: the request is
 * checked to be of this release, decoded (src/request/) and handed to the
 * command's entry point (agent/commands.h).
 */
#include "agent/agent.h" /* Python.h first */

#include <limits.h>

#include "agent/commands.h"
#include "agent/runmain.h"
#include "common/err.h"
#include "request/request.h"

/* Room for the decoded request of any command. */
typedef union agent_request {
    rq_timeit timeit;
    rq_profile profile;
    rq_lines lines;
    rq_memory memory;
    rq_dis dis;
} agent_request;

static int
agent_run_timeit(const agent_request *rq)
{
    return agent_timeit_main(&rq->timeit);
}

static int
agent_run_profile(const agent_request *rq)
{
    return agent_profile_main(&rq->profile);
}

static int
agent_run_lines(const agent_request *rq)
{
    return agent_lines_main(&rq->lines);
}

static int
agent_run_memory(const agent_request *rq)
{
    return agent_memory_main(&rq->memory);
}

static int
agent_run_dis(const agent_request *rq)
{
    return agent_dis_main(&rq->dis);
}

typedef struct agent_command {
    const rq_spec *spec;
    int (*run)(const agent_request *rq);
} agent_command;

static const agent_command agent_commands[] = {
    {&rq_timeit_spec, agent_run_timeit}, {&rq_profile_spec, agent_run_profile},
    {&rq_lines_spec, agent_run_lines},   {&rq_memory_spec, agent_run_memory},
    {&rq_dis_spec, agent_run_dis},
};

/* Features that add a Python API; NULL-terminated. */
static int (*const agent_inits[])(PyObject *) = {
    agent_profile_init,
    agent_lines_init,
    agent_memory_init,
    agent_magic_init,
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

void
agent_flush_stdio(void)
{
    PyObject *t, *v, *tb;
    PyErr_Fetch(&t, &v, &tb);
    for (int i = 0; i < 2; i++) {
        PyObject *f = PySys_GetObject(i ? "stderr" : "stdout");
        if (f && f != Py_None) {
            PyObject *r = PyObject_CallMethod(f, "flush", NULL);
            Py_XDECREF(r);
        }
    }
    PyErr_Clear();
    PyErr_Restore(t, v, tb);
}

int
agent_write_stdout(const char *text, size_t len)
{
    PyObject *out = PySys_GetObject("stdout"); /* borrowed */
    if (!out || out == Py_None) {
        fwrite(text, 1, len, stdout);
        fflush(stdout);
        return 0;
    }
    PyObject *s = PyUnicode_DecodeUTF8(text, (Py_ssize_t)len, "replace");
    PyObject *r = s ? PyObject_CallMethod(out, "write", "O", s) : NULL;
    Py_XDECREF(s);
    if (!r)
        return -1;
    Py_DECREF(r);
    return 0;
}

const char *
agent_utf8(PyObject *s, const char *fallback)
{
    const char *u = s && PyUnicode_Check(s) ? PyUnicode_AsUTF8(s) : NULL;
    if (!u) {
        PyErr_Clear();
        return fallback;
    }
    return u;
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

const sg_writer *
agent_request_writer(const char *command, const char *format,
                     sg_data_kind kind)
{
    const sg_writer *w = format ? sg_writer_by_name(format) : NULL;
    if (!w || !sg_writer_holds(w, kind)) {
        sg_error("%s: the request names no format for %s: '%s'", command,
                 sg_data_kind_name(kind), format ? format : "");
        return NULL;
    }
    return w;
}

/* Refuse a request of another release or format in one line naming both
 * and how to install the executable's release in this interpreter. */
static void
agent_refuse(const rq_header *h)
{
    PyObject *exe = PySys_GetObject("executable"); /* borrowed */
    PyObject *b =
        exe && PyUnicode_Check(exe) ? PyUnicode_EncodeFSDefault(exe) : NULL;
    PyErr_Clear();
    char line[2048];
    rq_refusal(line, sizeof line, h, b ? PyBytes_AS_STRING(b) : "python");
    sg_error("%s", line);
    Py_XDECREF(b);
}

/* Check, decode and run the request in argv; the exit status. */
static int
agent_dispatch(int argc, char **argv)
{
    rq_header h;
    if (rq_read_header(argc, argv, &h) < 0) {
        sg_error("not a spyglass request: in-process commands are started "
                 "by the spyglass executable");
        return SG_EXIT_USAGE;
    }
    if (!rq_header_ours(&h)) {
        agent_refuse(&h);
        return SG_EXIT_USAGE;
    }
    const agent_command *cmd = NULL;
    for (size_t i = 0; i < sizeof agent_commands / sizeof *agent_commands; i++)
        if (strcmp(agent_commands[i].spec->command, h.command) == 0)
            cmd = &agent_commands[i];
    if (!cmd) {
        sg_error("spyglass %s has no in-process command '%s'", SG_VERSION,
                 h.command);
        return SG_EXIT_USAGE;
    }
    assert(cmd->spec->size <= sizeof(agent_request));
    agent_request rq;
    char err[256];
    int rc;
    if (rq_decode(cmd->spec, argc - RQ_HEADER_LEN, argv + RQ_HEADER_LEN, &rq,
                  err, sizeof err) < 0) {
        sg_error("%s: cannot decode the request: %s", h.command, err);
        rc = SG_EXIT_FAIL;
    } else {
        rc = cmd->run(&rq);
        /* A signal that came after the program's last bytecode: its
         * handler runs now, or never (the glue's sys.exit checks none).
         * A SIGTERM then ends the process with it, a SIGINT as python's
         * KeyboardInterrupt would; the status stays the command's. */
        if (PyErr_CheckSignals() < 0 && !runmain_stopped())
            PyErr_Clear();
    }
    rq_release(cmd->spec, &rq);
    return rc;
}

/* _agent.run_request(request: list[str]) -> int */
static PyObject *
agent_run_request(PyObject *self, PyObject *list)
{
    if (!PyList_Check(list)) {
        PyErr_SetString(PyExc_TypeError, "run_request() takes a list of str");
        return NULL;
    }
    Py_ssize_t n = PyList_GET_SIZE(list);
    if (n > INT_MAX - 1)
        return PyErr_NoMemory();
    /* The strings must outlive the command: keep the bytes objects.
     * os.fsencode gives back the bytes the executable passed (sys.argv is
     * decoded with the same encoding and surrogateescape). */
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
    int rc = agent_dispatch((int)n, argv);
    PyMem_Free(argv);
    Py_DECREF(keep);
    if (PyErr_Occurred())
        return NULL;
    return PyLong_FromLong(rc);
}

static PyMethodDef agent_methods[] = {
    {"run_request", agent_run_request, METH_O,
     "run_request(request) -> int\n\nRun a request from the spyglass "
     "executable (a list of str) and return the exit status."},
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

/* The one symbol the extension exports (everything else is built hidden);
 * said here because 3.8's PyMODINIT_FUNC does not say it. */
__attribute__((visibility("default"))) PyMODINIT_FUNC PyInit__agent(void);

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
