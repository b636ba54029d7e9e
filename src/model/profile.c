/* profile.c -- interning tables and the calling-context tree; see profile.h.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "model/profile.h"

/* Grow *arr (of *cap elements of size sz) so that it holds at least need. */
static void
grow(void **arr, size_t *cap, size_t need, size_t sz)
{
    if (need <= *cap)
        return;
    size_t c = *cap ? *cap : 64;
    while (c < need)
        c *= 2;
    *arr = sg_xrealloc(*arr, c * sz);
    *cap = c;
}

#define GROW(p, field, n)                                                     \
    grow((void **)&(p)->field, &(p)->cap_##field, (n), sizeof *(p)->field)

sg_profile *
sg_profile_new(sg_profile_kind kind, int n_metrics,
               const char *const *metric_names)
{
    assert(n_metrics >= 1 && n_metrics <= SG_MAX_METRICS);
    sg_profile *p = sg_xcalloc(1, sizeof *p);
    p->kind = kind;
    idxset_init(&p->str_index);
    idxset_init(&p->func_index);
    hm64_init(&p->frame_index);
    hm64_init(&p->node_index);
    hm64_init(&p->line_index);
    p->n_metrics = n_metrics;
    for (int i = 0; i < n_metrics; i++)
        p->metric_names[i] = sg_profile_intern(p, metric_names[i]);
    /* The root node. */
    GROW(p, nodes, 1);
    memset(&p->nodes[0], 0, sizeof p->nodes[0]);
    p->nodes[0].frame = SG_NO_ID;
    p->nodes[0].parent = SG_NO_ID;
    p->nodes[0].first_child = SG_NO_ID;
    p->nodes[0].next_sibling = SG_NO_ID;
    p->n_nodes = 1;
    return p;
}

void
sg_profile_free(sg_profile *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n_strs; i++)
        free(p->strs[i]);
    free(p->strs);
    free(p->funcs);
    free(p->frames);
    free(p->nodes);
    free(p->lines);
    free(p->meta);
    idxset_free(&p->str_index);
    idxset_free(&p->func_index);
    hm64_free(&p->frame_index);
    hm64_free(&p->node_index);
    hm64_free(&p->line_index);
    free(p);
}

int
sg_profile_metric(const sg_profile *p, const char *name)
{
    for (int i = 0; i < p->n_metrics; i++)
        if (strcmp(p->metric_names[i], name) == 0)
            return i;
    return -1;
}

typedef struct str_key {
    const char *s;
    size_t n;
} str_key;

static bool
str_eq(const void *ctx, uint32_t idx, const void *key)
{
    const sg_profile *p = ctx;
    const str_key *k = key;
    const char *s = p->strs[idx];
    return strncmp(s, k->s, k->n) == 0 && s[k->n] == '\0';
}

const char *
sg_profile_intern_n(sg_profile *p, const char *s, size_t n)
{
    str_key k = {s, n};
    uint64_t h = sg_hash_bytes(s, n);
    uint32_t idx = idxset_find(&p->str_index, h, str_eq, p, &k);
    if (idx != HM_NONE)
        return p->strs[idx];
    char *copy = sg_xmalloc(n + 1);
    memcpy(copy, s, n);
    copy[n] = '\0';
    GROW(p, strs, p->n_strs + 1);
    p->strs[p->n_strs] = copy;
    idxset_add(&p->str_index, h, (uint32_t)p->n_strs);
    p->n_strs++;
    return copy;
}

const char *
sg_profile_intern(sg_profile *p, const char *s)
{
    return sg_profile_intern_n(p, s ? s : "", s ? strlen(s) : 0);
}

static bool
func_eq(const void *ctx, uint32_t idx, const void *key)
{
    const sg_func *a = &((const sg_profile *)ctx)->funcs[idx];
    const sg_func *b = key;
    /* Interned strings compare by pointer. */
    return a->name == b->name && a->file == b->file &&
           a->first_line == b->first_line && a->kind == b->kind &&
           a->id == b->id;
}

static uint64_t
func_hash(const sg_func *f)
{
    uint64_t h = sg_hash_u64((uint64_t)(uintptr_t)f->name);
    h = sg_hash_u64(h ^ (uint64_t)(uintptr_t)f->file);
    h = sg_hash_u64(h ^ (((uint64_t)(uint32_t)f->first_line << 8) | f->kind));
    return sg_hash_u64(h ^ f->id);
}

sg_func_id
sg_profile_func(sg_profile *p, sg_func_kind kind, const char *name,
                const char *file, int32_t first_line, uint64_t id)
{
    sg_func key = {sg_profile_intern(p, name), sg_profile_intern(p, file),
                   first_line, (uint8_t)kind, id};
    uint64_t h = func_hash(&key);
    uint32_t idx = idxset_find(&p->func_index, h, func_eq, p, &key);
    if (idx != HM_NONE)
        return idx;
    GROW(p, funcs, p->n_funcs + 1);
    p->funcs[p->n_funcs] = key;
    idxset_add(&p->func_index, h, (uint32_t)p->n_funcs);
    return (sg_func_id)p->n_funcs++;
}

static uint64_t
pair_key(uint32_t a, int32_t b)
{
    return ((uint64_t)a << 32) | (uint32_t)b;
}

sg_frame_id
sg_profile_frame(sg_profile *p, sg_func_id func, int32_t line)
{
    assert(func < p->n_funcs);
    uint64_t key = pair_key(func, line);
    uint32_t idx = hm64_get(&p->frame_index, key);
    if (idx != HM_NONE)
        return idx;
    GROW(p, frames, p->n_frames + 1);
    p->frames[p->n_frames].func = func;
    p->frames[p->n_frames].line = line;
    hm64_put(&p->frame_index, key, (uint32_t)p->n_frames);
    return (sg_frame_id)p->n_frames++;
}

sg_node_id
sg_profile_child(sg_profile *p, sg_node_id parent, sg_frame_id frame)
{
    assert(parent < p->n_nodes && frame < p->n_frames);
    uint64_t key = pair_key(parent, (int32_t)frame);
    uint32_t idx = hm64_get(&p->node_index, key);
    if (idx != HM_NONE)
        return idx;
    GROW(p, nodes, p->n_nodes + 1);
    sg_node *n = &p->nodes[p->n_nodes];
    memset(n, 0, sizeof *n);
    n->frame = frame;
    n->parent = parent;
    n->first_child = SG_NO_ID;
    n->depth = p->nodes[parent].depth + 1;
    /* Prepend: writers that need an order sort siblings themselves. */
    n->next_sibling = p->nodes[parent].first_child;
    p->nodes[parent].first_child = (sg_node_id)p->n_nodes;
    hm64_put(&p->node_index, key, (uint32_t)p->n_nodes);
    return (sg_node_id)p->n_nodes++;
}

sg_node_id
sg_profile_add_stack(sg_profile *p, sg_node_id parent,
                     const sg_frame_id *frames, size_t n, int metric,
                     uint64_t value)
{
    assert(metric >= 0 && metric < p->n_metrics);
    sg_node_id node = parent;
    for (size_t i = 0; i < n; i++)
        node = sg_profile_child(p, node, frames[i]);
    p->nodes[node].self[metric] += value;
    return node;
}

sg_line *
sg_profile_line(sg_profile *p, sg_func_id func, int32_t line)
{
    assert(func < p->n_funcs);
    uint64_t key = pair_key(func, line);
    uint32_t idx = hm64_get(&p->line_index, key);
    if (idx != HM_NONE)
        return &p->lines[idx];
    GROW(p, lines, p->n_lines + 1);
    sg_line *l = &p->lines[p->n_lines];
    memset(l, 0, sizeof *l);
    l->func = func;
    l->line = line;
    hm64_put(&p->line_index, key, (uint32_t)p->n_lines);
    p->n_lines++;
    return l;
}

sg_node_id
sg_profile_thread_root(sg_profile *p, sg_node_id parent, uint64_t tid,
                       const char *name)
{
    char buf[64];
    if (!name || !*name) {
        snprintf(buf, sizeof buf, "thread 0x%llx", (unsigned long long)tid);
        name = buf;
    }
    sg_func_id f = sg_profile_func(p, SG_FUNC_THREAD, name, "", 0, tid);
    return sg_profile_child(p, parent, sg_profile_frame(p, f, 0));
}

sg_node_id
sg_profile_process_root(sg_profile *p, uint64_t pid, const char *cmdline)
{
    char buf[64];
    if (!cmdline || !*cmdline) {
        snprintf(buf, sizeof buf, "process %llu", (unsigned long long)pid);
        cmdline = buf;
    }
    sg_func_id f = sg_profile_func(p, SG_FUNC_PROCESS, cmdline, "", 0, pid);
    return sg_profile_child(p, SG_ROOT_NODE, sg_profile_frame(p, f, 0));
}

void
sg_profile_set_meta(sg_profile *p, const char *key, const char *value)
{
    key = sg_profile_intern(p, key);
    value = sg_profile_intern(p, value);
    for (size_t i = 0; i < p->n_meta; i++) {
        if (p->meta[i].key == key) {
            p->meta[i].value = value;
            return;
        }
    }
    GROW(p, meta, p->n_meta + 1);
    p->meta[p->n_meta].key = key;
    p->meta[p->n_meta].value = value;
    p->n_meta++;
}

const char *
sg_profile_get_meta(const sg_profile *p, const char *key)
{
    for (size_t i = 0; i < p->n_meta; i++)
        if (strcmp(p->meta[i].key, key) == 0)
            return p->meta[i].value;
    return NULL;
}

void
sg_profile_totals(const sg_profile *p, uint64_t *out)
{
    size_t m = (size_t)p->n_metrics;
    for (size_t i = 0; i < p->n_nodes; i++)
        memcpy(&out[i * m], p->nodes[i].self, m * sizeof *out);
    for (size_t i = p->n_nodes; i-- > 1;) {
        sg_node_id parent = p->nodes[i].parent;
        assert(parent < i);
        for (size_t k = 0; k < m; k++)
            out[parent * m + k] += out[i * m + k];
    }
}
