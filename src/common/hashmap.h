/* hashmap.h -- open-addressing hash tables used by the profile model.
 *
 * hm64 maps an exact 64-bit key to a 32-bit value. idxset stores indices
 * into a caller's array and finds them by (hash, equality callback), for keys
 * that do not fit in 64 bits (strings, function identities).
 * Both grow at 50% load, so probes stay short on the collectors' hot paths.
 * When growing fails (out of memory) an insertion returns -1 and the table
 * stays as it was, every entry still found: the caller decides what the
 * lost entry means (the profile model reports it; a cache just misses).
 */
#ifndef SG_HASHMAP_H
#define SG_HASHMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HM_NONE UINT32_MAX

typedef struct hm64 {
    uint64_t *keys;
    uint32_t *vals; /* HM_NONE marks an empty slot */
    size_t cap;     /* power of two, or 0 */
    size_t len;
} hm64;

void hm64_init(hm64 *m);
void hm64_free(hm64 *m);
/* The value for key, or HM_NONE. */
uint32_t hm64_get(const hm64 *m, uint64_t key);
/* Insert or overwrite; val must not be HM_NONE. Returns 0, or -1 when the
 * table could not grow (nothing changed). */
int hm64_put(hm64 *m, uint64_t key, uint32_t val);

typedef bool (*idxset_eq_fn)(const void *ctx, uint32_t idx, const void *key);

typedef struct idxset {
    uint32_t *slots;  /* index + 1; 0 marks an empty slot */
    uint64_t *hashes; /* the hash stored with each slot, to rehash and to
                         skip most equality calls */
    size_t cap;
    size_t len;
} idxset;

void idxset_init(idxset *s);
void idxset_free(idxset *s);
/* The index whose key equals key (per eq), or HM_NONE. */
uint32_t idxset_find(const idxset *s, uint64_t hash, idxset_eq_fn eq,
                     const void *ctx, const void *key);
/* Add idx under hash; the caller has checked it is not present. Returns 0,
 * or -1 when the set could not grow (nothing changed). */
int idxset_add(idxset *s, uint64_t hash, uint32_t idx);

/* 64-bit hashes: FNV-1a for bytes, a mixer for integers. */
uint64_t sg_hash_bytes(const void *data, size_t n);
static inline uint64_t
sg_hash_u64(uint64_t x)
{
    /* splitmix64 finaliser: cheap, and spreads sequential ids well. */
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

#endif
