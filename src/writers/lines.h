/* lines.h -- the line profiler's two formats, read from the profile model's
 * line table (sg_profile_line entries: hits, and time in one metric):
 *
 *   linetext: the table `kernprof -l -v` prints (line_profiler's show_text),
 *             byte for byte, source lines re-read from disk as it does;
 *   lprof:    the pickle that `kernprof -l` writes and `python -m
 *             line_profiler FILE.lprof` loads (line_profiler 4.x and 5.x).
 *
 * The functions reported are the model's SG_FUNC_PYTHON functions, in id
 * order; a function without line entries is shown with no hits, as kernprof
 * shows a decorated function that never ran. The source helpers below
 * also serve the memory table (memtext.c).
 */
#ifndef SG_WRITERS_LINES_H
#define SG_WRITERS_LINES_H

#include <stdbool.h>
#include <stddef.h>

#include "common/strbuf.h"
#include "model/profile.h"

/* Append the kernprof table. ns_metric holds each line's time in
 * nanoseconds; output_unit is the seconds per displayed time unit
 * (kernprof -u; 1e-6 by default). Returns 0, or SG_WRITE_NOMEM (-2) when
 * out of memory (sb may also be failed: check sb_failed). */
int sg_write_linetext(strbuf *sb, const sg_profile *p, int ns_metric,
                      double output_unit);

/* Append a pickle of line_profiler's LineStats: timings keyed by
 * (filename, first line, function name) with (line, hits, ns) triples, and
 * unit 1e-9. Returns 0, or SG_WRITE_NOMEM when out of memory. */
int sg_write_lprof(strbuf *sb, const sg_profile *p, int ns_metric);

/* The last line of the block (decorators, def/class header and body) that
 * starts at line `first` of the source text, as inspect.getblock finds it;
 * `first` when the text has no such line. Also the memory table's (memtext.c)
 * block finder, and exposed for tests. */
int sg_source_block_end(const char *text, size_t len, int first);

/* The text of the source file at path (read whole, NUL-terminated, its
 * length in *len), or NULL when it cannot be read (*oom says whether for
 * lack of memory). The caller frees it. */
char *sg_read_source(const char *path, size_t *len, bool *oom);
/* Where sg_read_source looks when path is no regular file: a reader of the
 * same contract, or NULL (the default) for none. The agent sets one while
 * the IPython magics are loaded: its linecache holds the cells, whose
 * names are no files. */
typedef char *sg_source_reader(const char *path, size_t *len, bool *oom);
void sg_set_source_fallback(sg_source_reader *reader);

/* The start of line `lineno` (1-based) of text and its length without the
 * line ending ("\n", "\r\n"), or NULL past the end. */
const char *sg_source_line(const char *text, size_t len, int lineno,
                           size_t *n);

/* The lines of one function in the model, sorted by line number. The caller
 * frees *out with free(); *out is NULL when out of memory. */
size_t sg_lines_of_func(const sg_profile *p, sg_func_id f, sg_line **out);

/* The registry (writers.h) lists both as "lprof" (*.lprof) and "kernprof"
 * (*.lprof.txt): sg_writer_lprof and sg_writer_linetext, which refuse a
 * model without line timings. */

#endif
