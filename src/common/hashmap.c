/* hashmap.c -- see hashmap.h. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
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

/* Insert into a table known to have room. */
static void
hm64_insert(hm64 *m, uint64_t key, uint32_t val)
{
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

static int
hm64_grow(hm64 *m)
{
    size_t cap = m->cap ? m->cap * 2 : 64;
    uint64_t *keys = sg_reallocarray(NULL, cap, sizeof *keys);
    uint32_t *vals = sg_reallocarray(NULL, cap, sizeof *vals);
    if (!keys || !vals) {
        free(keys);
        free(vals);
        return -1;
    }
    memset(vals, 0xff, cap * sizeof *vals);
    hm64 old = *m;
    m->keys = keys;
    m->vals = vals;
    m->cap = cap;
    m->len = 0;
    for (size_t i = 0; i < old.cap; i++)
        if (old.vals[i] != HM_NONE)
            hm64_insert(m, old.keys[i], old.vals[i]);
    free(old.keys);
    free(old.vals);
    return 0;
}

int
hm64_put(hm64 *m, uint64_t key, uint32_t val)
{
    assert(val != HM_NONE);
    /* Grow only for a new key: overwriting always succeeds. */
    if ((m->len + 1) * 2 > m->cap && hm64_get(m, key) == HM_NONE &&
        hm64_grow(m) < 0)
        return -1;
    hm64_insert(m, key, val);
    return 0;
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

int
idxset_add(idxset *s, uint64_t hash, uint32_t idx)
{
    assert(idx != HM_NONE);
    if ((s->len + 1) * 2 > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        uint32_t *slots = sg_calloc(cap, sizeof *slots);
        uint64_t *hashes = sg_reallocarray(NULL, cap, sizeof *hashes);
        if (!slots || !hashes) {
            free(slots);
            free(hashes);
            return -1;
        }
        idxset old = *s;
        s->slots = slots;
        s->hashes = hashes;
        s->cap = cap;
        s->len = 0;
        for (size_t i = 0; i < old.cap; i++)
            if (old.slots[i])
                idxset_insert(s, old.hashes[i], old.slots[i] - 1);
        free(old.slots);
        free(old.hashes);
    }
    idxset_insert(s, hash, idx);
    return 0;
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
