/* test_memory_blocks.c -- the memory profiler's table of live blocks
 * (src/agent/memory/blocks.c): the shadow for aligned addresses, the hash
 * table for the others, against a plain list of what was put.
 *
 * The table only keys by address, so the addresses here are made up.
 */
#include "agent/memory/blocks.h"
#include "check.h"

#include <stdint.h>
#include <stdlib.h>

/* A small deterministic generator (xorshift64). */
static uint64_t rng = 88172645463325252ull;

static uint64_t
next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void
put(uintptr_t p, uint32_t site, uint32_t size)
{
    mem_slot *s = mem_blocks_put(p);
    CHECK(s != NULL);
    if (s) {
        s->site = site;
        s->size = size;
    }
}

static void
test_shadow_and_hash_keep_each_block(void)
{
    /* Aligned (shadow), unaligned and above 2^47 (hash), neighbours in one
     * granule's leaf and in far leaves. */
    const uintptr_t ps[] = {0x10,
                            0x20,
                            0x100000,
                            0xFFFF0,
                            (uintptr_t)0x7FFFFFFFFFF0ull,
                            0x1008,
                            0x1001,
                            (uintptr_t)0x800000000000ull,
                            (uintptr_t)0xFFFF800000001000ull};
    const size_t n = sizeof ps / sizeof *ps;
    CHECK(mem_blocks_shadowed(0x10) && mem_blocks_shadowed(0x100000));
    CHECK(!mem_blocks_shadowed(0x1008) && !mem_blocks_shadowed(0x1001));
    CHECK(!mem_blocks_shadowed((uintptr_t)0x800000000000ull));
    for (size_t i = 0; i < n; i++)
        CHECK(mem_blocks_get(ps[i]) == NULL);
    for (size_t i = 0; i < n; i++)
        put(ps[i], (uint32_t)i + 1, (uint32_t)(100 + i));
    CHECK(mem_blocks_live == n);
    for (size_t i = 0; i < n; i++) {
        mem_slot *s = mem_blocks_get(ps[i]);
        CHECK(s && s->site == i + 1 && s->size == 100 + i);
    }
    /* A put where a block lives gives its slot back, still counted once. */
    mem_slot *s = mem_blocks_put(0x20);
    CHECK(s && s->site == 2 && mem_blocks_live == n);
    s = mem_blocks_put(0x1008);
    CHECK(s && s->site == 6 && mem_blocks_live == n);
    /* A neighbour's address that holds no block is absent. */
    CHECK(mem_blocks_get(0x30) == NULL && mem_blocks_get(0x1010) == NULL);
    for (size_t i = 0; i < n; i += 2)
        mem_blocks_del(ps[i], mem_blocks_get(ps[i]));
    for (size_t i = 0; i < n; i++)
        CHECK((mem_blocks_get(ps[i]) != NULL) == (i % 2 == 1));
    CHECK(mem_blocks_live == n / 2);
    mem_blocks_clear();
    CHECK(mem_blocks_live == 0);
    for (size_t i = 0; i < n; i++)
        CHECK(mem_blocks_get(ps[i]) == NULL);
}

typedef struct seen {
    uintptr_t *p;
    size_t n;
    uint64_t sites;
} seen;

static void
visit(uintptr_t p, const mem_slot *s, void *arg)
{
    seen *v = arg;
    v->p[v->n++] = p;
    v->sites += s->site;
}

static int
cmp_ptr(const void *a, const void *b)
{
    uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
    return (x > y) - (x < y);
}

/* Many blocks put and deleted in a random order (the hash table grows and
 * moves entries back on deletion): the table always holds exactly the
 * ones put and not deleted, and visits each once. */
static void
test_many_blocks_against_a_list(void)
{
    enum { N = 20000 };
    uintptr_t *ps = malloc(N * sizeof *ps);
    uintptr_t *got = malloc(N * sizeof *got);
    char *live = calloc(N, 1);
    CHECK(ps && got && live);
    if (!ps || !got || !live)
        goto out;
    for (size_t i = 0; i < N; i++) {
        /* Distinct granules (an odd multiplier is a bijection modulo
         * 2^19) spread over 8 MiB as a heap is; every other one unaligned
         * (8 bytes off), so that both stores fill up. */
        uintptr_t g = (uintptr_t)((i * 2654435761u) & ((1u << 19) - 1));
        ps[i] = (uintptr_t)0x7F0000000000ull + g * 16 + (i % 2 ? 8 : 0);
    }
    size_t want = 0;
    for (int round = 0; round < 3; round++) {
        for (size_t i = 0; i < N; i++) {
            if (next() & 1)
                continue;
            if (live[i]) {
                mem_slot *s = mem_blocks_get(ps[i]);
                CHECK(s && s->site == i + 1);
                if (s)
                    mem_blocks_del(ps[i], s);
                live[i] = 0;
                want--;
            } else {
                CHECK(mem_blocks_get(ps[i]) == NULL);
                put(ps[i], (uint32_t)i + 1, 1);
                live[i] = 1;
                want++;
            }
        }
        CHECK(mem_blocks_live == want);
        for (size_t i = 0; i < N; i++) {
            mem_slot *s = mem_blocks_get(ps[i]);
            CHECK(live[i] ? s && s->site == i + 1 : s == NULL);
        }
        seen v = {got, 0, 0};
        mem_blocks_each(visit, &v);
        CHECK(v.n == want);
        uint64_t sites = 0;
        for (size_t i = 0; i < N; i++)
            if (live[i])
                sites += i + 1;
        CHECK(v.sites == sites);
        qsort(got, v.n, sizeof *got, cmp_ptr);
        for (size_t i = 1; i < v.n; i++)
            CHECK(got[i - 1] != got[i]);
    }
out:
    mem_blocks_clear();
    free(ps);
    free(got);
    free(live);
}

TESTS(test_shadow_and_hash_keep_each_block, test_many_blocks_against_a_list)
