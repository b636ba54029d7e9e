/* profile.c -- interning tables and the calling-context tree; see profile.h.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "model/profile.h"

/* A failed growth or index insertion loses nothing already stored: the
 * entry being added is not committed, and p says so. */
static int
checked(sg_profile *p, int rc)
{
    if (rc < 0)
        p->failed = true;
    return rc;
}

#define GROW(p, field, n)                                                     \
    checked((p), SG_GROW((p)->field, (p)->cap_##field, (n)))

sg_profile *
sg_profile_new(sg_profile_kind kind, int n_metrics,
               const char *const *metric_names)
{
    assert(n_metrics >= 1 && n_metrics <= SG_MAX_METRICS);
    sg_profile *p = sg_calloc(1, sizeof *p);
    if (!p)
        return NULL;
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
    if (p->failed || GROW(p, nodes, 1) < 0) {
        sg_profile_free(p);
        return NULL;
    }
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
    free(p->stamps);
    free(p->thread_times);
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
    char *copy = n < SIZE_MAX ? sg_malloc(n + 1) : NULL;
    if (!copy || GROW(p, strs, p->n_strs + 1) < 0 ||
        checked(p, idxset_add(&p->str_index, h, (uint32_t)p->n_strs)) < 0) {
        p->failed = true;
        free(copy);
        return NULL;
    }
    memcpy(copy, s, n);
    copy[n] = '\0';
    p->strs[p->n_strs++] = copy;
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
           a->id == b->id && a->variant == b->variant;
}

static uint64_t
func_hash(const sg_func *f)
{
    uint64_t h = sg_hash_u64((uint64_t)(uintptr_t)f->name);
    h = sg_hash_u64(h ^ (uint64_t)(uintptr_t)f->file);
    h = sg_hash_u64(h ^ (((uint64_t)(uint32_t)f->first_line << 8) | f->kind));
    return sg_hash_u64(h ^ f->id ^ ((uint64_t)f->variant << 48));
}

sg_func_id
sg_profile_func(sg_profile *p, sg_func_kind kind, const char *name,
                const char *file, int32_t first_line, uint64_t id)
{
    return sg_profile_func_variant(p, kind, name, file, first_line, id, 0);
}

sg_func_id
sg_profile_func_variant(sg_profile *p, sg_func_kind kind, const char *name,
                        const char *file, int32_t first_line, uint64_t id,
                        uint32_t variant)
{
    sg_func key = {sg_profile_intern(p, name),
                   sg_profile_intern(p, file),
                   first_line,
                   (uint8_t)kind,
                   id,
                   variant};
    if (!key.name || !key.file)
        return SG_NO_ID;
    uint64_t h = func_hash(&key);
    uint32_t idx = idxset_find(&p->func_index, h, func_eq, p, &key);
    if (idx != HM_NONE)
        return idx;
    /* The entry is committed (n_funcs) only once it is indexed. */
    if (GROW(p, funcs, p->n_funcs + 1) < 0 ||
        checked(p, idxset_add(&p->func_index, h, (uint32_t)p->n_funcs)) < 0)
        return SG_NO_ID;
    p->funcs[p->n_funcs] = key;
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
    if (func == SG_NO_ID) /* a failure upstream, already recorded */
        return SG_NO_ID;
    assert(func < p->n_funcs);
    uint64_t key = pair_key(func, line);
    uint32_t idx = hm64_get(&p->frame_index, key);
    if (idx != HM_NONE)
        return idx;
    if (GROW(p, frames, p->n_frames + 1) < 0 ||
        checked(p, hm64_put(&p->frame_index, key, (uint32_t)p->n_frames)) < 0)
        return SG_NO_ID;
    p->frames[p->n_frames].func = func;
    p->frames[p->n_frames].line = line;
    return (sg_frame_id)p->n_frames++;
}

sg_node_id
sg_profile_child(sg_profile *p, sg_node_id parent, sg_frame_id frame)
{
    if (parent == SG_NO_ID || frame == SG_NO_ID)
        return SG_NO_ID;
    assert(parent < p->n_nodes && frame < p->n_frames);
    uint64_t key = pair_key(parent, (int32_t)frame);
    uint32_t idx = hm64_get(&p->node_index, key);
    if (idx != HM_NONE)
        return idx;
    if (GROW(p, nodes, p->n_nodes + 1) < 0 ||
        checked(p, hm64_put(&p->node_index, key, (uint32_t)p->n_nodes)) < 0)
        return SG_NO_ID;
    sg_node *n = &p->nodes[p->n_nodes];
    memset(n, 0, sizeof *n);
    n->frame = frame;
    n->parent = parent;
    n->first_child = SG_NO_ID;
    n->depth = p->nodes[parent].depth + 1;
    /* Prepend: writers that need an order sort siblings themselves. */
    n->next_sibling = p->nodes[parent].first_child;
    p->nodes[parent].first_child = (sg_node_id)p->n_nodes;
    return (sg_node_id)p->n_nodes++;
}

sg_node_id
sg_profile_add_stack(sg_profile *p, sg_node_id parent,
                     const sg_frame_id *frames, size_t n, int metric,
                     uint64_t value)
{
    assert(metric >= 0 && metric < p->n_metrics);
    sg_node_id node = parent;
    for (size_t i = 0; i < n && node != SG_NO_ID; i++)
        node = sg_profile_child(p, node, frames[i]);
    if (node == SG_NO_ID) {
        p->failed = true; /* the sample is lost: say so */
        return SG_NO_ID;
    }
    p->nodes[node].self[metric] += value;
    return node;
}

sg_line *
sg_profile_line(sg_profile *p, sg_func_id func, int32_t line)
{
    if (func == SG_NO_ID)
        return NULL;
    assert(func < p->n_funcs);
    uint64_t key = pair_key(func, line);
    uint32_t idx = hm64_get(&p->line_index, key);
    if (idx != HM_NONE)
        return &p->lines[idx];
    if (GROW(p, lines, p->n_lines + 1) < 0 ||
        checked(p, hm64_put(&p->line_index, key, (uint32_t)p->n_lines)) < 0)
        return NULL;
    sg_line *l = &p->lines[p->n_lines++];
    memset(l, 0, sizeof *l);
    l->func = func;
    l->line = line;
    return l;
}

void
sg_profile_stamp(sg_profile *p, sg_node_id node, uint64_t t_ns)
{
    if (node == SG_NO_ID)
        return;
    assert(node < p->n_nodes);
    assert(p->n_stamps == 0 || p->stamps[p->n_stamps - 1].t_ns <= t_ns);
    if (GROW(p, stamps, p->n_stamps + 1) < 0)
        return;
    p->stamps[p->n_stamps].t_ns = t_ns;
    p->stamps[p->n_stamps].node = node;
    p->n_stamps++;
}

sg_func_id
sg_profile_thread_func(sg_profile *p, uint64_t tid, const char *name)
{
    char buf[64];
    if (!name || !*name) {
        snprintf(buf, sizeof buf, "thread 0x%llx", (unsigned long long)tid);
        name = buf;
    }
    return sg_profile_func(p, SG_FUNC_THREAD, name, "", 0, tid);
}

sg_node_id
sg_profile_thread_root(sg_profile *p, sg_node_id parent, uint64_t tid,
                       const char *name)
{
    sg_func_id f = sg_profile_thread_func(p, tid, name);
    return sg_profile_child(p, parent, sg_profile_frame(p, f, 0));
}

/* The tree again, node by node in id order (a parent before its
 * children), each under its parent's new id with frame[node]: nodes that
 * come to share (parent, frame) become one, weights summed. */
static int
rebuild_tree(sg_profile *p, const sg_frame_id *frame, sg_node_id *map)
{
    sg_node *nodes = sg_reallocarray(NULL, p->n_nodes, sizeof *nodes);
    hm64 index;
    hm64_init(&index);
    if (!nodes)
        return -1;
    nodes[0] = p->nodes[0];
    nodes[0].first_child = SG_NO_ID;
    map[0] = SG_ROOT_NODE;
    size_t n = 1;
    for (size_t i = 1; i < p->n_nodes; i++) {
        const sg_node *old = &p->nodes[i];
        assert(old->parent < i);
        sg_node_id parent = map[old->parent];
        uint64_t key = pair_key(parent, (int32_t)frame[i]);
        uint32_t idx = hm64_get(&index, key);
        if (idx == HM_NONE) {
            if (hm64_put(&index, key, (uint32_t)n) < 0) {
                free(nodes);
                hm64_free(&index);
                return -1;
            }
            idx = (uint32_t)n++;
            sg_node *nn = &nodes[idx];
            memset(nn, 0, sizeof *nn);
            nn->frame = frame[i];
            nn->parent = parent;
            nn->first_child = SG_NO_ID;
            nn->depth = old->depth;
            nn->next_sibling = nodes[parent].first_child;
            nodes[parent].first_child = idx;
        }
        for (int m = 0; m < SG_MAX_METRICS; m++)
            nodes[idx].self[m] += old->self[m];
        map[i] = idx;
    }
    free(p->nodes);
    hm64_free(&p->node_index);
    p->cap_nodes = p->n_nodes;
    p->nodes = nodes;
    p->n_nodes = n;
    p->node_index = index;
    return 0;
}

int
sg_profile_reframe(sg_profile *p, const sg_node_id *nodes,
                   const sg_frame_id *frames, size_t n)
{
    if (n == 0)
        return 0;
    sg_frame_id *frame = sg_reallocarray(NULL, p->n_nodes, sizeof *frame);
    sg_node_id *map = sg_reallocarray(NULL, p->n_nodes, sizeof *map);
    int rc = -1;
    if (frame && map) {
        for (size_t i = 0; i < p->n_nodes; i++)
            frame[i] = p->nodes[i].frame;
        for (size_t i = 0; i < n; i++) {
            assert(nodes[i] != SG_ROOT_NODE && nodes[i] < p->n_nodes);
            assert(frames[i] < p->n_frames);
            frame[nodes[i]] = frames[i];
        }
        rc = rebuild_tree(p, frame, map);
    }
    /* Stamps name nodes by id: they follow their nodes. */
    if (rc == 0)
        for (size_t i = 0; i < p->n_stamps; i++)
            p->stamps[i].node = map[p->stamps[i].node];
    if (rc < 0)
        p->failed = true;
    free(frame);
    free(map);
    return rc;
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

int
sg_profile_set_meta(sg_profile *p, const char *key, const char *value)
{
    key = sg_profile_intern(p, key);
    value = sg_profile_intern(p, value);
    if (!key || !value)
        return -1;
    for (size_t i = 0; i < p->n_meta; i++) {
        if (p->meta[i].key == key) {
            p->meta[i].value = value;
            return 0;
        }
    }
    if (GROW(p, meta, p->n_meta + 1) < 0)
        return -1;
    p->meta[p->n_meta].key = key;
    p->meta[p->n_meta].value = value;
    p->n_meta++;
    return 0;
}

const sg_thread_time *
sg_profile_thread_time(const sg_profile *p, sg_func_id thread)
{
    /* A few threads, read once per table: a scan is enough. */
    for (size_t i = 0; i < p->n_thread_times; i++)
        if (p->thread_times[i].thread == thread)
            return &p->thread_times[i];
    return NULL;
}

int
sg_profile_add_thread_time(sg_profile *p, sg_func_id thread, uint64_t cpu_ns,
                           uint64_t wall_ns, bool cpu_known)
{
    if (thread == SG_NO_ID)
        return -1;
    sg_thread_time *t = (sg_thread_time *)sg_profile_thread_time(p, thread);
    if (!t) {
        if (GROW(p, thread_times, p->n_thread_times + 1) < 0)
            return -1;
        t = &p->thread_times[p->n_thread_times++];
        *t = (sg_thread_time){thread, 0, 0, true};
    }
    t->cpu_ns += cpu_ns;
    t->wall_ns += wall_ns;
    t->cpu_known = t->cpu_known && cpu_known;
    return 0;
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

/* The elision frame for n frames, in c. */
static sg_frame_id
elided_frame(sg_profile *c, uint32_t n)
{
    char name[64];
    snprintf(name, sizeof name, "[%u frames elided]", n);
    return sg_profile_frame(
        c, sg_profile_func(c, SG_FUNC_OTHER, name, "", 0, 0), 0);
}

/* Copy p's functions and frames into c, frame ids kept. */
static int
copy_frames(sg_profile *c, const sg_profile *p)
{
    for (size_t i = 0; i < p->n_frames; i++) {
        const sg_func *f = &p->funcs[p->frames[i].func];
        sg_func_id nf =
            sg_profile_func_variant(c, (sg_func_kind)f->kind, f->name, f->file,
                                    f->first_line, f->id, f->variant);
        if (sg_profile_frame(c, nf, p->frames[i].line) != i)
            return -1;
    }
    return 0;
}

sg_profile *
sg_profile_cut(const sg_profile *p, uint32_t max_depth)
{
    sg_profile *c = sg_profile_new(p->kind, p->n_metrics, p->metric_names);
    sg_node_id *map = sg_reallocarray(NULL, p->n_nodes, sizeof *map);
    sg_node_id *top = sg_reallocarray(NULL, p->n_nodes, sizeof *top);
    if (!c || !map || !top || copy_frames(c, p) < 0)
        goto fail;
    c->sample_interval_ns = p->sample_interval_ns;
    for (size_t i = 0; i < p->n_meta; i++)
        if (sg_profile_set_meta(c, p->meta[i].key, p->meta[i].value) < 0)
            goto fail;
    /* Parents come before children. First pass: the first elided node
     * (depth max_depth + 1) above each deeper node, and in map[] of that
     * node the number of frames its deepest stack loses. */
    for (size_t i = 1; i < p->n_nodes; i++) {
        const sg_node *n = &p->nodes[i];
        assert(n->parent < i);
        if (n->depth <= max_depth)
            continue;
        top[i] = n->depth == max_depth + 1 ? (sg_node_id)i : top[n->parent];
        if (top[i] == i)
            map[i] = 0;
        if (n->depth - max_depth > map[top[i]])
            map[top[i]] = n->depth - max_depth;
    }
    /* Second pass: copy the kept nodes, fold the elided ones. */
    map[0] = SG_ROOT_NODE;
    for (size_t i = 1; i < p->n_nodes; i++) {
        const sg_node *n = &p->nodes[i];
        sg_node_id to;
        if (n->depth <= max_depth)
            to = sg_profile_child(c, map[n->parent], n->frame);
        else if (n->depth == max_depth + 1)
            to = sg_profile_child(c, map[n->parent], elided_frame(c, map[i]));
        else
            to = map[n->parent];
        if (to == SG_NO_ID)
            goto fail;
        map[i] = to;
        for (int m = 0; m < p->n_metrics; m++)
            c->nodes[to].self[m] += n->self[m];
    }
    for (size_t i = 0; i < p->n_stamps; i++)
        sg_profile_stamp(c, map[p->stamps[i].node], p->stamps[i].t_ns);
    if (c->failed)
        goto fail;
    free(map);
    free(top);
    return c;
fail:
    free(map);
    free(top);
    sg_profile_free(c);
    return NULL;
}
