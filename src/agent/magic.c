/* magic.c -- the agent's side of the IPython magics (spyglass/ipython.py).
 *
 * The magics run the commands in the kernel's own process, on the user's
 * namespace: the glue parses the magic's line and compiles the cell the
 * way IPython does; the work is here, with the commands' own checks
 * (formats and -o through the writers' registry, before anything runs),
 * collectors and writers. Results go to sys.stdout, which is the cell's
 * output in a notebook, or where -o says. An exception in the user's code
 * is raised again after the results are out, so IPython shows the user's
 * traceback and the kernel carries on.
 *
 * The functions are private (underscored, not in __all__): the magics are
 * the interface.
 */
#include "agent/magic.h" /* Python.h first */

#include <errno.h>
#include <string.h>
#include <sys/prctl.h>

#include "agent/lines/lines.h"
#include "agent/profile/profiler.h"
#include "common/alloc.h"
#include "common/output.h"
#include "common/strbuf.h"
#include "common/units.h"
#include "model/funcstats.h"
#include "writers/lines.h"

/* The writer for format and path, as the command picks it: -f, else the
 * path's extension, else the command's default; a path that cannot be
 * written is refused too. NULL with a ValueError. */
static const sg_writer *
magic_pick(const char *format, const char *path, const sg_output *what)
{
    const sg_writer *w;
    char msg[768];
    if (sg_writer_pick_msg(format, path, what, &w, msg, sizeof msg) ||
        (path && sg_output_check(path, msg, sizeof msg) < 0)) {
        PyErr_Format(PyExc_ValueError, "%s: %s", what->command, msg);
        return NULL;
    }
    if (!path && w->binary) {
        PyErr_Format(PyExc_ValueError,
                     "%s: the %s format is binary: write it to a file (-o)",
                     what->command, w->name);
        return NULL;
    }
    return w;
}

/* The UTF-8 of each str of a sequence into a new array (freed by the
 * caller with PyMem_Free); the strings stay owned by *keep. NULL with an
 * exception. */
static const char **
magic_strings(PyObject *seq, const char *what, PyObject **keep, int *n)
{
    *keep = PySequence_Fast(seq, what);
    if (!*keep)
        return NULL;
    Py_ssize_t len = PySequence_Fast_GET_SIZE(*keep);
    const char **v = PyMem_Calloc((size_t)len + 1, sizeof *v);
    if (!v) {
        PyErr_NoMemory();
        return NULL;
    }
    for (Py_ssize_t i = 0; i < len; i++) {
        PyObject *s = PySequence_Fast_GET_ITEM(*keep, i);
        v[i] = PyUnicode_Check(s) ? PyUnicode_AsUTF8(s) : NULL;
        if (!v[i]) {
            if (!PyErr_Occurred())
                PyErr_Format(PyExc_TypeError, "%s", what);
            PyMem_Free(v);
            return NULL;
        }
    }
    *n = (int)len;
    return v;
}

/* ---- timeit ------------------------------------------------------------- */

/* The checks `spyglass timeit` makes on its command line. */
static int
magic_timeit_check(const rq_timeit *o)
{
    if (o->n_stmts < 1)
        PyErr_SetString(PyExc_ValueError, "timeit: no statement to time");
    else if (o->number < 0 || o->repeat < 1 || o->verbose < 0)
        PyErr_SetString(PyExc_ValueError,
                        "timeit: -n must be 0 (automatic) or more and -r at "
                        "least 1");
    else if (o->unit && !sg_time_unit_by_name(o->unit))
        PyErr_Format(PyExc_ValueError,
                     "timeit: unknown unit '%s': use nsec, usec, msec or sec",
                     o->unit);
    else
        return 0;
    return -1;
}

/* _magic_timeit(stmts, globals, setup=(), number=0, repeat=5, unit=None,
 *               verbose=0, process=False, output=None, format=None) */
static PyObject *
magic_timeit(PyObject *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"stmts",  "globals", "setup",   "number",
                             "repeat", "unit",    "verbose", "process",
                             "output", "format",  NULL};
    PyObject *stmts, *globals, *setup = NULL;
    rq_timeit o = {0};
    int process = 0;
    o.repeat = 5;
    if (!PyArg_ParseTupleAndKeywords(
            args, kw, "OO!|Ollzlpzz:_magic_timeit", kwlist, &stmts,
            &PyDict_Type, &globals, &setup, &o.number, &o.repeat, &o.unit,
            &o.verbose, &process, &o.output, &o.format))
        return NULL;
    o.process_time = process != 0;
    PyObject *keep_stmts = NULL, *keep_setup = NULL, *r = NULL;
    o.stmts = magic_strings(stmts, "statements must be str", &keep_stmts,
                            &o.n_stmts);
    if (o.stmts && setup)
        o.setup =
            magic_strings(setup, "setup must be str", &keep_setup, &o.n_setup);
    const sg_writer *w = NULL;
    if (o.stmts && (!setup || o.setup) && magic_timeit_check(&o) == 0)
        w = magic_pick(o.format, o.output, &sg_output_timeit);
    if (w) {
        o.format = w->name;
        if (agent_timeit_in(&o, w, globals) == 0) {
            r = Py_None;
            Py_INCREF(r);
        }
    }
    PyMem_Free((void *)o.stmts);
    PyMem_Free((void *)o.setup);
    Py_XDECREF(keep_stmts);
    Py_XDECREF(keep_setup);
    return r;
}

/* ---- profile ------------------------------------------------------------ */

/* One place the profile goes: path NULL is sys.stdout. */
typedef struct magic_out {
    const char *path;
    const sg_writer *w;
} magic_out;

#define MAGIC_MAX_OUTS 4

/* outputs: a sequence of (path or None, format or None), each checked
 * before the code runs. Returns how many, or -1 with an exception; the
 * paths stay owned by keep. */
static int
magic_profile_outs(PyObject *outputs, magic_out *outs, PyObject **keep)
{
    *keep = PySequence_Fast(outputs, "outputs must be a sequence");
    if (!*keep)
        return -1;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(*keep);
    if (n > MAGIC_MAX_OUTS) {
        PyErr_SetString(PyExc_ValueError, "profile: too many outputs");
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        const char *format = NULL;
        if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(*keep, i), "zz",
                              &outs[i].path, &format))
            return -1;
        outs[i].w = magic_pick(format, outs[i].path, &sg_output_profile);
        if (!outs[i].w)
            return -1;
    }
    return (int)n;
}

/* Write the profile to each output, as `spyglass profile` writes it. */
static int
magic_profile_write(profiler *P, const writer_opts *base, const char *command,
                    const magic_out *outs, int n)
{
    sg_profile *p = profiler_build(P);
    if (!p)
        return -1;
    sg_profile_set_meta(p, "command", command);
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        writer_opts wo = *base;
        wo.strip_dirs = strcmp(outs[i].w->name, "text") == 0 && !outs[i].path;
        if (!outs[i].path) {
            strbuf sb = STRBUF_INIT;
            rc = sg_writer_render(outs[i].w, p, &wo, &sb) < 0
                     ? (PyErr_SetString(PyExc_MemoryError,
                                        "profile: cannot render the table"),
                        -1)
                     : agent_write_stdout(sb_str(&sb), sb.len);
            sb_free(&sb);
        } else if (sg_writer_write_file(&sg_output_profile, outs[i].w, p, &wo,
                                        outs[i].path) == SG_OUT_WRITTEN) {
            PySys_WriteStderr("spyglass: profile written to %.900s (%s)\n",
                              outs[i].path, outs[i].w->name);
        } else {
            PyErr_Format(PyExc_OSError,
                         "profile: the profile was not written to %.900s",
                         outs[i].path);
            rc = -1;
        }
    }
    sg_profile_free(p);
    return rc;
}

/* Run code in globals/locals under P; then write the profile, also after
 * an exception, which is raised again (the profile's own error first). */
static PyObject *
magic_profile_run(profiler *P, PyObject *code, PyObject *globals,
                  PyObject *locals, const writer_opts *wo, const char *command,
                  const magic_out *outs, int n)
{
    if (profiler_enable(P) < 0)
        return NULL;
    PyObject *r = PyEval_EvalCode(code, globals, locals);
    PyObject *t, *v, *tb;
    PyErr_Fetch(&t, &v, &tb);
    int rc = profiler_disable(P) < 0 && PyErr_Occurred() ? -1 : 0;
    if (rc == 0)
        rc = magic_profile_write(P, wo, command, outs, n);
    if (rc < 0) {
        Py_XDECREF(t);
        Py_XDECREF(v);
        Py_XDECREF(tb);
        Py_XDECREF(r);
        return NULL;
    }
    PyErr_Restore(t, v, tb);
    return r;
}

/* _magic_profile(code, globals, locals, sort=None, builtins=True,
 *                threads=False, limit=0, flame=False, command="",
 *                outputs=((None, None),)) -> the code's value */
static PyObject *
magic_profile(PyObject *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"code",     "globals", "locals", "sort",
                             "builtins", "threads", "limit",  "flame",
                             "command",  "outputs", NULL};
    PyObject *code, *globals, *locals, *outputs = NULL;
    const char *command = "";
    int builtins = 1, threads = 0, flame = 0;
    writer_opts wo = {0};
    if (!PyArg_ParseTupleAndKeywords(
            args, kw, "O!O!O|zppipzO:_magic_profile", kwlist, &PyCode_Type,
            &code, &PyDict_Type, &globals, &locals, &wo.sort, &builtins,
            &threads, &wo.limit, &flame, &command, &outputs))
        return NULL;
    wo.per_thread = threads != 0;
    wo.flame = flame != 0;
    if (wo.sort) {
        sg_sort_spec spec;
        strbuf err = STRBUF_INIT;
        int bad = sg_sort_parse(wo.sort, &spec, &err) < 0;
        if (bad)
            PyErr_Format(PyExc_ValueError, "profile: %s", sb_str(&err));
        sb_free(&err);
        if (bad)
            return NULL;
    }
    if (wo.limit < 0) {
        PyErr_SetString(PyExc_ValueError, "profile: --limit must be >= 0");
        return NULL;
    }
    magic_out outs[MAGIC_MAX_OUTS] = {{NULL, NULL}};
    PyObject *keep = NULL, *r = NULL;
    int n = 1;
    if (outputs)
        n = magic_profile_outs(outputs, outs, &keep);
    else
        outs[0].w = sg_writer_by_name("text");
    profiler *P = n < 0 ? NULL
                        : (profiler *)PyObject_CallObject(
                              (PyObject *)&profiler_type, NULL);
    if (P) {
        P->builtins = builtins != 0;
        r = magic_profile_run(P, code, globals, locals, &wo, command, outs, n);
        Py_DECREF(P);
    }
    Py_XDECREF(keep);
    return r;
}

/* ---- lines -------------------------------------------------------------- */

/* _magic_lines_dump(profiler, path, format=None): write a LineProfiler's
 * results to path as `spyglass lines -o` writes them. */
static PyObject *
magic_lines_dump(PyObject *self, PyObject *args)
{
    PyObject *prof;
    const char *path, *format = NULL;
    if (!PyArg_ParseTuple(args, "Os|z:_magic_lines_dump", &prof, &path,
                          &format))
        return NULL;
    PyObject *mod = PyImport_ImportModule("spyglass._agent");
    PyObject *type = mod ? PyObject_GetAttrString(mod, "LineProfiler") : NULL;
    Py_XDECREF(mod);
    if (!type)
        return NULL;
    int ok =
        PyType_Check(type) && PyObject_TypeCheck(prof, (PyTypeObject *)type);
    Py_DECREF(type);
    if (!ok) {
        PyErr_SetString(PyExc_TypeError, "expected a spyglass.LineProfiler");
        return NULL;
    }
    const sg_writer *w = magic_pick(format, path, &sg_output_lines);
    if (!w || lines_dump((lines_prof *)prof, w, path) < 0)
        return NULL;
    PySys_WriteStderr("spyglass: wrote %.900s (%s)\n", path, w->name);
    Py_RETURN_NONE;
}

/* ---- sources of cells -------------------------------------------------- */

/* The text linecache holds for path (IPython registers each cell there
 * under a name that is no file), as sg_read_source returns a file's. */
static char *
magic_linecache_source(const char *path, size_t *len, bool *oom)
{
    *oom = false;
    PyGILState_STATE g = PyGILState_Ensure();
    PyObject *t, *v, *tb;
    PyErr_Fetch(&t, &v, &tb);
    /* Only what linecache already holds: getlines would also look for a
     * relative name along sys.path and could find another file. */
    PyObject *lc = PyImport_ImportModule("linecache");
    PyObject *cache = lc ? PyObject_GetAttrString(lc, "cache") : NULL;
    PyObject *name = cache ? PyUnicode_DecodeFSDefault(path) : NULL;
    int held = name && PyDict_Check(cache) ? PyDict_Contains(cache, name) : 0;
    PyObject *lines =
        held > 0 ? PyObject_CallMethod(lc, "getlines", "O", name) : NULL;
    PyObject *empty = lines ? PyUnicode_FromString("") : NULL;
    PyObject *text = empty ? PyUnicode_Join(empty, lines) : NULL;
    Py_ssize_t n = 0;
    const char *u = text ? PyUnicode_AsUTF8AndSize(text, &n) : NULL;
    char *copy = u && n > 0 ? sg_malloc((size_t)n + 1) : NULL;
    if (copy) {
        memcpy(copy, u, (size_t)n + 1);
        *len = (size_t)n;
    } else if (u && n > 0) {
        *oom = true;
    }
    Py_XDECREF(text);
    Py_XDECREF(empty);
    Py_XDECREF(lines);
    Py_XDECREF(name);
    Py_XDECREF(cache);
    Py_XDECREF(lc);
    PyErr_Clear();
    PyErr_Restore(t, v, tb);
    PyGILState_Release(g);
    return copy;
}

/* _magic_cell_sources(): the line and memory tables find the source of
 * functions defined in cells too (in linecache), from now on. */
static PyObject *
magic_cell_sources(PyObject *self, PyObject *unused)
{
    sg_set_source_fallback(magic_linecache_source);
    Py_RETURN_NONE;
}

/* ---- checks before a run ----------------------------------------------- */

/* _magic_check(command, path, format=None): refuse, before the run, an
 * output the command would refuse (a ValueError naming the command). */
static PyObject *
magic_check(PyObject *self, PyObject *args)
{
    static const sg_output *const outputs[] = {
        &sg_output_profile, &sg_output_lines, &sg_output_memory,
        &sg_output_timeit, &sg_output_record};
    const char *command, *path, *format = NULL;
    if (!PyArg_ParseTuple(args, "sz|z:_magic_check", &command, &path, &format))
        return NULL;
    for (size_t i = 0; i < sizeof outputs / sizeof *outputs; i++)
        if (strcmp(outputs[i]->command, command) == 0) {
            if (!magic_pick(format, path, outputs[i]))
                return NULL;
            Py_RETURN_NONE;
        }
    PyErr_Format(PyExc_ValueError, "no command '%s'", command);
    return NULL;
}

/* ---- record ------------------------------------------------------------- */

/* _magic_allow_tracer(pid) -> bool: let pid read this process although it
 * is no ancestor (Yama's ptrace_scope 1 asks for it; 0 takes it back).
 * False when the kernel has no Yama, where nothing is needed. */
static PyObject *
magic_allow_tracer(PyObject *self, PyObject *arg)
{
    long pid = PyLong_AsLong(arg);
    if (pid == -1 && PyErr_Occurred())
        return NULL;
    if (pid < 0) {
        PyErr_SetString(PyExc_ValueError, "pid must be >= 0");
        return NULL;
    }
    if (prctl(PR_SET_PTRACER, (unsigned long)pid, 0UL, 0UL, 0UL) == 0)
        Py_RETURN_TRUE;
    if (errno == EINVAL)
        Py_RETURN_FALSE;
    return PyErr_SetFromErrno(PyExc_OSError);
}

static PyMethodDef magic_methods[] = {
    {"_magic_timeit", (PyCFunction)(void (*)(void))magic_timeit,
     METH_VARARGS | METH_KEYWORDS,
     "Time statements in a namespace, as `spyglass timeit` (the magics)."},
    {"_magic_profile", (PyCFunction)(void (*)(void))magic_profile,
     METH_VARARGS | METH_KEYWORDS,
     "Run code under the function profiler, as `spyglass profile`."},
    {"_magic_lines_dump", magic_lines_dump, METH_VARARGS,
     "Write a LineProfiler's results as `spyglass lines -o`."},
    {"_magic_cell_sources", magic_cell_sources, METH_NOARGS,
     "Find the source of functions defined in cells, in linecache."},
    {"_magic_check", magic_check, METH_VARARGS,
     "Refuse an output the command would refuse, before the run."},
    {"_magic_allow_tracer", magic_allow_tracer, METH_O,
     "Let a process read this one (PR_SET_PTRACER)."},
    {NULL, NULL, 0, NULL},
};

int
agent_magic_init(PyObject *module)
{
    return PyModule_AddFunctions(module, magic_methods);
}
