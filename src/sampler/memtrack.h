/* memtrack.h -- memory over time, sampled from outside through /proc, for
 * `spyglass timeline`.
 *
 * At every deadline of the fixed-rate loop (loop.h) the resident set of
 * the process is read from /proc/PID/statm (one pread on a descriptor
 * kept open, which stays bound to that process: a reused pid cannot be
 * read by mistake), and with pss from /proc/PID/smaps_rollup (resident,
 * proportional and swapped sizes; the kernel walks every mapping for it,
 * so it costs more). Children are found at most every MEMTRACK_SCAN_NS
 * from the kernel's per-thread children lists (/proc/PID/task/TID/children,
 * a few reads), or where the kernel has none by a pass over every process
 * (proc/tree.h), and each is read at every deadline from then on until it
 * ends; with children they are summed into
 * the process's own series (mprof -C), with multiprocess each also has
 * its own (mprof -M).
 */
#ifndef SG_SAMPLER_MEMTRACK_H
#define SG_SAMPLER_MEMTRACK_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "model/timeline.h"
#include "sampler/loop.h"

/* How often the process tree is scanned for new children (a scan reads
 * every process's stat file). */
#define MEMTRACK_SCAN_NS 50000000ull

typedef struct memtrack_config {
    double interval_s; /* > 0 */
    double duration_s; /* 0: until the process ends or a stop */
    bool children;     /* sum the children into the process's series */
    bool multiprocess; /* a series for each child too */
    bool pss;          /* read smaps_rollup: PSS and swap series too */
} memtrack_config;

typedef struct memtrack_counts {
    loop_stats loop;
    uint64_t samples;  /* deadlines at which the process was read */
    uint64_t reads;    /* /proc reads (statm, smaps_rollup, tree scans) */
    uint64_t scans;    /* tree scans */
    uint64_t children; /* children seen */
} memtrack_counts;

typedef struct memtrack memtrack;

/* A session recording into run of tl; NULL when out of memory. */
memtrack *memtrack_new(const memtrack_config *cfg, sg_timeline *tl, int run);
void memtrack_free(memtrack *m);

/* Take pid as the process to follow. Returns 0, or an errno value
 * (ESRCH: no such process; EACCES: not ours to read). */
int memtrack_attach(memtrack *m, pid_t pid);

/* Sample until the process ends, *stop is set or the duration passed. */
void memtrack_run(memtrack *m, volatile sig_atomic_t *stop);

void memtrack_get_counts(const memtrack *m, memtrack_counts *out);

#endif
