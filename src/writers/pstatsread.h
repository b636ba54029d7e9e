/* pstatsread.h -- profiles read back for `spyglass report`: pstats files
 * (cProfile's or spyglass's marshal dump) and folded stacks.
 *
 * Both are untrusted input: the parsers are bounded (nesting, sizes,
 * counts), check every type and number, and fail with a reason rather
 * than crash on any bytes.
 */
#ifndef SG_WRITERS_PSTATSREAD_H
#define SG_WRITERS_PSTATSREAD_H

#include <stddef.h>

#include "model/funcstats.h"
#include "model/profile.h"

/* Whether buf looks like a pstats file (a marshal'ed dict). */
int sg_pstats_sniff(const char *buf, size_t n);

/* Add the pstats file buf[0..n) to fs (zeroed before the first file) as
 * pstats.Stats loads and adds files: one row per function key (file,
 * line, name) with (cc, nc, tt, ct), its callers as edges. Returns 0; or
 * -1 with the reason in err, "out of memory" included (fs may then hold
 * part of the file: free it). After the last file, sg_pstats_finish. */
int sg_pstats_parse(const char *buf, size_t n, sg_funcstats *fs, char *err,
                    size_t errn);
/* Sort and sum the edges, link each row to its callers, total. */
void sg_pstats_finish(sg_funcstats *fs);

/* A deterministic profile ("ns", "calls") whose tree is derived from fs's
 * callers graph, as SnakeViz and gprof2dot draw one: pstats keeps no
 * stacks, so each function's time is split among its callees in the
 * shares of the edges' cumulative times, a recursion stops the path, and
 * branches under 1/20000 of the whole are folded into their parent. NULL
 * when out of memory. */
sg_profile *sg_pstats_tree(const sg_funcstats *fs);

/* Read folded stacks ("a;b;c N" lines, as spyglass's collapsed format,
 * flamegraph.pl and py-spy write them; a frame "name (file:line)" is
 * split into its parts) into *out: a new sampled profile when it is NULL,
 * else the one given, to which the stacks add. Returns 0; or -1 with the
 * reason in err (a new profile is then freed, a given one may hold part
 * of the file). */
int sg_folded_parse(const char *buf, size_t n, sg_profile **out, char *err,
                    size_t errn);

#endif
