/* writers.h -- every output format, behind one registry.
 *
 * A writer turns the profile model into bytes in a strbuf; the caller writes
 * the buffer to a file (or stdout) in one go. Commands never know formats:
 * `-f NAME` is sg_writer_by_name() and `-o FILE` without -f is
 * sg_writer_for_path(), the same lookup for every command (profile, record,
 * lines, ...). Writers are generic over the model: deterministic profiles
 * (metrics "ns" + "calls") and sampled ones (metric 0 = "samples") alike.
 */
#ifndef SG_WRITERS_H
#define SG_WRITERS_H

#include <stdbool.h>

#include "common/strbuf.h"
#include "model/profile.h"

typedef struct writer_opts {
    const char *sort;  /* text: pstats sort keys (NULL: "cumulative") */
    int limit;         /* text: at most this many rows (0: all) */
    bool strip_dirs;   /* text: base names, as cProfile's printed table */
    bool per_thread;   /* text: one table per thread; speedscope, collapsed,
                          chrometrace: keep thread roots apart */
    const char *title; /* flamegraph title (NULL: a default) */
} writer_opts;

typedef struct sg_writer {
    const char *name;              /* the -f value */
    const char *const *extensions; /* NULL-terminated, e.g. "pstats" */
    const char *description;       /* one line for --help */
    bool binary;                   /* not for a terminal */
    /* Append the output to out. Returns 0, or -1 after sg_error(). */
    int (*write)(const sg_profile *p, const writer_opts *o, strbuf *out);
} sg_writer;

/* NULL-terminated list of all writers, in --help order. */
const sg_writer *const *sg_writers(void);
const sg_writer *sg_writer_by_name(const char *name);
/* The writer whose extension is the longest suffix of path (".trace.json"
 * before ".json"); NULL when none matches. */
const sg_writer *sg_writer_for_path(const char *path);
/* "pstats, text, ..." for messages. */
const char *sg_writer_names(void);

/* Render and write to path ("-": stdout). Returns 0, or -1 after an
 * error line. */
int sg_writer_write_file(const sg_writer *w, const sg_profile *p,
                         const writer_opts *o, const char *path);

/* The writers themselves (also callable directly). */
int sg_write_pstats(const sg_profile *p, const writer_opts *o, strbuf *out);
int sg_write_text(const sg_profile *p, const writer_opts *o, strbuf *out);
/* A sampled profile's report: top functions (own, total) and top lines;
 * what `-f text` writes for one. */
int sg_write_sample_report(const sg_profile *p, const writer_opts *o,
                           strbuf *out);
/* Metric 0 is "samples" and there are no call counts. */
bool sg_profile_is_sampled(const sg_profile *p);
int sg_write_flamegraph(const sg_profile *p, const writer_opts *o,
                        strbuf *out);
int sg_write_speedscope(const sg_profile *p, const writer_opts *o,
                        strbuf *out);
int sg_write_collapsed(const sg_profile *p, const writer_opts *o, strbuf *out);
int sg_write_chrometrace(const sg_profile *p, const writer_opts *o,
                         strbuf *out);
/* The line profiler's formats (writers/lines.h). */
int sg_writer_lprof(const sg_profile *p, const writer_opts *o, strbuf *out);
int sg_writer_linetext(const sg_profile *p, const writer_opts *o, strbuf *out);

/* Shared helpers for the stack writers. */
/* The display name of a frame: "name (file:line)" as py-spy writes it. */
void sg_writer_frame_label(const sg_profile *p, sg_frame_id f, strbuf *sb);
/* The weight metric stack writers size by ("ns" when present, else 0), and
 * its scale to seconds (0 when it is not a time). */
int sg_writer_weight_metric(const sg_profile *p, double *seconds_per_unit);

#endif
