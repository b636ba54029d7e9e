/* core.c -- the line profiler's code states and frame stacks, enabling
 * and failing. See lines.h for the parts. */
#include <string.h>

#include "agent/lines/lines.h"

AGENT_TLS lines_stack lines_tls;
uint64_t lines_gen;
const lines_watcher *lines_watch;
const lines_op_watcher *lines_opwatch;

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
    if (!lc || lc->code != code || !lines_recording(lc->prof))
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
    lines_quiet(1);
    uint64_t *hits = PyMem_Calloc(n, sizeof *hits);
    uint64_t *ticks = PyMem_Calloc(n, sizeof *ticks);
    lines_quiet(-1);
    if (!hits || !ticks) {
        PyMem_Free(hits);
        PyMem_Free(ticks);
        return -1;
    }
    if (lc->n) {
        memcpy(hits + (lc->base - lo), lc->hits, (size_t)lc->n * 8);
        memcpy(ticks + (lc->base - lo), lc->ticks, (size_t)lc->n * 8);
    }
    PyMem_Free(lc->hits);
    PyMem_Free(lc->ticks);
    lc->hits = hits;
    lc->ticks = ticks;
    lc->base = lo;
    lc->n = (int32_t)n;
    return 0;
}

static lines_code *lines_code_make(lines_prof *prof, PyObject *code);

lines_code *
lines_code_add(lines_prof *prof, PyObject *code)
{
    lines_quiet(1);
    lines_code *lc = lines_code_make(prof, code);
    lines_quiet(-1);
    return lc;
}

static lines_code *
lines_code_make(lines_prof *prof, PyObject *code)
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
    if (lines_code_reserve(lc, lc->base + 15) < 0 ||
        hm64_put(&lines_index, (uint64_t)(uintptr_t)code,
                 (uint32_t)lines_n_all) < 0) {
        lines_code_free(lc);
        PyErr_NoMemory();
        return NULL;
    }
    prof->codes[prof->n_codes++] = lc;
    lines_all[lines_n_all++] = lc;
    if (prof->enabled && lines_running && lines_backend_watch(lc) < 0)
        return NULL;
    if (lines_opwatch && lines_opwatch->added(lc) < 0)
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
    lines_flow_free(lc->flow);
    PyMem_Free(lc->hits);
    PyMem_Free(lc->ticks);
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
        lines_quiet(1);
        lines_frame *v = PyMem_RawRealloc(st->v, (size_t)cap * sizeof *v);
        lines_quiet(-1);
        if (!v) {
            lines_fail(lc->prof);
            return NULL;
        }
        st->v = v;
        st->cap = cap;
    }
    lines_frame *fr = &st->v[st->depth++];
    fr->lc = lc;
    fr->key = key;
    fr->line = -1;
    fr->seg = -1;
    fr->seg_next = 0;
    fr->t = now;
    fr->mem_gen = 0;
    fr->ts = NULL;
    if (lines_watch && lines_watch->enter)
        lines_watch->enter(fr);
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
            for (int j = st->depth - 1; j >= i; j--) {
                lines_close(&st->v[j], now);
                if (lines_watch && lines_watch->leave)
                    lines_watch->leave(&st->v[j]);
            }
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
    lines_gen = tls_gen_next();
    lines_deriving += prof->derive;
    if (lines_n_enabled++ == 0 ? lines_backend_start() < 0
                               : prof->derive && lines_backend_global() < 0) {
        lines_n_enabled--;
        lines_deriving -= prof->derive;
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
    if (prof->derive) {
        /* This thread's frames count what they ran since their last
         * event (other threads' frames cannot be read here). */
        lines_derive_flush();
        lines_derive_fold(prof);
        if (--lines_deriving == 0 && lines_backend_global() < 0)
            PyErr_Clear();
    }
    for (Py_ssize_t i = 0; i < prof->n_codes; i++)
        lines_backend_unwatch(prof->codes[i]);
    lines_gen = tls_gen_next();
    if (--lines_n_enabled == 0)
        lines_backend_stop();
    Py_DECREF(prof);
    return 0;
}

void
lines_fail(lines_prof *prof)
{
    if (prof->failed)
        return;
    prof->failed = 1;
    /* Its frames leave every thread's stack; its code objects stop
     * delivering events (lookups ignore a failed profiler meanwhile). */
    lines_gen = tls_gen_next();
    for (Py_ssize_t i = 0; i < prof->n_codes; i++)
        lines_backend_unwatch(prof->codes[i]);
    instr_out_of_memory("lines");
}
