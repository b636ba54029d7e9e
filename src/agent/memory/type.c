/* type.c -- the memory profiler's Python face (`spyglass memory` itself
 * is command.c).
 *
 * Python (re-exported by the spyglass package):
 *   spyglass.memory(*funcs, sample=0)  a context manager (`with
 *       spyglass.memory() as m: ...` traces the block) and a decorator
 *       (`@spyglass.memory()` traces each call of the function, and gives
 *       its lines memory_profiler's columns); funcs also get those
 *       columns. m.print_stats() writes the table of the last tracing to
 *       stdout, m.dump(path, format=None) writes it in the format the
 *       path's extension (or format) names.
 *   _agent._memory_stats()  for tests: the numbers of the tracing under
 *       way (`spyglass memory` runs the program) as Python data;
 *       m._stats() the same of m's last tracing. See mem_stats_of.
 */
#include <string.h>

#include "agent/memory/internal.h"
#include "common/err.h"

typedef struct mem_obj {
    PyObject_HEAD
    mem_config cfg;
    lines_prof *lines; /* the functions with line columns, or NULL */
    int active;        /* tracing now */
    sg_profile *model; /* the last tracing's results, or NULL */
} mem_obj;

static PyTypeObject Memory_Type;

static PyObject *
memobj_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"sample", NULL};
    long long sample = 0;
    PyObject *none = PyTuple_New(0);
    int ok = none && PyArg_ParseTupleAndKeywords(none, kwds, "|L:memory",
                                                 kwlist, &sample);
    Py_XDECREF(none);
    if (!ok)
        return NULL;
    if (sample < 0) {
        PyErr_SetString(PyExc_ValueError, "sample must be >= 0 bytes");
        return NULL;
    }
    mem_obj *self = PyObject_New(mem_obj, type);
    if (!self)
        return NULL;
    memset(&self->cfg, 0, sizeof self->cfg);
    self->cfg.sample_bytes = (uint64_t)sample;
    self->lines = NULL;
    self->active = 0;
    self->model = NULL;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(args); i++) {
        if (!self->lines && !(self->lines = mem_lines_new(false)))
            goto fail;
        if (lines_add_callable(self->lines, PyTuple_GET_ITEM(args, i)) < 0)
            goto fail;
    }
    return (PyObject *)self;
fail:
    Py_DECREF(self);
    return NULL;
}

static void
memobj_dealloc(mem_obj *self)
{
    Py_XDECREF(self->lines);
    sg_profile_free(self->model);
    PyObject_Free(self);
}

/* Start tracing (line events first, so that their set-up is not traced). */
static int
memobj_start(mem_obj *self)
{
    if (self->active || mem_tracing()) {
        PyErr_SetString(PyExc_RuntimeError,
                        "spyglass.memory: memory is already being traced");
        return -1;
    }
    for (Py_ssize_t i = 0; self->lines && i < self->lines->n_codes; i++) {
        /* The table is of this tracing only. */
        lines_code *lc = self->lines->codes[i];
        memset(lc->hits, 0, (size_t)lc->n * sizeof *lc->hits);
        memset(lc->ticks, 0, (size_t)lc->n * sizeof *lc->ticks);
    }
    if (self->lines && lines_enable(self->lines) < 0)
        return -1;
    if (mem_start(&self->cfg) < 0) {
        if (self->lines)
            lines_disable(self->lines);
        return -1;
    }
    if (self->lines)
        mem_lines_start(false);
    self->active = 1;
    return 0;
}

/* Stop tracing and keep the results; keeps any exception set. */
static int
memobj_stop(mem_obj *self)
{
    if (!self->active)
        return 0;
    self->active = 0;
    mem_stop();
    mem_lines_stop();
    if (self->lines)
        lines_disable(self->lines);
    PyObject *t, *v, *tb;
    PyErr_Fetch(&t, &v, &tb);
    sg_profile_free(self->model);
    self->model = mem_to_model(self->lines, "spyglass.memory()", false);
    mem_clear();
    mem_lines_clear();
    int rc = self->model ? 0 : -1;
    if (rc < 0)
        Py_XDECREF(t), Py_XDECREF(v), Py_XDECREF(tb);
    else
        PyErr_Restore(t, v, tb);
    return rc;
}

static PyObject *
memobj_enter(mem_obj *self, PyObject *unused)
{
    if (memobj_start(self) < 0)
        return NULL;
    Py_INCREF(self);
    return (PyObject *)self;
}

static PyObject *
memobj_exit(mem_obj *self, PyObject *args)
{
    if (memobj_stop(self) < 0)
        return NULL;
    Py_RETURN_FALSE;
}

/* The wrapper a decorated function becomes: self = (memory, func). */
static PyObject *
memobj_wrapped(PyObject *pair, PyObject *args, PyObject *kwds)
{
    mem_obj *self = (mem_obj *)PyTuple_GET_ITEM(pair, 0);
    PyObject *func = PyTuple_GET_ITEM(pair, 1);
    if (memobj_start(self) < 0)
        return NULL;
    PyObject *r = PyObject_Call(func, args, kwds);
    if (memobj_stop(self) < 0)
        Py_CLEAR(r);
    return r;
}

static PyMethodDef memobj_wrapped_def = {
    "wrapped", (PyCFunction)(void (*)(void))memobj_wrapped,
    METH_VARARGS | METH_KEYWORDS, NULL};

/* memory()(func): func traced on each call, its lines in the table. */
static PyObject *
memobj_call(mem_obj *self, PyObject *args, PyObject *kwds)
{
    PyObject *func;
    if ((kwds && PyDict_GET_SIZE(kwds)) ||
        !PyArg_ParseTuple(args, "O:memory", &func))
        return NULL;
    if (!self->lines && !(self->lines = mem_lines_new(false)))
        return NULL;
    if (lines_add_callable(self->lines, func) < 0)
        return NULL;
    PyObject *pair = PyTuple_Pack(2, (PyObject *)self, func);
    PyObject *w = pair ? PyCFunction_New(&memobj_wrapped_def, pair) : NULL;
    Py_XDECREF(pair);
    if (!w)
        return NULL;
    /* Look like func (name, docstring, __wrapped__): functools.partial
     * takes the attributes a builtin function cannot. */
    PyObject *ft = PyImport_ImportModule("functools");
    PyObject *part = ft ? PyObject_CallMethod(ft, "partial", "O", w) : NULL;
    PyObject *r =
        part ? PyObject_CallMethod(ft, "update_wrapper", "OO", part, func)
             : NULL;
    Py_XDECREF(ft);
    Py_XDECREF(part);
    Py_DECREF(w);
    return r;
}

/* The model of the last tracing, or NULL with RuntimeError. */
static sg_profile *
memobj_model(mem_obj *self)
{
    if (!self->model)
        PyErr_SetString(PyExc_RuntimeError,
                        "spyglass.memory: nothing traced yet");
    return self->model;
}

static int
memobj_render(const sg_writer *w, const sg_profile *p, strbuf *sb)
{
    writer_opts wo = {0};
    if (sg_writer_render(w, p, &wo, sb) < 0 || sb_failed(sb)) {
        PyErr_SetString(PyExc_RuntimeError,
                        "spyglass.memory: the results cannot be written "
                        "(see the error above)");
        return -1;
    }
    return 0;
}

static PyObject *
memobj_print_stats(mem_obj *self, PyObject *unused)
{
    sg_profile *p = memobj_model(self);
    if (!p)
        return NULL;
    strbuf sb = STRBUF_INIT;
    if (memobj_render(sg_writer_by_name("text"), p, &sb) < 0) {
        sb_free(&sb);
        return NULL;
    }
    PyObject *out = PySys_GetObject("stdout");
    PyObject *text =
        PyUnicode_DecodeUTF8(sb_str(&sb), (Py_ssize_t)sb.len, "replace");
    sb_free(&sb);
    PyObject *r = text && out && out != Py_None
                      ? PyObject_CallMethod(out, "write", "O", text)
                      : NULL;
    Py_XDECREF(text);
    if (!r)
        return NULL;
    Py_DECREF(r);
    Py_RETURN_NONE;
}

static PyObject *
memobj_dump(mem_obj *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"path", "format", NULL};
    const char *path, *format = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "s|z:dump", kwlist, &path,
                                     &format))
        return NULL;
    sg_profile *p = memobj_model(self);
    if (!p)
        return NULL;
    const sg_writer *w;
    char msg[512];
    if (sg_writer_pick_msg(format, path, &sg_output_memory, &w, msg,
                           sizeof msg)) {
        PyErr_SetString(PyExc_ValueError, msg);
        return NULL;
    }
    strbuf sb = STRBUF_INIT;
    int rc = memobj_render(w, p, &sb);
    if (rc == 0 && sb_write_file(&sb, path) < 0) {
        PyErr_SetFromErrnoWithFilename(PyExc_OSError, path);
        rc = -1;
    }
    sb_free(&sb);
    if (rc < 0)
        return NULL;
    Py_RETURN_NONE;
}

/* ---- the numbers as Python data, for tests ---- */

static PyObject *
mem_func_tuple(const sg_profile *p, sg_frame_id fr)
{
    const sg_func *f = sg_profile_frame_func(p, fr);
    return Py_BuildValue("(ssi)", f->file, f->name, (int)p->frames[fr].line);
}

static PyObject *
mem_metrics(const uint64_t *m)
{
    PyObject *t = PyTuple_New(SG_MEM_N_METRICS);
    for (int k = 0; t && k < SG_MEM_N_METRICS; k++) {
        PyObject *v = k == SG_MEM_INC
                          ? PyLong_FromLongLong(sg_mem_signed(m[k]))
                          : PyLong_FromUnsignedLongLong(m[k]);
        if (!v)
            Py_CLEAR(t);
        else
            PyTuple_SET_ITEM(t, k, v);
    }
    return t;
}

/* {"meta": {key: value}, "leaves": {(file, name, line): metrics},
 * "lines": {(file, name, line): (hits, metrics)}, "threads": [name...]}:
 * leaves sums the nodes by their leaf frame (the allocating line, every
 * function), lines is the selected functions' table, threads the thread
 * roots' names; metrics in SG_MEM_METRIC_NAMES order. */
static PyObject *
mem_stats_of(const sg_profile *p)
{
    PyObject *meta = PyDict_New(), *leaves = PyDict_New(),
             *lines = PyDict_New(), *threads = PyList_New(0), *r = NULL;
    for (size_t i = 0; meta && i < p->n_meta; i++) {
        PyObject *v = PyUnicode_FromString(p->meta[i].value);
        if (!v || PyDict_SetItemString(meta, p->meta[i].key, v) < 0)
            Py_CLEAR(meta);
        Py_XDECREF(v);
    }
    for (size_t i = 1; leaves && i < p->n_nodes; i++) {
        const sg_node *n = &p->nodes[i];
        const sg_func *f = sg_profile_frame_func(p, n->frame);
        if (sg_func_is_synthetic(f)) {
            PyObject *name = PyUnicode_FromString(f->name);
            if (!name || !threads || PyList_Append(threads, name) < 0)
                Py_CLEAR(leaves);
            Py_XDECREF(name);
            continue;
        }
        PyObject *k = mem_func_tuple(p, n->frame);
        PyObject *old = k ? PyDict_GetItemWithError(leaves, k) : NULL;
        uint64_t m[SG_MEM_N_METRICS];
        for (int j = 0; j < SG_MEM_N_METRICS; j++)
            m[j] = n->self[j] +
                   (old ? PyLong_AsUnsignedLongLong(PyTuple_GET_ITEM(old, j))
                        : 0);
        PyObject *v = k && !PyErr_Occurred() ? mem_metrics(m) : NULL;
        if (!v || PyDict_SetItem(leaves, k, v) < 0)
            Py_CLEAR(leaves);
        Py_XDECREF(k);
        Py_XDECREF(v);
    }
    for (size_t i = 0; lines && i < p->n_lines; i++) {
        const sg_line *l = &p->lines[i];
        const sg_func *f = &p->funcs[l->func];
        PyObject *k = Py_BuildValue("(ssi)", f->file, f->name, (int)l->line);
        PyObject *m = mem_metrics(l->m);
        PyObject *v =
            k && m ? Py_BuildValue("(KO)", (unsigned long long)l->hits, m)
                   : NULL;
        if (!v || PyDict_SetItem(lines, k, v) < 0)
            Py_CLEAR(lines);
        Py_XDECREF(k);
        Py_XDECREF(m);
        Py_XDECREF(v);
    }
    if (meta && leaves && lines && threads)
        r = Py_BuildValue("{sOsOsOsO}", "meta", meta, "leaves", leaves,
                          "lines", lines, "threads", threads);
    Py_XDECREF(threads);
    Py_XDECREF(meta);
    Py_XDECREF(leaves);
    Py_XDECREF(lines);
    return r;
}

static PyObject *
memobj_stats(mem_obj *self, PyObject *unused)
{
    sg_profile *p = memobj_model(self);
    return p ? mem_stats_of(p) : NULL;
}

/* _agent._memory_stats(): the tracing under way, for tests. What this
 * allocates is not traced (the engine is busy meanwhile). */
static PyObject *
mem_stats_now(PyObject *module, PyObject *unused)
{
    if (!mem_tracing()) {
        PyErr_SetString(PyExc_RuntimeError, "memory is not being traced");
        return NULL;
    }
    mem_busy++;
    sg_profile *p = mem_to_model(mem_cmd_lines, "", false);
    PyObject *r = p ? mem_stats_of(p) : NULL;
    sg_profile_free(p);
    mem_busy--;
    return r;
}

static PyMethodDef memobj_methods[] = {
    {"__enter__", (PyCFunction)memobj_enter, METH_NOARGS, NULL},
    {"__exit__", (PyCFunction)memobj_exit, METH_VARARGS, NULL},
    {"print_stats", (PyCFunction)memobj_print_stats, METH_NOARGS,
     "print_stats()\n\nWrite the table and summary of the last tracing to "
     "stdout."},
    {"dump", (PyCFunction)(void (*)(void))memobj_dump,
     METH_VARARGS | METH_KEYWORDS,
     "dump(path, format=None)\n\nWrite the last tracing's results to path, "
     "in format or the one its extension names (.svg: a flame graph of "
     "the bytes live at the peak; .speedscope.json, .collapsed...)."},
    {"_stats", (PyCFunction)memobj_stats, METH_NOARGS,
     "The last tracing's numbers as Python data (for tests)."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject Memory_Type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "spyglass.memory",
    .tp_basicsize = sizeof(mem_obj),
    .tp_dealloc = (destructor)memobj_dealloc,
    .tp_call = (ternaryfunc)memobj_call,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "memory(*funcs, sample=0)\n\nTrace memory: `with "
              "spyglass.memory() as m: ...` traces the block, "
              "`@spyglass.memory()` each call of a function. Every "
              "allocation is charged to its Python line and call stack; "
              "funcs (and a decorated function) get memory_profiler's "
              "columns per line. sample=BYTES traces by Poisson byte "
              "sampling instead of exactly.",
    .tp_methods = memobj_methods,
    .tp_new = memobj_new,
};

static PyMethodDef mem_stats_def = {
    "_memory_stats", mem_stats_now, METH_NOARGS,
    "_memory_stats() -> dict\n\nThe numbers of the tracing under way (for "
    "tests)."};

int
agent_memory_init(PyObject *m)
{
    instr_init();
    if (PyType_Ready(&Memory_Type) < 0)
        return -1;
    PyObject *fn = PyCFunction_New(&mem_stats_def, NULL);
    int rc = fn && agent_export(m, "memory", (PyObject *)&Memory_Type) == 0 &&
                     PyModule_AddObject(m, "_memory_stats", fn) == 0
                 ? 0
                 : -1;
    if (rc < 0)
        Py_XDECREF(fn);
    return rc;
}
