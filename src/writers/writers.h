/* writers.h -- every output format, behind one registry.
 *
 * A writer turns the profile model into bytes in a strbuf; the caller writes
 * the buffer to a file (or stdout) in one go. Each format declares which
 * kinds of data it holds (a deterministic, sampled, line or memory profile,
 * time's results, dump's stacks, timeit's results), and every command
 * chooses through one function, sg_writer_pick(): -f NAME, else -o FILE's
 * extension (one table for all commands), else the command's default; a
 * format that cannot hold the command's data is refused with the list of
 * those that can, before any program runs. "text" and "json" hold several
 * kinds, each rendered its own way: JSON of a profile is speedscope's, of
 * timings hyperfine's, of timeit's results pyperf's; text of a memory profile
 * is memory_profiler's table and the peak (memtext.c), and the stack formats
 * draw its bytes.
 */
#ifndef SG_WRITERS_H
#define SG_WRITERS_H

#include <stdbool.h>

#include "common/output.h"
#include "common/strbuf.h"
#include "model/profile.h"

/* What a command produces, which is what a format must be able to hold.
 * The first four are the profile model's kinds (model/profile.h); the
 * others are data that their commands render themselves, registered here
 * so that one extension means one format everywhere and a format that
 * cannot hold a command's data is refused before anything runs. */
typedef enum sg_data_kind {
    SG_DATA_DETERMINISTIC = SG_PROFILE_DETERMINISTIC, /* profile */
    SG_DATA_SAMPLED = SG_PROFILE_SAMPLED,             /* record */
    SG_DATA_LINES = SG_PROFILE_LINES,                 /* lines */
    SG_DATA_MEMORY = SG_PROFILE_MEMORY,               /* memory */
    SG_DATA_TIMINGS,                                  /* time */
    SG_DATA_STACKS,                                   /* dump */
    SG_DATA_TIMEIT,                                   /* timeit */
    SG_DATA_TIMELINE, /* timeline, plot: SG_PROFILE_TIMELINE */
    SG_DATA_DIS,      /* dis */
    SG_DATA_N_KINDS
} sg_data_kind;

#define SG_HOLDS(kind) (1u << (kind))

/* Every format, for commands that render data of their own (time, dump,
 * timeit)
 * to switch on what sg_writer_pick chose. */
typedef enum sg_format {
    SG_FMT_PSTATS,
    SG_FMT_TEXT,
    SG_FMT_JSON,
    SG_FMT_FLAMEGRAPH,
    SG_FMT_SPEEDSCOPE,
    SG_FMT_COLLAPSED,
    SG_FMT_CHROMETRACE,
    SG_FMT_LPROF,
    SG_FMT_KERNPROF,
    SG_FMT_CSV,
    SG_FMT_MARKDOWN,
    SG_FMT_DAT,
    SG_FMT_HTML,
} sg_format;

typedef struct writer_opts {
    const char *sort;  /* text: pstats sort keys; NULL: the default order,
                        * cumulative time outside waits */
    int limit;         /* text: at most this many rows (0: all) */
    bool strip_dirs;   /* text: base names, as cProfile's printed table */
    bool per_thread;   /* text: one table per thread; speedscope, collapsed,
                          chrometrace: keep thread roots apart */
    const char *title; /* flamegraph heading, followed by the profile's
                          "command" (NULL: "spyglass profile" or
                          "spyglass record", after the profile's kind) */
    bool flame;        /* flamegraph: the root at the bottom, as
                          flamegraph.pl draws it (default: at the top, an
                          icicle, as py-spy draws it) */
    double unit;       /* line table: seconds per displayed time unit
                          (kernprof -u; 0: 1e-6) */
    int metric;        /* stack formats: the metric to weigh by (a memory
                          profile's SG_MEM_PEAK or SG_MEM_ALLOC); 0: the
                          profile's primary metric */
    bool no_source;    /* html: embed no source file */
} writer_opts;

/* The deepest stack the stack formats show (flamegraph, speedscope, json,
 * collapsed, chrometrace): below it, each cut subtree becomes one frame
 * "[N frames elided]" carrying all its weight, N the depth of its deepest
 * stack under the cut. Python stops at 1000 frames unless told otherwise,
 * so only a recursion that raised the limit is cut; the functions' numbers
 * (pstats, text) are never cut. */
#define SG_WRITER_MAX_DEPTH 1024

/* What a writer returns when memory ran out (and it printed nothing):
 * sg_writer_render prints the one error line. */
#define SG_WRITE_NOMEM (-2)

typedef struct sg_writer {
    const char *name;              /* the -f value */
    sg_format id;                  /* the same, for a switch */
    const char *const *extensions; /* NULL-terminated, e.g. "pstats" */
    const char *description;       /* one line for --help */
    bool binary;                   /* not for a terminal */
    unsigned holds;                /* SG_HOLDS() of each sg_data_kind */
    bool stacks; /* one entry per stack: deeper ones are cut (see above) */
    /* Its extension is too common to claim for data it cannot hold (mprof's
     * .dat): for such data -o's extension names no format, so a command
     * that writes text to an unknown extension (lines -o out.dat) still
     * does. */
    bool weak_ext;
    /* Append a profile (of a kind it holds) to out. Returns 0, -1 after
     * sg_error(), or SG_WRITE_NOMEM. NULL when the format holds no profile
     * kind: its command renders it (time's csv). Writers walk with explicit
     * stacks, never recursing per frame, and allocate in proportion to
     * their output. */
    int (*write)(const sg_profile *p, const writer_opts *o, strbuf *out);
} sg_writer;

/* NULL-terminated list of all writers, in --help order. */
const sg_writer *const *sg_writers(void);
const sg_writer *sg_writer_by_name(const char *name);
/* The writer whose extension is the longest suffix of path (".trace.json"
 * before ".json"), compared case-insensitively; NULL when none matches.
 * One table for every command and every kind of data. */
const sg_writer *sg_writer_for_path(const char *path);
static inline bool
sg_writer_holds(const sg_writer *w, sg_data_kind kind)
{
    return (w->holds & SG_HOLDS(kind)) != 0;
}
/* "a sampled profile", "timing results", ... for messages. */
const char *sg_data_kind_name(sg_data_kind kind);
/* "pstats, text, ..." of the formats that hold kind, for messages and
 * help texts (static storage). */
const char *sg_writer_names(sg_data_kind kind);

/* What a command writes, for sg_writer_pick. */
typedef struct sg_output {
    const char *command;        /* "record", for messages */
    sg_data_kind kind;          /* what it produces */
    const char *default_format; /* neither -f nor -o FILE (nor -o -) */
    /* -o FILE whose extension names no format: default_format (time,
     * dump and lines write text there), or refused (false: profile and
     * record ask for -f). */
    bool unknown_ext_default;
    /* Without -o the result is a new file in the current directory
     * (record's spyglass-PID-TIME.svg), which must be writable. */
    bool default_in_cwd;
} sg_output;

/* What each command writes: profile (the table on stdout without -o),
 * record (a flame graph), lines (the kernprof table; .lprof a pickle),
 * memory (memory_profiler's table and the peak; -o FILE of an unknown
 * extension is text, as for lines), time (its report), dump (the stacks
 * as text), timeit (its report). */
extern const sg_output sg_output_profile, sg_output_record, sg_output_lines,
    sg_output_memory, sg_output_time, sg_output_dump, sg_output_timeit,
    sg_output_dis;
/* Memory over time: timeline (mprof's .dat, mprofile_STAMP.dat in the
 * current directory without -o) and plot (an SVG plot). */
extern const sg_output sg_output_timeline, sg_output_plot;
/* The data kind of a profile (its kind, but SG_DATA_TIMELINE for a
 * timeline). */
sg_data_kind sg_profile_data_kind(const sg_profile *p);

/* The format for a command: format (-f NAME) when given, else the one
 * path's extension names (-o FILE; "-" is stdout and names none), else
 * the command's default. A format unknown, unguessable, or unable to hold
 * what->kind is refused: one line "<command>: ..." listing the formats
 * that can. sg_writer_pick, which every command calls before it runs
 * anything, also refuses a path that cannot be written (sg_output_check
 * in common/output.h: a missing directory, a directory, read-only, /proc)
 * and, for default_in_cwd, a current directory where no file can be made.
 * Returns 0 with *out set, or SG_EXIT_USAGE after that line on stderr
 * (sg_error). sg_writer_pick_msg picks the format only, and puts the line,
 * without the command, in msg instead (for callers that raise it, such as
 * the Python API). */
int sg_writer_pick(const char *format, const char *path, const sg_output *what,
                   const sg_writer **out);
int sg_writer_pick_msg(const char *format, const char *path,
                       const sg_output *what, const sg_writer **out, char *msg,
                       size_t n);

/* Render p with w into out: the one way from the model to a writer, which
 * refuses a kind w cannot hold, cuts stacks deeper than
 * SG_WRITER_MAX_DEPTH for the stack formats, and reports a writer's
 * out-of-memory (or a failed out) as one error line. Returns 0, or -1
 * after sg_error(). */
int sg_writer_render(const sg_writer *w, const sg_profile *p,
                     const writer_opts *o, strbuf *out);
/* Write a command's rendered result sb (in format w) to path ("-":
 * stdout) through sg_output_deliver: atomically, else to a fallback file
 * named after what->command whose path one error line gives. The result
 * is SG_OUT_LOST (after an error line) when sb failed (out of memory). A
 * command's exit status is then sg_output_status(status, result). */
sg_out_result sg_writer_deliver(const sg_output *what, const sg_writer *w,
                                const char *path, const strbuf *sb);
/* Render p and deliver it (sg_writer_deliver); SG_OUT_LOST after an error
 * line when it could not be rendered. */
sg_out_result sg_writer_write_file(const sg_output *what, const sg_writer *w,
                                   const sg_profile *p, const writer_opts *o,
                                   const char *path);

/* The writers themselves (also callable directly). */
int sg_write_pstats(const sg_profile *p, const writer_opts *o, strbuf *out);
int sg_write_text(const sg_profile *p, const writer_opts *o, strbuf *out);
/* A sampled profile's report: top functions (own, total) and top lines;
 * what `-f text` writes for one. Its header counts the samples (one per
 * thread stack taken) and, when the profile's metadata has them, the ticks
 * the sampler took (all threads read at once) and how long it ran, in
 * seconds: the run's duration, which several threads' samples would
 * exceed. */
#define SG_META_TICKS "ticks"
#define SG_META_DURATION "duration_s"
/* How the sampler kept its deadlines (sampler/loop.h), the time its
 * samples stand for (the sum of their "ns" weights, ns) and the priority
 * its thread ran at: metadata of a recording, which JSON formats with a
 * place for metadata copy. */
#define SG_META_ON_TIME "deadlines_on_time"
#define SG_META_LATE "deadlines_late"
#define SG_META_MISSED "deadlines_missed"
#define SG_META_WEIGHT_NS "weight_ns"
#define SG_META_PRIORITY "sampler_priority"
/* A recording's samples dropped as errors (torn reads and walks), for
 * the HTML report's header beside the missed deadlines. */
#define SG_META_ERRORS "errors"
int sg_write_sample_report(const sg_profile *p, const writer_opts *o,
                           strbuf *out);
/* A memory profile's report (writers/memtext.c): memory_profiler's table
 * for each selected function (those with line entries), with spyglass's
 * own columns, then the peak, the stacks live at it and what was still
 * allocated at the end, the largest first (limit of them; 0: 10). */
int sg_write_memtext(const sg_profile *p, const writer_opts *o, strbuf *out);
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

/* Memory over time (a timeline profile, model/timeline.h): mprof's .dat
 * (writers/mprofdat.c), an SVG plot (writers/plot.c, what the flamegraph
 * format draws for a timeline), and the peak of each series as text, as
 * `mprof peak` prints it. */
int sg_write_dat(const sg_profile *p, const writer_opts *o, strbuf *out);
int sg_write_plot(const sg_profile *p, const writer_opts *o, strbuf *out);
int sg_write_tltext(const sg_profile *p, const writer_opts *o, strbuf *out);
int sg_write_tljson(const sg_profile *p, const writer_opts *o, strbuf *out);

/* One offline HTML report (writers/html.c; writers/html.h for report's
 * own input). */
int sg_write_html(const sg_profile *p, const writer_opts *o, strbuf *out);

/* Shared helpers for the stack writers. */
/* A copy of p's tree with p's metric m as its metric 0 and, when count_m
 * is not -1, p's metric count_m as its metric 1; thread roots dropped
 * unless keep_threads, where frame(t, p, f, ctx) gives the copy's frame
 * for p's frame f: nodes whose frames map to one frame of the copy merge
 * (their metrics add up). Process roots stay (they exist only when
 * subprocesses were followed). NULL when out of memory (frame returns
 * SG_NO_ID for that too). */
typedef sg_frame_id (*sg_retree_frame_fn)(sg_profile *t, const sg_profile *p,
                                          sg_frame_id f, void *ctx);
sg_profile *sg_writer_retree(const sg_profile *p, int m, int count_m,
                             bool keep_threads, sg_retree_frame_fn frame,
                             void *ctx);
/* For each of n distinct paths, the shortest suffix of whole components
 * that no other of them ends with ("x.py", "pkg/x.py", ..., or the whole
 * path): out[i] points into paths[i]. Returns 0, or -1 when out of
 * memory. */
int sg_short_paths(const char *const *paths, size_t n, const char **out);
/* The display name of a frame: "name (file:line)" as py-spy writes it,
 * control characters escaped (sg_writer_put_name). */
void sg_writer_frame_label(const sg_profile *p, sg_frame_id f, strbuf *sb);
/* Append s with its control characters (C0 and DEL) written as \n, \t,
 * \r or \xNN: a name or path may hold any character, and none of them
 * can be in XML 1.0 (flamegraph.pl copies folded names into its SVG) nor,
 * unescaped, in a line of folded stacks. C1 controls and the characters
 * that reorder a line (bidirectional overrides, line separators) are
 * written as repr writes them too (\x9b, \u202e): a terminal would obey
 * them. */
void sg_writer_put_name(strbuf *sb, const char *s);
/* Whether fn has a source file to show (not a builtin, thread or process
 * root). */
bool sg_writer_has_file(const sg_func *fn);
/* The metric stack writers size by: o->metric when it names one of p's
 * metrics other than 0 (a memory profile's SG_MEM_ALLOC), else "ns" when
 * present, else 0; and its scale to seconds (0 when it is not a time). */
int sg_writer_weight_metric(const sg_profile *p, const writer_opts *o,
                            double *seconds_per_unit);
/* Whether p's metric m counts bytes (named "bytes" or "..._bytes", as a
 * memory profile's are): writers show it as a size. */
bool sg_writer_metric_is_bytes(const sg_profile *p, int m);
/* A sg_retree_frame_fn that keeps each frame as it is (same function,
 * same line), so only thread roots merge. */
sg_frame_id sg_writer_same_frame(sg_profile *t, const sg_profile *p,
                                 sg_frame_id f, void *ctx);
/* For each function of p, its file shortened as sg_short_paths does over
 * all of p's files (NULL for a function without a file). The caller
 * frees the array (not the strings, which point into p). NULL when out of
 * memory. */
const char **sg_writer_short_files(const sg_profile *p);

#endif
