/* funcstats.c -- cProfile's function table from a CCT; see funcstats.h. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "common/sort.h"
#include "common/alloc.h"
#include "common/hashmap.h"
#include "model/funcstats.h"

/* Accumulators in the profile's own units, converted to seconds once. */
typedef struct acc {
    uint64_t nc, cc, tt, ct, wt;
} acc;

/* The C functions that wait, by cProfile's labels (3.8-3.13): a thread in
 * one of these is blocked (sleeping, on a lock or a thread's end, on I/O
 * or a child process), not computing. */
static const char *const wait_labels[] = {
    "<built-in method time.sleep>",
    "<method 'acquire' of '_thread.lock' objects>",
    "<method 'acquire' of '_thread.RLock' objects>",
    "<method '__enter__' of '_thread.lock' objects>",
    "<method '__enter__' of '_thread.RLock' objects>",
    "<method 'join' of '_thread._ThreadHandle' objects>",
    "<method 'get' of '_queue.SimpleQueue' objects>",
    "<built-in method select.select>",
    "<method 'poll' of 'select.poll' objects>",
    "<method 'poll' of 'select.epoll' objects>",
    "<method 'recv' of '_socket.socket' objects>",
    "<method 'recv_into' of '_socket.socket' objects>",
    "<method 'recvfrom' of '_socket.socket' objects>",
    "<method 'recvfrom_into' of '_socket.socket' objects>",
    "<method '_accept' of '_socket.socket' objects>",
    "<method 'connect' of '_socket.socket' objects>",
    "<built-in method posix.read>",
    "<built-in method posix.waitpid>",
    "<built-in method posix.wait>",
    "<built-in method posix.waitid>",
    "<built-in method builtins.input>",
};

static bool
is_wait_label(const char *file, int32_t line, const char *name)
{
    if (line != 0 || strcmp(file, "~") != 0)
        return false;
    for (size_t i = 0; i < sizeof wait_labels / sizeof *wait_labels; i++)
        if (strcmp(name, wait_labels[i]) == 0)
            return true;
    return false;
}

bool
sg_fstat_is_wait(const sg_fstat *f)
{
    return is_wait_label(f->file, f->line, f->name);
}

typedef struct label {
    const char *file, *name; /* interned: compared by pointer */
    int32_t line;
} label;

typedef struct label_table {
    idxset index;
    label *labels;
    size_t n, cap;
} label_table;

static bool
label_eq(const void *ctx, uint32_t idx, const void *key)
{
    const label *a = &((const label_table *)ctx)->labels[idx];
    const label *b = key;
    return a->file == b->file && a->name == b->name && a->line == b->line;
}

static uint64_t
label_hash(const label *l)
{
    uint64_t h = sg_hash_u64((uint64_t)(uintptr_t)l->file);
    h = sg_hash_u64(h ^ (uint64_t)(uintptr_t)l->name);
    return sg_hash_u64(h ^ (uint64_t)(uint32_t)l->line);
}

/* The index of label l, added when new; SG_NO_ID when out of memory. */
static uint32_t
label_get(label_table *t, const label *l)
{
    if (!l->file || !l->name)
        return SG_NO_ID;
    uint64_t h = label_hash(l);
    uint32_t idx = idxset_find(&t->index, h, label_eq, t, l);
    if (idx != HM_NONE)
        return idx;
    if (SG_GROW(t->labels, t->cap, t->n + 1) < 0 ||
        idxset_add(&t->index, h, (uint32_t)t->n) < 0)
        return SG_NO_ID;
    t->labels[t->n] = *l;
    return (uint32_t)t->n++;
}

static void
label_table_free(label_table *t)
{
    idxset_free(&t->index);
    free(t->labels);
}

/* Edges as (caller, callee) -> index, with their accumulators. */
typedef struct edge_table {
    hm64 index;
    uint32_t *caller, *callee;
    acc *a;
    size_t n, cap_caller, cap_callee, cap_a;
} edge_table;

/* The hash key of a (caller, callee) pair. */
static uint64_t
pair_key(uint32_t caller, uint32_t callee)
{
    return ((uint64_t)caller << 32) | callee;
}

/* The index of edge (caller, callee), added when new; SG_NO_ID when out of
 * memory. */
static uint32_t
edge_get(edge_table *t, uint32_t caller, uint32_t callee)
{
    uint64_t key = pair_key(caller, callee);
    uint32_t idx = hm64_get(&t->index, key);
    if (idx != HM_NONE)
        return idx;
    if (SG_GROW(t->caller, t->cap_caller, t->n + 1) < 0 ||
        SG_GROW(t->callee, t->cap_callee, t->n + 1) < 0 ||
        SG_GROW(t->a, t->cap_a, t->n + 1) < 0 ||
        hm64_put(&t->index, key, (uint32_t)t->n) < 0)
        return SG_NO_ID;
    t->caller[t->n] = caller;
    t->callee[t->n] = callee;
    memset(&t->a[t->n], 0, sizeof t->a[t->n]);
    return (uint32_t)t->n++;
}

static void
edge_table_free(edge_table *t)
{
    hm64_free(&t->index);
    free(t->caller);
    free(t->callee);
    free(t->a);
}

/* Grow a zero-filled array of counters to hold index i. */
static int
grow_zeroed(void **arr, size_t *cap, size_t i, size_t elem)
{
    size_t old = *cap;
    if (sg_grow(arr, cap, i + 1, elem) < 0)
        return -1;
    memset((char *)*arr + old * elem, 0, (*cap - old) * elem);
    return 0;
}

#define GROW_ZEROED(a, cap, i)                                                \
    grow_zeroed((void **)&(a), &(cap), (i), sizeof *(a))

typedef struct walk_item {
    sg_node_id node;
    uint32_t caller;     /* label of the calling function, or SG_NO_ID */
    sg_func_id caller_f; /* the calling function itself */
    sg_func_id fn;       /* post-visit: function and edge to release */
    uint32_t edge;
    bool post;
} walk_item;

/* Time scale and metric indices for p. */
static void
pick_metrics(const sg_profile *p, int *time_m, int *calls_m, double *scale)
{
    *calls_m = sg_profile_metric(p, "calls");
    *time_m = sg_profile_metric(p, "ns");
    *scale = 1e-9;
    if (*time_m < 0) {
        *time_m = 0;
        *scale =
            p->sample_interval_ns ? (double)p->sample_interval_ns * 1e-9 : 1.0;
    }
}

static int
cmp_edge(const void *a, const void *b)
{
    const sg_fedge *x = a, *y = b;
    if (x->callee != y->callee)
        return x->callee < y->callee ? -1 : 1;
    return (x->caller > y->caller) - (x->caller < y->caller);
}

/* Fill out->e from the edge accumulators and link callers to callees. */
static int
finish_edges(sg_funcstats *out, const edge_table *et, double scale)
{
    out->n_edges = et->n;
    out->e = sg_calloc(et->n, sizeof *out->e);
    if (!out->e)
        return -1;
    for (size_t i = 0; i < et->n; i++) {
        sg_fedge *e = &out->e[i];
        e->caller = et->caller[i];
        e->callee = et->callee[i];
        e->nc = et->a[i].nc;
        e->cc = et->a[i].cc;
        e->tt = (double)et->a[i].tt * scale;
        e->ct = (double)et->a[i].ct * scale;
    }
    sg_sort(out->e, out->n_edges, sizeof *out->e, cmp_edge);
    for (size_t i = 0; i < out->n; i++) {
        out->f[i].callers = SG_NO_ID;
        out->f[i].n_callers = 0;
    }
    for (size_t i = out->n_edges; i-- > 0;) {
        sg_fstat *f = &out->f[out->e[i].callee];
        f->callers = (uint32_t)i;
        f->n_callers++;
    }
    return 0;
}

static void
finish_totals(sg_funcstats *out)
{
    out->total_calls = out->prim_calls = 0;
    out->total_tt = out->total_wait = 0;
    for (size_t i = 0; i < out->n; i++) {
        out->total_calls += out->f[i].nc;
        out->prim_calls += out->f[i].cc;
        out->total_tt += out->f[i].tt;
        if (sg_fstat_is_wait(&out->f[i]))
            out->total_wait += out->f[i].ct;
    }
}

/* The state of one exact walk; every array is freed by walk_free.
 *
 * Numbers are summed per label (functions that share one are merged, as
 * the tables show them), but "already active above" is decided per
 * function: a call of one lambda from another on the same line is no
 * recursion, as cProfile, which keys by code object, counts it. So the
 * activity counters are per sg_func and per pair of sg_funcs. */
typedef struct walk {
    int time_m, calls_m;
    double scale;
    size_t nm;
    uint64_t *incl;
    uint64_t *wait;       /* per node: of its inclusive time, that in waits;
                             NULL when the profile has no wait */
    uint32_t *func_label; /* sg_func -> label index, on first sight */
    label_table lt;
    edge_table et;
    acc *fa;            /* per label */
    uint32_t *active_f; /* per sg_func */
    hm64 fedge_index;   /* (caller sg_func, callee sg_func) -> active_e */
    uint32_t *active_e;
    size_t n_fedges, cap_ae;
    size_t cap_fa;
    walk_item *stack;
    size_t cap_stack;
} walk;

static void
walk_free(walk *w)
{
    free(w->stack);
    free(w->fa);
    free(w->active_f);
    free(w->active_e);
    free(w->func_label);
    free(w->incl);
    free(w->wait);
    hm64_free(&w->fedge_index);
    label_table_free(&w->lt);
    edge_table_free(&w->et);
}

/* The activity counter of the call edge caller -> callee (sg_funcs);
 * SG_NO_ID when out of memory. */
static uint32_t
walk_fedge(walk *w, sg_func_id caller, sg_func_id callee)
{
    uint32_t idx = hm64_get(&w->fedge_index, pair_key(caller, callee));
    if (idx == HM_NONE) {
        idx = (uint32_t)w->n_fedges;
        if (GROW_ZEROED(w->active_e, w->cap_ae, idx) < 0 ||
            hm64_put(&w->fedge_index, pair_key(caller, callee), idx) < 0)
            return SG_NO_ID;
        w->n_fedges++;
    }
    return idx;
}

/* Count node n (reached from caller label it->caller) into its function
 * and edge, and mark both active for its subtree. Returns -1 when out of
 * memory. */
static int
walk_enter(walk *w, const sg_profile *p, const walk_item *it,
           sg_func_id *fn_out, uint32_t *label_out, uint32_t *edge_out)
{
    const sg_node *n = &p->nodes[it->node];
    *fn_out = *label_out = *edge_out = SG_NO_ID;
    if (n->frame == SG_NO_ID)
        return 0;
    sg_func_id fid = p->frames[n->frame].func;
    const sg_func *f = &p->funcs[fid];
    /* A synthetic node (thread, process) is no caller: its children are
     * top-level calls, as in cProfile. */
    if (sg_func_is_synthetic(f))
        return 0;
    if (w->func_label[fid] == SG_NO_ID) {
        label l = {f->file, f->name, f->first_line};
        w->func_label[fid] = label_get(&w->lt, &l);
        if (w->func_label[fid] == SG_NO_ID)
            return -1;
    }
    uint32_t fn = w->func_label[fid];
    if (GROW_ZEROED(w->fa, w->cap_fa, fn) < 0)
        return -1;
    uint64_t calls = w->calls_m >= 0 ? n->self[w->calls_m] : 0;
    uint64_t self = n->self[w->time_m];
    uint64_t in = w->incl[(size_t)it->node * w->nm + (size_t)w->time_m];
    acc *a = &w->fa[fn];
    a->nc += calls;
    a->tt += self;
    if (w->active_f[fid] == 0) {
        a->cc += calls;
        a->ct += in;
        a->wt += w->wait ? w->wait[it->node] : 0;
    }
    w->active_f[fid]++;
    *fn_out = fid;
    *label_out = fn;
    if (it->caller == SG_NO_ID)
        return 0;
    uint32_t edge = edge_get(&w->et, it->caller, fn);
    uint32_t fedge = walk_fedge(w, it->caller_f, fid);
    if (edge == SG_NO_ID || fedge == SG_NO_ID)
        return -1;
    acc *ea = &w->et.a[edge];
    ea->nc += calls;
    ea->tt += self;
    if (w->active_e[fedge] == 0) {
        ea->cc += calls;
        ea->ct += in;
    }
    w->active_e[fedge]++;
    *edge_out = fedge;
    return 0;
}

/* w->wait: per node, the part of its inclusive time spent in waits (all
 * of it for a wait itself). Children have larger ids than their parent,
 * so one reverse pass adds each node into its parent. Not made (NULL)
 * when no function of p waits. Returns -1 when out of memory. */
static int
walk_waits(walk *w, const sg_profile *p)
{
    bool *waits = sg_calloc(p->n_funcs + 1, sizeof *waits);
    if (!waits)
        return -1;
    bool any = false;
    for (size_t i = 0; i < p->n_funcs; i++) {
        const sg_func *f = &p->funcs[i];
        waits[i] = f->kind == SG_FUNC_BUILTIN &&
                   is_wait_label(f->file, f->first_line, f->name);
        any = any || waits[i];
    }
    if (any && !(w->wait = sg_calloc(p->n_nodes, sizeof *w->wait))) {
        free(waits);
        return -1;
    }
    for (size_t i = p->n_nodes; any && i-- > 1;) {
        const sg_node *n = &p->nodes[i];
        if (n->frame != SG_NO_ID && waits[p->frames[n->frame].func])
            w->wait[i] = w->incl[i * w->nm + (size_t)w->time_m];
        w->wait[n->parent] += w->wait[i];
    }
    free(waits);
    return 0;
}

/* One depth-first walk with an explicit stack (a recursion 200,000 deep is
 * a chain of 200,000 nodes): each node is entered, its children pushed,
 * and a post-visit item releases what it marked active. */
static int
build_exact(const sg_profile *p, sg_node_id root, sg_funcstats *out)
{
    walk w;
    memset(&w, 0, sizeof w);
    idxset_init(&w.lt.index);
    hm64_init(&w.et.index);
    hm64_init(&w.fedge_index);
    pick_metrics(p, &w.time_m, &w.calls_m, &w.scale);
    w.nm = (size_t)p->n_metrics;
    w.incl = sg_reallocarray(NULL, p->n_nodes * w.nm, sizeof *w.incl);
    w.func_label = sg_reallocarray(NULL, p->n_funcs, sizeof *w.func_label);
    w.active_f = sg_calloc(p->n_funcs + 1, sizeof *w.active_f);
    int rc = -1;
    if (!w.incl || !w.func_label || !w.active_f ||
        SG_GROW(w.stack, w.cap_stack, 256) < 0)
        goto done;
    sg_profile_totals(p, w.incl);
    if (walk_waits(&w, p) < 0)
        goto done;
    for (size_t i = 0; i < p->n_funcs; i++)
        w.func_label[i] = SG_NO_ID;

    size_t top = 0;
    w.stack[top++] =
        (walk_item){root, SG_NO_ID, SG_NO_ID, SG_NO_ID, SG_NO_ID, false};
    while (top > 0) {
        walk_item it = w.stack[--top];
        if (it.post) {
            if (it.fn != SG_NO_ID)
                w.active_f[it.fn]--;
            if (it.edge != SG_NO_ID)
                w.active_e[it.edge]--;
            continue;
        }
        sg_func_id fn;
        uint32_t lb, edge;
        if (walk_enter(&w, p, &it, &fn, &lb, &edge) < 0)
            goto done;
        const sg_node *n = &p->nodes[it.node];
        size_t nchild = 0;
        for (sg_node_id c = n->first_child; c != SG_NO_ID;
             c = p->nodes[c].next_sibling)
            nchild++;
        if (SG_GROW(w.stack, w.cap_stack, top + nchild + 1) < 0)
            goto done;
        /* Children, then this node's release after all of them. */
        w.stack[top++] =
            (walk_item){it.node, SG_NO_ID, SG_NO_ID, fn, edge, true};
        for (sg_node_id c = n->first_child; c != SG_NO_ID;
             c = p->nodes[c].next_sibling)
            w.stack[top++] = (walk_item){c, lb, fn, SG_NO_ID, SG_NO_ID, false};
    }

    out->n = w.lt.n;
    out->f = sg_calloc(w.lt.n, sizeof *out->f);
    if (!out->f)
        goto done;
    for (size_t i = 0; i < w.lt.n; i++) {
        sg_fstat *f = &out->f[i];
        f->file = w.lt.labels[i].file;
        f->line = w.lt.labels[i].line;
        f->name = w.lt.labels[i].name;
        f->nc = w.fa[i].nc;
        f->cc = w.fa[i].cc;
        f->tt = (double)w.fa[i].tt * w.scale;
        f->ct = (double)w.fa[i].ct * w.scale;
        f->wt = (double)w.fa[i].wt * w.scale;
    }
    if (finish_edges(out, &w.et, w.scale) < 0)
        goto done;
    finish_totals(out);
    rc = 0;
done:
    walk_free(&w);
    return rc;
}

static const char *
base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* pstats.Stats.strip_dirs(): base names, equal keys summed. Edge sums use
 * nanosecond-free doubles here since the exact walk is already done. */
static int
strip_dirs(sg_funcstats *fs)
{
    label_table lt = {0};
    idxset_init(&lt.index);
    edge_table et = {0};
    hm64_init(&et.index);
    double *tt = NULL, *ct = NULL;
    size_t cap_tt = 0, cap_ct = 0;
    sg_fstat *nf = NULL;
    int rc = -1;
    uint32_t *map = sg_reallocarray(NULL, fs->n, sizeof *map);
    if (!map)
        goto done;
    for (size_t i = 0; i < fs->n; i++) {
        label l = {sg_profile_intern(fs->strings, base_name(fs->f[i].file)),
                   sg_profile_intern(fs->strings, fs->f[i].name),
                   fs->f[i].line};
        if ((map[i] = label_get(&lt, &l)) == SG_NO_ID)
            goto done;
    }
    nf = sg_calloc(lt.n, sizeof *nf);
    if (!nf)
        goto done;
    for (size_t i = 0; i < lt.n; i++) {
        nf[i].file = lt.labels[i].file;
        nf[i].name = lt.labels[i].name;
        nf[i].line = lt.labels[i].line;
    }
    for (size_t i = 0; i < fs->n; i++) {
        sg_fstat *d = &nf[map[i]];
        d->nc += fs->f[i].nc;
        d->cc += fs->f[i].cc;
        d->tt += fs->f[i].tt;
        d->ct += fs->f[i].ct;
        d->wt += fs->f[i].wt;
    }
    /* Edges: merge into a fresh table, keeping double sums aside. */
    for (size_t i = 0; i < fs->n_edges; i++) {
        const sg_fedge *e = &fs->e[i];
        uint32_t k = edge_get(&et, map[e->caller], map[e->callee]);
        if (k == SG_NO_ID || GROW_ZEROED(tt, cap_tt, k) < 0 ||
            GROW_ZEROED(ct, cap_ct, k) < 0)
            goto done;
        et.a[k].nc += e->nc;
        et.a[k].cc += e->cc;
        tt[k] += e->tt;
        ct[k] += e->ct;
    }
    sg_fedge *old_e = fs->e;
    sg_fstat *old_f = fs->f;
    size_t old_n = fs->n, old_ne = fs->n_edges;
    fs->f = nf;
    fs->n = lt.n;
    if (finish_edges(fs, &et, 0.0) < 0) {
        /* Back to the unstripped table, which the caller frees. */
        fs->f = old_f;
        fs->n = old_n;
        fs->e = old_e;
        fs->n_edges = old_ne;
        goto done;
    }
    nf = NULL;
    free(old_f);
    free(old_e);
    for (size_t i = 0; i < fs->n_edges; i++) {
        /* finish_edges sorted them: find the sums by key again. */
        sg_fedge *e = &fs->e[i];
        uint32_t k = hm64_get(&et.index, pair_key(e->caller, e->callee));
        e->tt = tt[k];
        e->ct = ct[k];
    }
    finish_totals(fs);
    rc = 0;
done:
    free(nf);
    free(tt);
    free(ct);
    free(map);
    edge_table_free(&et);
    label_table_free(&lt);
    return rc;
}

int
sg_funcstats_build(const sg_profile *p, sg_node_id root, bool strip,
                   sg_funcstats *out)
{
    memset(out, 0, sizeof *out);
    const char *m[] = {"none"};
    out->strings = sg_profile_new(SG_PROFILE_DETERMINISTIC, 1, m);
    if (!out->strings || build_exact(p, root, out) < 0 ||
        (strip && strip_dirs(out) < 0)) {
        sg_funcstats_free(out);
        return -1;
    }
    return 0;
}

void
sg_funcstats_free(sg_funcstats *fs)
{
    free(fs->f);
    free(fs->e);
    sg_profile_free(fs->strings);
    memset(fs, 0, sizeof *fs);
}

/* pstats.Stats.sort_arg_dict_default, in its order. */
static const struct {
    const char *key;
    sg_sort_field fields[3];
    int n;
    const char *description;
} sort_keys[] = {
    {"calls", {{1, -1}}, 1, "call count"},
    {"cumtime", {{3, -1}}, 1, "cumulative time"},
    {"cumulative", {{3, -1}}, 1, "cumulative time"},
    {"file", {{4, 1}}, 1, "file name"},
    {"filename", {{4, 1}}, 1, "file name"},
    {"line", {{5, 1}}, 1, "line number"},
    {"module", {{4, 1}}, 1, "file name"},
    {"name", {{6, 1}}, 1, "function name"},
    {"ncalls", {{1, -1}}, 1, "call count"},
    {"nfl", {{6, 1}, {4, 1}, {5, 1}}, 3, "name/file/line"},
    {"pcalls", {{0, -1}}, 1, "primitive call count"},
    {"stdname", {{7, 1}}, 1, "standard name"},
    {"time", {{2, -1}}, 1, "internal time"},
    {"tottime", {{2, -1}}, 1, "internal time"},
};
#define N_SORT_KEYS (sizeof sort_keys / sizeof sort_keys[0])

void
sg_sort_busy(sg_sort_spec *out)
{
    memset(out, 0, sizeof *out);
    out->fields[0] = (sg_sort_field){8, -1};
    out->n_fields = 1;
    snprintf(out->description, sizeof out->description,
             "cumulative time outside waits");
}

const char *
sg_sort_keys(void)
{
    static char buf[256];
    if (!buf[0]) {
        size_t k = 0;
        for (size_t i = 0; i < N_SORT_KEYS; i++)
            k += (size_t)snprintf(buf + k, sizeof buf - k, "%s%s",
                                  i ? ", " : "", sort_keys[i].key);
    }
    return buf;
}

int
sg_sort_parse(const char *spec, sg_sort_spec *out, strbuf *err)
{
    memset(out, 0, sizeof *out);
    const char *s = spec;
    size_t dlen = 0;
    for (;;) {
        const char *comma = strchr(s, ',');
        size_t len = comma ? (size_t)(comma - s) : strlen(s);
        size_t i;
        for (i = 0; i < N_SORT_KEYS; i++)
            if (strlen(sort_keys[i].key) == len &&
                strncmp(sort_keys[i].key, s, len) == 0)
                break;
        if (i == N_SORT_KEYS) {
            sb_printf(err, "unknown sort key '%.*s' (valid keys: %s)",
                      (int)len, s, sg_sort_keys());
            return -1;
        }
        if (out->n_fields + sort_keys[i].n > SG_SORT_MAX) {
            sb_printf(err, "too many sort keys in '%s'", spec);
            return -1;
        }
        for (int k = 0; k < sort_keys[i].n; k++)
            out->fields[out->n_fields++] = sort_keys[i].fields[k];
        dlen += (size_t)snprintf(out->description + dlen,
                                 sizeof out->description - dlen, "%s%s",
                                 dlen ? ", " : "", sort_keys[i].description);
        if (dlen >= sizeof out->description)
            dlen = sizeof out->description - 1;
        if (!comma)
            break;
        s = comma + 1;
    }
    return 0;
}

void
sg_fstat_std_string(const sg_fstat *f, strbuf *sb)
{
    if (strcmp(f->file, "~") == 0 && f->line == 0) {
        size_t n = strlen(f->name);
        if (n >= 2 && f->name[0] == '<' && f->name[n - 1] == '>')
            sb_printf(sb, "{%.*s}", (int)(n - 2), f->name + 1);
        else
            sb_puts(sb, f->name);
    } else {
        sb_printf(sb, "%s:%d(%s)", f->file, f->line, f->name);
    }
}

typedef struct sort_ctx {
    const sg_funcstats *fs;
    const sg_sort_spec *spec;
    char **std; /* std strings, built only when a key needs them */
} sort_ctx;

static sort_ctx *the_sort; /* qsort has no context argument in C11 */

static int
cmp_num(double a, double b)
{
    return (a > b) - (a < b);
}

static int
cmp_order(const void *pa, const void *pb)
{
    uint32_t a = *(const uint32_t *)pa, b = *(const uint32_t *)pb;
    const sg_fstat *x = &the_sort->fs->f[a], *y = &the_sort->fs->f[b];
    for (int i = 0; i < the_sort->spec->n_fields; i++) {
        const sg_sort_field *fd = &the_sort->spec->fields[i];
        int c = 0;
        switch (fd->column) {
        case 0:
            c = cmp_num((double)x->cc, (double)y->cc);
            break;
        case 1:
            c = cmp_num((double)x->nc, (double)y->nc);
            break;
        case 2:
            c = cmp_num(x->tt, y->tt);
            break;
        case 3:
            c = cmp_num(x->ct, y->ct);
            break;
        case 4:
            c = strcmp(x->file, y->file);
            break;
        case 5:
            c = cmp_num(x->line, y->line);
            break;
        case 6:
            c = strcmp(x->name, y->name);
            break;
        case 8:
            c = cmp_num(x->ct - x->wt, y->ct - y->wt);
            break;
        default:
            c = strcmp(the_sort->std[a], the_sort->std[b]);
            break;
        }
        if (c)
            return c * fd->direction;
    }
    return (a > b) - (a < b); /* stable, as Python's sort */
}

/* Whether spec compares std strings (then they are built first). */
static bool
needs_std(const sg_sort_spec *spec)
{
    for (int i = 0; i < spec->n_fields; i++)
        if (spec->fields[i].column == 7)
            return true;
    return false;
}

static void
free_std(char **std, size_t n)
{
    for (size_t i = 0; std && i < n; i++)
        free(std[i]);
    free(std);
}

int
sg_funcstats_sort(const sg_funcstats *fs, const sg_sort_spec *spec,
                  uint32_t *order)
{
    sort_ctx ctx = {fs, spec, NULL};
    if (needs_std(spec)) {
        ctx.std = sg_calloc(fs->n, sizeof *ctx.std);
        if (!ctx.std)
            return -1;
        for (size_t i = 0; i < fs->n; i++) {
            strbuf sb = STRBUF_INIT;
            sg_fstat_std_string(&fs->f[i], &sb);
            ctx.std[i] = sb.data ? sb.data : sg_strdup("");
            if (sb_failed(&sb) || !ctx.std[i]) {
                free(sb.data);
                ctx.std[i] = NULL;
                free_std(ctx.std, fs->n);
                return -1;
            }
        }
    }
    for (size_t i = 0; i < fs->n; i++)
        order[i] = (uint32_t)i;
    the_sort = &ctx;
    sg_sort(order, fs->n, sizeof *order, cmp_order);
    the_sort = NULL;
    free_std(ctx.std, fs->n);
    return 0;
}
