/* table.h -- `spyglass top`'s numbers: per function (and per line) the
 * samples of the last refresh window and those since the start (or the
 * last reset), per thread, read from the sampled profile itself.
 *
 * The sampler adds each stack to the profile's calling-context tree; a
 * node's self weight only grows. At each refresh the table takes, node by
 * node, what was added since the last one and walks up from it once: the
 * innermost frame gets it as own samples, every distinct function (or
 * line) of the stack as total samples -- once per stack, however deep a
 * recursion repeats it, as py-spy counts. Nothing is added to the sampling
 * tick, and `-o` writes the very profile the table was read from.
 *
 * Rows are kept per thread, so that a view of one thread and a filter by
 * thread name are sums over rows, not a second recording.
 */
#ifndef SG_TOP_TABLE_H
#define SG_TOP_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/hashmap.h"
#include "model/profile.h"

typedef struct top_counts {
    uint64_t win_own, win_total; /* in the last refresh window */
    uint64_t cum_own, cum_total; /* since the start or the last reset */
} top_counts;

/* A thread seen in the samples (one per thread root of the tree). */
typedef struct top_thread {
    const char *name;  /* threading's name, or "thread 0x..." */
    uint64_t pid;      /* its process root's pid; 0 without --subprocesses */
    uint64_t win, cum; /* its samples (weights), as top_counts */
} top_thread;

typedef struct top_row {
    uint32_t thread; /* index into the table's threads */
    uint32_t id;     /* the function (function rows) or frame (line rows) */
    bool line;
    top_counts c;
} top_row;

typedef struct top_table {
    top_thread *threads;
    size_t n_threads, cap_threads;
    top_row *rows;
    size_t n_rows, cap_rows;
    uint64_t win_samples, cum_samples; /* all threads (weights, as rows) */
    /* Private. */
    hm64 row_index;    /* (line, thread, id) -> row */
    hm64 thread_index; /* thread root node -> thread */
    uint64_t *seen;    /* per node: the self weight already counted */
    size_t cap_seen;
    uint32_t *fstamp; /* per function: the last walk that counted it */
    size_t cap_fstamp;
    uint32_t *lstamp; /* per frame (line): the same */
    size_t cap_lstamp;
    uint32_t walk;
    uint32_t *frames; /* the walked stack, innermost first */
    size_t cap_frames;
} top_table;

void top_table_init(top_table *t);
void top_table_free(top_table *t);

/* Start a new window with what p gained since the last call. p's node ids
 * must be those of the last call (no sg_profile_reframe between). Rows
 * count the samples' weights (the time each stands for, p's "ns") when p
 * has them, else samples: see top_table_seconds. */
void top_table_update(top_table *t, const sg_profile *p);
/* Seconds per unit of the rows' counts for p. */
double top_table_seconds(const sg_profile *p);

/* Forget every count (R): the next windows start from zero. */
void top_table_reset(top_table *t);

/* A row of a view: one function or line over the threads shown. */
typedef struct top_view_row {
    uint32_t id;        /* function or frame of the profile */
    const char *thread; /* its thread's name when split per thread */
    top_counts c;
} top_view_row;

typedef struct top_view {
    top_view_row *rows;
    size_t n, cap;
    uint64_t win_samples, cum_samples; /* of the threads shown */
} top_view;

/* What a view shows. */
typedef struct top_view_spec {
    bool lines;         /* rows per line, else per function */
    int thread;         /* a thread's index, or -1 for all */
    const char *filter; /* NULL/"": all; else a case-insensitive substring
                           of the function's name or file, or of the
                           thread's name (then all of its rows) */
    int sort;           /* 1 %Own, 2 %Total, 3 OwnTime, 4 TotalTime */
    bool split_threads; /* a row per thread and function (or line) */
} top_view_spec;

/* Fill v (reused between calls) with the rows of t that spec selects,
 * merged over threads and sorted, the largest first. */
void top_table_view(const top_table *t, const sg_profile *p,
                    const top_view_spec *spec, top_view *v);
void top_view_free(top_view *v);

#endif
