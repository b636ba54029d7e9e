/* pstatsread.c -- pstats files and folded stacks read back; see
 * pstatsread.h.
 *
 * marshal, as pstats.Stats.dump_stats writes it (any version since 2):
 * the reader keeps every value in one array, containers pointing at a
 * run of child indices, and honours references (version 3+ writes a
 * repeated file name or key once and refers to it after). Nesting is
 * bounded by MAR_MAX_DEPTH, so the recursion is too.
 */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/hashmap.h"
#include "common/sort.h"
#include "writers/pstatsread.h"

#define MAR_MAX_DEPTH 16

typedef enum mar_type {
    MAR_NONE,
    MAR_INT,
    MAR_FLOAT,
    MAR_STR,
    MAR_TUPLE, /* tuples and lists */
    MAR_DICT,  /* children: key, value, key, value... */
} mar_type;

typedef struct mar_val {
    mar_type type;
    int64_t i;
    double f;
    const char *s; /* into the buffer; not NUL-terminated */
    uint32_t len;  /* string length, or children */
    uint32_t kids; /* first child in mar.kids */
} mar_val;

typedef struct mar {
    const unsigned char *p, *end;
    mar_val *v;
    size_t n, cap;
    uint32_t *kids;
    size_t n_kids, cap_kids;
    uint32_t *stack; /* children being read, before they are placed */
    size_t n_stack, cap_stack;
    uint32_t *refs;
    size_t n_refs, cap_refs;
    char *err;
    size_t errn;
    bool failed;
} mar;

static int
mar_fail(mar *m, const char *fmt, ...)
{
    if (!m->failed) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(m->err, m->errn, fmt, ap);
        va_end(ap);
        m->failed = true;
    }
    return -1;
}

static int
mar_bytes(mar *m, size_t k, const unsigned char **out)
{
    *out = m->p;
    if ((size_t)(m->end - m->p) < k)
        return mar_fail(m, "truncated at byte %zu", (size_t)(m->end - m->p));
    *out = m->p;
    m->p += k;
    return 0;
}

static int
mar_u32(mar *m, uint32_t *out)
{
    const unsigned char *b;
    *out = 0;
    if (mar_bytes(m, 4, &b) < 0)
        return -1;
    *out = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
           (uint32_t)b[3] << 24;
    return 0;
}

/* A new value; its index, or UINT32_MAX when out of memory. */
static uint32_t
mar_new(mar *m, mar_type t)
{
    if (m->n >= UINT32_MAX - 1 || SG_GROW(m->v, m->cap, m->n + 1) < 0) {
        mar_fail(m, "out of memory");
        return UINT32_MAX;
    }
    memset(&m->v[m->n], 0, sizeof m->v[m->n]);
    m->v[m->n].type = t;
    return (uint32_t)m->n++;
}

static int mar_read(mar *m, int depth, uint32_t *out);

/* n children (read into the stack), then placed in one run of kids. */
static int
mar_children(mar *m, int depth, uint32_t idx, size_t n, bool dict)
{
    size_t base = m->n_stack;
    for (size_t k = 0; dict || k < n; k++) {
        if (dict && m->p < m->end && *m->p == '0') {
            m->p++;
            break;
        }
        uint32_t c;
        if (mar_read(m, depth + 1, &c) < 0)
            return -1;
        if (SG_GROW(m->stack, m->cap_stack, m->n_stack + 1) < 0)
            return mar_fail(m, "out of memory");
        m->stack[m->n_stack++] = c;
    }
    size_t got = m->n_stack - base;
    if (dict && got % 2)
        return mar_fail(m, "a dict key without a value");
    if (SG_GROW(m->kids, m->cap_kids, m->n_kids + got + 1) < 0)
        return mar_fail(m, "out of memory");
    if (got)
        memcpy(m->kids + m->n_kids, m->stack + base, got * sizeof *m->kids);
    m->v[idx].kids = (uint32_t)m->n_kids;
    m->v[idx].len = (uint32_t)got;
    m->n_kids += got;
    m->n_stack = base;
    return 0;
}

/* Python's long: a signed digit count, then base-2**15 digits. */
static int
mar_long(mar *m, mar_val *v)
{
    uint32_t nd;
    if (mar_u32(m, &nd) < 0)
        return -1;
    int32_t sn = (int32_t)nd;
    uint32_t k = sn < 0 ? (uint32_t) - (int64_t)sn : (uint32_t)sn;
    if (k > 4)
        return mar_fail(m, "an integer beyond 60 bits");
    uint64_t x = 0;
    for (uint32_t i = 0; i < k; i++) {
        const unsigned char *b;
        if (mar_bytes(m, 2, &b) < 0)
            return -1;
        x |= (uint64_t)(b[0] | (b[1] << 8)) << (15 * i);
    }
    v->i = sn < 0 ? -(int64_t)x : (int64_t)x;
    v->f = (double)v->i;
    return 0;
}

static int
mar_string(mar *m, mar_val *v, size_t len)
{
    const unsigned char *b;
    if (mar_bytes(m, len, &b) < 0)
        return -1;
    v->s = (const char *)b;
    v->len = (uint32_t)len;
    return 0;
}

/* A scalar's payload into v (type code t). */
static int
mar_scalar(mar *m, unsigned char t, mar_val *v)
{
    const unsigned char *b;
    uint32_t len;
    switch (t) {
    case 'i':
        if (mar_u32(m, &len) < 0)
            return -1;
        v->i = (int32_t)len;
        v->f = (double)v->i;
        return 0;
    case 'l':
        return mar_long(m, v);
    case 'g':
        if (mar_bytes(m, 8, &b) < 0)
            return -1;
        uint64_t u = 0;
        for (int k = 7; k >= 0; k--)
            u = u << 8 | b[k];
        memcpy(&v->f, &u, sizeof v->f);
        v->i = (int64_t)v->f;
        return 0;
    case 'f': {
        char tmp[64];
        if (mar_bytes(m, 1, &b) < 0 || mar_bytes(m, b[0], &b) < 0)
            return -1;
        size_t k = (size_t)(m->p - b);
        memcpy(tmp, b, k < 63 ? k : 63);
        tmp[k < 63 ? k : 63] = 0;
        v->f = strtod(tmp, NULL);
        v->i = (int64_t)v->f;
        return 0;
    }
    case 'z':
    case 'Z':
        if (mar_bytes(m, 1, &b) < 0)
            return -1;
        return mar_string(m, v, b[0]);
    default: /* 'u' 't' 'a' 'A' 's' */
        if (mar_u32(m, &len) < 0)
            return -1;
        return mar_string(m, v, len);
    }
}

static mar_type
mar_kind(unsigned char t)
{
    switch (t) {
    case 'N':
    case 'F':
    case 'T':
        return MAR_NONE;
    case 'i':
    case 'l':
        return MAR_INT;
    case 'g':
    case 'f':
        return MAR_FLOAT;
    case 'u':
    case 't':
    case 'a':
    case 'A':
    case 's':
    case 'z':
    case 'Z':
        return MAR_STR;
    case '(':
    case ')':
    case '[':
        return MAR_TUPLE;
    case '{':
        return MAR_DICT;
    default:
        return (mar_type)-1;
    }
}

static int
mar_read(mar *m, int depth, uint32_t *out)
{
    const unsigned char *b;
    if (depth > MAR_MAX_DEPTH)
        return mar_fail(m, "nested deeper than a pstats file is");
    if (mar_bytes(m, 1, &b) < 0)
        return -1;
    unsigned char t = b[0] & 0x7f;
    bool flag = b[0] & 0x80;
    if (t == 'r') {
        uint32_t r;
        if (mar_u32(m, &r) < 0)
            return -1;
        if (r >= m->n_refs || m->refs[r] == UINT32_MAX)
            return mar_fail(m, "a reference to nothing");
        *out = m->refs[r];
        return 0;
    }
    mar_type kind = mar_kind(t);
    if (kind == (mar_type)-1)
        return mar_fail(m, "marshal type '%c' is not in a pstats file",
                        t >= 0x20 ? t : '?');
    uint32_t idx = mar_new(m, kind);
    size_t ref = m->n_refs;
    if (idx == UINT32_MAX)
        return -1;
    if (flag) {
        /* Reserved before the children: their references count after. */
        if (SG_GROW(m->refs, m->cap_refs, m->n_refs + 1) < 0)
            return mar_fail(m, "out of memory");
        m->refs[m->n_refs++] = idx;
    }
    (void)ref;
    *out = idx;
    if (kind == MAR_NONE)
        return 0;
    if (kind == MAR_TUPLE) {
        uint32_t n;
        if (t == ')') {
            if (mar_bytes(m, 1, &b) < 0)
                return -1;
            n = b[0];
        } else if (mar_u32(m, &n) < 0) {
            return -1;
        }
        if (n > (size_t)(m->end - m->p))
            return mar_fail(m, "a tuple longer than the file");
        return mar_children(m, depth, idx, n, false);
    }
    if (kind == MAR_DICT)
        return mar_children(m, depth, idx, 0, true);
    mar_val tmp = m->v[idx];
    if (mar_scalar(m, t, &tmp) < 0)
        return -1;
    m->v[idx] = tmp;
    return 0;
}

static void
mar_free(mar *m)
{
    free(m->v);
    free(m->kids);
    free(m->stack);
    free(m->refs);
}

static const mar_val *
mar_kid(const mar *m, const mar_val *v, uint32_t k)
{
    return &m->v[m->kids[v->kids + k]];
}

static bool
mar_number(const mar_val *v, double *out)
{
    if (v->type != MAR_INT && v->type != MAR_FLOAT)
        return false;
    *out = v->type == MAR_INT ? (double)v->i : v->f;
    return true;
}

/* ---- pstats ---------------------------------------------------------- */

typedef struct ps_reader {
    mar m;
    sg_funcstats *fs;
    size_t cap_f, cap_e;
    idxset index; /* rows by key */
} ps_reader;

typedef struct ps_key {
    const char *file, *name;
    int32_t line;
} ps_key;

static bool
ps_eq(const void *ctx, uint32_t idx, const void *key)
{
    const sg_fstat *f = &((const sg_funcstats *)ctx)->f[idx];
    const ps_key *k = key;
    return f->line == k->line && strcmp(f->file, k->file) == 0 &&
           strcmp(f->name, k->name) == 0;
}

static uint64_t
ps_hash(const ps_key *k)
{
    return sg_hash_bytes(k->file, strlen(k->file)) ^
           sg_hash_bytes(k->name, strlen(k->name)) * 31 ^
           sg_hash_u64((uint64_t)(uint32_t)k->line);
}

/* The row of key value v (file, line, name), added when new; SG_NO_ID
 * after an error. */
static uint32_t
ps_row(ps_reader *r, const mar_val *v)
{
    mar *m = &r->m;
    if (v->type != MAR_TUPLE || v->len != 3 ||
        mar_kid(m, v, 0)->type != MAR_STR ||
        mar_kid(m, v, 1)->type != MAR_INT ||
        mar_kid(m, v, 2)->type != MAR_STR) {
        mar_fail(m, "a function key is not (file, line, name)");
        return SG_NO_ID;
    }
    const mar_val *f = mar_kid(m, v, 0), *n = mar_kid(m, v, 2);
    ps_key k = {sg_profile_intern_n(r->fs->strings, f->s, f->len),
                sg_profile_intern_n(r->fs->strings, n->s, n->len),
                (int32_t)mar_kid(m, v, 1)->i};
    if (!k.file || !k.name) {
        mar_fail(m, "out of memory");
        return SG_NO_ID;
    }
    uint64_t h = ps_hash(&k);
    uint32_t i = idxset_find(&r->index, h, ps_eq, r->fs, &k);
    if (i != HM_NONE)
        return i;
    sg_funcstats *fs = r->fs;
    if (SG_GROW(fs->f, r->cap_f, fs->n + 1) < 0 ||
        idxset_add(&r->index, h, (uint32_t)fs->n) < 0) {
        mar_fail(m, "out of memory");
        return SG_NO_ID;
    }
    memset(&fs->f[fs->n], 0, sizeof fs->f[fs->n]);
    fs->f[fs->n].file = k.file;
    fs->f[fs->n].name = k.name;
    fs->f[fs->n].line = k.line;
    return (uint32_t)fs->n++;
}

/* Four numbers of a tuple from its k-th child on. */
static bool
ps_numbers(const mar *m, const mar_val *t, uint32_t k, double out[4])
{
    for (uint32_t i = 0; i < 4; i++)
        if (!mar_number(mar_kid(m, t, k + i), &out[i]) || out[i] < 0 ||
            !isfinite(out[i]))
            return false;
    return true;
}

/* One caller of callee: (nc, cc, tt, ct), or a count (profile.py). */
static int
ps_edge(ps_reader *r, uint32_t callee, const mar_val *key, const mar_val *val)
{
    mar *m = &r->m;
    uint32_t caller = ps_row(r, key);
    if (caller == SG_NO_ID)
        return -1;
    double x[4] = {0, 0, 0, 0};
    if (val->type == MAR_INT && val->i >= 0) {
        x[0] = x[1] = (double)val->i;
    } else if (val->type != MAR_TUPLE || val->len != 4 ||
               !ps_numbers(m, val, 0, x)) {
        return mar_fail(m, "a caller's numbers are not (nc, cc, tt, ct)");
    }
    sg_funcstats *fs = r->fs;
    if (SG_GROW(fs->e, r->cap_e, fs->n_edges + 1) < 0)
        return mar_fail(m, "out of memory");
    fs->e[fs->n_edges++] =
        (sg_fedge){caller, callee, (uint64_t)x[0], (uint64_t)x[1], x[2], x[3]};
    return 0;
}

/* One function: key -> (cc, nc, tt, ct, callers). */
static int
ps_entry(ps_reader *r, const mar_val *key, const mar_val *val)
{
    mar *m = &r->m;
    uint32_t row = ps_row(r, key);
    if (row == SG_NO_ID)
        return -1;
    double x[4];
    if (val->type != MAR_TUPLE || val->len != 5 || !ps_numbers(m, val, 0, x) ||
        mar_kid(m, val, 4)->type != MAR_DICT)
        return mar_fail(m, "a function's numbers are not (cc, nc, tt, ct, "
                           "callers)");
    sg_fstat *f = &r->fs->f[row];
    f->cc += (uint64_t)x[0];
    f->nc += (uint64_t)x[1];
    f->tt += x[2];
    f->ct += x[3];
    const mar_val *callers = mar_kid(m, val, 4);
    for (uint32_t k = 0; k + 1 < callers->len; k += 2)
        if (ps_edge(r, row, mar_kid(m, callers, k),
                    mar_kid(m, callers, k + 1)) < 0)
            return -1;
    return 0;
}

static int
ps_cmp_edge(const void *a, const void *b)
{
    const sg_fedge *x = a, *y = b;
    if (x->callee != y->callee)
        return x->callee < y->callee ? -1 : 1;
    return (x->caller > y->caller) - (x->caller < y->caller);
}

/* Edges sorted by callee, those of one pair (from several files)
 * summed, each row's first caller, the totals. */
void
sg_pstats_finish(sg_funcstats *fs)
{
    sg_sort(fs->e, fs->n_edges, sizeof *fs->e, ps_cmp_edge);
    size_t k = 0;
    for (size_t i = 0; i < fs->n_edges; i++) {
        sg_fedge *e = &fs->e[i], *last = k ? &fs->e[k - 1] : NULL;
        if (last && last->caller == e->caller && last->callee == e->callee) {
            last->nc += e->nc;
            last->cc += e->cc;
            last->tt += e->tt;
            last->ct += e->ct;
        } else {
            fs->e[k++] = *e;
        }
    }
    fs->n_edges = k;
    fs->total_calls = fs->prim_calls = 0;
    fs->total_tt = 0;
    for (size_t i = 0; i < fs->n; i++) {
        fs->f[i].callers = SG_NO_ID;
        fs->f[i].n_callers = 0;
        fs->total_calls += fs->f[i].nc;
        fs->prim_calls += fs->f[i].cc;
        fs->total_tt += fs->f[i].tt;
    }
    for (size_t i = fs->n_edges; i-- > 0;) {
        sg_fstat *f = &fs->f[fs->e[i].callee];
        f->callers = (uint32_t)i;
        f->n_callers++;
    }
}

int
sg_pstats_sniff(const char *buf, size_t n)
{
    return n >= 2 && ((unsigned char)buf[0] & 0x7f) == '{';
}

/* The index of the rows fs already has (from earlier files). */
static int
ps_reindex(ps_reader *r)
{
    for (size_t i = 0; i < r->fs->n; i++) {
        const sg_fstat *f = &r->fs->f[i];
        ps_key k = {f->file, f->name, f->line};
        if (idxset_add(&r->index, ps_hash(&k), (uint32_t)i) < 0)
            return -1;
    }
    r->cap_f = r->fs->n;
    r->cap_e = r->fs->n_edges;
    return 0;
}

int
sg_pstats_parse(const char *buf, size_t n, sg_funcstats *fs, char *err,
                size_t errn)
{
    ps_reader r = {0};
    r.fs = fs;
    r.m.p = (const unsigned char *)buf;
    r.m.end = r.m.p + n;
    r.m.err = err;
    r.m.errn = errn;
    idxset_init(&r.index);
    const char *names[] = {"ns"};
    if (!fs->strings)
        fs->strings = sg_profile_new(SG_PROFILE_DETERMINISTIC, 1, names);
    size_t n_before = fs->n;
    uint32_t top;
    int rc = fs->strings && ps_reindex(&r) == 0
                 ? 0
                 : mar_fail(&r.m, "out of memory");
    if (rc == 0 && !sg_pstats_sniff(buf, n))
        rc = mar_fail(&r.m, "not a marshal'ed dict");
    if (rc == 0)
        rc = mar_read(&r.m, 0, &top);
    if (rc == 0 && r.m.p != r.m.end)
        rc = mar_fail(&r.m, "%zu bytes after the dict",
                      (size_t)(r.m.end - r.m.p));
    const mar_val *d = rc == 0 ? &r.m.v[top] : NULL;
    for (uint32_t k = 0; rc == 0 && k + 1 < d->len; k += 2)
        rc = ps_entry(&r, mar_kid(&r.m, d, k), mar_kid(&r.m, d, k + 1));
    if (rc == 0 && fs->n == n_before)
        rc = mar_fail(&r.m, "no function in it");
    idxset_free(&r.index);
    mar_free(&r.m);
    return rc;
}

/* ---- the tree of a pstats file ---------------------------------------- */

#define PS_TREE_MAX_NODES 200000
#define PS_TREE_MAX_DEPTH 256

typedef struct ps_item {
    sg_node_id node;
    uint32_t row;
    double w, calls; /* seconds and calls of this path */
} ps_item;

typedef struct ps_tree {
    const sg_funcstats *fs;
    sg_profile *p;
    sg_frame_id *frame;        /* per row */
    uint32_t *out_first, *out; /* edges by caller: out[out_first[r]..] */
    ps_item *stack;
    size_t n_stack, cap_stack;
    double min_w;
} ps_tree;

static sg_frame_id
ps_frame(ps_tree *t, uint32_t row)
{
    if (t->frame[row] != SG_NO_ID)
        return t->frame[row];
    const sg_fstat *f = &t->fs->f[row];
    bool builtin = strcmp(f->file, "~") == 0;
    sg_func_id fn =
        sg_profile_func(t->p, builtin ? SG_FUNC_BUILTIN : SG_FUNC_PYTHON,
                        f->name, f->file, f->line, 0);
    return t->frame[row] = sg_profile_frame(t->p, fn, 0);
}

/* Whether row's function is on the path to node already. */
static bool
ps_on_path(ps_tree *t, sg_node_id node, uint32_t row)
{
    sg_frame_id fr = ps_frame(t, row);
    for (; node != SG_ROOT_NODE && node != SG_NO_ID;
         node = t->p->nodes[node].parent)
        if (t->p->nodes[node].frame == fr)
            return true;
    return false;
}

/* Callee edges of each caller, by index into fs->e. */
static int
ps_out_edges(ps_tree *t)
{
    const sg_funcstats *fs = t->fs;
    t->out_first = sg_calloc(fs->n + 1, sizeof *t->out_first);
    t->out = sg_calloc(fs->n_edges + 1, sizeof *t->out);
    if (!t->out_first || !t->out)
        return -1;
    for (size_t i = 0; i < fs->n_edges; i++)
        t->out_first[fs->e[i].caller + 1]++;
    for (size_t r = 0; r < fs->n; r++)
        t->out_first[r + 1] += t->out_first[r];
    uint32_t *fill = sg_calloc(fs->n + 1, sizeof *fill);
    if (!fill)
        return -1;
    for (size_t i = 0; i < fs->n_edges; i++) {
        uint32_t c = fs->e[i].caller;
        t->out[t->out_first[c] + fill[c]++] = (uint32_t)i;
    }
    free(fill);
    return 0;
}

static int
ps_push(ps_tree *t, sg_node_id parent, uint32_t row, double w, double calls)
{
    sg_node_id n = sg_profile_child(t->p, parent, ps_frame(t, row));
    if (n == SG_NO_ID || SG_GROW(t->stack, t->cap_stack, t->n_stack + 1) < 0)
        return -1;
    t->stack[t->n_stack++] = (ps_item){n, row, w, calls};
    return 0;
}

/* A non-negative amount as the nearest integer. */
static uint64_t
ps_round(double x)
{
    return x > 0 && x < 1.8e19 ? (uint64_t)(x + 0.5) : 0;
}

/* Expand one node: its callees in the shares of the edges' cumulative
 * times; what is not passed on is its own time. */
static int
ps_expand(ps_tree *t, ps_item it)
{
    const sg_fstat *f = &t->fs->f[it.row];
    double scale = f->ct > 0 ? it.w / f->ct : 0, kept = it.w;
    bool deep = t->p->nodes[it.node].depth >= PS_TREE_MAX_DEPTH ||
                t->p->n_nodes >= PS_TREE_MAX_NODES;
    for (uint32_t k = t->out_first[it.row];
         !deep && k < t->out_first[it.row + 1]; k++) {
        const sg_fedge *e = &t->fs->e[t->out[k]];
        double w = e->ct * scale;
        if (w > kept)
            w = kept;
        if (w < t->min_w || ps_on_path(t, it.node, e->callee))
            continue;
        double share = f->ct > 0 ? it.w / f->ct : 0;
        if (ps_push(t, it.node, e->callee, w, (double)e->nc * share) < 0)
            return -1;
        kept -= w;
    }
    sg_node *nd = &t->p->nodes[it.node];
    nd->self[0] += ps_round(kept * 1e9);
    nd->self[1] += ps_round(it.calls);
    return 0;
}

sg_profile *
sg_pstats_tree(const sg_funcstats *fs)
{
    const char *names[] = {"ns", "calls"};
    ps_tree t = {0};
    t.fs = fs;
    t.p = sg_profile_new(SG_PROFILE_DETERMINISTIC, 2, names);
    t.frame = sg_calloc(fs->n + 1, sizeof *t.frame);
    int rc = t.p && t.frame && ps_out_edges(&t) == 0 ? 0 : -1;
    double all = 0;
    for (size_t r = 0; r < fs->n; r++)
        if (fs->f[r].n_callers == 0)
            all += fs->f[r].ct;
    t.min_w = all / 20000;
    if (t.frame)
        memset(t.frame, 0xff, (fs->n + 1) * sizeof *t.frame);
    for (size_t r = 0; rc == 0 && r < fs->n; r++)
        if (fs->f[r].n_callers == 0 && fs->f[r].ct > 0)
            rc = ps_push(&t, SG_ROOT_NODE, (uint32_t)r, fs->f[r].ct,
                         (double)fs->f[r].nc);
    while (rc == 0 && t.n_stack)
        rc = ps_expand(&t, t.stack[--t.n_stack]);
    free(t.frame);
    free(t.out_first);
    free(t.out);
    free(t.stack);
    if (rc < 0 || (t.p && t.p->failed)) {
        sg_profile_free(t.p);
        return NULL;
    }
    return t.p;
}

/* ---- folded stacks ------------------------------------------------------ */

/* A folded frame "name (file:line)" as its function and frame; a frame
 * without that shape is a name alone. */
static sg_frame_id
folded_frame(sg_profile *p, const char *s, size_t n, strbuf *tmp)
{
    size_t open = n;
    if (n > 4 && s[n - 1] == ')')
        for (size_t i = n - 1; i-- > 1;)
            if (s[i] == '(' && s[i - 1] == ' ') {
                open = i;
                break;
            }
    const char *colon = NULL;
    for (size_t i = open + 1; open < n && i < n - 1; i++)
        if (s[i] == ':')
            colon = s + i;
    long line = 0;
    char *endp = NULL;
    if (colon)
        line = strtol(colon + 1, &endp, 10);
    if (!colon || endp != s + n - 1 || line < 0 || line > INT32_MAX) {
        open = n;
        line = 0;
    }
    sb_clear(tmp);
    sb_append(tmp, s, open < n ? open - 1 : n);
    const char *name = sg_profile_intern(p, sb_str(tmp));
    const char *file = "~";
    if (open < n) {
        sb_clear(tmp);
        sb_append(tmp, s + open + 1, (size_t)(colon - (s + open + 1)));
        file = sg_profile_intern(p, sb_str(tmp));
    }
    sg_func_id f = sg_profile_func(
        p, open < n ? SG_FUNC_PYTHON : SG_FUNC_OTHER, name, file, 0, 0);
    return sg_profile_frame(p, f, (int32_t)line);
}

/* One line "a;b;c N" into p. */
static int
folded_line(sg_profile *p, const char *s, size_t n, sg_frame_id **frames,
            size_t *cap, strbuf *tmp)
{
    size_t sp = n;
    while (sp > 0 && s[sp - 1] != ' ')
        sp--;
    if (sp == 0 || sp == n)
        return -1;
    uint64_t count = 0;
    for (size_t i = sp; i < n; i++) {
        if (s[i] < '0' || s[i] > '9' || count > UINT64_MAX / 10 - 10)
            return -1;
        count = count * 10 + (uint64_t)(s[i] - '0');
    }
    size_t k = 0, start = 0;
    for (size_t i = 0; i <= sp - 1; i++) {
        if (i < sp - 1 && s[i] != ';')
            continue;
        if (SG_GROW(*frames, *cap, k + 1) < 0)
            return -2;
        (*frames)[k++] = folded_frame(p, s + start, i - start, tmp);
        start = i + 1;
    }
    sg_profile_add_stack(p, SG_ROOT_NODE, *frames, k, 0, count);
    return p->failed ? -2 : 0;
}

int
sg_folded_parse(const char *buf, size_t n, sg_profile **out, char *err,
                size_t errn)
{
    const char *names[] = {"samples"};
    sg_profile *p = *out ? *out : sg_profile_new(SG_PROFILE_SAMPLED, 1, names);
    sg_frame_id *frames = NULL;
    size_t cap = 0, line = 0, lines = 0;
    strbuf tmp = STRBUF_INIT;
    int rc = p ? 0 : -2;
    for (size_t i = 0; rc == 0 && i < n;) {
        const char *nl = memchr(buf + i, '\n', n - i);
        size_t len = nl ? (size_t)(nl - (buf + i)) : n - i;
        line++;
        if (len && buf[i + len - 1] == '\r')
            len--;
        if (len) {
            rc = folded_line(p, buf + i, len, &frames, &cap, &tmp);
            lines++;
        }
        i += (nl ? (size_t)(nl - (buf + i)) + 1 : n - i);
    }
    if (rc == 0 && lines == 0)
        rc = -1;
    if (rc == -1)
        snprintf(err, errn,
                 lines ? "line %zu: not 'frame;frame;... COUNT'"
                       : "no stack in it",
                 line);
    else if (rc == -2)
        snprintf(err, errn, "out of memory");
    free(frames);
    sb_free(&tmp);
    if (rc < 0 || sb_failed(&tmp)) {
        if (p != *out)
            sg_profile_free(p);
        return -1;
    }
    *out = p;
    return 0;
}
