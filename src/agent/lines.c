/* lines.c -- the line profiler's code states and frame stacks; results
 * into the profile model. See lines.h for the parts. */
#include <stdlib.h>
#include <string.h>

#include "agent/lines.h"
#include "common/hashmap.h"
#include "writers/lines.h"
#include "writers/writers.h"

_Thread_local lines_stack lines_tls;
uint64_t lines_gen = 1;

/* Every code state of every profiler, found by code object address. A
 * freed state leaves a NULL slot; its address may be reused by a new code
 * object, which then gets a new slot. */
static lines_code **lines_all;
static size_t lines_n_all, lines_cap_all;
static hm64 lines_index;
static int lines_index_ready;
static int lines_n_enabled;

lines_code *
lines_lookup(PyObject *code)
{
    if (!lines_index_ready)
        return NULL;
    uint32_t slot = hm64_get(&lines_index, (uint64_t)(uintptr_t)code);
    if (slot == HM_NONE)
        return NULL;
    lines_code *lc = lines_all[slot];
    if (!lc || lc->code != code || !lc->prof->enabled)
        return NULL;
    return lc;
}

int
lines_code_reserve(lines_code *lc, int32_t line)
{
    int32_t lo = lc->base, hi = lc->base + lc->n; /* [lo, hi) */
    if (line >= lo && line < hi)
        return 0;
    if (line < lo)
        lo = line > 8 ? line - 8 : 0;
    if (line >= hi)
        hi = line + 1 + (hi - lo); /* double, so growth is amortised */
    size_t n = (size_t)(hi - lo);
    uint64_t *hits = PyMem_Calloc(n, sizeof *hits);
    uint64_t *ns = PyMem_Calloc(n, sizeof *ns);
    if (!hits || !ns) {
        PyMem_Free(hits);
        PyMem_Free(ns);
        PyErr_NoMemory();
        return -1;
    }
    if (lc->n) {
        memcpy(hits + (lc->base - lo), lc->hits, (size_t)lc->n * 8);
        memcpy(ns + (lc->base - lo), lc->ns, (size_t)lc->n * 8);
    }
    PyMem_Free(lc->hits);
    PyMem_Free(lc->ns);
    lc->hits = hits;
    lc->ns = ns;
    lc->base = lo;
    lc->n = (int32_t)n;
    return 0;
}

lines_code *
lines_code_add(lines_prof *prof, PyObject *code)
{
    if (!lines_index_ready) {
        hm64_init(&lines_index);
        lines_index_ready = 1;
    }
    uint32_t slot = hm64_get(&lines_index, (uint64_t)(uintptr_t)code);
    if (slot != HM_NONE && lines_all[slot] && lines_all[slot]->code == code) {
        if (lines_all[slot]->prof == prof)
            return lines_all[slot];
        PyErr_SetString(PyExc_RuntimeError,
                        "this function is already profiled by another "
                        "spyglass LineProfiler");
        return NULL;
    }
    if (prof->n_codes == prof->cap_codes) {
        Py_ssize_t cap = prof->cap_codes ? prof->cap_codes * 2 : 16;
        lines_code **v = PyMem_Realloc(prof->codes, (size_t)cap * sizeof *v);
        if (!v) {
            PyErr_NoMemory();
            return NULL;
        }
        prof->codes = v;
        prof->cap_codes = cap;
    }
    if (lines_n_all == lines_cap_all) {
        size_t cap = lines_cap_all ? lines_cap_all * 2 : 64;
        lines_code **v = PyMem_RawRealloc(lines_all, cap * sizeof *v);
        if (!v) {
            PyErr_NoMemory();
            return NULL;
        }
        lines_all = v;
        lines_cap_all = cap;
    }
    lines_code *lc = PyMem_Calloc(1, sizeof *lc);
    if (!lc) {
        PyErr_NoMemory();
        return NULL;
    }
    lc->code = code;
    Py_INCREF(code);
    lc->prof = prof;
    lc->base = ((PyCodeObject *)code)->co_firstlineno;
    if (lines_code_reserve(lc, lc->base + 15) < 0) {
        lines_code_free(lc);
        return NULL;
    }
    prof->codes[prof->n_codes++] = lc;
    lines_all[lines_n_all] = lc;
    hm64_put(&lines_index, (uint64_t)(uintptr_t)code, (uint32_t)lines_n_all);
    lines_n_all++;
    if (prof->enabled && lines_running && lines_backend_watch(lc) < 0)
        return NULL;
    return lc;
}

void
lines_code_free(lines_code *lc)
{
    if (!lc)
        return;
    for (size_t i = 0; i < lines_n_all; i++)
        if (lines_all[i] == lc)
            lines_all[i] = NULL;
    lines_backend_unwatch(lc);
    PyMem_Free(lc->hits);
    PyMem_Free(lc->ns);
    Py_XDECREF(lc->code);
    PyMem_Free(lc);
}

lines_frame *
lines_push(lines_code *lc, const void *key, uint64_t now)
{
    lines_stack *st = &lines_tls;
    if (st->gen != lines_gen) {
        st->gen = lines_gen;
        st->depth = 0;
    }
    if (st->depth == st->cap) {
        int cap = st->cap ? st->cap * 2 : 64;
        /* Raw: a thread's stack outlives any one profiler. */
        lines_frame *v = PyMem_RawRealloc(st->v, (size_t)cap * sizeof *v);
        if (!v)
            return NULL;
        st->v = v;
        st->cap = cap;
    }
    lines_frame *fr = &st->v[st->depth++];
    fr->lc = lc;
    fr->key = key;
    fr->line = -1;
    fr->t = now;
    return fr;
}

void
lines_pop(PyObject *code, uint64_t now)
{
    lines_stack *st = &lines_tls;
    if (st->gen != lines_gen)
        return;
    for (int i = st->depth - 1; i >= 0; i--) {
        if (st->v[i].lc->code == code) {
            for (int j = st->depth - 1; j >= i; j--)
                lines_close(&st->v[j], now);
            st->depth = i;
            return;
        }
    }
}

int
lines_enable(lines_prof *prof)
{
    if (prof->enabled++ > 0)
        return 0;
    Py_INCREF(prof); /* an enabled profiler stays alive */
    lines_gen++;
    if (lines_n_enabled++ == 0 && lines_backend_start() < 0) {
        lines_n_enabled--;
        prof->enabled = 0;
        Py_DECREF(prof);
        return -1;
    }
    for (Py_ssize_t i = 0; i < prof->n_codes; i++)
        if (lines_backend_watch(prof->codes[i]) < 0) {
            lines_disable(prof);
            return -1;
        }
    return 0;
}

int
lines_disable(lines_prof *prof)
{
    if (prof->enabled == 0 || --prof->enabled > 0)
        return 0;
    prof->auto_enabled = 0;
    for (Py_ssize_t i = 0; i < prof->n_codes; i++)
        lines_backend_unwatch(prof->codes[i]);
    lines_gen++;
    if (--lines_n_enabled == 0)
        lines_backend_stop();
    Py_DECREF(prof);
    return 0;
}

/* ---- results ---- */

static const char *
code_str(PyObject *code, const char *attr, const char *fallback)
{
    PyObject *s = PyObject_GetAttrString(code, attr);
    const char *r = s && PyUnicode_Check(s) ? PyUnicode_AsUTF8(s) : NULL;
    /* The code object keeps the string alive. */
    Py_XDECREF(s);
    if (!r) {
        PyErr_Clear();
        return fallback;
    }
    return r;
}

sg_profile *
lines_to_model(lines_prof *prof)
{
    static const char *const metrics[] = {"ns"};
    sg_profile *p = sg_profile_new(SG_PROFILE_LINES, 1, metrics);
    for (Py_ssize_t i = 0; i < prof->n_codes; i++) {
        lines_code *lc = prof->codes[i];
        PyCodeObject *co = (PyCodeObject *)lc->code;
#if PY_VERSION_HEX >= 0x030B0000
        const char *name = code_str(lc->code, "co_qualname", "?");
#else
        const char *name = code_str(lc->code, "co_name", "?");
#endif
        const char *file = code_str(lc->code, "co_filename", "?");
        sg_func_id f = sg_profile_func(p, SG_FUNC_PYTHON, name, file,
                                       co->co_firstlineno, 0);
        for (int32_t k = 0; k < lc->n; k++) {
            if (!lc->hits[k])
                continue;
            sg_line *l = sg_profile_line(p, f, lc->base + k);
            l->hits += lc->hits[k];
            l->m[0] += lc->ns[k];
        }
    }
    return p;
}

int
lines_print(lines_prof *prof, PyObject *stream, double output_unit)
{
    sg_profile *p = lines_to_model(prof);
    strbuf sb = STRBUF_INIT;
    sg_write_linetext(&sb, p, 0, output_unit);
    sg_profile_free(p);
    int rc = 0;
    PyObject *out = stream ? stream : PySys_GetObject("stdout");
    PyObject *text =
        PyUnicode_DecodeUTF8(sb_str(&sb), (Py_ssize_t)sb.len, "replace");
    PyObject *r = NULL;
    if (text && out && out != Py_None) {
        r = PyObject_CallMethod(out, "write", "O", text);
        if (r && !stream) {
            Py_DECREF(r);
            r = PyObject_CallMethod(out, "flush", NULL);
        }
    }
    if (!r) {
        if (stream && PyErr_Occurred()) {
            rc = -1;
        } else {
            /* The program closed or replaced sys.stdout: C's stdout. */
            PyErr_Clear();
            fwrite(sb_str(&sb), 1, sb.len, stdout);
            fflush(stdout);
        }
    }
    Py_XDECREF(r);
    Py_XDECREF(text);
    sb_free(&sb);
    return rc;
}

sg_out_result
lines_deliver(lines_prof *prof, const sg_writer *w, const char *path)
{
    sg_profile *p = lines_to_model(prof);
    writer_opts wo = {0};
    wo.unit = prof->output_unit;
    sg_out_result r = sg_writer_write_file(&sg_output_lines, w, p, &wo, path);
    sg_profile_free(p);
    return r;
}

int
lines_dump(lines_prof *prof, const sg_writer *w, const char *path)
{
    char msg[512];
    if (!w && sg_writer_pick_msg(NULL, path, &sg_output_lines, &w, msg,
                                 sizeof msg)) {
        PyErr_SetString(PyExc_ValueError, msg);
        return -1;
    }
    sg_profile *p = lines_to_model(prof);
    strbuf sb = STRBUF_INIT;
    writer_opts wo = {0};
    wo.unit = prof->output_unit;
    int rc = sg_writer_render(w, p, &wo, &sb);
    sg_profile_free(p);
    if (rc == 0)
        rc = sb_write_file(&sb, path);
    sb_free(&sb);
    if (rc < 0) {
        PyErr_SetFromErrnoWithFilename(PyExc_OSError, path);
        return -1;
    }
    return 0;
}
