/* sampletext.c -- the text report of a sampled profile: the functions that
 * were on the CPU (own samples: innermost frame) and on the stack (total:
 * anywhere on it, counted once per sample however deep the recursion), and
 * the lines that were running. cProfile's table does not fit sampled data
 * (there are no call counts), so `-f text` on a sampled profile prints
 * this, and `spyglass record` prints it as its end report.
 */
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/sort.h"
#include "model/funcstats.h"
#include "writers/writers.h"

static double
interval_s(const sg_profile *p)
{
    double v = (double)p->sample_interval_ns / 1e9;
    return v > 0 ? v : 1.0;
}

static int
put_functions(const sg_funcstats *fs, double iv, uint64_t total, bool by_total,
              size_t limit, strbuf *out)
{
    uint32_t *order = sg_calloc(fs->n, sizeof *order);
    sg_sort_spec spec;
    strbuf err = STRBUF_INIT;
    sg_sort_parse(by_total ? "cumulative" : "tottime", &spec, &err);
    sb_free(&err);
    if (!order || sg_funcstats_sort(fs, &spec, order) < 0) {
        free(order);
        return SG_WRITE_NOMEM;
    }
    sb_printf(out, "Top functions by %s samples:\n",
              by_total ? "total (on the stack)" : "own (innermost)");
    sb_puts(out, "   own%    own  total%  total  function (file:line)\n");
    for (size_t i = 0; i < fs->n && i < limit; i++) {
        const sg_fstat *f = &fs->f[order[i]];
        double own = f->tt / iv, tot = f->ct / iv;
        if ((by_total ? tot : own) < 0.5)
            break;
        sb_printf(out, "  %5.1f%% %6.0f  %5.1f%% %6.0f  %s (%s:%d)\n",
                  100.0 * own / (double)total, own,
                  100.0 * tot / (double)total, tot, f->name, f->file, f->line);
    }
    sb_putc(out, '\n');
    free(order);
    return 0;
}

static const uint64_t *sort_key;

static int
cmp_own_desc(const void *a, const void *b)
{
    uint64_t x = sort_key[*(const uint32_t *)a];
    uint64_t y = sort_key[*(const uint32_t *)b];
    if (x != y)
        return x < y ? 1 : -1;
    return (*(const uint32_t *)a > *(const uint32_t *)b) -
           (*(const uint32_t *)a < *(const uint32_t *)b);
}

static int
put_lines(const sg_profile *p, uint64_t total, size_t limit, strbuf *out)
{
    /* Frames are interned (function, line) pairs: a sample's line is its
     * leaf node's frame. */
    uint64_t *own = sg_calloc(p->n_frames, sizeof *own);
    uint32_t *order = sg_calloc(p->n_frames, sizeof *order);
    if (!own || !order) {
        free(own);
        free(order);
        return SG_WRITE_NOMEM;
    }
    for (size_t i = 1; i < p->n_nodes; i++)
        if (p->nodes[i].self[0])
            own[p->nodes[i].frame] += p->nodes[i].self[0];
    size_t n = 0;
    for (uint32_t f = 0; f < p->n_frames; f++)
        if (own[f] && !sg_func_is_synthetic(sg_profile_frame_func(p, f)))
            order[n++] = f;
    sort_key = own;
    sg_sort(order, n, sizeof *order, cmp_own_desc);
    sb_puts(out, "Top lines by own samples:\n   own%    own  file:line "
                 "(function)\n");
    for (size_t i = 0; i < n && i < limit; i++) {
        const sg_frame *fr = &p->frames[order[i]];
        const sg_func *fn = &p->funcs[fr->func];
        sb_printf(out, "  %5.1f%% %6llu  %s:%d (%s)\n",
                  100.0 * (double)own[order[i]] / (double)total,
                  (unsigned long long)own[order[i]], fn->file,
                  fr->line ? fr->line : fn->first_line, fn->name);
    }
    sb_putc(out, '\n');
    free(order);
    free(own);
    return 0;
}

/* "900 samples (thread stacks) in 300 ticks at 10 ms intervals over
 * 3.02 s": a tick reads every thread, so with three busy threads it takes
 * three samples; samples times the interval is thread time, never shown as
 * the run's duration. Ticks and duration are the sampler's (metadata). */
static void
put_header(const sg_profile *p, uint64_t total, double iv, strbuf *out)
{
    const char *ticks = sg_profile_get_meta(p, SG_META_TICKS);
    const char *secs = sg_profile_get_meta(p, SG_META_DURATION);
    sb_printf(out, "%llu samples (thread stacks)", (unsigned long long)total);
    if (ticks)
        sb_printf(out, " in %s ticks", ticks);
    sb_printf(out, " at %.6g ms intervals", iv * 1e3);
    if (secs)
        sb_printf(out, " over %s s", secs);
    sb_puts(out, "\n\n");
}

int
sg_write_sample_report(const sg_profile *p, const writer_opts *o, strbuf *out)
{
    uint64_t total = 0;
    for (size_t i = 0; i < p->n_nodes; i++)
        total += p->nodes[i].self[0];
    double iv = interval_s(p);
    put_header(p, total, iv, out);
    if (total == 0)
        return 0;
    size_t limit = o->limit > 0 ? (size_t)o->limit : 20;
    sg_funcstats fs;
    if (sg_funcstats_build(p, SG_ROOT_NODE, false, &fs) < 0)
        return SG_WRITE_NOMEM;
    int rc = put_functions(&fs, iv, total, false, limit, out);
    if (rc == 0)
        rc = put_functions(&fs, iv, total, true, limit, out);
    sg_funcstats_free(&fs);
    return rc < 0 ? rc : put_lines(p, total, limit, out);
}
