/* blocks.c -- the table of live blocks (blocks.h): the shadow of the
 * address space for aligned addresses, a hash table for the rest.
 *
 * Memory. Leaves are anonymous mappings, so that only their pages that
 * hold slots become resident; directories and the hash table come from
 * the C library. None of it comes from the allocators the engine traces
 * (the engine marks its thread busy around these calls, and a preloaded
 * shim ignores them).
 */
#include "agent/memory/blocks.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define MEM_LEAF_SLOTS ((size_t)1 << (MEM_SHADOW_LEAF - MEM_SHADOW_GRANULE))
#define MEM_LEAF_BYTES (MEM_LEAF_SLOTS * sizeof(mem_slot))

mem_slot **mem_shadow_top[1 << MEM_SHADOW_TOP];
struct mem_shadow_last mem_shadow_last = {UINTPTR_MAX, NULL};
size_t mem_blocks_live;

/* The leaves made, for mem_blocks_each and mem_blocks_clear. */
typedef struct mem_leaf {
    uintptr_t base; /* the first address it covers */
    mem_slot *v;
} mem_leaf;

static mem_leaf *mem_leaves;
static size_t mem_n_leaves, mem_cap_leaves;

/* ---- the shadow ---- */

/* Make the leaf covering p (and its directory); its slot for p, or NULL
 * when out of memory. */
static mem_slot *
mem_shadow_make(uintptr_t p)
{
    mem_slot ***mid = &mem_shadow_top[p >> (MEM_SHADOW_BITS - MEM_SHADOW_TOP)];
    if (!*mid && !(*mid = calloc((size_t)1 << MEM_SHADOW_MID, sizeof **mid)))
        return NULL;
    if (mem_n_leaves == mem_cap_leaves) {
        size_t cap = mem_cap_leaves ? mem_cap_leaves * 2 : 64;
        mem_leaf *v = realloc(mem_leaves, cap * sizeof *v);
        if (!v)
            return NULL;
        mem_leaves = v;
        mem_cap_leaves = cap;
    }
    void *leaf = mmap(NULL, MEM_LEAF_BYTES, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (leaf == MAP_FAILED)
        return NULL;
    uintptr_t base = p & ~(((uintptr_t)1 << MEM_SHADOW_LEAF) - 1);
    mem_leaves[mem_n_leaves++] = (mem_leaf){base, leaf};
    (*mid)[(p >> MEM_SHADOW_LEAF) & ((1u << MEM_SHADOW_MID) - 1)] = leaf;
    return mem_shadow_slot(p);
}

/* ---- the hash table: open addressing, linear probing ---- */

typedef struct mem_hent {
    uintptr_t key; /* 0: empty */
    mem_slot s;
} mem_hent;

static mem_hent *mem_hash;
static size_t mem_hash_n, mem_hash_cap;
static int mem_hash_bits; /* mem_hash_cap == 1 << mem_hash_bits */

static inline size_t
mem_hash_home(uintptr_t p, int bits)
{
    return (size_t)((uint64_t)p * 0x9E3779B97F4A7C15ull >> (64 - bits));
}

static int
mem_hash_grow(void)
{
    int bits = mem_hash_cap ? mem_hash_bits + 1 : 10;
    size_t cap = (size_t)1 << bits;
    mem_hent *v = calloc(cap, sizeof *v);
    if (!v)
        return -1;
    for (size_t i = 0; i < mem_hash_cap; i++) {
        if (!mem_hash[i].key)
            continue;
        size_t j = mem_hash_home(mem_hash[i].key, bits);
        while (v[j].key)
            j = (j + 1) & (cap - 1);
        v[j] = mem_hash[i];
    }
    free(mem_hash);
    mem_hash = v;
    mem_hash_cap = cap;
    mem_hash_bits = bits;
    return 0;
}

/* The entry of p, or the empty one where it would go (a table exists). */
static mem_hent *
mem_hash_find(uintptr_t p)
{
    size_t mask = mem_hash_cap - 1, i = mem_hash_home(p, mem_hash_bits);
    while (mem_hash[i].key && mem_hash[i].key != p)
        i = (i + 1) & mask;
    return &mem_hash[i];
}

mem_slot *
mem_blocks_hash_get(uintptr_t p)
{
    if (!mem_hash_n)
        return NULL;
    mem_hent *e = mem_hash_find(p);
    return e->key ? &e->s : NULL;
}

mem_slot *
mem_blocks_put_slow(uintptr_t p)
{
    if (mem_blocks_shadowed(p)) {
        mem_slot *s = mem_shadow_make(p);
        if (s)
            mem_blocks_live++;
        return s;
    }
    if ((mem_hash_n + 1) * 2 > mem_hash_cap && mem_hash_grow() < 0)
        return NULL;
    mem_hent *e = mem_hash_find(p);
    if (!e->key) {
        e->key = p;
        e->s = (mem_slot){0, 0};
        mem_hash_n++;
        mem_blocks_live++;
    }
    return &e->s;
}

/* Empty the entry of slot s, moving back the entries of its run that
 * belong before it. */
void
mem_blocks_hash_del(mem_slot *s)
{
    size_t mask = mem_hash_cap - 1;
    size_t i = (size_t)((mem_hent *)((char *)s - offsetof(mem_hent, s)) -
                        mem_hash),
           j = i;
    for (;;) {
        j = (j + 1) & mask;
        if (!mem_hash[j].key)
            break;
        size_t home = mem_hash_home(mem_hash[j].key, mem_hash_bits);
        /* Entry j may fill hole i when its home is not in (i, j]. */
        if ((i <= j) ? (home <= i || home > j) : (home <= i && home > j)) {
            mem_hash[i] = mem_hash[j];
            i = j;
        }
    }
    mem_hash[i].key = 0;
    mem_hash_n--;
}

/* ---- all of them ---- */

void
mem_blocks_each(void (*fn)(uintptr_t p, const mem_slot *s, void *arg),
                void *arg)
{
    for (size_t k = 0; k < mem_n_leaves; k++) {
        const mem_leaf *l = &mem_leaves[k];
        for (size_t i = 0; i < MEM_LEAF_SLOTS; i++)
            if (l->v[i].site)
                fn(l->base + (i << MEM_SHADOW_GRANULE), &l->v[i], arg);
    }
    for (size_t i = 0; i < mem_hash_cap; i++)
        if (mem_hash[i].key)
            fn(mem_hash[i].key, &mem_hash[i].s, arg);
}

void
mem_blocks_clear(void)
{
    for (size_t k = 0; k < mem_n_leaves; k++)
        munmap(mem_leaves[k].v, MEM_LEAF_BYTES);
    free(mem_leaves);
    mem_leaves = NULL;
    mem_n_leaves = mem_cap_leaves = 0;
    mem_shadow_last.mib = UINTPTR_MAX;
    mem_shadow_last.leaf = NULL;
    for (size_t i = 0; i < (size_t)1 << MEM_SHADOW_TOP; i++) {
        free(mem_shadow_top[i]);
        mem_shadow_top[i] = NULL;
    }
    free(mem_hash);
    mem_hash = NULL;
    mem_hash_n = mem_hash_cap = 0;
    mem_hash_bits = 0;
    mem_blocks_live = 0;
}
