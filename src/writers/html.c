/* html.c -- one offline HTML report: flame graph, function table, source
 * heat and memory, in a single file that needs no network.
 *
 * The page is the skeleton, style and script of writers/html/ (embedded at
 * build time by tools/embed_assets.py into html_assets.h) around one JSON
 * document in a <script type="application/json"> element, which the
 * script parses and renders. Names are never written as markup: the
 * document is JSON whose '<', '>' and '&' are written as \u escapes, so no
 * name can close the element, and the script puts names in the page as
 * text only.
 *
 * The document stores everything once: strings interned, then functions
 * (name, file, line; the kinds of the few that are not Python functions),
 * frames (function, line), and the tree in preorder as parallel arrays of
 * frame, depth (as a step up from the previous node's child level), own
 * weight and own calls, so the size grows with the distinct stacks, not
 * with the samples. The function table is sg_funcstats's (the text
 * writer's numbers), its times as integers of the profile's unit with
 * that unit's seconds given once (exact, and short), each row followed
 * by its callers. A line profile's line table is written as it is; other
 * profiles' lines are their frames', which the page sums from the tree.
 * The source lines around those with data are embedded (never whole
 * files) unless the caller says not to. docs/html.md has the layout.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/alloc.h"
#include "common/hashmap.h"
#include "common/sort.h"
#include "common/json.h"
#include "model/memory.h"
#include "model/timeline.h"
#include "writers/html.h"
#include "writers/html_assets.h"

/* Sources larger than this are left out (generated code, data files). */
#define HTML_MAX_SOURCE (1u << 20)
/* Per-thread function tables beyond this many threads are left out. */
#define HTML_MAX_THREAD_TABLES 32

/* Strings of the document, each once. */
typedef struct html_strings {
    idxset index;
    const char **s;
    size_t n, cap;
} html_strings;

typedef struct html_ctx {
    const sg_html_input *in;
    const sg_profile *p;
    json_writer j;
    html_strings st;
    int m;                /* the weight metric */
    int calls_m;          /* -1 when none */
    double spu;           /* seconds per unit of m; 0 when not a time */
    double stats_spu;     /* seconds per integer of the function table */
    uint32_t *thread_idx; /* preorder index of each thread root, by node */
    /* The tables' functions by label: p's functions (a label's first), then
     * those only a table names (a pstats row no stack reaches, the diff's
     * base), written after the tables as "xfuncs". */
    idxset lab_index;
    struct html_label *lab;
    size_t n_lab, cap_lab, n_xfuncs;
    bool failed;
} html_ctx;

typedef struct html_label {
    const char *file, *name;
    int32_t line;
    uint32_t id; /* the function's index in funcs, then xfuncs */
} html_label;

static bool
str_eq(const void *ctx, uint32_t idx, const void *key)
{
    return strcmp(((const html_strings *)ctx)->s[idx], key) == 0;
}

/* The index of s in the document's strings, added when new. */
static uint32_t
html_str(html_ctx *c, const char *s)
{
    html_strings *t = &c->st;
    if (!s)
        s = "";
    uint64_t h = sg_hash_bytes(s, strlen(s));
    uint32_t i = idxset_find(&t->index, h, str_eq, t, s);
    if (i != HM_NONE)
        return i;
    if (SG_GROW(t->s, t->cap, t->n + 1) < 0 ||
        idxset_add(&t->index, h, (uint32_t)t->n) < 0) {
        c->failed = true;
        return 0;
    }
    t->s[t->n] = s;
    return (uint32_t)t->n++;
}

static bool
lab_eq(const void *ctx, uint32_t idx, const void *key)
{
    const html_label *a = &((const html_ctx *)ctx)->lab[idx], *b = key;
    return a->line == b->line && strcmp(a->file, b->file) == 0 &&
           strcmp(a->name, b->name) == 0;
}

/* The function id of a table's label, p's or a new extra one. */
static uint32_t
html_func_of(html_ctx *c, const char *file, int32_t line, const char *name)
{
    html_label l = {file ? file : "", name ? name : "", line, 0};
    uint64_t h = sg_hash_bytes(l.file, strlen(l.file)) * 31 ^
                 sg_hash_bytes(l.name, strlen(l.name)) ^
                 sg_hash_u64((uint32_t)line);
    uint32_t i = idxset_find(&c->lab_index, h, lab_eq, c, &l);
    if (i != HM_NONE)
        return c->lab[i].id;
    if (SG_GROW(c->lab, c->cap_lab, c->n_lab + 1) < 0 ||
        idxset_add(&c->lab_index, h, (uint32_t)c->n_lab) < 0) {
        c->failed = true;
        return 0;
    }
    l.id = c->n_lab < c->p->n_funcs
               ? (uint32_t)c->n_lab
               : (uint32_t)(c->p->n_funcs + c->n_xfuncs++);
    c->lab[c->n_lab++] = l;
    return l.id;
}

static void
html_key_uint(html_ctx *c, const char *key, uint64_t v)
{
    json_key(&c->j, key);
    json_uint(&c->j, v);
}

static void
html_key_str(html_ctx *c, const char *key, const char *v)
{
    json_key(&c->j, key);
    json_string(&c->j, v ? v : "");
}

static const char *
html_kind_name(sg_profile_kind k)
{
    switch (k) {
    case SG_PROFILE_DETERMINISTIC:
        return "deterministic";
    case SG_PROFILE_SAMPLED:
        return "sampled";
    case SG_PROFILE_LINES:
        return "lines";
    case SG_PROFILE_MEMORY:
        return "memory";
    default:
        return "timeline";
    }
}

/* What the report says it is, and its metadata. */
static void
html_header(html_ctx *c)
{
    const sg_profile *p = c->p;
    const writer_opts *o = c->in->o;
    /* No date: the same profile renders to the same bytes; the page shows
     * the file's own time (document.lastModified). */
    html_key_str(c, "kind", html_kind_name(p->kind));
    html_key_str(c, "title", o && o->title ? o->title : NULL);
    html_key_str(c, "metric", p->metric_names[c->m]);
    json_key(&c->j, "spu");
    json_double(&c->j, c->spu);
    json_key(&c->j, "bytes");
    json_bool(&c->j, sg_writer_metric_is_bytes(p, c->m));
    html_key_uint(c, "wall_ns", p->wall_ns);
    html_key_uint(c, "interval_ns", p->sample_interval_ns);
    json_key(&c->j, "meta");
    json_begin_array(&c->j);
    for (size_t i = 0; i < p->n_meta; i++) {
        json_begin_array(&c->j);
        json_string(&c->j, p->meta[i].key);
        json_string(&c->j, p->meta[i].value);
        json_end_array(&c->j);
    }
    json_end_array(&c->j);
}

/* Functions and frames, by the model's ids, names interned. */
static void
html_funcs(html_ctx *c)
{
    const sg_profile *p = c->p;
    json_key(&c->j, "funcs");
    json_begin_array(&c->j);
    for (size_t i = 0; i < p->n_funcs; i++) {
        const sg_func *f = &p->funcs[i];
        /* Every function a label, so that ids match (variants: the
         * label's first function stands for them). */
        html_label l = {f->file ? f->file : "", f->name ? f->name : "",
                        f->first_line, (uint32_t)i};
        if (SG_GROW(c->lab, c->cap_lab, c->n_lab + 1) < 0)
            c->failed = true;
        else
            c->lab[c->n_lab++] = l;
        json_uint(&c->j, html_str(c, f->name));
        json_uint(&c->j, html_str(c, f->file));
        json_int(&c->j, f->first_line);
    }
    json_end_array(&c->j);
    /* Most functions are Python's: the others' kinds, as (id, kind). */
    json_key(&c->j, "kinds");
    json_begin_array(&c->j);
    for (size_t i = 0; i < p->n_funcs; i++) {
        if (p->funcs[i].kind == SG_FUNC_PYTHON)
            continue;
        json_uint(&c->j, i);
        json_uint(&c->j, p->funcs[i].kind);
    }
    json_end_array(&c->j);
    for (size_t i = 0; !c->failed && i < c->n_lab; i++) {
        const html_label *l = &c->lab[i];
        uint64_t h = sg_hash_bytes(l->file, strlen(l->file)) * 31 ^
                     sg_hash_bytes(l->name, strlen(l->name)) ^
                     sg_hash_u64((uint32_t)l->line);
        if (idxset_find(&c->lab_index, h, lab_eq, c, l) == HM_NONE &&
            idxset_add(&c->lab_index, h, (uint32_t)i) < 0)
            c->failed = true;
    }
    json_key(&c->j, "frames");
    json_begin_array(&c->j);
    for (size_t i = 0; i < p->n_frames; i++) {
        json_uint(&c->j, p->frames[i].func);
        json_int(&c->j, p->frames[i].line);
    }
    json_end_array(&c->j);
}

/* The next node of a preorder walk of the subtree with weight, after n
 * (whose subtree is skipped when skip); SG_NO_ID at the end. */
static sg_node_id
html_next(const sg_profile *p, const uint64_t *incl, int nm, int m,
          sg_node_id n, bool skip)
{
    if (!skip)
        for (sg_node_id k = p->nodes[n].first_child; k != SG_NO_ID;
             k = p->nodes[k].next_sibling)
            if (incl[(size_t)k * nm + m])
                return k;
    for (; n != SG_ROOT_NODE; n = p->nodes[n].parent)
        for (sg_node_id k = p->nodes[n].next_sibling; k != SG_NO_ID;
             k = p->nodes[k].next_sibling)
            if (incl[(size_t)k * nm + m])
                return k;
    return SG_NO_ID;
}

/* One array of the tree in preorder: what(node) of every node with
 * weight. */
typedef enum html_col { COL_FRAME, COL_UP, COL_SELF, COL_CALLS } html_col;

static void
html_tree_column(html_ctx *c, const uint64_t *incl, html_col col)
{
    const sg_profile *p = c->p;
    int nm = p->n_metrics;
    uint32_t idx = 0, prev = 0;
    json_begin_array(&c->j);
    for (sg_node_id n = SG_ROOT_NODE; n != SG_NO_ID; prev = p->nodes[n].depth,
                    n = html_next(p, incl, nm, c->m, n, false), idx++) {
        const sg_node *nd = &p->nodes[n];
        switch (col) {
        case COL_FRAME:
            json_int(&c->j, nd->frame == SG_NO_ID ? -1 : (int64_t)nd->frame);
            break;
        case COL_UP: /* how many levels up from the previous node's child */
            json_uint(&c->j, n == SG_ROOT_NODE ? 0 : prev + 1 - nd->depth);
            break;
        case COL_SELF:
            json_uint(&c->j, nd->self[c->m]);
            break;
        case COL_CALLS:
            json_uint(&c->j, nd->self[c->calls_m]);
            break;
        }
        if (col == COL_FRAME && nd->frame != SG_NO_ID &&
            sg_func_is_synthetic(sg_profile_frame_func(p, nd->frame)))
            c->thread_idx[n] = idx;
    }
    json_end_array(&c->j);
}

/* The tree with weight, in preorder: frame, depth (as u: how far above
 * the previous node's child level it is, mostly 0), own weight (and own
 * calls); the root first (frame -1). */
static int
html_tree(html_ctx *c, const uint64_t *incl)
{
    json_key(&c->j, "tree");
    json_begin_object(&c->j);
    json_key(&c->j, "f");
    html_tree_column(c, incl, COL_FRAME);
    json_key(&c->j, "u");
    html_tree_column(c, incl, COL_UP);
    json_key(&c->j, "w");
    html_tree_column(c, incl, COL_SELF);
    if (c->calls_m >= 0) {
        json_key(&c->j, "c");
        html_tree_column(c, incl, COL_CALLS);
    }
    json_end_object(&c->j);
    return 0;
}

/* One table's numbers of a row or an edge: calls when the table has
 * them, then tt (unless !with_tt) and ct as integers of stats_spu. */
static void
html_nums(html_ctx *c, bool calls, bool with_tt, const uint64_t n[2],
          double tt, double ct)
{
    if (calls) {
        json_uint(&c->j, n[0]);
        json_uint(&c->j, n[1]);
    }
    if (with_tt)
        json_int(&c->j, llround(tt / c->stats_spu));
    json_int(&c->j, llround(ct / c->stats_spu));
}

/* A function table: rows (function, callers, [nc, cc,] tt, ct), then
 * the callers of each row in row order (row, [nc, cc, tt,] ct): the
 * callee is implicit. Calls (and an edge's own time, which only a
 * pstats file's callers show) only when the table counts any. */
static void
html_table(html_ctx *c, const sg_funcstats *fs)
{
    bool calls = fs->total_calls > 0;
    json_begin_object(&c->j);
    json_key(&c->j, "calls");
    json_bool(&c->j, calls);
    json_key(&c->j, "rows");
    json_begin_array(&c->j);
    for (size_t i = 0; i < fs->n; i++) {
        const sg_fstat *f = &fs->f[i];
        json_uint(&c->j, html_func_of(c, f->file, f->line, f->name));
        json_uint(&c->j, f->n_callers);
        html_nums(c, calls, true, (const uint64_t[2]){f->nc, f->cc}, f->tt,
                  f->ct);
    }
    json_end_array(&c->j);
    json_key(&c->j, "edges");
    json_begin_array(&c->j);
    for (size_t i = 0; i < fs->n; i++) {
        for (uint32_t k = 0; k < fs->f[i].n_callers; k++) {
            const sg_fedge *e = &fs->e[fs->f[i].callers + k];
            json_uint(&c->j, e->caller);
            html_nums(c, calls, calls, (const uint64_t[2]){e->nc, e->cc},
                      e->tt, e->ct);
        }
    }
    json_end_array(&c->j);
    html_key_uint(c, "total_calls", fs->total_calls);
    html_key_uint(c, "prim_calls", fs->prim_calls);
    json_end_object(&c->j);
}

/* The functions only tables name, as funcs' entries. */
static void
html_xfuncs(html_ctx *c)
{
    json_key(&c->j, "xfuncs");
    json_begin_array(&c->j);
    for (size_t i = c->p->n_funcs; i < c->n_lab; i++) {
        const html_label *l = &c->lab[i];
        json_uint(&c->j, html_str(c, l->name));
        json_uint(&c->j, html_str(c, l->file));
        json_int(&c->j, l->line);
    }
    json_end_array(&c->j);
}

/* The seconds per integer of the function tables: funcstats' scale (ns,
 * else the sample interval, else 1 per unit of metric 0). */
static double
html_stats_spu(const sg_profile *p)
{
    if (sg_profile_metric(p, "ns") >= 0)
        return 1e-9;
    return p->sample_interval_ns ? (double)p->sample_interval_ns * 1e-9 : 1.0;
}

/* The whole profile's table, and each thread's when there are several
 * (at most HTML_MAX_THREAD_TABLES), keyed by the thread's preorder
 * index. */
static int
html_stats(html_ctx *c)
{
    const sg_profile *p = c->p;
    sg_funcstats own = {0};
    const sg_funcstats *fs = c->in->stats;
    if (!fs) {
        if (sg_funcstats_build(p, SG_ROOT_NODE, false, &own) < 0)
            return SG_WRITE_NOMEM;
        fs = &own;
    }
    c->stats_spu = c->in->stats ? 1e-9 : html_stats_spu(p);
    json_key(&c->j, "stats_spu");
    json_double(&c->j, c->stats_spu);
    json_key(&c->j, "stats");
    html_table(c, fs);
    if (!c->in->stats)
        sg_funcstats_free(&own);
    if (c->in->base) {
        json_key(&c->j, "base");
        html_table(c, c->in->base);
        html_key_str(c, "base_label", c->in->base_label);
        html_key_str(c, "new_label", c->in->new_label);
    }
    size_t n_threads = 0;
    for (size_t i = 0; i < p->n_nodes; i++)
        n_threads += c->thread_idx[i] != UINT32_MAX;
    if (c->in->stats || n_threads < 2 || n_threads > HTML_MAX_THREAD_TABLES)
        return 0;
    json_key(&c->j, "thread_stats");
    json_begin_array(&c->j);
    for (size_t i = 0; i < p->n_nodes; i++) {
        if (c->thread_idx[i] == UINT32_MAX)
            continue;
        sg_funcstats t;
        if (sg_funcstats_build(p, (sg_node_id)i, false, &t) < 0)
            return SG_WRITE_NOMEM;
        json_uint(&c->j, c->thread_idx[i]);
        html_table(c, &t);
        sg_funcstats_free(&t);
    }
    json_end_array(&c->j);
    return 0;
}

/* The source lines to embed: each line with data and each such
 * function's definition, as (file string << 32 | line), with
 * HTML_CONTEXT lines around each; not whole files. */
#define HTML_CONTEXT 2

typedef struct html_want {
    uint64_t *v;
    size_t n, cap;
    bool failed;
} html_want;

static void
html_want_add(html_ctx *c, html_want *w, sg_func_id f, int32_t line)
{
    const sg_func *fn = &c->p->funcs[f];
    if (line <= 0 || c->in->no_source || !sg_writer_has_file(fn))
        return;
    if (SG_GROW(w->v, w->cap, w->n + 2) < 0) {
        w->failed = true;
        return;
    }
    uint64_t file = (uint64_t)html_str(c, fn->file) << 32;
    w->v[w->n++] = file | (uint32_t)line;
    if (fn->first_line > 0)
        w->v[w->n++] = file | (uint32_t)fn->first_line;
}

/* The line profiler's table: (func, line, hits, own, total) in the
 * weight's unit (a line's time includes its calls: own and total are
 * one). Other profiles' lines are their frames' (the page sums the
 * tree); their sources are asked for here. */
static void
html_lines(html_ctx *c, const uint64_t *incl, html_want *r)
{
    const sg_profile *p = c->p;
    if (p->kind != SG_PROFILE_LINES) {
        int nm = p->n_metrics;
        for (sg_node_id n = html_next(p, incl, nm, c->m, SG_ROOT_NODE, false);
             n != SG_NO_ID; n = html_next(p, incl, nm, c->m, n, false)) {
            const sg_frame *fr = &p->frames[p->nodes[n].frame];
            html_want_add(c, r, fr->func, fr->line);
        }
        return;
    }
    json_key(&c->j, "lines");
    json_begin_array(&c->j);
    for (size_t i = 0; i < p->n_lines; i++) {
        const sg_line *l = &p->lines[i];
        json_uint(&c->j, l->func);
        json_int(&c->j, l->line);
        json_uint(&c->j, l->hits);
        json_uint(&c->j, l->m[c->m]);
        json_uint(&c->j, l->m[c->m]);
        html_want_add(c, r, l->func, l->line);
    }
    json_end_array(&c->j);
}

/* A memory profile's lines of the selected functions, memory_profiler's
 * columns: (func, line, hits, alloc, increment, usage, peak while it
 * ran). */
static void
html_memory(html_ctx *c, html_want *r)
{
    const sg_profile *p = c->p;
    json_key(&c->j, "memlines");
    json_begin_array(&c->j);
    for (size_t i = 0; i < p->n_lines; i++) {
        const sg_line *l = &p->lines[i];
        json_uint(&c->j, l->func);
        json_int(&c->j, l->line);
        json_uint(&c->j, l->hits);
        json_uint(&c->j, l->m[SG_MEM_ALLOC]);
        json_int(&c->j, sg_mem_signed(l->m[SG_MEM_INC]));
        json_uint(&c->j, l->m[SG_MEM_USAGE]);
        json_uint(&c->j, l->m[SG_MEM_LINE_PEAK]);
        html_want_add(c, r, l->func, l->line);
    }
    json_end_array(&c->j);
}

/* Memory over time: each series as (seconds since its run started,
 * bytes) pairs, and the function brackets. */
static void
html_timeline(html_ctx *c, const sg_timeline *tl)
{
    json_key(&c->j, "timeline");
    json_begin_object(&c->j);
    json_key(&c->j, "series");
    json_begin_array(&c->j);
    for (size_t i = 0; i < tl->n_series; i++) {
        const sg_tl_series *s = &tl->series[i];
        double t0 = sg_timeline_run_start(tl, s->run);
        json_begin_object(&c->j);
        html_key_str(c, "kind", sg_tl_kind_name(s->kind));
        json_key(&c->j, "pid");
        json_int(&c->j, s->pid);
        json_key(&c->j, "run");
        json_int(&c->j, s->run);
        json_key(&c->j, "v");
        json_begin_array(&c->j);
        for (size_t k = 0; k < s->n; k++) {
            json_double(&c->j, s->v[k].t - t0);
            json_uint(&c->j, s->v[k].bytes);
        }
        json_end_array(&c->j);
        json_end_object(&c->j);
    }
    json_end_array(&c->j);
    json_key(&c->j, "funcs");
    json_begin_array(&c->j);
    for (size_t i = 0; i < tl->n_funcs; i++) {
        const sg_tl_func *f = &tl->funcs[i];
        double t0 = sg_timeline_run_start(tl, f->run);
        json_begin_array(&c->j);
        json_string(&c->j, f->name);
        json_double(&c->j, f->t0 - t0);
        json_double(&c->j, f->t1 - t0);
        json_uint(&c->j, f->has_heap ? f->h1 - f->h0 : f->m1 - f->m0);
        json_end_array(&c->j);
    }
    json_end_array(&c->j);
    json_end_object(&c->j);
}

static int
cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Append to the document the runs of path's lines that w->v[*i...] asks
 * for (those of one file, sorted), as (file, first line, text) triples;
 * nothing when path is not a regular file of at most HTML_MAX_SOURCE
 * bytes. Advances *i past the file's entries. */
static void
html_source_runs(html_ctx *c, const html_want *w, size_t *i)
{
    uint64_t file = w->v[*i] >> 32;
    const char *path = c->st.s[file];
    size_t k = *i;
    while (*i < w->n && w->v[*i] >> 32 == file)
        (*i)++;
    struct stat st;
    FILE *f = NULL;
    if (stat(path, &st) < 0 || !S_ISREG(st.st_mode) ||
        st.st_size > HTML_MAX_SOURCE || !(f = fopen(path, "rb")))
        return;
    strbuf text = STRBUF_INIT;
    int32_t line = 1, lo = 0, hi = 0;
    int ch = 0;
    while (k < *i && ch != EOF) {
        int32_t want = (int32_t)(uint32_t)w->v[k];
        lo = want > HTML_CONTEXT ? want - HTML_CONTEXT : 1;
        hi = want + HTML_CONTEXT;
        /* Merge the wanted lines whose context touches this run. */
        while (++k < *i && (int32_t)(uint32_t)w->v[k] - HTML_CONTEXT <= hi + 1)
            hi = (int32_t)(uint32_t)w->v[k] + HTML_CONTEXT;
        sb_clear(&text);
        while (line <= hi && (ch = getc(f)) != EOF) {
            if (line >= lo)
                sb_putc(&text, (char)ch);
            line += ch == '\n';
        }
        if (line < lo)
            break;
        json_uint(&c->j, file);
        json_int(&c->j, lo);
        json_string_n(&c->j, text.data ? text.data : "", text.len);
    }
    if (sb_failed(&text))
        c->failed = true;
    sb_free(&text);
    fclose(f);
}

/* The sources: the runs of lines html_want asked for, file by file. */
static int
html_sources(html_ctx *c, html_want *w)
{
    sg_sort(w->v, w->n, sizeof *w->v, cmp_u64);
    json_key(&c->j, "sources");
    json_begin_array(&c->j);
    for (size_t i = 0; i < w->n;)
        html_source_runs(c, w, &i);
    json_end_array(&c->j);
    return w->failed ? -1 : 0;
}

static void
html_string_table(html_ctx *c)
{
    json_key(&c->j, "strings");
    json_begin_array(&c->j);
    for (size_t i = 0; i < c->st.n; i++)
        json_string(&c->j, c->st.s[i]);
    json_end_array(&c->j);
}

/* The document, strings last: everything before interned them. */
static int
html_document(html_ctx *c, strbuf *doc)
{
    const sg_profile *p = c->p;
    size_t nm = (size_t)p->n_metrics;
    uint64_t *incl = sg_calloc(p->n_nodes * nm + 1, sizeof *incl);
    c->thread_idx = sg_calloc(p->n_nodes + 1, sizeof *c->thread_idx);
    html_want r = {0};
    int rc = incl && c->thread_idx ? 0 : -1;
    if (rc == 0) {
        sg_profile_totals(p, incl);
        memset(c->thread_idx, 0xff, (p->n_nodes + 1) * sizeof *c->thread_idx);
        json_init(&c->j, doc, false);
        json_begin_object(&c->j);
        html_key_uint(c, "version", 1);
        html_header(c);
        html_funcs(c);
        rc = html_tree(c, incl);
    }
    if (rc == 0)
        rc = html_stats(c) ? -1 : 0;
    if (rc == 0)
        html_lines(c, incl, &r);
    if (rc == 0 && p->kind == SG_PROFILE_MEMORY)
        html_memory(c, &r);
    if (rc == 0 && p->timeline)
        html_timeline(c, p->timeline);
    if (rc == 0)
        rc = html_sources(c, &r);
    if (rc == 0) {
        html_xfuncs(c);
        html_string_table(c);
        json_end_object(&c->j);
    }
    free(r.v);
    free(incl);
    free(c->thread_idx);
    return rc < 0 || c->failed || sb_failed(doc) ? SG_WRITE_NOMEM : 0;
}

/* Copy the JSON document into the page, '<', '>' and '&' as \u escapes:
 * outside strings JSON has none of them, inside a string the escape means
 * the same character, and no "</script" or "<!--" can remain. */
static void
html_put_json(strbuf *out, const strbuf *doc)
{
    const char *s = doc->data ? doc->data : "";
    size_t start = 0;
    for (size_t i = 0; i < doc->len; i++) {
        const char *esc = s[i] == '<'   ? "\\u003c"
                          : s[i] == '>' ? "\\u003e"
                          : s[i] == '&' ? "\\u0026"
                                        : NULL;
        if (!esc)
            continue;
        sb_append(out, s + start, i - start);
        sb_puts(out, esc);
        start = i + 1;
    }
    sb_append(out, s + start, doc->len - start);
}

int
sg_html_write(const sg_html_input *in, strbuf *out)
{
    html_ctx c = {0};
    c.in = in;
    c.p = in->p;
    idxset_init(&c.st.index);
    idxset_init(&c.lab_index);
    c.m = sg_writer_weight_metric(in->p, in->o, &c.spu);
    c.calls_m = sg_profile_metric(in->p, "calls");
    strbuf doc = STRBUF_INIT;
    int rc = html_document(&c, &doc);
    if (rc == 0) {
        sb_puts(out, html_asset_head);
        sb_puts(out, "<style>\n");
        sb_puts(out, html_asset_style);
        sb_puts(out, "</style>\n</head>\n<body>\n");
        sb_puts(out, html_asset_body);
        sb_puts(out, "<script type=\"application/json\" id=\"sg-data\">");
        html_put_json(out, &doc);
        sb_puts(out, "</script>\n<script>\n");
        sb_puts(out, html_asset_script);
        sb_puts(out, "</script>\n</body>\n</html>\n");
    }
    sb_free(&doc);
    idxset_free(&c.st.index);
    free(c.st.s);
    idxset_free(&c.lab_index);
    free(c.lab);
    return rc;
}

int
sg_write_html(const sg_profile *p, const writer_opts *o, strbuf *out)
{
    sg_html_input in = {0};
    in.p = p;
    in.o = o;
    in.no_source = o && o->no_source;
    return sg_html_write(&in, out);
}
