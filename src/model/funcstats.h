/* funcstats.h -- cProfile's per-function statistics, derived from a CCT.
 *
 * cProfile keeps, per function: ncalls (every call), primitive calls (calls
 * made while the function was not already running), tottime (own time),
 * cumtime (time including callees, counted only for the outermost of
 * recursive activations, so never twice), and the same four numbers per
 * (caller, callee) edge, where "recursive" means the same edge was already
 * active further up the stack. A calling-context tree holds every path, so
 * all of these follow exactly from one walk that counts, per function and per
 * edge, how often it is active on the current path:
 *
 *   node n of function f reached from caller g (its parent's function):
 *     f.nc += calls(n);        f.cc += calls(n) if f not active above n
 *     f.tt += self(n);         f.ct += incl(n)  if f not active above n
 *     (g,f) likewise, with "the edge g->f active above n".
 *
 * Functions are keyed as pstats keys them: (file, first line, name); "~", 0
 * and "<built-in ...>" for C functions. Distinct functions that share such
 * a label (variants in the model: two lambdas on one line) are merged into
 * one entry, their numbers summed, but "active above" is decided per
 * function, so that a call of one from the other is no recursion: each
 * entry is the sum of cProfile's entries of the code objects it merges. The
 * calls come from the profile's "calls" metric (absent in sampled profiles:
 * 0), time from "ns" (else from metric 0, scaled by the profile's sample
 * interval when set).
 *
 * The pstats sort keys (cumulative, tottime, ...) and their comparison are
 * here too, so that every text table sorts as pstats.Stats.sort_stats does.
 *
 * Waits: each function's cumulative time also has the part of it spent in
 * C functions that wait (wt: sleep, locks, I/O), so that a table can rank
 * what computes above a thread that sleeps.
 */
#ifndef SG_FUNCSTATS_H
#define SG_FUNCSTATS_H

#include <stdbool.h>
#include <stdint.h>

#include "common/strbuf.h"
#include "model/profile.h"

typedef struct sg_fstat {
    const char *file; /* pstats key; "~" for C functions */
    int32_t line;
    const char *name;
    uint64_t nc, cc;  /* total and primitive calls */
    double tt, ct;    /* seconds */
    double wt;        /* of ct, the time in waits (sg_fstat_is_wait) */
    uint32_t callers; /* first edge with this callee (edges are sorted by
                         callee); SG_NO_ID when none */
    uint32_t n_callers;
} sg_fstat;

typedef struct sg_fedge {
    uint32_t caller, callee; /* sg_fstat indices */
    uint64_t nc, cc;
    double tt, ct;
} sg_fedge;

typedef struct sg_funcstats {
    sg_fstat *f;
    size_t n;
    sg_fedge *e; /* sorted by (callee, caller) */
    size_t n_edges;
    uint64_t total_calls, prim_calls;
    double total_tt;
    double total_wait; /* the waits' own cumulative time */
    /* Strings made here (stripped file names) live in this profile. */
    sg_profile *strings;
} sg_funcstats;

/* Derive the statistics of the subtree under root (SG_ROOT_NODE for the
 * whole profile, or a thread root). With strip_dirs, file names are reduced
 * to their base name and equal keys merged afterwards, as
 * pstats.Stats.strip_dirs() does (cProfile's printed table uses it).
 * Returns 0, or -1 when out of memory (out is then empty and freed). */
int sg_funcstats_build(const sg_profile *p, sg_node_id root, bool strip_dirs,
                       sg_funcstats *out);
void sg_funcstats_free(sg_funcstats *fs);

/* Whether f is one of the C functions in which a thread waits rather than
 * computes (time.sleep, lock acquire, select and poll, socket receive and
 * accept, os.read, waitpid, input): one table, in funcstats.c. */
bool sg_fstat_is_wait(const sg_fstat *f);

/* pstats sort keys. */
typedef struct sg_sort_field {
    int column;    /* 0 cc, 1 nc, 2 tt, 3 ct, 4 file, 5 line, 6 name,
                      7 std string, 8 ct - wt (no pstats key) */
    int direction; /* 1 ascending, -1 descending */
} sg_sort_field;

#define SG_SORT_MAX 24

typedef struct sg_sort_spec {
    sg_sort_field fields[SG_SORT_MAX];
    int n_fields;
    char description[256]; /* "cumulative time, internal time" */
} sg_sort_spec;

/* Parse a comma-separated list of pstats sort keys ("cumulative",
 * "tottime,ncalls"), exactly the names of pstats.Stats.sort_arg_dict_default.
 * Returns 0, or -1 with a message naming the valid keys in err. */
int sg_sort_parse(const char *spec, sg_sort_spec *out, strbuf *err);
/* The busy order: cumulative time outside waits, descending. */
void sg_sort_busy(sg_sort_spec *out);
/* The valid keys, comma-separated, for help texts. */
const char *sg_sort_keys(void);

/* Order of the function indices for spec (ties keep index order). Returns
 * 0, or -1 when out of memory. */
int sg_funcstats_sort(const sg_funcstats *fs, const sg_sort_spec *spec,
                      uint32_t *order);

/* pstats' func_std_string: "file:line(name)", or "{built-in ...}". */
void sg_fstat_std_string(const sg_fstat *f, strbuf *sb);

#endif
