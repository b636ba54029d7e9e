/* timeit_report.c -- `spyglass timeit`'s results, as text (python -m
 * timeit's lines) and as JSON (pyperf's format, with every repeat). Pure
 * C: the timing loop (timeit.c) hands over numbers, not Python objects.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/timeit.h"
#include "common/alloc.h"
#include "common/json.h"
#include "common/sort.h"
#include "common/units.h"
#include "writers/writers.h"

/* -u's unit, or NULL: a unit per value. */
static const sg_time_unit *
forced_unit(const rq_timeit *o)
{
    return o->unit ? sg_time_unit_by_name(o->unit) : NULL;
}

static void
text_one(strbuf *sb, const rq_timeit *o, const timeit_stmt *s,
         const char *indent)
{
    const sg_time_unit *u = forced_unit(o);
    int digits = timeit_digits(o);
    char b1[64], b2[64];
    if (o->verbose) {
        sb_printf(sb, "%sraw times: ", indent);
        for (long r = 0; r < o->repeat; r++)
            sb_printf(sb, "%s%s", r ? ", " : "",
                      sg_fmt_timeit(b1, sizeof b1, s->raw[r], u, digits));
        sb_puts(sb, "\n\n");
    }
    sb_printf(sb, "%s%ld loop%s, best of %ld: %s per loop\n", indent,
              s->number, s->number != 1 ? "s" : "", o->repeat,
              sg_fmt_timeit(b1, sizeof b1, s->stats.min, u, digits));
    /* The mean in its own unit, the spread in the mean's. */
    sb_printf(sb, "%smean ± std. dev. of %ld: %s ± %s per loop\n", indent,
              o->repeat,
              sg_fmt_timeit(b1, sizeof b1, s->stats.mean, u, digits),
              sg_fmt_timeit_as(b2, sizeof b2, s->stats.stddev, s->stats.mean,
                               u, digits));
}

static int
cmp_best(const void *a, const void *b)
{
    const timeit_stmt *x = *(const timeit_stmt *const *)a;
    const timeit_stmt *y = *(const timeit_stmt *const *)b;
    return (x->stats.min > y->stats.min) - (x->stats.min < y->stats.min);
}

/* Several statements: each one's best relative to the fastest's. */
static void
text_comparison(strbuf *sb, const rq_timeit *o, const timeit_stmt *st)
{
    int n = o->n_stmts;
    const timeit_stmt **order = sg_calloc((size_t)n, sizeof *order);
    if (!order) {
        sb->failed = true; /* the report would be incomplete */
        return;
    }
    for (int i = 0; i < n; i++)
        order[i] = &st[i];
    sg_sort(order, (size_t)n, sizeof *order, cmp_best);
    const timeit_stmt *fast = order[0];
    const sg_time_unit *u = forced_unit(o);
    int digits = timeit_digits(o);
    sb_puts(sb, "\nRelative to the fastest (best per loop; ± from the "
                "means):\n");
    for (int i = 0; i < n; i++) {
        const timeit_stmt *s = order[i];
        char b[64];
        int index = (int)(s - st) + 1;
        sg_fmt_timeit(b, sizeof b, s->stats.min, u, digits);
        if (s == fast) {
            sb_printf(sb, "  [%d] %-11s %6.2f (fastest)  %s\n", index, b, 1.0,
                      s->stmt);
            continue;
        }
        double r, sd;
        sg_ratio(&s->stats, &fast->stats, &r, &sd);
        sb_printf(sb, "  [%d] %-11s %6.2f ± %.2f  %s\n", index, b,
                  s->stats.min / fast->stats.min, sd, s->stmt);
    }
    free(order);
}

void
timeit_report_text(strbuf *sb, const rq_timeit *o, const timeit_stmt *st)
{
    bool several = o->n_stmts > 1;
    for (int i = 0; i < o->n_stmts; i++) {
        if (several)
            sb_printf(sb, "[%d] %s\n", i + 1, st[i].stmt);
        text_one(sb, o, &st[i], several ? "    " : "");
    }
    if (several)
        text_comparison(sb, o, st);
}

void
timeit_warn_unreliable(const rq_timeit *o, const timeit_stmt *st)
{
    const sg_time_unit *u = forced_unit(o);
    int digits = timeit_digits(o);
    for (int i = 0; i < o->n_stmts; i++) {
        const sg_summary *s = &st[i].stats;
        if (s->max < s->min * 4)
            continue;
        char worst[64], best[64], which[32] = "";
        if (o->n_stmts > 1)
            snprintf(which, sizeof which, "[%d] ", i + 1);
        fprintf(stderr,
                "spyglass: warning: %sthe test results are likely unreliable: "
                "the worst time (%s) was more than four times slower than "
                "the best time (%s)\n",
                which, sg_fmt_timeit(worst, sizeof worst, s->max, u, digits),
                sg_fmt_timeit(best, sizeof best, s->min, u, digits));
    }
}

/* ---- JSON ----------------------------------------------------------- */

static bool
is_space(char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}

static bool
name_taken(const strbuf *names, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(sb_str(&names[i]), name) == 0)
            return true;
    return false;
}

/* pyperf names a benchmark with one line of text, not blank, unique in
 * its file (and strips it). A statement's name is its text, stripped,
 * control characters escaped (a newline as \n); an empty one, or one
 * equal to an earlier statement's name, gets its position in front:
 * "[2] pass". */
static void
benchmark_name(strbuf *names, int i, const char *stmt)
{
    strbuf *sb = &names[i];
    size_t len = strlen(stmt);
    while (len && is_space(stmt[len - 1]))
        len--;
    while (len && is_space(*stmt)) {
        stmt++;
        len--;
    }
    char *text = sg_malloc(len + 1);
    if (!text) {
        sb->failed = true;
        return;
    }
    memcpy(text, stmt, len);
    text[len] = '\0';
    sg_writer_put_name(sb, text);
    if (len == 0 || name_taken(names, i, sb_str(sb))) {
        sb_clear(sb);
        sb_printf(sb, "[%d]%s", i + 1, len ? " " : "");
        sg_writer_put_name(sb, text);
        /* Only a statement that reads "[N] ..." itself can still clash. */
        while (!sb_failed(sb) && name_taken(names, i, sb_str(sb)))
            sb_printf(sb, " [%d]", i + 1);
    }
    free(text);
}

/* A string as pyperf metadata takes it: one line. */
static void
json_line(json_writer *j, const char *key, const char *s)
{
    strbuf line = STRBUF_INIT;
    sg_writer_put_name(&line, s);
    json_key(j, key);
    json_string(j, sb_str(&line));
    if (sb_failed(&line))
        j->sb->failed = true;
    sb_free(&line);
}

/* The suite's metadata, common to every benchmark (pyperf's keys). */
static void
json_pyperf_metadata(json_writer *j, const rq_timeit *o, const timeit_env *env)
{
    char version[96];
    snprintf(version, sizeof version, "%s (%zubit)", env->python_version,
             sizeof(void *) * 8);
    json_key(j, "metadata");
    json_begin_object(j);
    json_line(j, "unit", "second");
    json_line(j, "python_implementation", env->implementation);
    json_line(j, "python_version", version);
    json_line(j, "python_executable", env->executable);
    json_line(j, "timer",
              o->process_time ? "clock_gettime(CLOCK_PROCESS_CPUTIME_ID)"
                              : "clock_gettime(CLOCK_MONOTONIC)");
    json_line(j, "date", env->date);
    json_end_object(j);
}

static void
json_doubles(json_writer *j, const char *key, const double *v, long n)
{
    json_key(j, key);
    json_begin_array(j);
    for (long i = 0; i < n; i++)
        json_double(j, v[i]);
    json_end_array(j);
}

/* spyglass's view of one statement: every repeat and the summary. */
static void
json_statement(json_writer *j, const rq_timeit *o, const timeit_stmt *s,
               int index)
{
    json_key(j, "spyglass");
    json_begin_object(j);
    json_key(j, "index");
    json_int(j, index);
    json_key(j, "stmt");
    json_string(j, s->stmt);
    json_key(j, "number");
    json_int(j, s->number);
    json_key(j, "repeats");
    json_begin_array(j);
    for (long r = 0; r < o->repeat; r++) {
        json_begin_object(j);
        json_key(j, "loops");
        json_int(j, s->number);
        json_key(j, "seconds");
        json_double(j, s->raw[r]);
        json_key(j, "per_loop");
        json_double(j, s->per_loop[r]);
        json_end_object(j);
    }
    json_end_array(j);
    const struct {
        const char *key;
        double v;
    } summary[] = {
        {"best", s->stats.min},      {"mean", s->stats.mean},
        {"stddev", s->stats.stddev}, {"median", s->stats.median},
        {"worst", s->stats.max},
    };
    for (size_t k = 0; k < sizeof summary / sizeof summary[0]; k++) {
        json_key(j, summary[k].key);
        json_double(j, summary[k].v);
    }
    json_end_object(j);
}

/* The settings of the run, as given (number null: autorange). */
static void
json_settings(json_writer *j, const rq_timeit *o, const timeit_env *env)
{
    json_key(j, "spyglass");
    json_begin_object(j);
    json_key(j, "command");
    json_string(j, "timeit");
    json_key(j, "release");
    json_string(j, SG_VERSION);
    json_key(j, "python_version");
    json_string(j, env->python_version);
    json_key(j, "timer");
    json_string(j, o->process_time ? "process_time" : "perf_counter");
    json_key(j, "number");
    if (o->number)
        json_int(j, o->number);
    else
        json_null(j);
    json_key(j, "repeat");
    json_int(j, o->repeat);
    json_key(j, "setup");
    json_begin_array(j);
    for (int i = 0; i < o->n_setup; i++)
        json_string(j, o->setup[i]);
    json_end_array(j);
    json_key(j, "unit");
    if (o->unit)
        json_string(j, o->unit);
    else
        json_null(j);
    json_end_object(j);
}

void
timeit_report_json(strbuf *sb, const rq_timeit *o, const timeit_stmt *st,
                   const timeit_env *env)
{
    strbuf *names = sg_calloc((size_t)o->n_stmts, sizeof *names);
    if (!names) {
        sb->failed = true;
        return;
    }
    json_writer j;
    json_init(&j, sb, true);
    json_begin_object(&j);
    json_key(&j, "version");
    json_string(&j, "1.0");
    json_pyperf_metadata(&j, o, env);
    json_key(&j, "benchmarks");
    json_begin_array(&j);
    for (int i = 0; i < o->n_stmts; i++) {
        const timeit_stmt *s = &st[i];
        benchmark_name(names, i, s->stmt);
        json_begin_object(&j);
        json_key(&j, "metadata");
        json_begin_object(&j);
        json_key(&j, "name");
        json_string(&j, sb_str(&names[i]));
        json_key(&j, "loops");
        json_int(&j, s->number);
        json_end_object(&j);
        /* One process, so one run, holding every repeat's value. */
        json_key(&j, "runs");
        json_begin_array(&j);
        json_begin_object(&j);
        json_doubles(&j, "values", s->per_loop, o->repeat);
        json_end_object(&j);
        json_end_array(&j);
        json_statement(&j, o, s, i + 1);
        json_end_object(&j);
        if (sb_failed(&names[i]))
            sb->failed = true;
    }
    json_end_array(&j);
    json_settings(&j, o, env);
    json_end_object(&j);
    sb_putc(sb, '\n');
    for (int i = 0; i < o->n_stmts; i++)
        sb_free(&names[i]);
    free(names);
}
