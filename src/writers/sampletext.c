/* sampletext.c -- the text report of a sampled profile: the functions that
 * were on the CPU (own samples: innermost frame) and on the stack (total:
 * anywhere on it, counted once per sample however deep the recursion), and
 * the lines that were running. cProfile's table does not fit sampled data
 * (there are no call counts), so `-f text` on a sampled profile prints
 * this, and `spyglass record` prints it as its end report.
 *
 * Shares and times are those of the samples' weights (the time each stands
 * for, "ns"; sampler/record.c), so a sample taken late counts for the time
 * it covered; the sample counts are shown beside them. A profile without
 * weights is weighed by its interval, one per sample.
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

/* The functions' numbers twice: by weight (time), and by count (the same
 * profile seen with its first metric, "samples", alone). Both walk the
 * same tree, so function i is the same in each. */
typedef struct st_funcs {
    sg_funcstats time, count;
} st_funcs;

static int
st_funcs_build(const sg_profile *p, st_funcs *f)
{
    sg_profile counts = *p; /* a read-only view: nothing is freed */
    counts.n_metrics = 1;
    memset(f, 0, sizeof *f);
    if (sg_funcstats_build(p, SG_ROOT_NODE, false, &f->time) < 0)
        return -1;
    if (sg_funcstats_build(&counts, SG_ROOT_NODE, false, &f->count) < 0 ||
        f->count.n != f->time.n) {
        sg_funcstats_free(&f->time);
        sg_funcstats_free(&f->count);
        return -1;
    }
    return 0;
}

/* "name (file:line)", or "file:line (name)" when file_first, and the end
 * of the line. Names and files are the program's: any character, terminal
 * escapes too, so they are written escaped. A function with no file (an
 * elision marker) is its name alone. */
static void
put_where(strbuf *out, const char *name, const char *file, int line,
          bool file_first)
{
    if (!file[0]) {
        sg_writer_put_name(out, name);
    } else if (file_first) {
        sg_writer_put_name(out, file);
        sb_printf(out, ":%d (", line);
        sg_writer_put_name(out, name);
        sb_putc(out, ')');
    } else {
        sg_writer_put_name(out, name);
        sb_puts(out, " (");
        sg_writer_put_name(out, file);
        sb_printf(out, ":%d)", line);
    }
    sb_putc(out, '\n');
}

static int
put_functions(const st_funcs *sf, double iv, double total, bool by_total,
              size_t limit, strbuf *out)
{
    const sg_funcstats *fs = &sf->time;
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
    sb_puts(out, "   own%       own  total%     total  samples: own  total"
                 "  function (file:line)\n");
    for (size_t i = 0; i < fs->n && i < limit; i++) {
        const sg_fstat *f = &fs->f[order[i]];
        const sg_fstat *c = &sf->count.f[order[i]];
        double own = c->tt / iv, tot = c->ct / iv;
        if ((by_total ? tot : own) < 0.5)
            break;
        sb_printf(out, "  %5.1f%% %8.3fs  %5.1f%% %8.3fs  %12.0f %6.0f  ",
                  100.0 * f->tt / total, f->tt, 100.0 * f->ct / total, f->ct,
                  own, tot);
        put_where(out, f->name, f->file, f->line, false);
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
put_lines(const sg_profile *p, int m, double spu, double total, size_t limit,
          strbuf *out)
{
    /* Frames are interned (function, line) pairs: a sample's line is its
     * leaf node's frame. */
    uint64_t *own = sg_calloc(p->n_frames, sizeof *own);
    uint64_t *count = sg_calloc(p->n_frames, sizeof *count);
    uint32_t *order = sg_calloc(p->n_frames, sizeof *order);
    if (!own || !count || !order) {
        free(own);
        free(count);
        free(order);
        return SG_WRITE_NOMEM;
    }
    for (size_t i = 1; i < p->n_nodes; i++) {
        own[p->nodes[i].frame] += p->nodes[i].self[m];
        count[p->nodes[i].frame] += p->nodes[i].self[0];
    }
    size_t n = 0;
    for (uint32_t f = 0; f < p->n_frames; f++)
        if (count[f] && !sg_func_is_synthetic(sg_profile_frame_func(p, f)))
            order[n++] = f;
    sort_key = own;
    sg_sort(order, n, sizeof *order, cmp_own_desc);
    sb_puts(out, "Top lines by own samples:\n   own%       own  samples  "
                 "file:line (function)\n");
    for (size_t i = 0; i < n && i < limit; i++) {
        const sg_frame *fr = &p->frames[order[i]];
        const sg_func *fn = &p->funcs[fr->func];
        double t = (double)own[order[i]] * spu;
        sb_printf(out, "  %5.1f%% %8.3fs  %7llu  ", 100.0 * t / total, t,
                  (unsigned long long)count[order[i]]);
        put_where(out, fn->name, fn->file,
                  fr->line ? fr->line : fn->first_line, true);
    }
    sb_putc(out, '\n');
    free(order);
    free(count);
    free(own);
    return 0;
}

/* "900 samples (thread stacks) in 300 ticks at 10 ms intervals over
 * 3.02 s": a tick reads every thread, so with three busy threads it takes
 * three samples; samples times the interval is thread time, never shown as
 * the run's duration. Ticks and duration are the sampler's (metadata).
 * Then the time the samples stand for, when they carry weights. */
static void
put_header(const sg_profile *p, uint64_t n, double weighed, bool weights,
           double iv, strbuf *out)
{
    const char *ticks = sg_profile_get_meta(p, SG_META_TICKS);
    const char *secs = sg_profile_get_meta(p, SG_META_DURATION);
    sb_printf(out, "%llu samples (thread stacks)", (unsigned long long)n);
    if (ticks)
        sb_printf(out, " in %s ticks", ticks);
    sb_printf(out, " at %.6g ms intervals", iv * 1e3);
    if (secs)
        sb_printf(out, " over %s s", secs);
    if (weights)
        sb_printf(out,
                  "\nThey stand for %.3f s of thread time (each weighs the "
                  "time since its thread was last read)",
                  weighed);
    sb_puts(out, "\n\n");
}

int
sg_write_sample_report(const sg_profile *p, const writer_opts *o, strbuf *out)
{
    double spu;
    int m = sg_writer_weight_metric(p, NULL, &spu);
    uint64_t n = 0, w = 0;
    for (size_t i = 0; i < p->n_nodes; i++) {
        n += p->nodes[i].self[0];
        w += p->nodes[i].self[m];
    }
    double iv = interval_s(p), total = (double)w * spu;
    put_header(p, n, total, m != 0, iv, out);
    if (n == 0 || total <= 0)
        return 0;
    size_t limit = o->limit > 0 ? (size_t)o->limit : 20;
    st_funcs sf;
    if (st_funcs_build(p, &sf) < 0)
        return SG_WRITE_NOMEM;
    int rc = put_functions(&sf, iv, total, false, limit, out);
    if (rc == 0)
        rc = put_functions(&sf, iv, total, true, limit, out);
    sg_funcstats_free(&sf.time);
    sg_funcstats_free(&sf.count);
    return rc < 0 ? rc : put_lines(p, m, spu, total, limit, out);
}
