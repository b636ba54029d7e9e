/* type.c -- the profiler's Python face: the `spyglass.profile` type
 * (context manager, decorator, cProfile-like methods). The command that
 * runs a program under it is profile/command.c. */
#include "agent/profile/profiler.h" /* Python.h first */

#include <stdio.h>
#include <string.h>
#include <structmember.h>

#include "common/err.h"
#include "model/funcstats.h"
#include "writers/writers.h"

/* ---- rendering --------------------------------------------------------- */

/* pstats' integer sort codes, and str (or SortKey, a str) as is. */
static const char *
prof_sort_arg(PyObject *sort)
{
    if (!sort || sort == Py_None)
        return "stdname";
    if (PyLong_Check(sort)) {
        long v = PyLong_AsLong(sort);
        switch (v) {
        case -1:
            return "stdname";
        case 0:
            return "calls";
        case 1:
            return "time";
        case 2:
            return "cumulative";
        default:
            PyErr_Format(PyExc_ValueError,
                         "sort code %ld: use -1, 0, 1, 2 or a key name", v);
            return NULL;
        }
    }
    if (PyUnicode_Check(sort))
        return PyUnicode_AsUTF8(sort);
    PyErr_SetString(PyExc_TypeError, "sort must be a str or an int");
    return NULL;
}

/* Render P with writer w into out; -1 with an exception set on failure. */
static int
prof_render(profiler *P, const sg_writer *w, const writer_opts *o, strbuf *out)
{
    if (o->sort) {
        sg_sort_spec spec;
        strbuf err = STRBUF_INIT;
        if (sg_sort_parse(o->sort, &spec, &err) < 0) {
            PyErr_SetString(PyExc_ValueError, sb_str(&err));
            sb_free(&err);
            return -1;
        }
        sb_free(&err);
    }
    sg_profile *p = profiler_build(P);
    if (!p)
        return -1;
    int rc = sg_writer_render(w, p, o, out);
    sg_profile_free(p);
    if (rc < 0)
        PyErr_Format(PyExc_ValueError, "cannot write the %s format", w->name);
    return rc;
}

/* ---- the profile type -------------------------------------------------- */

static PyObject *
profiler_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
    profiler *P = (profiler *)type->tp_alloc(type, 0);
    if (!P)
        return NULL;
    P->builtins = true;
    profiler_setup(P);
    return (PyObject *)P;
}

static int
profiler_init(profiler *P, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"builtins", NULL};
    int builtins = 1;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|$p:profile", kwlist,
                                     &builtins))
        return -1;
    if (P->enabled) {
        PyErr_SetString(PyExc_RuntimeError, "the profiler is running");
        return -1;
    }
    P->builtins = builtins != 0;
    return 0;
}

static int
profiler_traverse(profiler *P, visitproc visit, void *arg)
{
    Py_VISIT(P->dict);
    return 0;
}

static int
profiler_tp_clear(profiler *P)
{
    Py_CLEAR(P->dict);
    return 0;
}

static void
profiler_dealloc(profiler *P)
{
    PyObject_GC_UnTrack(P);
    if (P->enabled)
        profiler_disable(P);
    profiler_teardown(P);
    Py_CLEAR(P->dict);
    Py_TYPE(P)->tp_free((PyObject *)P);
}

static PyObject *
profiler_enable_m(profiler *P, PyObject *unused)
{
    if (profiler_enable(P) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *
profiler_disable_m(profiler *P, PyObject *unused)
{
    if (profiler_disable(P) < 0 && PyErr_Occurred())
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *
profiler_clear_m(profiler *P, PyObject *unused)
{
    if (P->enabled) {
        PyErr_SetString(PyExc_RuntimeError, "cannot clear a running profiler");
        return NULL;
    }
    profiler_clear(P);
    Py_RETURN_NONE;
}

static PyObject *
profiler_enter(profiler *P, PyObject *unused)
{
    if (profiler_enable(P) < 0)
        return NULL;
    Py_INCREF(P);
    return (PyObject *)P;
}

static PyObject *
profiler_exit(profiler *P, PyObject *args)
{
    if (profiler_disable(P) < 0 && PyErr_Occurred())
        return NULL;
    Py_RETURN_FALSE;
}

static PyObject *
profiler_print_stats(profiler *P, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"sort", "threads", "limit", NULL};
    PyObject *sort = NULL;
    int threads = 0, limit = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|O$pi:print_stats", kwlist,
                                     &sort, &threads, &limit))
        return NULL;
    writer_opts o = {0};
    o.sort = prof_sort_arg(sort);
    if (!o.sort)
        return NULL;
    o.strip_dirs = true; /* as cProfile.Profile.print_stats */
    o.per_thread = threads != 0;
    o.limit = limit;
    strbuf sb = STRBUF_INIT;
    int rc = prof_render(P, sg_writer_by_name("text"), &o, &sb);
    if (rc == 0)
        rc = agent_write_stdout(sb_str(&sb), sb.len);
    sb_free(&sb);
    if (rc < 0)
        return NULL;
    Py_RETURN_NONE;
}

static const sg_writer *
prof_writer_arg(const char *format, const char *path)
{
    /* pstats when the path's extension names no format, as dump_stats. */
    static const sg_output api = {"profile", SG_DATA_DETERMINISTIC, "pstats",
                                  true, false};
    const sg_writer *w;
    char msg[768];
    if (sg_writer_pick_msg(format, path, &api, &w, msg, sizeof msg)) {
        PyErr_SetString(PyExc_ValueError, msg);
        return NULL;
    }
    return w;
}

/* Render and write to path; -1 with an exception set on failure. */
static int
prof_dump_to(profiler *P, const sg_writer *w, const writer_opts *o,
             const char *path)
{
    strbuf sb = STRBUF_INIT;
    int rc = prof_render(P, w, o, &sb);
    if (rc == 0 && sb_write_file(&sb, path) < 0) {
        PyErr_SetFromErrnoWithFilename(PyExc_OSError, path);
        rc = -1;
    }
    sb_free(&sb);
    return rc;
}

/* dump(path, format=None, *, sort=None): the format follows the extension
 * (pstats when it says nothing). */
static PyObject *
profiler_dump(profiler *P, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"path", "format", "sort", NULL};
    PyObject *path_obj;
    const char *format = NULL;
    PyObject *sort = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O&|z$O:dump", kwlist,
                                     PyUnicode_FSConverter, &path_obj, &format,
                                     &sort))
        return NULL;
    const char *path = PyBytes_AS_STRING(path_obj);
    const sg_writer *w = prof_writer_arg(format, path);
    writer_opts o = {0};
    if (w && sort) {
        o.sort = prof_sort_arg(sort);
        if (!o.sort)
            w = NULL;
    }
    int rc = w ? prof_dump_to(P, w, &o, path) : -1;
    Py_DECREF(path_obj);
    if (rc < 0)
        return NULL;
    Py_RETURN_NONE;
}

/* cProfile's name for writing a pstats file. */
static PyObject *
profiler_dump_stats(profiler *P, PyObject *args)
{
    PyObject *path_obj;
    if (!PyArg_ParseTuple(args, "O&:dump_stats", PyUnicode_FSConverter,
                          &path_obj))
        return NULL;
    writer_opts o = {0};
    int rc = prof_dump_to(P, sg_writer_by_name("pstats"), &o,
                          PyBytes_AS_STRING(path_obj));
    Py_DECREF(path_obj);
    if (rc < 0)
        return NULL;
    Py_RETURN_NONE;
}

/* render(format="text", *, sort=None, threads=False) -> str or bytes */
static PyObject *
profiler_render_m(profiler *P, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"format", "sort", "threads", NULL};
    const char *format = "text";
    PyObject *sort = NULL;
    int threads = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|s$Op:render", kwlist, &format,
                                     &sort, &threads))
        return NULL;
    const sg_writer *w = prof_writer_arg(format, NULL);
    if (!w)
        return NULL;
    writer_opts o = {0};
    o.per_thread = threads != 0;
    o.strip_dirs = strcmp(w->name, "text") == 0;
    if (sort) { /* without one, text has the command's default order */
        o.sort = prof_sort_arg(sort);
        if (!o.sort)
            return NULL;
    }
    strbuf sb = STRBUF_INIT;
    PyObject *r = NULL;
    if (prof_render(P, w, &o, &sb) == 0)
        r = w->binary
                ? PyBytes_FromStringAndSize(sb_str(&sb), (Py_ssize_t)sb.len)
                : PyUnicode_DecodeUTF8(sb_str(&sb), (Py_ssize_t)sb.len,
                                       "replace");
    sb_free(&sb);
    return r;
}

/* create_stats(): self.stats = the pstats dict, so that
 * pstats.Stats(profiler) works as with a cProfile.Profile. */
static PyObject *
profiler_create_stats(profiler *P, PyObject *unused)
{
    if (profiler_disable(P) < 0 && PyErr_Occurred())
        return NULL;
    writer_opts o = {0};
    strbuf sb = STRBUF_INIT;
    PyObject *stats = NULL;
    if (prof_render(P, sg_writer_by_name("pstats"), &o, &sb) == 0) {
        PyObject *marshal = PyImport_ImportModule("marshal");
        if (marshal) {
            stats = PyObject_CallMethod(marshal, "loads", "y#", sb_str(&sb),
                                        (Py_ssize_t)sb.len);
            Py_DECREF(marshal);
        }
    }
    sb_free(&sb);
    if (!stats)
        return NULL;
    int rc = PyObject_SetAttrString((PyObject *)P, "stats", stats);
    Py_DECREF(stats);
    if (rc < 0)
        return NULL;
    Py_RETURN_NONE;
}

/* ---- decorator --------------------------------------------------------- */

typedef struct profiled {
    PyObject_HEAD
    profiler *prof;
    PyObject *func;
    PyObject *dict;
    vectorcallfunc vectorcall;
} profiled;

static PyObject *
profiled_call(PyObject *self, PyObject *const *args, size_t nargsf,
              PyObject *kwnames)
{
    profiled *w = (profiled *)self;
    /* Nested calls (recursion, or an outer profiled function) are already
     * being recorded; so is everything while another profiler runs (e.g.
     * `spyglass profile` on the whole program): the decorated function
     * must not fail because of it. */
    bool outer = !w->prof->enabled && !prof_active;
    if (outer && profiler_enable(w->prof) < 0)
        return NULL;
#if PY_VERSION_HEX >= 0x03090000
    PyObject *r = PyObject_Vectorcall(w->func, args, nargsf, kwnames);
#else
    PyObject *r = _PyObject_Vectorcall(w->func, args, nargsf, kwnames);
#endif
    /* Disabling keeps the function's exception, if any. */
    if (outer)
        profiler_disable(w->prof);
    return r;
}

static int
profiled_traverse(profiled *w, visitproc visit, void *arg)
{
    Py_VISIT(w->prof);
    Py_VISIT(w->func);
    Py_VISIT(w->dict);
    return 0;
}

static int
profiled_clear(profiled *w)
{
    Py_CLEAR(w->prof);
    Py_CLEAR(w->func);
    Py_CLEAR(w->dict);
    return 0;
}

static void
profiled_dealloc(profiled *w)
{
    PyObject_GC_UnTrack(w);
    profiled_clear(w);
    Py_TYPE(w)->tp_free((PyObject *)w);
}

static PyObject *
profiled_get(PyObject *self, PyObject *obj, PyObject *type)
{
    /* Decorating a method: bind like a function does. */
    if (obj == NULL || obj == Py_None) {
        Py_INCREF(self);
        return self;
    }
    return PyMethod_New(self, obj);
}

static PyGetSetDef profiled_getset[] = {
    {"__dict__", PyObject_GenericGetDict, PyObject_GenericSetDict, NULL, NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyMemberDef profiled_members[] = {
    {"profiler", T_OBJECT, offsetof(profiled, prof), READONLY,
     "the spyglass.profile that records this function's calls"},
    {NULL, 0, 0, 0, NULL},
};

/* clang-format off */
static PyTypeObject profiled_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "spyglass._agent.profiled",
    .tp_basicsize = sizeof(profiled),
    .tp_dealloc = (destructor)profiled_dealloc,
    .tp_vectorcall_offset = offsetof(profiled, vectorcall),
    .tp_call = PyVectorcall_Call,
    .tp_getattro = PyObject_GenericGetAttr,
    .tp_setattro = PyObject_GenericSetAttr,
#if PY_VERSION_HEX >= 0x03090000
    .tp_flags =
        Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL,
#else
    .tp_flags =
        Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | _Py_TPFLAGS_HAVE_VECTORCALL,
#endif
    .tp_doc = "A function whose calls are profiled by a spyglass.profile.",
    .tp_traverse = (traverseproc)profiled_traverse,
    .tp_clear = (inquiry)profiled_clear,
    .tp_members = profiled_members,
    .tp_getset = profiled_getset,
    .tp_descr_get = profiled_get,
    .tp_dictoffset = offsetof(profiled, dict),
};
/* clang-format on */

/* profile(func): the decorator. */
static PyObject *
profiler_call(profiler *P, PyObject *args, PyObject *kw)
{
    PyObject *func;
    if (kw && PyDict_GET_SIZE(kw)) {
        PyErr_SetString(PyExc_TypeError, "a profile decorates one function");
        return NULL;
    }
    if (!PyArg_ParseTuple(args, "O:profile", &func))
        return NULL;
    if (!PyCallable_Check(func)) {
        PyErr_SetString(PyExc_TypeError, "profile() decorates a callable");
        return NULL;
    }
    profiled *w = PyObject_GC_New(profiled, &profiled_type);
    if (!w)
        return NULL;
    Py_INCREF(P);
    w->prof = P;
    Py_INCREF(func);
    w->func = func;
    w->dict = NULL;
    w->vectorcall = profiled_call;
    PyObject_GC_Track(w);
    /* functools.update_wrapper: __name__, __doc__, __wrapped__, ... */
    PyObject *functools = PyImport_ImportModule("functools");
    PyObject *r = functools ? PyObject_CallMethod(functools, "update_wrapper",
                                                  "OO", (PyObject *)w, func)
                            : NULL;
    Py_XDECREF(functools);
    if (!r) {
        Py_DECREF(w);
        return NULL;
    }
    Py_DECREF(r);
    return (PyObject *)w;
}

/* runcall(func, *args, **kw), as cProfile.Profile.runcall. */
static PyObject *
profiler_runcall(profiler *P, PyObject *args, PyObject *kw)
{
    Py_ssize_t n = PyTuple_GET_SIZE(args);
    if (n < 1) {
        PyErr_SetString(PyExc_TypeError, "runcall() needs a function");
        return NULL;
    }
    PyObject *rest = PyTuple_GetSlice(args, 1, n);
    if (!rest)
        return NULL;
    PyObject *r = NULL;
    if (profiler_enable(P) == 0) {
        r = PyObject_Call(PyTuple_GET_ITEM(args, 0), rest, kw);
        profiler_disable(P);
    }
    Py_DECREF(rest);
    return r;
}

static PyObject *
profiler_get_enabled(profiler *P, void *closure)
{
    return PyBool_FromLong(P->enabled);
}

static PyObject *
profiler_get_threads(profiler *P, void *closure)
{
    PyObject *d = PyDict_New();
    for (prof_thread *t = P->threads; d && t; t = t->next) {
        PyObject *k = PyLong_FromUnsignedLong(t->ident);
        PyObject *v = PyUnicode_FromString(t->name);
        if (!k || !v || PyDict_SetItem(d, k, v) < 0)
            Py_CLEAR(d);
        Py_XDECREF(k);
        Py_XDECREF(v);
    }
    return d;
}

static PyGetSetDef profiler_getset[] = {
    {"__dict__", PyObject_GenericGetDict, PyObject_GenericSetDict, NULL, NULL},
    {"enabled", (getter)profiler_get_enabled, NULL,
     "whether calls are being recorded", NULL},
    {"threads", (getter)profiler_get_threads, NULL,
     "{thread ident: name} of the threads seen", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyMethodDef profiler_methods[] = {
    {"enable", (PyCFunction)profiler_enable_m, METH_NOARGS,
     "Start recording calls (in every thread)."},
    {"disable", (PyCFunction)profiler_disable_m, METH_NOARGS,
     "Stop recording; calls still running are closed now."},
    {"clear", (PyCFunction)profiler_clear_m, METH_NOARGS,
     "Forget everything recorded."},
    {"__enter__", (PyCFunction)profiler_enter, METH_NOARGS, NULL},
    {"__exit__", (PyCFunction)profiler_exit, METH_VARARGS, NULL},
    {"print_stats", (PyCFunction)(void (*)(void))profiler_print_stats,
     METH_VARARGS | METH_KEYWORDS,
     "print_stats(sort=-1, *, threads=False, limit=0)\n\ncProfile's table "
     "on sys.stdout; sort is a pstats key (or -1, 0, 1, 2)."},
    {"dump", (PyCFunction)(void (*)(void))profiler_dump,
     METH_VARARGS | METH_KEYWORDS,
     "dump(path, format=None, *, sort=None)\n\nWrite the profile; the "
     "format follows the extension (.pstats/.prof, .txt, .svg, .json, "
     ".collapsed, .trace.json), pstats otherwise."},
    {"dump_stats", (PyCFunction)profiler_dump_stats, METH_VARARGS,
     "dump_stats(path)\n\nWrite a pstats file, as cProfile does."},
    {"render", (PyCFunction)(void (*)(void))profiler_render_m,
     METH_VARARGS | METH_KEYWORDS,
     "render(format='text', *, sort=None, threads=False) -> str | bytes"},
    {"create_stats", (PyCFunction)profiler_create_stats, METH_NOARGS,
     "Set self.stats to the pstats dict (pstats.Stats(p) calls this)."},
    {"runcall", (PyCFunction)(void (*)(void))profiler_runcall,
     METH_VARARGS | METH_KEYWORDS,
     "runcall(func, *args, **kw): call func under the profiler."},
    {NULL, NULL, 0, NULL},
};

/* clang-format off */
PyTypeObject profiler_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "spyglass._agent.profile",
    .tp_basicsize = sizeof(profiler),
    .tp_dealloc = (destructor)profiler_dealloc,
    .tp_call = (ternaryfunc)profiler_call,
    .tp_getattro = PyObject_GenericGetAttr,
    .tp_setattro = PyObject_GenericSetAttr,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "profile(*, builtins=True)\n\nspyglass's deterministic "
              "profiler: cProfile's numbers for every thread.\n\n"
              "    with spyglass.profile() as p:\n        work()\n"
              "    p.print_stats(sort='cumulative')\n"
              "    p.dump('work.pstats')\n\n"
              "An instance is also a decorator: @p records each call of "
              "the function.",
    .tp_traverse = (traverseproc)profiler_traverse,
    .tp_clear = (inquiry)profiler_tp_clear,
    .tp_methods = profiler_methods,
    .tp_getset = profiler_getset,
    .tp_dictoffset = offsetof(profiler, dict),
    .tp_init = (initproc)profiler_init,
    .tp_new = profiler_new,
};
/* clang-format on */

int
agent_profile_init(PyObject *m)
{
    instr_init();
    if (PyType_Ready(&profiler_type) < 0 || PyType_Ready(&profiled_type) < 0 ||
        prof_times_init() < 0)
        return -1;
    /* Re-exported by spyglass/__init__.py: spyglass.profile and
     * spyglass.Profile (the name cProfile gives it). */
    if (agent_export(m, "profile", (PyObject *)&profiler_type) < 0 ||
        agent_export(m, "Profile", (PyObject *)&profiler_type) < 0)
        return -1;
    return 0;
}
