/* listing.c -- the annotated listing of the counted code objects.
 *
 * The running CPython's own `dis` makes the text: dis.dis(code, depth=0)
 * (with adaptive=True for --adaptive), so every column is exactly that
 * version's. dis.get_instructions gives the same instructions in the same
 * order with their offsets; the listing's rows are matched to them one by
 * one: every non-blank line before "ExceptionTable:" is the next
 * instruction, and must name its opcode. A listing that does not match is
 * refused (an error), never guessed. The source line of each line group
 * comes from linecache.
 */
#include "agent/dis/dis.h" /* Python.h first */

#include <string.h>

/* Call module.fn(arg, **kw) where kw holds "adaptive": True when asked
 * (3.11+) and the extra pairs given (NULL-terminated key, value). */
static PyObject *
dis_call(PyObject *mod, const char *fn, PyObject *arg, int adaptive,
         const char *k1, PyObject *v1, const char *k2, PyObject *v2)
{
    PyObject *f = PyObject_GetAttrString(mod, fn);
    PyObject *kw = f ? PyDict_New() : NULL;
    PyObject *args = kw ? PyTuple_Pack(1, arg) : NULL;
    PyObject *r = NULL;
    if (args &&
        (!adaptive || PyDict_SetItemString(kw, "adaptive", Py_True) == 0) &&
        (!k1 || PyDict_SetItemString(kw, k1, v1) == 0) &&
        (!k2 || PyDict_SetItemString(kw, k2, v2) == 0))
        r = PyObject_Call(f, args, kw);
    Py_XDECREF(args);
    Py_XDECREF(kw);
    Py_XDECREF(f);
    return r;
}

/* dis.dis's text of code, split into lines (a new list), or NULL. */
static PyObject *
dis_text_lines(PyObject *dis, PyObject *code, int adaptive)
{
    PyObject *io = PyImport_ImportModule("io");
    PyObject *buf = io ? PyObject_CallMethod(io, "StringIO", NULL) : NULL;
    Py_XDECREF(io);
    if (!buf)
        return NULL;
    PyObject *zero = PyLong_FromLong(0);
    PyObject *r =
        zero ? dis_call(dis, "dis", code, adaptive, "file", buf, "depth", zero)
             : NULL;
    Py_XDECREF(zero);
    PyObject *text = r ? PyObject_CallMethod(buf, "getvalue", NULL) : NULL;
    Py_XDECREF(r);
    Py_DECREF(buf);
    PyObject *lines = text ? PyUnicode_Splitlines(text, 0) : NULL;
    Py_XDECREF(text);
    return lines;
}

/* An int attribute of obj, or -1 when it is None or missing. */
static long
dis_int_attr(PyObject *obj, const char *name)
{
    PyObject *v = PyObject_GetAttrString(obj, name);
    long r = v && PyLong_Check(v) ? PyLong_AsLong(v) : -1;
    Py_XDECREF(v);
    PyErr_Clear();
    return r;
}

/* The line an instruction starts, or -1 when it starts none. */
static long
dis_starts_line(PyObject *ins)
{
#if PY_VERSION_HEX >= 0x030D0000
    /* 3.13: starts_line is a flag, the number is line_number. */
    PyObject *st = PyObject_GetAttrString(ins, "starts_line");
    int starts = st ? PyObject_IsTrue(st) : 0;
    Py_XDECREF(st);
    PyErr_Clear();
    return starts > 0 ? dis_int_attr(ins, "line_number") : -1;
#else
    return dis_int_attr(ins, "starts_line");
#endif
}

/* The source text of a line, stripped (a new str), or NULL. */
static PyObject *
dis_source(PyObject *linecache, PyObject *file, long line)
{
    PyObject *s = PyObject_CallMethod(linecache, "getline", "Ol", file, line);
    PyObject *r = s ? PyObject_CallMethod(s, "strip", NULL) : NULL;
    Py_XDECREF(s);
    return r;
}

typedef struct dis_ctx {
    PyObject *dis, *linecache;
    int adaptive;
} dis_ctx;

/* A row from Python strings; -1 with MemoryError set. */
static int
dis_row(sg_instr_block *b, sg_instr_row_kind kind, PyObject *text,
        const char *opname, long offset, long line, uint64_t count)
{
    const char *t = PyUnicode_AsUTF8(text);
    if (!t)
        return -1;
    if (sg_instr_row_add(b, kind, t, opname, (int32_t)offset, (int32_t)line,
                         count) < 0) {
        PyErr_NoMemory();
        return -1;
    }
    return 0;
}

/* Whether the collector cannot see an instruction run: 3.12+ reports no
 * INSTRUCTION event for RESUME (where PY_START and PY_RESUME fire), nor
 * for what precedes the first RESUME (a generator's RETURN_GENERATOR,
 * cell set-up). Opcode tracing on 3.8-3.11 reports every instruction of
 * a traced frame. */
static int
dis_unseen(const char *opname, int *seen_resume)
{
#if PY_VERSION_HEX >= 0x030C0000
    int resume = strcmp(opname, "RESUME") == 0;
    int r = resume || !*seen_resume;
    *seen_resume |= resume;
    return r;
#else
    (void)opname;
    (void)seen_resume;
    return 0;
#endif
}

/* The instruction rows of b: one text line per instruction. */
static int
dis_match(const dis_ctx *x, sg_instr_block *b, const dis_counts *c,
          PyObject *lines, PyObject *instrs)
{
    PyObject *file = ((PyCodeObject *)c->code)->co_filename;
    Py_ssize_t k = 0, n_ins = PyList_GET_SIZE(instrs);
    long line = -1;
    int table = 0, seen_resume = 0;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(lines); i++) {
        PyObject *t = PyList_GET_ITEM(lines, i);
        const char *s = PyUnicode_AsUTF8(t);
        if (!s)
            return -1;
        if (strcmp(s, "ExceptionTable:") == 0)
            table = 1;
        if (table || s[strspn(s, " ")] == '\0') {
            if (dis_row(b, SG_ROW_OTHER, t, NULL, 0, -1, 0) < 0)
                return -1;
            continue;
        }
        if (k == n_ins)
            goto mismatch;
        PyObject *ins = PyList_GET_ITEM(instrs, k++);
        PyObject *op = PyObject_GetAttrString(ins, "opname");
        const char *opname = op ? PyUnicode_AsUTF8(op) : NULL;
        if (!opname) {
            Py_XDECREF(op);
            return -1;
        }
        long offset = dis_int_attr(ins, "offset");
        long starts = dis_starts_line(ins);
        int rc = 0;
        if (!strstr(s, opname)) {
            Py_DECREF(op);
            goto mismatch;
        }
        if (starts >= 0) {
            line = starts;
            PyObject *src = dis_source(x->linecache, file, line);
            if (!src)
                rc = -1;
            else if (PyUnicode_GET_LENGTH(src) > 0)
                rc = dis_row(b, SG_ROW_SOURCE, src, NULL, 0, line, 0);
            Py_XDECREF(src);
        }
        uint64_t count =
            offset >= 0 && offset / 2 < c->units ? c->n[offset / 2] : 0;
        if (rc == 0)
            rc = dis_row(b, SG_ROW_INSTR, t, opname, offset, line, count);
        if (rc == 0 && dis_unseen(opname, &seen_resume))
            b->rows[b->n_rows - 1].unknown = true;
        Py_DECREF(op);
        if (rc < 0)
            return -1;
    }
    if (k == n_ins)
        return 0;
mismatch:
    PyErr_Format(PyExc_RuntimeError,
                 "the dis listing of %R does not match its instructions",
                 c->code);
    return -1;
}

/* A block for c, unless none of its instructions ran. */
static int
dis_block(const dis_ctx *x, sg_instr_listing *l, const dis_counts *c)
{
    uint64_t total = 0;
    for (Py_ssize_t i = 0; i < c->units; i++)
        total += c->n[i];
    if (total == 0)
        return 0;
    PyCodeObject *co = (PyCodeObject *)c->code;
    PyObject *qn = PyObject_GetAttrString(c->code, "co_qualname");
    if (!qn) {
        PyErr_Clear(); /* before 3.11 */
        qn = co->co_name;
        Py_INCREF(qn);
    }
    const char *name = PyUnicode_AsUTF8(qn);
    const char *file = name ? PyUnicode_AsUTF8(co->co_filename) : NULL;
    sg_instr_block *b =
        file ? sg_instr_block_add(l, name, file, co->co_firstlineno) : NULL;
    Py_DECREF(qn);
    if (!b) {
        if (!PyErr_Occurred())
            PyErr_NoMemory();
        return -1;
    }
    PyObject *lines = dis_text_lines(x->dis, c->code, x->adaptive);
    PyObject *it = lines ? dis_call(x->dis, "get_instructions", c->code,
                                    x->adaptive, NULL, NULL, NULL, NULL)
                         : NULL;
    PyObject *instrs = it ? PySequence_List(it) : NULL;
    int rc = instrs ? dis_match(x, b, c, lines, instrs) : -1;
    Py_XDECREF(instrs);
    Py_XDECREF(it);
    Py_XDECREF(lines);
    return rc;
}

sg_instr_listing *
dis_listing(int adaptive)
{
    dis_ctx x = {PyImport_ImportModule("dis"), NULL, adaptive};
    x.linecache = x.dis ? PyImport_ImportModule("linecache") : NULL;
    PyObject *ver = x.linecache ? PySys_GetObject("version") : NULL;
    const char *v = ver ? PyUnicode_AsUTF8(ver) : NULL;
    char python[32];
    snprintf(python, sizeof python, "%s", v ? v : "?");
    python[strcspn(python, " ")] = '\0';
    sg_instr_listing *l =
        v ? sg_instr_listing_new(python, "instructions executed") : NULL;
    if (v && !l)
        PyErr_NoMemory();
    if (l)
        l->adaptive = adaptive != 0;
    size_t n = 0;
    dis_counts *const *all = dis_count_all(&n);
    for (size_t i = 0; l && i < n; i++)
        if (dis_block(&x, l, all[i]) < 0) {
            sg_instr_listing_free(l);
            l = NULL;
        }
    Py_XDECREF(x.linecache);
    Py_XDECREF(x.dis);
    return l;
}
