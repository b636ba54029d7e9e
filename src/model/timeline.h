/* timeline.h -- memory over time: the series a timeline profile holds.
 *
 * A timeline is what `mprof run` records and `mprof plot` draws: for one
 * or more runs, series of (time, bytes) samples, each of one process and
 * one kind (resident set, proportional set, swap, the traced Python
 * heap), and function brackets: a function's name with the time and the
 * memory at its entry and at its exit. Times are Unix times in seconds,
 * as mprof's .dat keeps them; writers draw them from each run's first
 * sample.
 *
 * A profile of kind SG_PROFILE_TIMELINE holds one in its `timeline`
 * field; a memory profile may hold one too (the heap and RSS of the run
 * it profiled). The profile does not own it: whoever attached it frees
 * it with sg_timeline_free.
 *
 * Out of memory never exits (this code also runs inside the user's
 * process): an addition that cannot grow returns -1, adds nothing and
 * sets tl->failed.
 */
#ifndef SG_MODEL_TIMELINE_H
#define SG_MODEL_TIMELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What a series measures. */
typedef enum sg_tl_kind {
    SG_TL_RSS,  /* resident set size (/proc/PID/statm; mprof's default) */
    SG_TL_PSS,  /* proportional set size (/proc/PID/smaps_rollup) */
    SG_TL_SWAP, /* swapped out (smaps_rollup) */
    SG_TL_HEAP, /* the memory profiler's traced heap (in-process) */
    SG_TL_N_KINDS
} sg_tl_kind;

typedef struct sg_tl_point {
    double t;       /* Unix time, seconds */
    uint64_t bytes; /* at that time */
} sg_tl_point;

/* One process's samples of one kind, in one run. */
typedef struct sg_tl_series {
    int run;
    int64_t pid; /* 0: the run's own process (mprof's MEM, children summed
                    into it with -C); else a child (mprof's CHLD) */
    sg_tl_kind kind;
    sg_tl_point *v; /* times never decreasing */
    size_t n, cap;
} sg_tl_series;

/* A call of a watched function: mprof's FUNC line. */
typedef struct sg_tl_func {
    int run;
    char *name; /* module.qualname */
    double t0, t1;
    uint64_t m0, m1; /* resident set at entry and exit (bytes), as mprof */
    uint64_t h0, h1; /* the traced heap at entry and exit, when has_heap */
    bool has_heap;
    int level; /* nesting among watched calls, 0 outermost */
} sg_tl_func;

/* One recording (one .dat file). */
typedef struct sg_tl_run {
    char *cmdline; /* NULL when unknown */
    char *label;   /* how a plot of several runs names it (the file) */
} sg_tl_run;

typedef struct sg_timeline {
    sg_tl_run *runs;
    size_t n_runs, cap_runs;
    sg_tl_series *series;
    size_t n_series, cap_series;
    sg_tl_func *funcs;
    size_t n_funcs, cap_funcs;
    double interval_s;    /* the sampling interval; 0 when unknown */
    bool children_summed; /* -C: pid 0's series include the children */
    bool failed;          /* an addition ran out of memory */
} sg_timeline;

/* NULL when out of memory. */
sg_timeline *sg_timeline_new(void);
void sg_timeline_free(sg_timeline *tl);

/* A new run; its index, or -1. cmdline and label may be NULL. */
int sg_timeline_add_run(sg_timeline *tl, const char *cmdline,
                        const char *label);
/* The series of (run, pid, kind), created when missing; its index, or -1.
 * Indices stay valid as series are added (pointers do not). */
int sg_timeline_series(sg_timeline *tl, int run, int64_t pid, sg_tl_kind kind);
/* Append a sample to series s. Returns 0, or -1. */
int sg_timeline_add(sg_timeline *tl, int s, double t, uint64_t bytes);
/* Append a copy of function bracket f (its name copied). Returns 0, or
 * -1. */
int sg_timeline_add_func(sg_timeline *tl, const sg_tl_func *f);

/* "RSS", "PSS", "swap", "heap". */
const char *sg_tl_kind_name(sg_tl_kind kind);

/* The highest sample of series s: its index in s->v, or -1 when empty
 * (the first of equal highs). */
long sg_tl_series_peak(const sg_tl_series *s);
/* The first sample time of run (its series and brackets), the origin a
 * plot draws it from; 0 when it has none. */
double sg_timeline_run_start(const sg_timeline *tl, int run);

#endif
