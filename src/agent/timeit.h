/* timeit.h -- what `spyglass timeit` measured, handed from the timing loop
 * (timeit.c) to its report (timeit_report.c), which knows no Python.
 */
#ifndef SG_AGENT_TIMEIT_H
#define SG_AGENT_TIMEIT_H

#include "common/stats.h"
#include "common/strbuf.h"
#include "request/commands.h"

/* The significant digits of every time printed: timeit's 3, and one more
 * for each -v after the first (sg_fmt_timeit stops at 17). */
static inline int
timeit_digits(const rq_timeit *o)
{
    long more = o->verbose > 1 ? o->verbose - 1 : 0;
    return 3 + (int)(more > 20 ? 20 : more);
}

/* One statement's measurements. */
typedef struct timeit_stmt {
    const char *stmt;
    long number;      /* loops per repeat */
    double *raw;      /* seconds per repeat, for `number` loops */
    double *per_loop; /* raw[r] / number: what timeit compares */
    sg_summary stats; /* of per_loop; its min is the best */
} timeit_stmt;

/* The interpreter and the moment, for the JSON's metadata. */
typedef struct timeit_env {
    char python_version[32]; /* "3.12.1", as platform.python_version() */
    char implementation[32]; /* sys.implementation.name */
    const char *executable;  /* sys.executable (borrowed) */
    char date[40];           /* local start time, as pyperf writes it */
} timeit_env;

/* python -m timeit's report: per statement its result line (with -v the
 * raw times first) and the mean ± standard deviation; for several, the
 * table relative to the fastest. Times as sg_fmt_timeit prints them. */
void timeit_report_text(strbuf *sb, const rq_timeit *o, const timeit_stmt *st);

/* pyperf's JSON (a BenchmarkSuite, format "1.0": one benchmark per
 * statement, its per-loop values in one run) with spyglass's own view of
 * the same run under "spyglass" keys, which pyperf ignores: every repeat's
 * loops, seconds and seconds per loop, the summary, and the settings. The
 * schema is in docs/timeit.md. */
void timeit_report_json(strbuf *sb, const rq_timeit *o, const timeit_stmt *st,
                        const timeit_env *env);

/* python -m timeit's warning, on stderr, for each statement whose worst
 * repeat was more than four times slower than its best. */
void timeit_warn_unreliable(const rq_timeit *o, const timeit_stmt *st);

#endif
