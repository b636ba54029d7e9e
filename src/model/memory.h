/* memory.h -- what a memory profile (SG_PROFILE_MEMORY) holds, for the
 * collector that fills it (agent/memory/) and the writers that read it.
 *
 * Stacks: the calling-context tree's nodes are allocation sites. The leaf
 * frame of a site is (function, line of the allocation): the innermost
 * Python frame when the block was allocated, as tracemalloc attributes it;
 * the frames above it are the callers, each with the line of its call.
 * Node self weights, in the metrics below, are the site's own.
 *
 * Lines: the line table holds the lines of the *selected* functions only
 * (memory_profiler's table: `@profile`, --func, --file, else the script's
 * own file). Each selected function has at least one entry (its first
 * line, hits 0, when it never ran), so a writer lists exactly the
 * functions that have entries. A line's hits are its line events, as
 * `lines` counts them (memory_profiler's "Occurrences"). Its metrics:
 *   SG_MEM_ALLOC..SG_MEM_LEAK  the line's own allocations (leaf
 *                              attribution, like the nodes), summed over
 *                              its sites;
 *   SG_MEM_INC..SG_MEM_RSS     measured around each run of the line, so
 *                              they include the calls it makes.
 * Per-line figures of functions that are not selected are derived from
 * the tree: the sum of the nodes whose leaf frame is that (function, line).
 *
 * Every byte figure is of the traced heap: blocks allocated through
 * CPython's three allocator domains (and through malloc and friends with
 * --native) while tracing was on. A block allocated before tracing started
 * is unknown: its free changes nothing. With sampling (--sample BYTES),
 * each figure is the sampled blocks' sizes scaled back up (an estimate).
 */
#ifndef SG_MODEL_MEMORY_H
#define SG_MODEL_MEMORY_H

#include "model/profile.h"

typedef enum sg_mem_metric {
    /* Bytes of the site live at the process peak (the highest traced
     * total): memray's default view. Metric 0: flame graphs size by it. */
    SG_MEM_PEAK = 0,
    SG_MEM_ALLOC,  /* bytes allocated */
    SG_MEM_ALLOCS, /* blocks allocated */
    SG_MEM_FREE,   /* bytes of those blocks freed while traced */
    SG_MEM_LEAK,   /* bytes of those blocks still live when tracing ended */
    /* Lines of selected functions only (0 in nodes): */
    SG_MEM_INC,       /* traced total at the end of each run of the line
                       * minus at its start, summed: memory_profiler's
                       * "Increment". Signed: an int64_t stored in the
                       * uint64_t (two's complement); read with
                       * sg_mem_signed(). */
    SG_MEM_USAGE,     /* the highest traced total at the end of a run of
                       * the line: memory_profiler's "Mem usage" */
    SG_MEM_LINE_PEAK, /* the highest traced total while the line ran */
    SG_MEM_RSS,       /* with --rss: the highest resident set size at the
                       * end of a run of the line (memory_profiler's own
                       * "Mem usage"); 0 when not measured */
    SG_MEM_N_METRICS
} sg_mem_metric;

/* The metric names, in sg_mem_metric order, for sg_profile_new. */
#define SG_MEM_METRIC_NAMES                                                   \
    {                                                                         \
        "peak_bytes", "alloc_bytes", "allocs", "free_bytes", "leak_bytes",    \
            "inc_bytes", "usage_bytes", "line_peak_bytes", "rss_bytes"        \
    }

static inline int64_t
sg_mem_signed(uint64_t v)
{
    return (int64_t)v;
}

/* Metadata a memory profile carries (sg_profile_set_meta), as decimal
 * strings unless said otherwise:
 *   memory.peak_bytes   the process peak of the traced heap
 *   memory.peak_ns      when it was reached, ns since tracing started
 *   memory.peak_where   "FILE:LINE (FUNCTION)" of the allocation that
 *                       reached it ("" when unknown)
 *   memory.end_bytes    the traced heap when tracing ended
 *   memory.total_ns     how long tracing ran
 *   memory.sample_bytes 0 for exact tracing, else the mean sampling
 *                       interval in bytes (--sample)
 *   memory.native       "1" when malloc and friends were traced (--native)
 *   memory.rss          "1" when the RSS column was measured (--rss)
 *   command             the command line, as other profiles have it
 */
#define SG_MEM_META_PEAK_BYTES "memory.peak_bytes"
#define SG_MEM_META_PEAK_NS "memory.peak_ns"
#define SG_MEM_META_PEAK_WHERE "memory.peak_where"
#define SG_MEM_META_END_BYTES "memory.end_bytes"
#define SG_MEM_META_TOTAL_NS "memory.total_ns"
#define SG_MEM_META_SAMPLE_BYTES "memory.sample_bytes"
#define SG_MEM_META_NATIVE "memory.native"
#define SG_MEM_META_RSS "memory.rss"

#endif
