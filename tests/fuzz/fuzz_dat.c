/* fuzz_dat.c -- fuzz the reader of mprof .dat files (writers/datread.c),
 * which `spyglass plot` feeds any file it is given.
 *
 * Checked besides memory safety: a file refused leaves the timeline as it
 * was (nothing of it added) with a reason; a file taken adds one run (with
 * samples, brackets or a command line) whose samples are all in the
 * documented ranges; reading the same bytes again
 * gives the same numbers.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "writers/mprofdat.h"

static size_t
points(const sg_timeline *tl)
{
    size_t n = 0;
    for (size_t i = 0; i < tl->n_series; i++) {
        const sg_tl_series *s = &tl->series[i];
        for (size_t k = 0; k < s->n; k++)
            if (!isfinite(s->v[k].t) || s->v[k].t < 0 ||
                s->v[k].bytes > (1ull << 60))
                abort();
        n += s->n;
    }
    return n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sg_timeline *tl = sg_timeline_new();
    if (!tl)
        return 0;
    char err[128];
    int rc = sg_dat_parse(tl, (const char *)data, size, "f", err, sizeof err);
    if (rc < 0 && (tl->n_runs || tl->n_series || tl->n_funcs || !err[0]))
        abort();
    size_t n = points(tl), funcs = tl->n_funcs;
    /* A run taken holds samples, brackets, or at least its CMDLINE. */
    if (rc == 0 &&
        (tl->n_runs != 1 || (n == 0 && funcs == 0 && !tl->runs[0].cmdline)))
        abort();
    /* The same bytes again: a second run just like the first. */
    int rc2 = sg_dat_parse(tl, (const char *)data, size, "g", err, sizeof err);
    if (rc2 != rc ||
        (rc == 0 && (points(tl) != 2 * n || tl->n_funcs != 2 * funcs)))
        abort();
    sg_timeline_free(tl);
    return 0;
}
