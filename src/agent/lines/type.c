/* type.c -- the line profiler's Python face (`spyglass lines` itself is
 * lines/command.c).
 *
 * Python (re-exported by the spyglass package):
 *   spyglass.LineProfiler(*funcs)  as line_profiler.LineProfiler:
 *       add_function, enable/disable (and the *_by_count aliases), a context
 *       manager, a decorator, print_stats, dump_stats, get_stats;
 *   spyglass.line_profile          a decorator whose table is printed when
 *       Python exits (under `spyglass lines` it is the command's profiler,
 *       also installed as the builtin `profile`, as kernprof -l does);
 *   spyglass.lines(*funcs, unit=1e-6)  a context manager that prints the
 *       table of its functions when the block ends.
 * Using a profiler as a decorator returns the function itself: nothing
 * wraps the call, so the function costs only its line events. The command
 * `spyglass lines` is lines/command.c.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "agent/lines/lines.h"
#include "writers/lines.h"
#include "common/err.h"

static PyTypeObject LineProfiler_Type;

lines_prof *
lines_prof_new(double output_unit)
{
    lines_prof *self = PyObject_New(lines_prof, &LineProfiler_Type);
    if (!self)
        return NULL;
    self->codes = NULL;
    self->n_codes = self->cap_codes = 0;
    self->enabled = self->auto_enabled = 0;
    self->print_at_exit = self->atexit_registered = 0;
    self->failed = 0;
    self->output_unit = output_unit;
    self->sel_files = self->sel_keys = NULL;
    self->command = NULL;
    self->untimed = self->derive = 0;
    self->derived_hits = 0;
    self->level = NULL;
    self->flat = NULL;
    self->no_source = 0;
    return self;
}

static int
add_all(lines_prof *self, PyObject *funcs)
{
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(funcs); i++)
        if (lines_add_callable(self, PyTuple_GET_ITEM(funcs, i)) < 0)
            return -1;
    return 0;
}

static PyObject *
prof_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    if (kwds && PyDict_GET_SIZE(kwds)) {
        PyErr_SetString(PyExc_TypeError,
                        "LineProfiler() takes functions only");
        return NULL;
    }
    lines_prof *self = lines_prof_new(1e-6);
    if (self && add_all(self, args) < 0)
        Py_CLEAR(self);
    return (PyObject *)self;
}

static void
prof_dealloc(lines_prof *self)
{
    /* Not enabled: an enabled profiler holds a reference to itself. */
    for (Py_ssize_t i = 0; i < self->n_codes; i++)
        lines_code_free(self->codes[i]);
    PyMem_Free(self->codes);
    Py_XDECREF(self->sel_files);
    Py_XDECREF(self->sel_keys);
    if (lines_lazy == self)
        lines_lazy = NULL;
    PyObject_Free(self);
}

static PyObject *
prof_add_function(lines_prof *self, PyObject *func)
{
    if (lines_add_callable(self, func) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *
prof_enable(lines_prof *self, PyObject *unused)
{
    if (lines_enable(self) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *
prof_disable(lines_prof *self, PyObject *unused)
{
    if (lines_disable(self) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *
prof_enter(lines_prof *self, PyObject *unused)
{
    if (lines_enable(self) < 0)
        return NULL;
    Py_INCREF(self);
    return (PyObject *)self;
}

static int
print_stats(lines_prof *self, PyObject *stream, double unit)
{
    return lines_print(self, stream == Py_None ? NULL : stream, unit);
}

static PyObject *
prof_exit(lines_prof *self, PyObject *args)
{
    if (lines_disable(self) < 0)
        return NULL;
    if (self->print_at_exit == 2 &&
        print_stats(self, NULL, self->output_unit) < 0)
        return NULL;
    Py_RETURN_FALSE;
}

static PyObject *
prof_print_stats(lines_prof *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"stream", "output_unit", NULL};
    PyObject *stream = Py_None;
    double unit = self->output_unit;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|Od:print_stats", kwlist,
                                     &stream, &unit))
        return NULL;
    if (unit <= 0) {
        PyErr_SetString(PyExc_ValueError, "output_unit must be positive");
        return NULL;
    }
    if (print_stats(self, stream, unit) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *
prof_dump_stats(lines_prof *self, PyObject *arg)
{
    PyObject *b = NULL;
    if (!PyUnicode_FSConverter(arg, &b))
        return NULL;
    int rc = lines_dump(self, NULL, PyBytes_AS_STRING(b));
    Py_DECREF(b);
    if (rc < 0)
        return NULL;
    Py_RETURN_NONE;
}

/* get_stats() -> an object with .timings and .unit, as line_profiler's
 * LineStats: {(filename, first_lineno, name): [(lineno, hits, ns)]}. */
static PyObject *
prof_get_stats(lines_prof *self, PyObject *unused)
{
    sg_profile *p = lines_to_model(self);
    if (!p)
        return NULL;
    PyObject *timings = PyDict_New();
    for (size_t f = 0; timings && f < p->n_funcs; f++) {
        const sg_func *fn = &p->funcs[f];
        const char *dot = strrchr(fn->name, '.');
        PyObject *key = Py_BuildValue("(sis)", fn->file, fn->first_line,
                                      dot ? dot + 1 : fn->name);
        PyObject *list = PyList_New(0);
        sg_line *lines;
        size_t n = sg_lines_of_func(p, (sg_func_id)f, &lines);
        if (!lines) {
            PyErr_NoMemory();
            Py_CLEAR(list);
        }
        for (size_t i = 0; key && list && i < n; i++) {
            PyObject *t = Py_BuildValue("(iKK)", lines[i].line,
                                        (unsigned long long)lines[i].hits,
                                        (unsigned long long)lines[i].m[0]);
            if (!t || PyList_Append(list, t) < 0)
                Py_CLEAR(list);
            Py_XDECREF(t);
        }
        free(lines);
        if (!key || !list || PyDict_SetItem(timings, key, list) < 0)
            Py_CLEAR(timings);
        Py_XDECREF(key);
        Py_XDECREF(list);
    }
    sg_profile_free(p);
    if (!timings)
        return NULL;
    PyObject *types = PyImport_ImportModule("types");
    PyObject *ns =
        types ? PyObject_GetAttrString(types, "SimpleNamespace") : NULL;
    PyObject *kw = Py_BuildValue("{sOsd}", "timings", timings, "unit", 1e-9);
    PyObject *noargs = PyTuple_New(0);
    PyObject *r = ns && kw && noargs ? PyObject_Call(ns, noargs, kw) : NULL;
    Py_XDECREF(noargs);
    Py_XDECREF(kw);
    Py_XDECREF(ns);
    Py_XDECREF(types);
    Py_DECREF(timings);
    return r;
}

/* atexit: the table of spyglass.line_profile. */
static PyObject *
prof_atexit(lines_prof *self, PyObject *unused)
{
    while (self->enabled)
        lines_disable(self);
    if (self->n_codes && print_stats(self, NULL, self->output_unit) < 0)
        return NULL;
    Py_RETURN_NONE;
}

/* profile(func): add func, start counting (once), return func itself.
 * memory_profiler's keywords are taken too, so that its scripts run
 * unchanged: `@profile(precision=4)` (no function) returns the profiler
 * as the decorator; stream, precision and backend are accepted and
 * ignored (the table is printed when the program ends, in its own
 * precision). */
static PyObject *
prof_call(lines_prof *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"func", "stream", "precision", "backend", NULL};
    PyObject *func = NULL, *stream = NULL, *precision = NULL, *backend = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|O$OOO:profile", kwlist,
                                     &func, &stream, &precision, &backend))
        return NULL;
    if (!func || func == Py_None) {
        Py_INCREF(self);
        return (PyObject *)self;
    }
    if (lines_add_callable(self, func) < 0)
        return NULL;
    if (!self->enabled) {
        if (lines_enable(self) < 0)
            return NULL;
        self->auto_enabled = 1;
    }
    if (self->print_at_exit == 1 && !self->atexit_registered) {
        PyObject *atexit = PyImport_ImportModule("atexit");
        PyObject *cb = PyObject_GetAttrString((PyObject *)self, "_atexit");
        PyObject *r = atexit && cb
                          ? PyObject_CallMethod(atexit, "register", "O", cb)
                          : NULL;
        Py_XDECREF(cb);
        Py_XDECREF(atexit);
        if (!r)
            return NULL;
        Py_DECREF(r);
        self->atexit_registered = 1;
    }
    Py_INCREF(func);
    return func;
}

static PyObject *
prof_get_functions(lines_prof *self, void *closure)
{
    PyObject *list = PyList_New(self->n_codes);
    for (Py_ssize_t i = 0; list && i < self->n_codes; i++) {
        Py_INCREF(self->codes[i]->code);
        PyList_SET_ITEM(list, i, self->codes[i]->code);
    }
    return list;
}

static PyObject *
prof_get_enabled(lines_prof *self, void *closure)
{
    return PyBool_FromLong(self->enabled > 0);
}

static PyMethodDef prof_methods[] = {
    {"add_function", (PyCFunction)prof_add_function, METH_O,
     "add_function(func)\n\nProfile func's lines (its code object; also "
     "what it wraps)."},
    {"enable", (PyCFunction)prof_enable, METH_NOARGS,
     "Start counting (nestable)."},
    {"disable", (PyCFunction)prof_disable, METH_NOARGS, "Stop counting."},
    {"enable_by_count", (PyCFunction)prof_enable, METH_NOARGS,
     "Alias of enable(), as line_profiler."},
    {"disable_by_count", (PyCFunction)prof_disable, METH_NOARGS,
     "Alias of disable(), as line_profiler."},
    {"__enter__", (PyCFunction)prof_enter, METH_NOARGS, NULL},
    {"__exit__", (PyCFunction)prof_exit, METH_VARARGS, NULL},
    {"print_stats", (PyCFunction)(void (*)(void))prof_print_stats,
     METH_VARARGS | METH_KEYWORDS,
     "print_stats(stream=None, output_unit=1e-6)\n\nPrint the table "
     "`kernprof -l -v` prints."},
    {"dump_stats", (PyCFunction)prof_dump_stats, METH_O,
     "dump_stats(filename)\n\nWrite the results: a line_profiler pickle for "
     "*.lprof (`python -m line_profiler FILE` shows it), else the text."},
    {"get_stats", (PyCFunction)prof_get_stats, METH_NOARGS,
     "get_stats() -> object with .timings {(file, line, name): [(lineno, "
     "hits, time)]} and .unit (seconds per time unit)."},
    {"_atexit", (PyCFunction)prof_atexit, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef prof_getset[] = {
    {"functions", (getter)prof_get_functions, NULL,
     "The profiled code objects.", NULL},
    {"enabled", (getter)prof_get_enabled, NULL, "Whether counting.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

/* clang-format off */
static PyTypeObject LineProfiler_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "spyglass.LineProfiler",
    .tp_basicsize = sizeof(lines_prof),
    .tp_dealloc = (destructor)prof_dealloc,
    .tp_call = (ternaryfunc)prof_call,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "LineProfiler(*funcs)\n\nLine-by-line hits and time of the "
              "given functions, as line_profiler.LineProfiler, without "
              "wrapping them: only their own code objects are traced.",
    .tp_methods = prof_methods,
    .tp_getset = prof_getset,
    .tp_new = prof_new,
};
/* clang-format on */

/* lines(*funcs, unit=1e-6): a profiler that prints when its block ends. */
static PyObject *
agent_lines_fn(PyObject *module, PyObject *args, PyObject *kwds)
{
    double unit = 1e-6;
    if (kwds && PyDict_GET_SIZE(kwds)) {
        PyObject *u = PyDict_GetItemString(kwds, "unit");
        if (!u || PyDict_GET_SIZE(kwds) != 1) {
            PyErr_SetString(PyExc_TypeError,
                            "lines() takes functions and unit=");
            return NULL;
        }
        unit = PyFloat_AsDouble(u);
        if (unit == -1 && PyErr_Occurred())
            return NULL;
        if (unit <= 0) {
            PyErr_SetString(PyExc_ValueError, "unit must be positive");
            return NULL;
        }
    }
    lines_prof *self = lines_prof_new(unit);
    if (!self)
        return NULL;
    self->print_at_exit = 2;
    if (add_all(self, args) < 0)
        Py_CLEAR(self);
    return (PyObject *)self;
}

static PyMethodDef lines_fn_def = {
    "lines", (PyCFunction)(void (*)(void))agent_lines_fn,
    METH_VARARGS | METH_KEYWORDS,
    "lines(*funcs, unit=1e-6)\n\nA context manager: `with "
    "spyglass.lines(f, g): ...` prints the line table of f and g when the "
    "block ends."};

int
agent_lines_init(PyObject *m)
{
    instr_init();
    if (PyType_Ready(&LineProfiler_Type) < 0)
        return -1;
    lines_prof *profile = lines_prof_new(1e-6);
    PyObject *fn = PyCFunction_New(&lines_fn_def, NULL);
    int rc = -1;
    if (profile && fn) {
        profile->print_at_exit = 1;
        PyObject *type = (PyObject *)&LineProfiler_Type;
        if (agent_export(m, "LineProfiler", type) == 0 &&
            agent_export(m, "line_profile", (PyObject *)profile) == 0 &&
            agent_export(m, "lines", fn) == 0)
            rc = 0;
    }
    Py_XDECREF(fn);
    Py_XDECREF(profile);
    return rc;
}

/* ---- spyglass lines ---- */
