/* hashmap.c -- see hashmap.h. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/hashmap.h"

void
hm64_init(hm64 *m)
{
    memset(m, 0, sizeof *m);
}

void
hm64_free(hm64 *m)
{
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

uint32_t
hm64_get(const hm64 *m, uint64_t key)
{
    if (m->cap == 0)
        return HM_NONE;
    size_t mask = m->cap - 1;
    for (size_t i = sg_hash_u64(key) & mask;; i = (i + 1) & mask) {
        if (m->vals[i] == HM_NONE)
            return HM_NONE;
        if (m->keys[i] == key)
            return m->vals[i];
    }
}

static void
hm64_grow(hm64 *m)
{
    size_t old_cap = m->cap;
    uint64_t *old_keys = m->keys;
    uint32_t *old_vals = m->vals;
    m->cap = old_cap ? old_cap * 2 : 64;
    m->keys = sg_xmalloc(m->cap * sizeof *m->keys);
    m->vals = sg_xmalloc(m->cap * sizeof *m->vals);
    memset(m->vals, 0xff, m->cap * sizeof *m->vals);
    m->len = 0;
    for (size_t i = 0; i < old_cap; i++)
        if (old_vals[i] != HM_NONE)
            hm64_put(m, old_keys[i], old_vals[i]);
    free(old_keys);
    free(old_vals);
}

void
hm64_put(hm64 *m, uint64_t key, uint32_t val)
{
    assert(val != HM_NONE);
    if ((m->len + 1) * 2 > m->cap)
        hm64_grow(m);
    size_t mask = m->cap - 1;
    for (size_t i = sg_hash_u64(key) & mask;; i = (i + 1) & mask) {
        if (m->vals[i] == HM_NONE) {
            m->keys[i] = key;
            m->vals[i] = val;
            m->len++;
            return;
        }
        if (m->keys[i] == key) {
            m->vals[i] = val;
            return;
        }
    }
}

void
idxset_init(idxset *s)
{
    memset(s, 0, sizeof *s);
}

void
idxset_free(idxset *s)
{
    free(s->slots);
    free(s->hashes);
    memset(s, 0, sizeof *s);
}

uint32_t
idxset_find(const idxset *s, uint64_t hash, idxset_eq_fn eq, const void *ctx,
            const void *key)
{
    if (s->cap == 0)
        return HM_NONE;
    size_t mask = s->cap - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
        if (s->slots[i] == 0)
            return HM_NONE;
        if (s->hashes[i] == hash && eq(ctx, s->slots[i] - 1, key))
            return s->slots[i] - 1;
    }
}

static void
idxset_insert(idxset *s, uint64_t hash, uint32_t idx)
{
    size_t mask = s->cap - 1;
    size_t i = hash & mask;
    while (s->slots[i] != 0)
        i = (i + 1) & mask;
    s->slots[i] = idx + 1;
    s->hashes[i] = hash;
    s->len++;
}

void
idxset_add(idxset *s, uint64_t hash, uint32_t idx)
{
    assert(idx != HM_NONE);
    if ((s->len + 1) * 2 > s->cap) {
        size_t old_cap = s->cap;
        uint32_t *old_slots = s->slots;
        uint64_t *old_hashes = s->hashes;
        s->cap = old_cap ? old_cap * 2 : 64;
        s->slots = sg_xcalloc(s->cap, sizeof *s->slots);
        s->hashes = sg_xmalloc(s->cap * sizeof *s->hashes);
        s->len = 0;
        for (size_t i = 0; i < old_cap; i++)
            if (old_slots[i])
                idxset_insert(s, old_hashes[i], old_slots[i] - 1);
        free(old_slots);
        free(old_hashes);
    }
    idxset_insert(s, hash, idx);
}

uint64_t
sg_hash_bytes(const void *data, size_t n)
{
    const unsigned char *p = data;
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}
