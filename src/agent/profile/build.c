/* build.c -- what a profiler recorded, into the profile model: functions
 * become the model's functions and frames, CCT nodes its call tree (one
 * subtree per thread), ticks nanoseconds. */
#include <stdio.h>
#include <unistd.h>

#include "agent/profile/profiler.h"

/* The model's function for one of P's functions. Distinct functions with
 * one label (two lambdas on a line, exec'd code, every dataclass __init__
 * at <string>:2) get distinct variants, so that the tree keeps them apart
 * and a call of one from the other is no recursion; taken maps a label's
 * variant 0 to the last variant given. SG_NO_ID when out of memory. */
static sg_func_id
build_func(sg_profile *p, hm64 *taken, sg_func_kind kind, const char *name,
           const char *file, int32_t line)
{
    sg_func_id id = sg_profile_func(p, kind, name, file, line, 0);
    if (id == SG_NO_ID)
        return SG_NO_ID;
    uint32_t last = hm64_get(taken, id);
    uint32_t variant = last == HM_NONE ? 0 : last + 1;
    if (hm64_put(taken, id, variant) < 0)
        return SG_NO_ID;
    return variant
               ? sg_profile_func_variant(p, kind, name, file, line, 0, variant)
               : id;
}

/* The recording's wall time and each thread's times (p->failed when
 * they cannot be stored). While recording, the clocks are read up to now
 * and the current stretch goes on from there. */
static void
build_times(profiler *P, sg_profile *p, double npt)
{
    if (P->enabled) {
        uint64_t now = ticks_now();
        prof_times_pause(P, now);
        prof_times_resume(P, now);
    }
    p->wall_ns = (uint64_t)((double)P->wall_ticks * npt + 0.5);
    for (prof_thread *t = P->threads; t; t = t->next) {
        sg_func_id f = sg_profile_thread_func(p, t->ident, t->name);
        uint64_t wall = (uint64_t)((double)t->wall_ticks * npt + 0.5);
        sg_profile_add_thread_time(p, f, t->cpu_ns, wall, t->cpu_known);
    }
}

sg_profile *
profiler_build(profiler *P)
{
    static const char *const metrics[] = {"ns", "calls"};
    sg_profile *p = sg_profile_new(SG_PROFILE_DETERMINISTIC, 2, metrics);
    if (!p) {
        PyErr_NoMemory();
        return NULL;
    }
    double npt = ticks_ns_per_tick();
    sg_frame_id *frame_of =
        PyMem_RawMalloc((P->n_funcs + 1) * sizeof *frame_of);
    sg_node_id *node_of = PyMem_RawMalloc((P->n_nodes + 1) * sizeof *node_of);
    if (!frame_of || !node_of) {
        PyMem_RawFree(frame_of);
        PyMem_RawFree(node_of);
        sg_profile_free(p);
        PyErr_NoMemory();
        return NULL;
    }
    hm64 taken;
    hm64_init(&taken);
    for (size_t i = 0; i < P->n_funcs; i++) {
        prof_func *f = &P->funcs[i];
        sg_func_id id = SG_NO_ID;
        if (f->kind == PROF_PYTHON) {
            PyCodeObject *co = (PyCodeObject *)f->code;
            id = build_func(
                p, &taken, SG_FUNC_PYTHON, agent_utf8(co->co_name, "?"),
                agent_utf8(co->co_filename, "?"), co->co_firstlineno);
        } else if (f->kind == PROF_BUILTIN) {
            id = build_func(p, &taken, SG_FUNC_BUILTIN,
                            agent_utf8(f->label, "?"), "~", 0);
        }
        frame_of[i] = id == SG_NO_ID ? SG_NO_ID : sg_profile_frame(p, id, 0);
        if (f->kind != PROF_THREAD && id == SG_NO_ID)
            p->failed = true;
    }
    hm64_free(&taken);
    node_of[0] = SG_ROOT_NODE;
    for (size_t i = 1; i < P->n_nodes && !p->failed; i++) {
        prof_node *n = &P->nodes[i];
        prof_func *f = &P->funcs[n->func];
        sg_node_id id;
        if (f->kind == PROF_THREAD) {
            const prof_thread *t = f->key;
            id = sg_profile_thread_root(p, SG_ROOT_NODE, t->ident, t->name);
        } else {
            id = sg_profile_child(p, node_of[n->parent], frame_of[n->func]);
        }
        node_of[i] = id;
        if (id == SG_NO_ID)
            break; /* p->failed */
        p->nodes[id].self[0] += (uint64_t)((double)n->ticks * npt + 0.5);
        p->nodes[id].self[1] += n->calls;
    }
    PyMem_RawFree(frame_of);
    PyMem_RawFree(node_of);
    build_times(P, p, npt);
    char buf[64];
    snprintf(buf, sizeof buf, "%ld", (long)getpid());
    if (p->failed || sg_profile_set_meta(p, "pid", buf) < 0 ||
        sg_profile_set_meta(p, "python", Py_GetVersion()) < 0 ||
        sg_profile_set_meta(p, "clock", ticks_source()) < 0) {
        sg_profile_free(p);
        PyErr_NoMemory();
        return NULL;
    }
    return p;
}
