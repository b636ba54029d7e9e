/* text.c -- cProfile's printed table, byte for byte as pstats prints it:
 *
 *          N function calls (M primitive calls) in T seconds
 *
 *    Ordered by: cumulative time
 *
 *    ncalls  tottime  percall  cumtime  percall filename:lineno(function)
 *
 * ncalls is "nc/cc" when recursion made them differ; times "%8.3f"; a
 * per-call column is blank when its divisor is 0. With per_thread, one such
 * table per thread root follows the merged one, headed by the thread name.
 */
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/err.h"
#include "model/funcstats.h"
#include "writers/writers.h"

static int
put_table(const sg_profile *p, sg_node_id root, const sg_sort_spec *spec,
          const writer_opts *o, strbuf *out)
{
    sg_funcstats fs;
    if (sg_funcstats_build(p, root, o->strip_dirs, &fs) < 0)
        return SG_WRITE_NOMEM;
    sb_printf(out, "         %llu function calls",
              (unsigned long long)fs.total_calls);
    if (fs.total_calls != fs.prim_calls)
        sb_printf(out, " (%llu primitive calls)",
                  (unsigned long long)fs.prim_calls);
    sb_printf(out, " in %.3f seconds\n\n", fs.total_tt);
    uint32_t *order = fs.n ? sg_calloc(fs.n, sizeof *order) : NULL;
    if (fs.n == 0 || !order || sg_funcstats_sort(&fs, spec, order) < 0) {
        int rc = fs.n ? SG_WRITE_NOMEM : 0;
        free(order);
        sg_funcstats_free(&fs);
        return rc;
    }
    size_t rows = fs.n;
    sb_printf(out, "   Ordered by: %s\n", spec->description);
    if (o->limit > 0 && (size_t)o->limit < rows) {
        sb_printf(out,
                  "   List reduced from %zu to %d due to restriction "
                  "<%d>\n",
                  rows, o->limit, o->limit);
        rows = (size_t)o->limit;
    }
    sb_puts(out, "\n   ncalls  tottime  percall  cumtime  percall "
                 "filename:lineno(function)\n");
    for (size_t r = 0; r < rows; r++) {
        const sg_fstat *f = &fs.f[order[r]];
        char calls[64];
        if (f->nc != f->cc)
            snprintf(calls, sizeof calls, "%llu/%llu",
                     (unsigned long long)f->nc, (unsigned long long)f->cc);
        else
            snprintf(calls, sizeof calls, "%llu", (unsigned long long)f->nc);
        sb_printf(out, "%9s %8.3f ", calls, f->tt);
        if (f->nc == 0)
            sb_puts(out, "         ");
        else
            sb_printf(out, "%8.3f ", f->tt / (double)f->nc);
        sb_printf(out, "%8.3f ", f->ct);
        if (f->cc == 0)
            sb_puts(out, "         ");
        else
            sb_printf(out, "%8.3f ", f->ct / (double)f->cc);
        sg_fstat_std_string(f, out);
        sb_putc(out, '\n');
    }
    sb_puts(out, "\n\n");
    free(order);
    sg_funcstats_free(&fs);
    return 0;
}

int
sg_write_text(const sg_profile *p, const writer_opts *o, strbuf *out)
{
    if (p->kind == SG_PROFILE_SAMPLED)
        return sg_write_sample_report(p, o, out);
    if (p->kind == SG_PROFILE_LINES)
        return sg_writer_linetext(p, o, out);
    sg_sort_spec spec;
    strbuf err = STRBUF_INIT;
    if (sg_sort_parse(o->sort ? o->sort : "cumulative", &spec, &err) < 0) {
        sg_error("%s", sb_str(&err));
        sb_free(&err);
        return -1;
    }
    sb_free(&err);
    int rc = put_table(p, SG_ROOT_NODE, &spec, o, out);
    if (rc < 0 || !o->per_thread)
        return rc;
    /* Thread roots sit under the root or under process roots. */
    for (sg_node_id n = 0; n < p->n_nodes; n++) {
        const sg_node *nd = &p->nodes[n];
        if (nd->frame == SG_NO_ID)
            continue;
        const sg_func *f = sg_profile_frame_func(p, nd->frame);
        if (f->kind != SG_FUNC_THREAD)
            continue;
        sb_printf(out, "Thread %s (id %llu)\n\n", f->name,
                  (unsigned long long)f->id);
        if ((rc = put_table(p, n, &spec, o, out)) < 0)
            return rc;
    }
    return 0;
}
