/* stacks.c -- the writers that walk the tree as stacks: collapsed (folded)
 * stacks, speedscope JSON and Chrome Trace Event JSON.
 *
 * They size by the profile's time metric ("ns", which a recording's samples
 * carry as weights) when it has one, else by metric 0 (samples), and
 * collapsed stacks of a recording by their samples; a memory profile by the
 * metric writer_opts names (bytes live at the peak by default, bytes allocated
 * when asked). Thread roots are kept apart where the format has a place for
 * threads (speedscope profiles, Chrome tids) and dropped from the stacks
 * otherwise, unless per_thread asks for them as root frames.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/sort.h"
#include "common/alloc.h"
#include "common/json.h"
#include "writers/writers.h"

/* Frames of node from the outermost. Process roots are kept (a collector
 * adds them only when asked to follow subprocesses); thread roots only with
 * keep_threads. Returns the count, or SIZE_MAX when *buf (grown as needed)
 * could not grow. */
static size_t
node_path(const sg_profile *p, sg_node_id node, bool keep_threads,
          sg_frame_id **buf, size_t *cap)
{
    size_t depth = p->nodes[node].depth;
    if (SG_GROW(*buf, *cap, depth) < 0)
        return SIZE_MAX;
    size_t k = depth;
    for (sg_node_id n = node; n != SG_ROOT_NODE && n != SG_NO_ID;
         n = p->nodes[n].parent) {
        sg_frame_id f = p->nodes[n].frame;
        if (!keep_threads &&
            sg_profile_frame_func(p, f)->kind == SG_FUNC_THREAD)
            continue;
        (*buf)[--k] = f;
    }
    memmove(*buf, *buf + k, (depth - k) * sizeof **buf);
    return depth - k;
}

/* For every node, the thread root above it (or itself), or SG_NO_ID: one
 * pass, parents coming before children. NULL when out of memory. */
static sg_node_id *
thread_roots(const sg_profile *p)
{
    sg_node_id *t = sg_calloc(p->n_nodes, sizeof *t);
    if (!t)
        return NULL;
    t[0] = SG_NO_ID;
    for (size_t i = 1; i < p->n_nodes; i++) {
        const sg_node *n = &p->nodes[i];
        bool is_thread =
            sg_profile_frame_func(p, n->frame)->kind == SG_FUNC_THREAD;
        t[i] = is_thread ? (sg_node_id)i : t[n->parent];
    }
    return t;
}

/* ---- collapsed ------------------------------------------------------- */

/* A frame label safe for the folded format: ';' separates frames, so it
 * becomes ':' inside one; control characters are escaped by the label
 * (so a line never breaks inside a stack, and flamegraph.pl, which copies
 * names into its SVG, writes valid XML). */
static void
put_folded_frame(const sg_profile *p, sg_frame_id f, strbuf *tmp, strbuf *sb)
{
    const sg_func *fn = sg_profile_frame_func(p, f);
    sb_clear(tmp);
    if (fn->kind == SG_FUNC_THREAD) {
        sb_printf(tmp, "thread (0x%llX): ", (unsigned long long)fn->id);
        sg_writer_put_name(tmp, fn->name);
    } else {
        sg_writer_frame_label(p, f, tmp);
    }
    for (const char *s = sb_str(tmp); *s; s++)
        sb_putc(sb, *s == ';' ? ':' : *s);
}

/* Scratch buffers for folded labels. */
typedef struct folded_labels {
    strbuf label, tmp;
} folded_labels;

/* The frame of the folded tree for p's frame f: a function named by its
 * folded label, so that frames with the same label are one and every
 * node of the tree is one distinct output line. */
static sg_frame_id
folded_frame(sg_profile *t, const sg_profile *p, sg_frame_id f, void *ctx)
{
    folded_labels *l = ctx;
    sb_clear(&l->label);
    put_folded_frame(p, f, &l->tmp, &l->label);
    if (sb_failed(&l->label) || sb_failed(&l->tmp))
        return SG_NO_ID;
    return sg_profile_frame(
        t, sg_profile_func(t, SG_FUNC_OTHER, sb_str(&l->label), "", 0, 0), 0);
}

static sg_profile *
folded_tree(const sg_profile *p, int m, bool keep_threads)
{
    folded_labels l = {STRBUF_INIT, STRBUF_INIT};
    sg_profile *t = sg_writer_retree(p, m, -1, keep_threads, folded_frame, &l);
    sb_free(&l.label);
    sb_free(&l.tmp);
    return t;
}

static const sg_profile *folded_sort_tree;

static int
cmp_folded(const void *a, const void *b)
{
    const sg_profile *t = folded_sort_tree;
    return strcmp(
        sg_profile_frame_func(t, t->nodes[*(const sg_node_id *)a].frame)->name,
        sg_profile_frame_func(t, t->nodes[*(const sg_node_id *)b].frame)
            ->name);
}

/* A node to visit, and how long the path of its parent is. */
typedef struct folded_item {
    sg_node_id node;
    size_t prefix;
} folded_item;

/* One line per weighted stack, depth first: a stack before those it
 * prefixes, siblings in label order. The path of the node being visited
 * is the only stack text held, so memory follows the output. */
int
sg_write_collapsed(const sg_profile *p, const writer_opts *o, strbuf *out)
{
    double spu;
    int m = sg_writer_weight_metric(p, o, &spu);
    /* A recording's folded stacks count samples, as py-spy's raw output
     * and flamegraph.pl read them; its weights (time) are in the other
     * formats. */
    if (p->kind == SG_PROFILE_SAMPLED)
        m = 0;
    sg_profile *t = folded_tree(p, m, o->per_thread);
    folded_item *stack = NULL;
    sg_node_id *kids = NULL;
    size_t cap_stack = 0, cap_kids = 0, top = 0;
    strbuf path = STRBUF_INIT;
    int rc = SG_WRITE_NOMEM;
    if (!t || SG_GROW(stack, cap_stack, 1) < 0)
        goto done;
    folded_sort_tree = t;
    stack[top++] = (folded_item){SG_ROOT_NODE, 0};
    while (top) {
        folded_item it = stack[--top];
        const sg_node *n = &t->nodes[it.node];
        sb_truncate(&path, it.prefix);
        if (it.node != SG_ROOT_NODE) {
            if (it.prefix)
                sb_putc(&path, ';');
            sb_puts(&path, sg_profile_frame_func(t, n->frame)->name);
            if (n->self[0])
                sb_printf(out, "%s %llu\n", sb_str(&path),
                          (unsigned long long)n->self[0]);
        }
        size_t nc = 0;
        for (sg_node_id c = n->first_child; c != SG_NO_ID;
             c = t->nodes[c].next_sibling) {
            if (SG_GROW(kids, cap_kids, nc + 1) < 0)
                goto done;
            kids[nc++] = c;
        }
        sg_sort(kids, nc, sizeof *kids, cmp_folded);
        if (SG_GROW(stack, cap_stack, top + nc) < 0 || sb_failed(&path))
            goto done;
        for (size_t i = 0; i < nc; i++)
            stack[top + nc - 1 - i] = (folded_item){kids[i], path.len};
        top += nc;
    }
    rc = 0;
done:
    folded_sort_tree = NULL;
    sb_free(&path);
    free(stack);
    free(kids);
    sg_profile_free(t);
    return rc;
}

/* ---- speedscope -------------------------------------------------------- */

static const char *
speedscope_unit(const sg_profile *p, int m, double spu)
{
    if (strcmp(p->metric_names[m], "ns") == 0)
        return "nanoseconds";
    if (sg_writer_metric_is_bytes(p, m))
        return "bytes";
    return spu > 0 ? "seconds" : "none";
}

/* What every profile of one speedscope file shares. */
typedef struct ss_ctx {
    const sg_profile *p;
    json_writer *j;
    int m;
    double spu;
    uint32_t *frame_index; /* dense index of each frame in "frames" */
    sg_node_id *thread;    /* thread root of each node (thread_roots) */
    sg_node_id *nodes;     /* scratch: one profile's nodes */
    sg_frame_id *path;
    size_t cap_path;
} ss_ctx;

/* One "sampled" profile of the nodes under group (a thread root, or the
 * root for everything outside threads). Returns 0 or SG_WRITE_NOMEM. */
static int
speedscope_profile(ss_ctx *c, sg_node_id group)
{
    const sg_profile *p = c->p;
    json_writer *j = c->j;
    int m = c->m;
    const char *unit = speedscope_unit(p, m, c->spu);
    bool seconds = strcmp(unit, "seconds") == 0;
    char name[256];
    if (group == SG_ROOT_NODE) {
        snprintf(name, sizeof name, "all");
    } else {
        const sg_func *f = sg_profile_frame_func(p, p->nodes[group].frame);
        snprintf(name, sizeof name, "Thread %llu \"%s\"",
                 (unsigned long long)f->id, f->name);
    }
    json_begin_object(j);
    json_key(j, "type");
    json_string(j, "sampled");
    json_key(j, "name");
    json_string(j, name);
    json_key(j, "unit");
    json_string(j, unit);
    json_key(j, "startValue");
    json_int(j, 0);
    uint64_t total = 0;
    /* The nodes of this profile: weighted, in the group, with a stack. */
    size_t n = 0;
    sg_node_id want = group == SG_ROOT_NODE ? SG_NO_ID : group;
    for (sg_node_id i = 1; i < p->n_nodes; i++) {
        if (p->nodes[i].self[m] == 0 || c->thread[i] != want)
            continue;
        size_t d = node_path(p, i, false, &c->path, &c->cap_path);
        if (d == SIZE_MAX)
            return SG_WRITE_NOMEM;
        if (d > 0)
            c->nodes[n++] = i;
    }
    json_key(j, "samples");
    json_begin_array(j);
    for (size_t s = 0; s < n; s++) {
        size_t d = node_path(p, c->nodes[s], false, &c->path, &c->cap_path);
        json_begin_array(j);
        for (size_t k = 0; k < d; k++)
            json_uint(j, c->frame_index[c->path[k]]);
        json_end_array(j);
        total += p->nodes[c->nodes[s]].self[m];
    }
    json_end_array(j);
    json_key(j, "weights");
    json_begin_array(j);
    for (size_t s = 0; s < n; s++) {
        sg_node_id i = c->nodes[s];
        if (seconds)
            json_double(j, (double)p->nodes[i].self[m] * c->spu);
        else
            json_uint(j, p->nodes[i].self[m]);
    }
    json_end_array(j);
    json_key(j, "endValue");
    if (seconds)
        json_double(j, (double)total * c->spu);
    else
        json_uint(j, total);
    json_end_object(j);
    return 0;
}

static int
speedscope_profiles(ss_ctx *c)
{
    const sg_profile *p = c->p;
    /* Samples outside any thread root (if any), then one per thread. */
    bool outside = false;
    for (sg_node_id i = 1; i < p->n_nodes && !outside; i++)
        outside = p->nodes[i].self[c->m] && c->thread[i] == SG_NO_ID;
    int n_profiles = 0, rc = 0;
    if (outside) {
        rc = speedscope_profile(c, SG_ROOT_NODE);
        n_profiles++;
    }
    for (sg_node_id i = 1; i < p->n_nodes && rc == 0; i++) {
        if (c->thread[i] == i) {
            rc = speedscope_profile(c, i);
            n_profiles++;
        }
    }
    if (n_profiles == 0)
        rc = speedscope_profile(c, SG_ROOT_NODE);
    return rc;
}

int
sg_write_speedscope(const sg_profile *p, const writer_opts *o, strbuf *out)
{
    if (p->kind == SG_PROFILE_TIMELINE) /* no stacks: series */
        return sg_write_tljson(p, o, out);
    json_writer j;
    ss_ctx c;
    memset(&c, 0, sizeof c);
    c.p = p;
    c.j = &j;
    c.m = sg_writer_weight_metric(p, o, &c.spu);
    /* Frames that appear in stacks, numbered densely. */
    c.frame_index = sg_calloc(p->n_frames, sizeof *c.frame_index);
    c.thread = thread_roots(p);
    c.nodes = sg_calloc(p->n_nodes, sizeof *c.nodes);
    int rc = SG_WRITE_NOMEM;
    if (!c.frame_index || !c.thread || !c.nodes)
        goto done;
    json_init(&j, out, false);
    json_begin_object(&j);
    json_key(&j, "$schema");
    json_string(&j, "https://www.speedscope.app/file-format-schema.json");
    json_key(&j, "shared");
    json_begin_object(&j);
    json_key(&j, "frames");
    json_begin_array(&j);
    uint32_t nf = 0;
    for (size_t i = 0; i < p->n_frames; i++) {
        const sg_func *f = &p->funcs[p->frames[i].func];
        c.frame_index[i] = SG_NO_ID;
        if (sg_func_is_synthetic(f))
            continue;
        c.frame_index[i] = nf++;
        json_begin_object(&j);
        json_key(&j, "name");
        json_string(&j, f->name);
        if (f->file[0] && strcmp(f->file, "~") != 0) {
            json_key(&j, "file");
            json_string(&j, f->file);
            json_key(&j, "line");
            json_int(&j,
                     p->frames[i].line ? p->frames[i].line : f->first_line);
        }
        json_end_object(&j);
    }
    json_end_array(&j);
    json_end_object(&j);
    json_key(&j, "profiles");
    json_begin_array(&j);
    if ((rc = speedscope_profiles(&c)) < 0)
        goto done;
    json_end_array(&j);
    json_key(&j, "name");
    const char *cmd = sg_profile_get_meta(p, "command");
    json_string(&j, cmd                            ? cmd
                    : p->kind == SG_PROFILE_MEMORY ? "spyglass memory"
                                                   : "spyglass profile");
    json_key(&j, "activeProfileIndex");
    json_int(&j, 0);
    json_key(&j, "exporter");
    json_string(&j, "spyglass@" SG_VERSION);
    json_end_object(&j);
    sb_putc(out, '\n');
    rc = 0;
done:
    free(c.frame_index);
    free(c.thread);
    free(c.nodes);
    free(c.path);
    (void)o;
    return rc;
}

/* ---- Chrome trace ------------------------------------------------------ */

/* Two layouts. A sampled profile with stamps (record -o x.trace.json) is a
 * timeline: each thread's samples in the order taken, a function being one
 * complete ("X") event for as long as consecutive samples of its thread
 * had it on the stack, at the time they were taken. Otherwise (a call tree
 * of the deterministic profiler, which has no timestamps) each node becomes
 * one event whose duration is its inclusive weight, children laid out one
 * after another from their parent's start in the order they were first
 * seen: an icicle of aggregated time, not a timeline. The trace says which
 * in its metadata. */

/* The "args" of a function's event. */
static void
ct_args(json_writer *j, const sg_func *f, int calls_m, const sg_node *n)
{
    json_key(j, "args");
    json_begin_object(j);
    if (f->file[0] && strcmp(f->file, "~") != 0) {
        json_key(j, "file");
        json_string(j, f->file);
        json_key(j, "line");
        json_int(j, f->first_line);
    }
    if (calls_m >= 0 && n) {
        json_key(j, "calls");
        json_uint(j, n->self[calls_m]);
    }
    json_end_object(j);
}

/* One complete event of function f. */
static void
ct_event(json_writer *j, const sg_func *f, double ts, double dur,
         long long pid, unsigned long long tid, int calls_m, const sg_node *n)
{
    json_begin_object(j);
    json_key(j, "name");
    json_string(j, f->name);
    json_key(j, "cat");
    json_string(j, f->kind == SG_FUNC_BUILTIN ? "builtin" : "python");
    json_key(j, "ph");
    json_string(j, "X");
    json_key(j, "ts");
    json_double(j, ts);
    json_key(j, "dur");
    json_double(j, dur);
    json_key(j, "pid");
    json_int(j, pid);
    json_key(j, "tid");
    json_uint(j, tid);
    ct_args(j, f, calls_m, n);
    json_end_object(j);
}

/* The thread_name metadata event of a thread root. */
static void
ct_thread_name(json_writer *j, strbuf *name, const sg_func *rf, long long pid,
               unsigned long long tid)
{
    json_begin_object(j);
    json_key(j, "name");
    json_string(j, "thread_name");
    json_key(j, "ph");
    json_string(j, "M");
    json_key(j, "pid");
    json_int(j, pid);
    json_key(j, "tid");
    json_uint(j, tid);
    json_key(j, "args");
    json_begin_object(j);
    json_key(j, "name");
    sb_clear(name);
    sb_printf(name, "%s (%llu)", rf->name, (unsigned long long)rf->id);
    json_string(j, sb_str(name));
    json_end_object(j);
    json_end_object(j);
}

/* The process a thread root belongs to: its process root's pid when
 * subprocesses were followed, else the profile's. */
static long long
ct_pid(const sg_profile *p, sg_node_id troot, long long dflt)
{
    sg_node_id par = p->nodes[troot].parent;
    if (par == SG_ROOT_NODE || par == SG_NO_ID)
        return dflt;
    const sg_func *pf = sg_profile_frame_func(p, p->nodes[par].frame);
    return pf->kind == SG_FUNC_PROCESS ? (long long)pf->id : dflt;
}

/* A function open on a thread's stack since start (us). */
typedef struct ct_open {
    sg_func_id func;
    double start;
} ct_open;

/* The per-thread walk of the timeline. */
typedef struct ct_walk {
    const sg_profile *p;
    json_writer *j;
    ct_open *open;
    size_t n_open, cap_open;
    sg_func_id *path;
    size_t cap_path;
    long long pid;
    unsigned long long tid;
} ct_walk;

/* Close the open functions above keep, innermost first, at time end. */
static void
ct_close(ct_walk *w, size_t keep, double end)
{
    while (w->n_open > keep) {
        const ct_open *o = &w->open[--w->n_open];
        ct_event(w->j, &w->p->funcs[o->func], o->start, end - o->start, w->pid,
                 w->tid, -1, NULL);
    }
}

/* The functions on the stack of node, outermost first, into w->path.
 * Returns the count, or SIZE_MAX when out of memory. */
static size_t
ct_path(ct_walk *w, sg_node_id node)
{
    const sg_profile *p = w->p;
    size_t depth = p->nodes[node].depth;
    if (SG_GROW(w->path, w->cap_path, depth) < 0)
        return SIZE_MAX;
    size_t k = depth;
    for (sg_node_id n = node; n != SG_ROOT_NODE && n != SG_NO_ID;
         n = p->nodes[n].parent) {
        sg_func_id f = p->frames[p->nodes[n].frame].func;
        if (!sg_func_is_synthetic(&p->funcs[f]))
            w->path[--k] = f;
    }
    memmove(w->path, w->path + k, (depth - k) * sizeof *w->path);
    return depth - k;
}

/* One thread's stamps (indices into p->stamps, in time order). A sample
 * stands for the interval after it; a function stays open while the
 * thread's next sample comes within one and a half intervals (late ticks
 * included) and still has it at the same depth under the same callers. A
 * longer gap (the thread idle, or not running) closes everything. */
static int
ct_thread(ct_walk *w, const uint32_t *idx, size_t n, double interval_us)
{
    const sg_profile *p = w->p;
    double last = 0;
    w->n_open = 0;
    for (size_t i = 0; i < n; i++) {
        const sg_stamp *st = &p->stamps[idx[i]];
        double t = (double)st->t_ns / 1e3;
        if (w->n_open && t - last > 1.5 * interval_us)
            ct_close(w, 0, last + interval_us);
        size_t d = ct_path(w, st->node);
        if (d == SIZE_MAX || SG_GROW(w->open, w->cap_open, d) < 0)
            return SG_WRITE_NOMEM;
        size_t same = 0;
        while (same < d && same < w->n_open &&
               w->open[same].func == w->path[same])
            same++;
        ct_close(w, same, t);
        for (; w->n_open < d; w->n_open++)
            w->open[w->n_open] = (ct_open){w->path[w->n_open], t};
        last = t;
    }
    ct_close(w, 0, last + interval_us);
    return 0;
}

/* The timeline: thread names, then each thread's events. Stamps are
 * grouped by thread with a counting sort that keeps their time order. */
static int
ct_timeline(const sg_profile *p, json_writer *j, long long pid)
{
    sg_node_id *troot = thread_roots(p);
    uint32_t *ordinal = sg_calloc(p->n_nodes, sizeof *ordinal);
    uint32_t *idx = sg_calloc(p->n_stamps, sizeof *idx);
    size_t n_threads = 0;
    for (size_t i = 1; troot && ordinal && i < p->n_nodes; i++)
        if (troot[i] == i)
            ordinal[i] = (uint32_t)++n_threads;
    size_t *first = sg_calloc(n_threads + 2, sizeof *first);
    ct_walk w = {p, j, NULL, 0, 0, NULL, 0, 0, 0};
    int rc = SG_WRITE_NOMEM;
    if (!troot || !ordinal || !idx || !first)
        goto done;
    strbuf name = STRBUF_INIT;
    for (size_t i = 1; i < p->n_nodes; i++)
        if (ordinal[i])
            ct_thread_name(j, &name,
                           sg_profile_frame_func(p, p->nodes[i].frame),
                           ct_pid(p, (sg_node_id)i, pid), ordinal[i]);
    sb_free(&name);
    /* Thread k's stamps end up at idx[first[k] .. first[k + 1]); thread 0
     * holds those outside any thread root. */
    for (size_t i = 0; i < p->n_stamps; i++) {
        sg_node_id r = troot[p->stamps[i].node];
        first[(r == SG_NO_ID ? 0 : ordinal[r]) + 1]++;
    }
    for (size_t k = 1; k <= n_threads + 1; k++)
        first[k] += first[k - 1];
    size_t *fill = sg_calloc(n_threads + 1, sizeof *fill);
    if (!fill)
        goto done;
    for (size_t i = 0; i < p->n_stamps; i++) {
        sg_node_id r = troot[p->stamps[i].node];
        size_t k = r == SG_NO_ID ? 0 : ordinal[r];
        idx[first[k] + fill[k]++] = (uint32_t)i;
    }
    free(fill);
    double interval_us = (double)p->sample_interval_ns / 1e3;
    sg_node_id *root_of = sg_calloc(n_threads + 1, sizeof *root_of);
    if (!root_of)
        goto done;
    for (size_t i = 1; i < p->n_nodes; i++)
        if (ordinal[i])
            root_of[ordinal[i]] = (sg_node_id)i;
    rc = 0;
    for (size_t k = 0; k <= n_threads && rc == 0; k++) {
        w.tid = k;
        w.pid = k ? ct_pid(p, root_of[k], pid) : pid;
        rc = ct_thread(&w, idx + first[k], first[k + 1] - first[k],
                       interval_us);
    }
    free(root_of);
done:
    free(w.open);
    free(w.path);
    free(first);
    free(idx);
    free(ordinal);
    free(troot);
    return rc;
}

typedef struct ct_item {
    sg_node_id node;
    double start; /* microseconds */
} ct_item;

/* The aggregated layout (see above). */
static int
ct_call_tree(const sg_profile *p, json_writer *j, long long pid)
{
    double spu;
    int m = sg_writer_weight_metric(p, NULL, &spu);
    size_t nm = (size_t)p->n_metrics;
    uint64_t *incl = sg_reallocarray(NULL, p->n_nodes * nm, sizeof *incl);
    if (!incl)
        return SG_WRITE_NOMEM;
    sg_profile_totals(p, incl);
    /* Units to microseconds; sample counts are drawn 1 unit = 1 us. */
    double us = spu > 0 ? spu * 1e6 : 1.0;
    int calls_m = sg_profile_metric(p, "calls");
    int rc = SG_WRITE_NOMEM;
    ct_item *stack = NULL;
    size_t cap = 0, top = 0;
    strbuf name = STRBUF_INIT;
    unsigned long long n_threads = 0;
    /* Every top-level subtree: thread roots, or frames directly under the
     * root (tid 0). Process roots are walked through. */
    for (sg_node_id r = 1; r < p->n_nodes; r++) {
        const sg_node *rn = &p->nodes[r];
        const sg_func *rf = sg_profile_frame_func(p, rn->frame);
        sg_node_id par = rn->parent;
        bool under_root =
            par == SG_ROOT_NODE ||
            sg_profile_frame_func(p, p->nodes[par].frame)->kind ==
                SG_FUNC_PROCESS;
        if (!under_root || rf->kind == SG_FUNC_PROCESS)
            continue;
        /* Threads get their own small tids: an OS thread ident can be
         * reused by a later thread, which must stay a separate track. */
        unsigned long long tid = rf->kind == SG_FUNC_THREAD ? ++n_threads : 0;
        if (rf->kind == SG_FUNC_THREAD)
            ct_thread_name(j, &name, rf, pid, tid);
        top = 0;
        if (SG_GROW(stack, cap, 1) < 0)
            goto done;
        stack[top++] = (ct_item){r, 0.0};
        while (top) {
            ct_item it = stack[--top];
            const sg_node *n = &p->nodes[it.node];
            const sg_func *f = sg_profile_frame_func(p, n->frame);
            double dur = (double)incl[(size_t)it.node * nm + (size_t)m] * us;
            if (!sg_func_is_synthetic(f))
                ct_event(j, f, it.start, dur, pid, tid, calls_m, n);
            /* Children in creation order (ids ascend; the sibling list is
             * newest first), laid out one after the other. */
            size_t nc = 0;
            for (sg_node_id c = n->first_child; c != SG_NO_ID;
                 c = p->nodes[c].next_sibling)
                nc++;
            if (SG_GROW(stack, cap, top + nc) < 0)
                goto done;
            /* The sibling list runs newest -> oldest: place them from the
             * end of the stack slots backwards, then lay out forwards from
             * the parent's start (sums only grow, so a child never starts
             * before its parent by rounding). */
            size_t k = top + nc;
            for (sg_node_id c = n->first_child; c != SG_NO_ID;
                 c = p->nodes[c].next_sibling)
                stack[--k] = (ct_item){c, 0.0};
            double t = it.start;
            for (size_t i = top; i < top + nc; i++) {
                stack[i].start = t;
                t += (double)incl[(size_t)stack[i].node * nm + (size_t)m] * us;
            }
            top += nc;
        }
    }
    rc = 0;
done:
    sb_free(&name);
    free(stack);
    free(incl);
    return rc;
}

int
sg_write_chrometrace(const sg_profile *p, const writer_opts *o, strbuf *out)
{
    const char *pid_s = sg_profile_get_meta(p, "pid");
    long long pid = pid_s ? atoll(pid_s) : 1;
    bool timeline = p->n_stamps > 0 && p->sample_interval_ns > 0;
    json_writer j;
    json_init(&j, out, false);
    json_begin_object(&j);
    json_key(&j, "traceEvents");
    json_begin_array(&j);
    int rc = timeline ? ct_timeline(p, &j, pid) : ct_call_tree(p, &j, pid);
    if (rc < 0)
        return rc;
    json_end_array(&j);
    json_key(&j, "displayTimeUnit");
    json_string(&j, "ms");
    json_key(&j, "otherData");
    json_begin_object(&j);
    json_key(&j, "exporter");
    json_string(&j, "spyglass@" SG_VERSION);
    json_key(&j, "layout");
    json_string(&j, timeline
                        ? "timeline of samples: ts is when a thread's "
                          "samples first had the function on its stack "
                          "(us since the recording started), dur how long "
                          "consecutive samples kept it there"
                        : "aggregated call tree: each event is one calling "
                          "context, its duration the inclusive time of all "
                          "its calls; not a timeline");
    if (p->sample_interval_ns) {
        json_key(&j, "sample_interval_ns");
        json_uint(&j, p->sample_interval_ns);
    }
    for (size_t i = 0; i < p->n_meta; i++) {
        json_key(&j, p->meta[i].key);
        json_string(&j, p->meta[i].value);
    }
    json_end_object(&j);
    json_end_object(&j);
    sb_putc(out, '\n');
    (void)o;
    return 0;
}
