/* procmem.h -- reading another process's memory, counted.
 *
 * All remote reads go through here so that the number of syscalls (the
 * cost that matters: 12-15 us each on these VMs) and failures are counted
 * in one place. A per-sample block cache turns pointer chasing through
 * nearby addresses (frames on a 3.11+ data stack, tstates, frame objects
 * in one pymalloc pool) into one larger read; windows are clipped to the
 * target's mappings so a read never straddles into unmapped memory. Each
 * sample starts by replaying the previous sample's blocks in one batched
 * read. SG_DEBUG_READS=1 in the environment prints every failed read.
 */
#ifndef SG_REMOTE_PROCMEM_H
#define SG_REMOTE_PROCMEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/hashmap.h"

typedef struct pm_map {
    uint64_t start, end, offset;
    char perms[5];
    char *path; /* NULL for anonymous mappings */
} pm_map;

typedef struct pm_maps {
    pm_map *v;
    size_t n, cap;
} pm_maps;

/* Parse /proc/PID/maps. Returns 0, or -1 with errno set. */
int pm_maps_load(pid_t pid, pm_maps *m);
/* Parse maps text (exposed for tests). */
void pm_maps_parse(const char *text, pm_maps *m);
void pm_maps_free(pm_maps *m);
/* The mapping holding addr, or NULL. */
const pm_map *pm_maps_find(const pm_maps *m, uint64_t addr);

typedef struct pm_stats {
    uint64_t reads;      /* process_vm_readv calls */
    uint64_t bytes;      /* bytes transferred */
    uint64_t failures;   /* reads that failed or came back short */
    uint64_t cache_hits; /* reads served from the block cache */
    uint64_t proc_reads; /* /proc file reads (thread states) */
} pm_stats;

/* Blocks a sample may hold: enough for hundreds of threads' stacks. */
#define PM_MAX_BLOCKS 4096

typedef struct pm_block {
    uint64_t addr;
    uint32_t len, cap;
    uint8_t *buf;
    bool used; /* read from during this sample: replayed next sample */
} pm_block;

/* A word of the target read twice by every replay and refresh: once
 * before all blocks and once after them, in the same batched read. Equal
 * copies that match what the blocks say prove the word held its value
 * while the blocks were read (a thread state's link to its innermost
 * frame: the frames read between are then that thread's). */
typedef struct pm_sentinel {
    uint64_t addr;
    uint64_t before, after;
    bool read;  /* both copies read in the last replay or refresh */
    bool asked; /* asked for in this sample: kept for the next */
} pm_sentinel;

#define PM_MAX_SENTINELS 4096

typedef struct procmem {
    pid_t pid;
    pm_stats stats;
    pm_maps maps;
    uint64_t maps_reloads;
    pm_block *blocks;
    unsigned n_blocks, cap_blocks; /* slots in use, allocated */
    unsigned hint;                 /* the block that served the last hit */
    hm64 pages;     /* page number -> the block covering most of it */
    bool reloaded;  /* maps re-read during this sample */
    bool transient; /* reads now are one-off (strings of a new code
                       object): do not replay them next sample */
    pm_sentinel *sent;
    unsigned n_sent;
    unsigned sent_next; /* where the next lookup starts */
} procmem;

void pm_init(procmem *pm, pid_t pid);
void pm_free(procmem *pm);
/* Read exactly len bytes at addr. Returns 0, or -1 with errno set (EFAULT
 * for unmapped or short, ESRCH when the process is gone, EPERM). */
int pm_read(procmem *pm, uint64_t addr, void *buf, size_t len);

typedef struct pm_iov {
    uint64_t addr;
    void *buf;
    size_t len;
    bool ok; /* set by pm_readv */
} pm_iov;
/* Ranges one process_vm_readv of pm_readv takes at most (IOV_MAX too). */
#define PM_BATCH_MAX 1024
/* Read several independent ranges in as few syscalls as possible (one per
 * IOV_MAX or PM_BATCH_MAX ranges). Sets each ok; returns the number that
 * succeeded. */
size_t pm_readv(procmem *pm, pm_iov *v, size_t n);

/* Start a sample. The blocks the previous sample used are read again, all
 * in one process_vm_readv: when the target's structures have not moved
 * (the common case for a sampler), the whole walk then costs that one
 * syscall. Blocks are a snapshot of this moment; nothing older is kept. */
void pm_cache_reset(procmem *pm);
/* Read len bytes at addr through the block cache: on a miss, read a window
 * around addr (back bytes below, fwd above), clipped to addr's mapping. */
int pm_read_cached(procmem *pm, uint64_t addr, void *buf, size_t len,
                   size_t back, size_t fwd);
/* Re-read every block now, in one batched read: a fresh, nearly atomic
 * snapshot of the same memory, for walking again after a torn walk. */
void pm_cache_refresh(procmem *pm);
/* Serve len bytes at addr from the cache only (no read): 0 or -1. */
int pm_cache_lookup(procmem *pm, uint64_t addr, void *buf, size_t len);
/* Enter bytes just read some other way (a batch) as a block, so the next
 * sample replays them. */
void pm_cache_add(procmem *pm, uint64_t addr, const void *buf, size_t len);
/* Whether the 8-byte word at addr was v both before and after the blocks
 * of the last replay or refresh. Asks for the word to be watched from the
 * next one on when it is not yet (false then). */
bool pm_sentinel_steady(procmem *pm, uint64_t addr, uint64_t v);
/* Re-read /proc/PID/maps (after a miss that falls outside the known map). */
int pm_maps_reload(procmem *pm);

#endif
