/* funcstats.c -- cProfile's function table from a CCT; see funcstats.h. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "common/sort.h"
#include "common/err.h"
#include "common/hashmap.h"
#include "model/funcstats.h"

/* Accumulators in the profile's own units, converted to seconds once. */
typedef struct acc {
    uint64_t nc, cc, tt, ct;
} acc;

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

/* The index of label l, added when new. */
static uint32_t
label_get(label_table *t, const label *l)
{
    uint64_t h = label_hash(l);
    uint32_t idx = idxset_find(&t->index, h, label_eq, t, l);
    if (idx != HM_NONE)
        return idx;
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 64;
        t->labels = sg_xrealloc(t->labels, t->cap * sizeof *t->labels);
    }
    t->labels[t->n] = *l;
    idxset_add(&t->index, h, (uint32_t)t->n);
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
    size_t n, cap;
} edge_table;

static uint32_t
edge_get(edge_table *t, uint32_t caller, uint32_t callee)
{
    uint64_t key = ((uint64_t)caller << 32) | callee;
    uint32_t idx = hm64_get(&t->index, key);
    if (idx != HM_NONE)
        return idx;
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 64;
        t->caller = sg_xrealloc(t->caller, t->cap * sizeof *t->caller);
        t->callee = sg_xrealloc(t->callee, t->cap * sizeof *t->callee);
        t->a = sg_xrealloc(t->a, t->cap * sizeof *t->a);
    }
    t->caller[t->n] = caller;
    t->callee[t->n] = callee;
    memset(&t->a[t->n], 0, sizeof t->a[t->n]);
    hm64_put(&t->index, key, (uint32_t)t->n);
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

typedef struct walk_item {
    sg_node_id node;
    uint32_t caller; /* label of the calling function, or SG_NO_ID */
    uint32_t fn;     /* post-visit: label and edge to release */
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
static void
finish_edges(sg_funcstats *out, const edge_table *et, double scale)
{
    out->n_edges = et->n;
    out->e = sg_xcalloc(et->n ? et->n : 1, sizeof *out->e);
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
}

static void
finish_totals(sg_funcstats *out)
{
    out->total_calls = out->prim_calls = 0;
    out->total_tt = 0;
    for (size_t i = 0; i < out->n; i++) {
        out->total_calls += out->f[i].nc;
        out->prim_calls += out->f[i].cc;
        out->total_tt += out->f[i].tt;
    }
}

static void
build_exact(const sg_profile *p, sg_node_id root, sg_funcstats *out)
{
    int time_m, calls_m;
    double scale;
    pick_metrics(p, &time_m, &calls_m, &scale);
    size_t nm = (size_t)p->n_metrics;
    uint64_t *incl =
        sg_xmalloc((p->n_nodes ? p->n_nodes : 1) * nm * sizeof *incl);
    sg_profile_totals(p, incl);

    /* sg_func -> label index, resolved on first sight. */
    uint32_t *func_label = sg_xmalloc((p->n_funcs + 1) * sizeof *func_label);
    for (size_t i = 0; i < p->n_funcs; i++)
        func_label[i] = SG_NO_ID;
    label_table lt = {0};
    idxset_init(&lt.index);
    edge_table et = {0};
    hm64_init(&et.index);
    acc *fa = NULL;
    uint32_t *active_f = NULL, *active_e = NULL;
    size_t fa_cap = 0, ae_cap = 0;

    size_t cap = 256, top = 0;
    walk_item *stack = sg_xmalloc(cap * sizeof *stack);
    stack[top++] = (walk_item){root, SG_NO_ID, SG_NO_ID, SG_NO_ID, false};
    while (top > 0) {
        walk_item it = stack[--top];
        if (it.post) {
            if (it.fn != SG_NO_ID)
                active_f[it.fn]--;
            if (it.edge != SG_NO_ID)
                active_e[it.edge]--;
            continue;
        }
        const sg_node *n = &p->nodes[it.node];
        uint32_t fn = SG_NO_ID, edge = SG_NO_ID;
        if (n->frame != SG_NO_ID) {
            sg_func_id fid = p->frames[n->frame].func;
            const sg_func *f = &p->funcs[fid];
            if (!sg_func_is_synthetic(f)) {
                if (func_label[fid] == SG_NO_ID) {
                    label l = {f->file, f->name, f->first_line};
                    func_label[fid] = label_get(&lt, &l);
                }
                fn = func_label[fid];
            }
        }
        if (fn != SG_NO_ID) {
            if (lt.n > fa_cap) {
                size_t old = fa_cap;
                fa_cap = lt.n * 2;
                fa = sg_xrealloc(fa, fa_cap * sizeof *fa);
                active_f = sg_xrealloc(active_f, fa_cap * sizeof *active_f);
                memset(fa + old, 0, (fa_cap - old) * sizeof *fa);
                memset(active_f + old, 0, (fa_cap - old) * sizeof *active_f);
            }
            uint64_t calls = calls_m >= 0 ? n->self[calls_m] : 0;
            uint64_t self = n->self[time_m];
            uint64_t in = incl[(size_t)it.node * nm + (size_t)time_m];
            acc *a = &fa[fn];
            a->nc += calls;
            a->tt += self;
            if (active_f[fn] == 0) {
                a->cc += calls;
                a->ct += in;
            }
            active_f[fn]++;
            if (it.caller != SG_NO_ID) {
                edge = edge_get(&et, it.caller, fn);
                if (et.n > ae_cap) {
                    size_t old = ae_cap;
                    ae_cap = et.n * 2;
                    active_e =
                        sg_xrealloc(active_e, ae_cap * sizeof *active_e);
                    memset(active_e + old, 0,
                           (ae_cap - old) * sizeof *active_e);
                }
                acc *ea = &et.a[edge];
                ea->nc += calls;
                ea->tt += self;
                if (active_e[edge] == 0) {
                    ea->cc += calls;
                    ea->ct += in;
                }
                active_e[edge]++;
            }
        }
        /* Children, then this node's release after all of them. */
        size_t nchild = 0;
        for (sg_node_id c = n->first_child; c != SG_NO_ID;
             c = p->nodes[c].next_sibling)
            nchild++;
        if (top + nchild + 1 > cap) {
            while (top + nchild + 1 > cap)
                cap *= 2;
            stack = sg_xrealloc(stack, cap * sizeof *stack);
        }
        stack[top++] = (walk_item){it.node, SG_NO_ID, fn, edge, true};
        /* A synthetic node (thread, process) is no caller: its children
         * are top-level calls, as in cProfile. */
        for (sg_node_id c = n->first_child; c != SG_NO_ID;
             c = p->nodes[c].next_sibling)
            stack[top++] = (walk_item){c, fn, SG_NO_ID, SG_NO_ID, false};
    }

    out->n = lt.n;
    out->f = sg_xcalloc(lt.n ? lt.n : 1, sizeof *out->f);
    for (size_t i = 0; i < lt.n; i++) {
        sg_fstat *f = &out->f[i];
        f->file = lt.labels[i].file;
        f->line = lt.labels[i].line;
        f->name = lt.labels[i].name;
        f->nc = fa[i].nc;
        f->cc = fa[i].cc;
        f->tt = (double)fa[i].tt * scale;
        f->ct = (double)fa[i].ct * scale;
    }
    finish_edges(out, &et, scale);
    finish_totals(out);

    free(stack);
    free(fa);
    free(active_f);
    free(active_e);
    free(func_label);
    free(incl);
    label_table_free(&lt);
    edge_table_free(&et);
}

static const char *
base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* pstats.Stats.strip_dirs(): base names, equal keys summed. Edge sums use
 * nanosecond-free doubles here since the exact walk is already done. */
static void
strip_dirs(sg_funcstats *fs)
{
    label_table lt = {0};
    idxset_init(&lt.index);
    uint32_t *map = sg_xmalloc((fs->n ? fs->n : 1) * sizeof *map);
    for (size_t i = 0; i < fs->n; i++) {
        label l = {sg_profile_intern(fs->strings, base_name(fs->f[i].file)),
                   sg_profile_intern(fs->strings, fs->f[i].name),
                   fs->f[i].line};
        map[i] = label_get(&lt, &l);
    }
    sg_fstat *nf = sg_xcalloc(lt.n ? lt.n : 1, sizeof *nf);
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
    }
    /* Edges: merge into a fresh table, keeping double sums aside. */
    edge_table et = {0};
    hm64_init(&et.index);
    double *tt = NULL, *ct = NULL;
    size_t dcap = 0;
    for (size_t i = 0; i < fs->n_edges; i++) {
        const sg_fedge *e = &fs->e[i];
        uint32_t k = edge_get(&et, map[e->caller], map[e->callee]);
        if (et.n > dcap) {
            size_t old = dcap;
            dcap = et.n * 2;
            tt = sg_xrealloc(tt, dcap * sizeof *tt);
            ct = sg_xrealloc(ct, dcap * sizeof *ct);
            for (size_t j = old; j < dcap; j++)
                tt[j] = ct[j] = 0;
        }
        et.a[k].nc += e->nc;
        et.a[k].cc += e->cc;
        tt[k] += e->tt;
        ct[k] += e->ct;
    }
    free(fs->f);
    free(fs->e);
    fs->f = nf;
    fs->n = lt.n;
    finish_edges(fs, &et, 0.0);
    for (size_t i = 0; i < fs->n_edges; i++) {
        /* finish_edges sorted them: find the sums by key again. */
        sg_fedge *e = &fs->e[i];
        uint64_t key = ((uint64_t)e->caller << 32) | e->callee;
        uint32_t k = hm64_get(&et.index, key);
        e->tt = tt[k];
        e->ct = ct[k];
    }
    finish_totals(fs);
    free(tt);
    free(ct);
    free(map);
    edge_table_free(&et);
    label_table_free(&lt);
}

void
sg_funcstats_build(const sg_profile *p, sg_node_id root, bool strip,
                   sg_funcstats *out)
{
    memset(out, 0, sizeof *out);
    const char *m[] = {"none"};
    out->strings = sg_profile_new(SG_PROFILE_DETERMINISTIC, 1, m);
    build_exact(p, root, out);
    if (strip)
        strip_dirs(out);
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
        default:
            c = strcmp(the_sort->std[a], the_sort->std[b]);
            break;
        }
        if (c)
            return c * fd->direction;
    }
    return (a > b) - (a < b); /* stable, as Python's sort */
}

void
sg_funcstats_sort(const sg_funcstats *fs, const sg_sort_spec *spec,
                  uint32_t *order)
{
    sort_ctx ctx = {fs, spec, NULL};
    ctx.std = sg_xcalloc(fs->n ? fs->n : 1, sizeof *ctx.std);
    for (size_t i = 0; i < fs->n; i++) {
        strbuf sb = STRBUF_INIT;
        sg_fstat_std_string(&fs->f[i], &sb);
        ctx.std[i] = sb.data ? sb.data : sg_xstrdup("");
        order[i] = (uint32_t)i;
    }
    the_sort = &ctx;
    sg_sort(order, fs->n, sizeof *order, cmp_order);
    the_sort = NULL;
    for (size_t i = 0; i < fs->n; i++)
        free(ctx.std[i]);
    free(ctx.std);
}
