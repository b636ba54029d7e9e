/* table.c -- top's rolling window over the sampled profile; see table.h. */
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "top/table.h"

void
top_table_init(top_table *t)
{
    memset(t, 0, sizeof *t);
    hm64_init(&t->row_index);
    hm64_init(&t->thread_index);
}

void
top_table_free(top_table *t)
{
    hm64_free(&t->row_index);
    hm64_free(&t->thread_index);
    free(t->threads);
    free(t->rows);
    free(t->seen);
    free(t->fstamp);
    free(t->lstamp);
    free(t->frames);
    memset(t, 0, sizeof *t);
}

/* Grow a zero-filled array of elem-sized entries to hold need of them. */
static void *
grow_zeroed(void *a, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return a;
    size_t n = *cap ? *cap : 64;
    while (n < need)
        n *= 2;
    a = sg_xrealloc(a, n * elem);
    memset((char *)a + *cap * elem, 0, (n - *cap) * elem);
    *cap = n;
    return a;
}

static void
put_or_die(hm64 *m, uint64_t key, uint32_t val)
{
    if (hm64_put(m, key, val) != 0)
        sg_die(SG_EXIT_FAIL, "top: out of memory");
}

/* The thread of a thread root node, added when first met. */
static uint32_t
thread_of(top_table *t, const sg_profile *p, sg_node_id node)
{
    uint32_t i = hm64_get(&t->thread_index, node);
    if (i != HM_NONE)
        return i;
    t->threads = grow_zeroed(t->threads, &t->cap_threads, t->n_threads + 1,
                             sizeof *t->threads);
    top_thread *th = &t->threads[t->n_threads];
    th->name = p->funcs[p->frames[p->nodes[node].frame].func].name;
    sg_node_id up = p->nodes[node].parent;
    if (up != SG_ROOT_NODE && up != SG_NO_ID) {
        const sg_func *f = &p->funcs[p->frames[p->nodes[up].frame].func];
        th->pid = f->kind == SG_FUNC_PROCESS ? f->id : 0;
    }
    i = (uint32_t)t->n_threads++;
    put_or_die(&t->thread_index, node, i);
    return i;
}

static top_row *
row_of(top_table *t, bool line, uint32_t thread, uint32_t id)
{
    uint64_t key = (uint64_t)line << 63 | (uint64_t)thread << 32 | id;
    uint32_t i = hm64_get(&t->row_index, key);
    if (i != HM_NONE)
        return &t->rows[i];
    t->rows =
        grow_zeroed(t->rows, &t->cap_rows, t->n_rows + 1, sizeof *t->rows);
    i = (uint32_t)t->n_rows++;
    t->rows[i] = (top_row){thread, id, line, {0, 0, 0, 0}};
    put_or_die(&t->row_index, key, i);
    return &t->rows[i];
}

static void
count(top_row *r, uint64_t d, bool own)
{
    r->c.win_total += d;
    r->c.cum_total += d;
    if (own) {
        r->c.win_own += d;
        r->c.cum_own += d;
    }
}

/* d samples more at node: walk its stack up to its thread root. */
static void
add_stack(top_table *t, const sg_profile *p, sg_node_id node, uint64_t d)
{
    size_t n = 0;
    sg_node_id troot = SG_NO_ID;
    for (sg_node_id i = node; i != SG_ROOT_NODE && i != SG_NO_ID;
         i = p->nodes[i].parent) {
        sg_frame_id fr = p->nodes[i].frame;
        if (p->funcs[p->frames[fr].func].kind == SG_FUNC_THREAD) {
            troot = i;
            break;
        }
        t->frames =
            grow_zeroed(t->frames, &t->cap_frames, n + 1, sizeof *t->frames);
        t->frames[n++] = fr;
    }
    if (troot == SG_NO_ID || n == 0)
        return; /* not a thread's stack (a process root alone) */
    uint32_t th = thread_of(t, p, troot);
    t->threads[th].win += d;
    t->threads[th].cum += d;
    t->win_samples += d;
    t->cum_samples += d;
    if (++t->walk == 0) { /* wrapped: old stamps could match again */
        memset(t->fstamp, 0, t->cap_fstamp * sizeof *t->fstamp);
        memset(t->lstamp, 0, t->cap_lstamp * sizeof *t->lstamp);
        t->walk = 1;
    }
    for (size_t k = 0; k < n; k++) {
        sg_frame_id fr = t->frames[k];
        sg_func_id f = p->frames[fr].func;
        if (t->fstamp[f] != t->walk) {
            t->fstamp[f] = t->walk;
            count(row_of(t, false, th, f), d, k == 0);
        }
        if (t->lstamp[fr] != t->walk) {
            t->lstamp[fr] = t->walk;
            count(row_of(t, true, th, fr), d, k == 0);
        }
    }
}

/* The metric the rows count: a late sample stands for more time. */
static int
table_metric(const sg_profile *p)
{
    int m = sg_profile_metric(p, "ns");
    return m < 0 ? 0 : m;
}

double
top_table_seconds(const sg_profile *p)
{
    return table_metric(p) ? 1e-9 : (double)p->sample_interval_ns / 1e9;
}

void
top_table_update(top_table *t, const sg_profile *p)
{
    int m = table_metric(p);
    t->win_samples = 0;
    for (size_t i = 0; i < t->n_rows; i++)
        t->rows[i].c.win_own = t->rows[i].c.win_total = 0;
    for (size_t i = 0; i < t->n_threads; i++)
        t->threads[i].win = 0;
    t->seen = grow_zeroed(t->seen, &t->cap_seen, p->n_nodes, sizeof *t->seen);
    t->fstamp =
        grow_zeroed(t->fstamp, &t->cap_fstamp, p->n_funcs, sizeof *t->fstamp);
    t->lstamp =
        grow_zeroed(t->lstamp, &t->cap_lstamp, p->n_frames, sizeof *t->lstamp);
    for (size_t i = 1; i < p->n_nodes; i++) {
        uint64_t w = p->nodes[i].self[m];
        if (w <= t->seen[i])
            continue;
        uint64_t d = w - t->seen[i];
        t->seen[i] = w;
        add_stack(t, p, (sg_node_id)i, d);
    }
}

void
top_table_reset(top_table *t)
{
    for (size_t i = 0; i < t->n_rows; i++)
        memset(&t->rows[i].c, 0, sizeof t->rows[i].c);
    for (size_t i = 0; i < t->n_threads; i++)
        t->threads[i].win = t->threads[i].cum = 0;
    t->win_samples = t->cum_samples = 0;
}

static bool
contains(const char *s, const char *needle)
{
    return s && strcasestr(s, needle) != NULL;
}

/* The sort key of a row for column col (1-4). */
static uint64_t
column(const top_counts *c, int col)
{
    switch (col) {
    case 1:
        return c->win_own;
    case 2:
        return c->win_total;
    case 4:
        return c->cum_total;
    default:
        return c->cum_own;
    }
}

static int
by_column(const void *a, const void *b, void *ctx)
{
    const top_view_row *x = a, *y = b;
    int col = *(const int *)ctx;
    /* The column asked for, then the others in their order, then the id,
     * so that equal rows keep one order from a refresh to the next. */
    int order[5] = {col, 1, 2, 3, 4};
    for (int i = 0; i < 5; i++) {
        uint64_t u = column(&x->c, order[i]), v = column(&y->c, order[i]);
        if (u != v)
            return u > v ? -1 : 1;
    }
    if (x->id != y->id)
        return x->id < y->id ? -1 : 1;
    return x->thread && y->thread ? strcmp(x->thread, y->thread) : 0;
}

static bool
row_matches(const sg_profile *p, const top_row *r, const char *filter)
{
    sg_func_id f = r->line ? p->frames[r->id].func : r->id;
    return contains(p->funcs[f].name, filter) ||
           contains(p->funcs[f].file, filter);
}

void
top_table_view(const top_table *t, const sg_profile *p,
               const top_view_spec *spec, top_view *v)
{
    bool filtering = spec->filter && spec->filter[0];
    v->n = 0;
    v->win_samples = v->cum_samples = 0;
    bool *thread_ok = sg_xcalloc(t->n_threads + 1, sizeof *thread_ok);
    for (size_t i = 0; i < t->n_threads; i++) {
        const top_thread *th = &t->threads[i];
        if (spec->thread >= 0 && (size_t)spec->thread != i)
            continue;
        v->win_samples += th->win;
        v->cum_samples += th->cum;
        thread_ok[i] = filtering && contains(th->name, spec->filter);
    }
    hm64 at;
    hm64_init(&at);
    for (size_t i = 0; i < t->n_rows; i++) {
        const top_row *r = &t->rows[i];
        if (r->line != spec->lines ||
            (spec->thread >= 0 && (uint32_t)spec->thread != r->thread))
            continue;
        if (filtering && !thread_ok[r->thread] &&
            !row_matches(p, r, spec->filter))
            continue;
        if (r->c.cum_total == 0 && r->c.win_total == 0)
            continue; /* reset since */
        uint64_t key =
            spec->split_threads ? (uint64_t)r->thread << 32 | r->id : r->id;
        uint32_t k = hm64_get(&at, key);
        if (k == HM_NONE) {
            if (v->n == v->cap) {
                v->cap = v->cap ? v->cap * 2 : 64;
                v->rows = sg_xrealloc(v->rows, v->cap * sizeof *v->rows);
            }
            k = (uint32_t)v->n++;
            v->rows[k] = (top_view_row){
                r->id,
                spec->split_threads ? t->threads[r->thread].name : NULL,
                {0, 0, 0, 0}};
            put_or_die(&at, key, k);
        }
        top_counts *c = &v->rows[k].c;
        c->win_own += r->c.win_own;
        c->win_total += r->c.win_total;
        c->cum_own += r->c.cum_own;
        c->cum_total += r->c.cum_total;
    }
    hm64_free(&at);
    free(thread_ok);
    int col = spec->sort >= 1 && spec->sort <= 4 ? spec->sort : 3;
    if (v->n > 1)
        qsort_r(v->rows, v->n, sizeof *v->rows, by_column, &col);
}

void
top_view_free(top_view *v)
{
    free(v->rows);
    memset(v, 0, sizeof *v);
}
