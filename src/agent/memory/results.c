/* results.c -- what the memory engine recorded, into a memory profile
 * (model/memory.h): each site becomes a node under its thread's root,
 * with its bytes allocated, freed, live at the peak and at the end; the
 * selected functions' lines get their hits, their own sites' bytes and
 * memory_profiler's columns (lines.c); the peak and the run go into the
 * metadata.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "agent/memory/internal.h"

/* The model's function for code (cached per code object in funcs). */
static sg_func_id
mem_func(sg_profile *p, hm64 *funcs, PyObject *code)
{
    uint32_t f = hm64_get(funcs, (uint64_t)(uintptr_t)code);
    if (f != HM_NONE)
        return f;
    PyCodeObject *co = (PyCodeObject *)code;
#if PY_VERSION_HEX >= 0x030B0000
    const char *name = agent_utf8(co->co_qualname, "?");
#else
    const char *name = agent_utf8(co->co_name, "?");
#endif
    f = sg_profile_func(p, SG_FUNC_PYTHON, name,
                        agent_utf8(co->co_filename, "?"), co->co_firstlineno,
                        0);
    if (f != SG_NO_ID && hm64_put(funcs, (uint64_t)(uintptr_t)code, f) < 0)
        p->failed = true;
    return f;
}

/* The name threading gives the thread ident, or NULL (borrowed from
 * names, a dict ident -> name kept by the caller). */
static const char *
mem_thread_name(PyObject *names, uint64_t tid)
{
    if (!names)
        return NULL;
    PyObject *k = PyLong_FromUnsignedLongLong(tid);
    PyObject *v = k ? PyDict_GetItemWithError(names, k) : NULL;
    Py_XDECREF(k);
    PyErr_Clear();
    return v ? agent_utf8(v, NULL) : NULL;
}

/* Add {thread.ident: thread.name} of each Thread in iterable to names. */
static void
mem_add_names(PyObject *names, PyObject *iterable)
{
    PyObject *it = iterable ? PyObject_GetIter(iterable) : NULL;
    for (PyObject *t; it && (t = PyIter_Next(it)) != NULL; Py_DECREF(t)) {
        PyObject *id = PyObject_GetAttrString(t, "ident");
        PyObject *n = id ? PyObject_GetAttrString(t, "name") : NULL;
        if (n && id != Py_None && PyDict_SetItem(names, id, n) < 0)
            PyErr_Clear();
        Py_XDECREF(id);
        Py_XDECREF(n);
        PyErr_Clear();
    }
    Py_XDECREF(it);
    PyErr_Clear();
}

/* {ident: name} of the threads threading knows: running ones, and ended
 * ones still referenced (its _dangling set), or NULL. */
static PyObject *
mem_thread_names(void)
{
    PyObject *mods = PySys_GetObject("modules"); /* borrowed */
    PyObject *thr = mods ? PyDict_GetItemString(mods, "threading") : NULL;
    PyObject *names = thr ? PyDict_New() : NULL;
    if (names) {
        PyObject *dangling = PyObject_GetAttrString(thr, "_dangling");
        PyObject *active = PyObject_GetAttrString(thr, "_active");
        PyObject *running =
            active ? PyObject_CallMethod(active, "values", NULL) : NULL;
        PyErr_Clear();
        mem_add_names(names, dangling);
        mem_add_names(names, running);
        Py_XDECREF(dangling);
        Py_XDECREF(active);
        Py_XDECREF(running);
    }
    PyErr_Clear();
    return names;
}

/* Each site as a node; its id in node_of. */
static void
mem_build_tree(sg_profile *p, hm64 *funcs, const mem_summary *S,
               sg_node_id *node_of)
{
    PyObject *names = mem_thread_names();
    sg_frame_id none = sg_profile_frame(
        p, sg_profile_func(p, SG_FUNC_OTHER, "[no Python frame]", "~", 0, 0),
        0);
    for (uint32_t i = 0; i < S->n_sites && !p->failed; i++) {
        const mem_site *s = &S->sites[i];
        sg_node_id n;
        if (s->parent == MEM_NO_SITE)
            n = sg_profile_thread_root(p, SG_ROOT_NODE, s->tid,
                                       mem_thread_name(names, s->tid));
        else if (!s->code)
            n = sg_profile_child(p, node_of[s->parent], none);
        else
            n = sg_profile_child(
                p, node_of[s->parent],
                sg_profile_frame(p, mem_func(p, funcs, s->code), s->line));
        node_of[i] = n;
        if (n == SG_NO_ID)
            break;
        uint64_t *m = p->nodes[n].self;
        m[SG_MEM_PEAK] += mem_site_at_peak(s);
        m[SG_MEM_ALLOC] += s->alloc;
        m[SG_MEM_ALLOCS] += s->allocs;
        m[SG_MEM_FREE] += s->freed;
        m[SG_MEM_LEAK] += s->live;
    }
    Py_XDECREF(names);
}

/* The selected functions' lines: hits and memory_profiler's columns, then
 * the bytes of the sites allocating on them. */
static void
mem_build_lines(sg_profile *p, hm64 *funcs, const mem_summary *S,
                lines_prof *prof)
{
    hm64 selected; /* code -> 1 */
    hm64_init(&selected);
    if (prof)
        lines_derive_fold(prof);
    for (Py_ssize_t i = 0; prof && i < prof->n_codes && !p->failed; i++) {
        lines_code *lc = prof->codes[i];
        sg_func_id f = mem_func(p, funcs, lc->code);
        if (hm64_put(&selected, (uint64_t)(uintptr_t)lc->code, 1) < 0)
            p->failed = true;
        bool any = false;
        for (int32_t k = 0; k < lc->n && !p->failed; k++) {
            if (!lc->hits[k])
                continue;
            sg_line *l = sg_profile_line(p, f, lc->base + k);
            if (!l)
                break;
            any = true;
            l->hits += lc->hits[k];
            mem_lines_fill(lc, lc->base + k, l);
        }
        if (!any)
            sg_profile_line(p, f, ((PyCodeObject *)lc->code)->co_firstlineno);
    }
    for (uint32_t i = 0; i < S->n_sites && !p->failed; i++) {
        const mem_site *s = &S->sites[i];
        if (!s->code ||
            hm64_get(&selected, (uint64_t)(uintptr_t)s->code) == HM_NONE)
            continue;
        sg_line *l = sg_profile_line(p, mem_func(p, funcs, s->code), s->line);
        if (!l)
            break;
        l->m[SG_MEM_PEAK] += mem_site_at_peak(s);
        l->m[SG_MEM_ALLOC] += s->alloc;
        l->m[SG_MEM_ALLOCS] += s->allocs;
        l->m[SG_MEM_FREE] += s->freed;
        l->m[SG_MEM_LEAK] += s->live;
    }
    hm64_free(&selected);
}

static void
mem_meta_u64(sg_profile *p, const char *key, uint64_t v)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)v);
    if (sg_profile_set_meta(p, key, buf) < 0)
        p->failed = true;
}

static void
mem_build_meta(sg_profile *p, const mem_summary *S, const char *command,
               bool rss)
{
    char where[1024] = "";
    if (S->peak_site != MEM_NO_SITE && S->sites[S->peak_site].code) {
        const mem_site *s = &S->sites[S->peak_site];
        PyCodeObject *co = (PyCodeObject *)s->code;
#if PY_VERSION_HEX >= 0x030B0000
        PyObject *name = co->co_qualname;
#else
        PyObject *name = co->co_name;
#endif
        snprintf(where, sizeof where, "%s:%d (%s)",
                 agent_utf8(co->co_filename, "?"), (int)s->line,
                 agent_utf8(name, "?"));
    }
    mem_meta_u64(p, SG_MEM_META_PEAK_BYTES, S->peak_bytes);
    mem_meta_u64(p, SG_MEM_META_PEAK_NS, S->peak_ns);
    if (sg_profile_set_meta(p, SG_MEM_META_PEAK_WHERE, where) < 0)
        p->failed = true;
    mem_meta_u64(p, SG_MEM_META_END_BYTES, S->end_bytes);
    mem_meta_u64(p, SG_MEM_META_TOTAL_NS, S->total_ns);
    mem_meta_u64(p, SG_MEM_META_SAMPLE_BYTES, S->sample_bytes);
    if (sg_profile_set_meta(p, SG_MEM_META_NATIVE, S->native ? "1" : "0") <
            0 ||
        sg_profile_set_meta(p, SG_MEM_META_RSS, rss ? "1" : "0") < 0 ||
        sg_profile_set_meta(p, "command", command ? command : "") < 0 ||
        sg_profile_set_meta(p, "python", Py_GetVersion()) < 0)
        p->failed = true;
    mem_meta_u64(p, "pid", (uint64_t)getpid());
    p->wall_ns = S->total_ns;
}

sg_profile *
mem_to_model(lines_prof *prof, const char *command, bool rss)
{
    static const char *const names[] = SG_MEM_METRIC_NAMES;
    mem_summary S;
    mem_summarize(&S);
    sg_profile *p = sg_profile_new(SG_PROFILE_MEMORY, SG_MEM_N_METRICS, names);
    mem_busy++;
    sg_node_id *node_of = calloc(S.n_sites + 1, sizeof *node_of);
    mem_busy--;
    if (!p || !node_of) {
        sg_profile_free(p);
        free(node_of);
        PyErr_NoMemory();
        return NULL;
    }
    hm64 funcs;
    hm64_init(&funcs);
    mem_build_tree(p, &funcs, &S, node_of);
    mem_build_lines(p, &funcs, &S, prof);
    mem_build_meta(p, &S, command, rss);
    /* How many of the table's Occurrences were counted without a line
     * event (lines/derive.c): 0 before 3.12. */
    if (prof)
        mem_meta_u64(p, "derived_line_hits", prof->derived_hits);
    hm64_free(&funcs);
    free(node_of);
    if (p->failed) {
        sg_profile_free(p);
        PyErr_NoMemory();
        return NULL;
    }
    return p;
}
