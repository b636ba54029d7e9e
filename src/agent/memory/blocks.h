/* blocks.h -- the memory profiler's table of live blocks: a block's
 * address -> (site, size), for the engine (engine.c) to find what a free
 * gives back. Knows nothing of Python.
 *
 * Two stores behind one interface:
 *
 *   a shadow of the address space, for addresses aligned to 16 bytes
 *   below 2^47 (every block of pymalloc, of the C library's malloc and
 *   of mmap): a two-level directory of leaves, each the slots of the
 *   16-byte granules of one MiB, made when a block first starts there.
 *   A slot is found by indexing, without hashing or probing, and blocks
 *   next to each other in memory are next to each other in the shadow,
 *   so the slots of a pool that the program is filling or emptying
 *   share cache lines as its blocks do. It takes half the address range
 *   where traced blocks start (8 bytes per 16), allocated only where the
 *   leaves are touched;
 *
 *   an open-addressing hash table for any other address (an allocator
 *   of the program's own that returns unaligned blocks), with linear
 *   probing and deletion without tombstones.
 *
 * The caller serialises every call (the engine's lock).
 */
#ifndef SG_AGENT_MEMORY_BLOCKS_H
#define SG_AGENT_MEMORY_BLOCKS_H

#include <stddef.h>
#include <stdint.h>

/* What is kept of a live block. */
typedef struct mem_slot {
    uint32_t site; /* the site's id + 1; 0: no block starts here */
    uint32_t size; /* as counted; MEM_BIG_SIZE: the engine keeps it */
} mem_slot;

#define MEM_SHADOW_GRANULE 4 /* log2 of the bytes a slot stands for */
#define MEM_SHADOW_LEAF 20   /* log2 of the bytes a leaf covers */
#define MEM_SHADOW_MID 13    /* log2 of the leaves of a directory */
#define MEM_SHADOW_TOP 14    /* log2 of the top directory's entries */
#define MEM_SHADOW_BITS                                                       \
    (MEM_SHADOW_LEAF + MEM_SHADOW_MID + MEM_SHADOW_TOP) /* 47 */

extern mem_slot **mem_shadow_top[1 << MEM_SHADOW_TOP];
extern size_t mem_blocks_live; /* blocks in the table */

/* The leaf last found, by the MiB it covers (p >> MEM_SHADOW_LEAF; an
 * impossible one when none): a program's blocks come from few pools at a
 * time, so most look-ups skip the two dependent loads of the directory. */
extern struct mem_shadow_last {
    uintptr_t mib;
    mem_slot *leaf;
} mem_shadow_last;

/* Whether address p is kept in the shadow (else in the hash table). */
static inline int
mem_blocks_shadowed(uintptr_t p)
{
    return ((p & (((uintptr_t)1 << MEM_SHADOW_GRANULE) - 1)) |
            (p >> MEM_SHADOW_BITS)) == 0;
}

/* p's slot in the shadow, or NULL when its leaf was never made. */
static inline mem_slot *
mem_shadow_slot(uintptr_t p)
{
    mem_slot *leaf;
    if (p >> MEM_SHADOW_LEAF == mem_shadow_last.mib) {
        leaf = mem_shadow_last.leaf;
    } else {
        mem_slot **mid =
            mem_shadow_top[p >> (MEM_SHADOW_BITS - MEM_SHADOW_TOP)];
        if (!mid)
            return NULL;
        leaf = mid[(p >> MEM_SHADOW_LEAF) & ((1u << MEM_SHADOW_MID) - 1)];
        if (!leaf)
            return NULL;
        mem_shadow_last.mib = p >> MEM_SHADOW_LEAF;
        mem_shadow_last.leaf = leaf;
    }
    return &leaf[(p >> MEM_SHADOW_GRANULE) &
                 ((1u << (MEM_SHADOW_LEAF - MEM_SHADOW_GRANULE)) - 1)];
}

mem_slot *mem_blocks_hash_get(uintptr_t p);

/* The live block at p, or NULL. */
static inline mem_slot *
mem_blocks_get(uintptr_t p)
{
    if (mem_blocks_shadowed(p)) {
        mem_slot *s = mem_shadow_slot(p);
        return s && s->site ? s : NULL;
    }
    return mem_blocks_hash_get(p);
}

/* The slot for a block at p, to fill: a live block's when there is one
 * at p (its site is then not 0; its free was not seen), else an empty
 * slot, counted as live from now on. NULL when out of memory. */
mem_slot *mem_blocks_put_slow(uintptr_t p);

static inline mem_slot *
mem_blocks_put(uintptr_t p)
{
    mem_slot *s;
    if (mem_blocks_shadowed(p) && (s = mem_shadow_slot(p)) != NULL) {
        mem_blocks_live += !s->site;
        return s;
    }
    return mem_blocks_put_slow(p);
}

/* Forget the block at p, whose slot is s (from get or put). */
void mem_blocks_hash_del(mem_slot *s);

static inline void
mem_blocks_del(uintptr_t p, mem_slot *s)
{
    mem_blocks_live--;
    if (mem_blocks_shadowed(p))
        s->site = 0;
    else
        mem_blocks_hash_del(s);
}

/* Call fn(p, slot, arg) for every live block, in no order; fn must not
 * change the table. */
void mem_blocks_each(void (*fn)(uintptr_t p, const mem_slot *s, void *arg),
                     void *arg);

/* Forget every block and give back the table's memory. */
void mem_blocks_clear(void);

#endif
