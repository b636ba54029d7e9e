/* html.h -- the offline HTML report, for `report` (and its diff).
 *
 * The registry's "html" format calls sg_write_html with a profile alone;
 * `spyglass report` passes more: the function table read from a pstats
 * file (whose numbers the tree built from it only approximates) and, for
 * --diff, the base profile's table to colour each function by its change.
 */
#ifndef SG_WRITERS_HTML_H
#define SG_WRITERS_HTML_H

#include <stdbool.h>

#include "common/strbuf.h"
#include "model/funcstats.h"
#include "model/profile.h"
#include "writers/writers.h"

typedef struct sg_html_input {
    const sg_profile *p;
    const writer_opts *o;
    /* The function table to show; NULL: derived from p's tree. */
    const sg_funcstats *stats;
    /* --diff: the base's function table (NULL: no diff) and what to call
     * the two sides. */
    const sg_funcstats *base;
    const char *base_label, *new_label;
    /* Sources of the files with line data are embedded unless this. */
    bool no_source;
} sg_html_input;

/* Append the report to out. Returns 0 or SG_WRITE_NOMEM. */
int sg_html_write(const sg_html_input *in, strbuf *out);

#endif
