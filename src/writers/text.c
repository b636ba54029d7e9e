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
 *
 * Where pstats prints the sum of the own times as T, this prints the wall
 * time the table covers (the recording's, or the thread's), when the
 * profile knows it; several threads get a block of their CPU and wall
 * times under the header. The default order (no sort key given) ranks by
 * the cumulative time outside waits (funcstats.h) when the table has any,
 * lists the waits after the table and says so; every other key, and
 * pstats files, order exactly as pstats.
 */
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/err.h"
#include "common/sort.h"
#include "model/funcstats.h"
#include "writers/writers.h"

/* The wall time a table covers: the recording's for the whole profile, a
 * thread's for its own table; when unknown, the sum of the own times, as
 * pstats prints it. */
static double
table_seconds(const sg_profile *p, sg_node_id root, const sg_funcstats *fs)
{
    if (root == SG_ROOT_NODE)
        return p->wall_ns ? (double)p->wall_ns * 1e-9 : fs->total_tt;
    sg_frame_id fr = p->nodes[root].frame;
    const sg_thread_time *t =
        fr == SG_NO_ID ? NULL : sg_profile_thread_time(p, p->frames[fr].func);
    return t ? (double)t->wall_ns * 1e-9 : fs->total_tt;
}

static int
cmp_cpu(const void *a, const void *b)
{
    const sg_thread_time *x = a, *y = b;
    return (x->cpu_ns < y->cpu_ns) - (x->cpu_ns > y->cpu_ns);
}

#define TEXT_MAX_THREADS 16

/* With several threads, what each did: its CPU time and its wall time
 * while recorded, the busiest first. */
static int
put_threads(const sg_profile *p, strbuf *out)
{
    size_t n = p->n_thread_times;
    if (n < 2)
        return 0;
    sg_thread_time *t = sg_calloc(n, sizeof *t);
    if (!t)
        return SG_WRITE_NOMEM;
    memcpy(t, p->thread_times, n * sizeof *t);
    sg_sort(t, n, sizeof *t, cmp_cpu);
    int width = 6;
    for (size_t i = 0; i < n && i < TEXT_MAX_THREADS; i++) {
        int len = (int)strlen(p->funcs[t[i].thread].name);
        width = len > width ? (len < 40 ? len : 40) : width;
    }
    sb_printf(out, "   %-*s    CPU s   wall s\n", width, "thread");
    uint64_t rest_cpu = 0;
    for (size_t i = 0; i < n; i++) {
        if (i >= TEXT_MAX_THREADS) {
            rest_cpu += t[i].cpu_ns;
            continue;
        }
        sb_printf(out, "   %-*.*s ", width, width, p->funcs[t[i].thread].name);
        if (t[i].cpu_known)
            sb_printf(out, "%8.3f ", (double)t[i].cpu_ns * 1e-9);
        else
            sb_puts(out, "       ? ");
        sb_printf(out, "%8.3f\n", (double)t[i].wall_ns * 1e-9);
    }
    if (n > TEXT_MAX_THREADS)
        sb_printf(out, "   ... %zu more threads, %.3f s CPU in all\n",
                  n - TEXT_MAX_THREADS, (double)rest_cpu * 1e-9);
    sb_putc(out, '\n');
    free(t);
    return 0;
}

/* A wait and its key: qsort has no context in C11. */
typedef struct text_wait {
    double ct;
    const sg_fstat *f;
} text_wait;

static int
cmp_wait(const void *a, const void *b)
{
    double x = ((const text_wait *)a)->ct, y = ((const text_wait *)b)->ct;
    return (x < y) - (x > y);
}

/* In the busy order the waits sink to the bottom: say so, and list them
 * with their cumulative time, the longest first. */
/* pstats' "file:line(function)", its names escaped for a terminal (they
 * are the program's: any character). */
static void
put_std_string(const sg_fstat *f, strbuf *out)
{
    strbuf raw = STRBUF_INIT;
    sg_fstat_std_string(f, &raw);
    if (sb_failed(&raw))
        out->failed = true; /* the row would be missing: say so */
    else
        sg_writer_put_name(out, sb_str(&raw));
    sb_free(&raw);
}

static int
put_waits(const sg_funcstats *fs, strbuf *out)
{
    text_wait *w = sg_calloc(fs->n, sizeof *w);
    if (!w)
        return SG_WRITE_NOMEM;
    size_t n = 0;
    for (size_t i = 0; i < fs->n; i++)
        if (sg_fstat_is_wait(&fs->f[i]) && fs->f[i].ct >= 0.0005)
            w[n++] = (text_wait){fs->f[i].ct, &fs->f[i]};
    sg_sort(w, n, sizeof *w, cmp_wait);
    sb_puts(out, "   Waits (blocked, not computing) rank above by their time "
                 "outside waits, none;\n"
                 "   -s cumtime ranks by cumulative time, as pstats:\n"
                 "    cumtime  wait\n");
    for (size_t i = 0; i < n; i++) {
        sb_printf(out, "   %8.3f  ", w[i].ct);
        put_std_string(w[i].f, out);
        sb_putc(out, '\n');
    }
    sb_puts(out, "\n\n");
    free(w);
    return 0;
}

static void
put_row(const sg_fstat *f, strbuf *out)
{
    char calls[64];
    if (f->nc != f->cc)
        snprintf(calls, sizeof calls, "%llu/%llu", (unsigned long long)f->nc,
                 (unsigned long long)f->cc);
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
    put_std_string(f, out);
    sb_putc(out, '\n');
}

/* The table of the subtree under root. In the default order (busy_default:
 * no key given) a table with waits is ordered by cumulative time outside
 * them, so that a sleeping thread does not outrank the one computing. */
static int
put_table(const sg_profile *p, sg_node_id root, const sg_sort_spec *spec,
          bool busy_default, const writer_opts *o, strbuf *out)
{
    sg_funcstats fs;
    if (sg_funcstats_build(p, root, o->strip_dirs, &fs) < 0)
        return SG_WRITE_NOMEM;
    sb_printf(out, "         %llu function calls",
              (unsigned long long)fs.total_calls);
    if (fs.total_calls != fs.prim_calls)
        sb_printf(out, " (%llu primitive calls)",
                  (unsigned long long)fs.prim_calls);
    sb_printf(out, " in %.3f seconds\n\n", table_seconds(p, root, &fs));
    int rc = root == SG_ROOT_NODE ? put_threads(p, out) : 0;
    sg_sort_spec busy;
    bool waits = busy_default && fs.total_wait >= 0.0005;
    if (waits) {
        sg_sort_busy(&busy);
        spec = &busy;
    }
    uint32_t *order = fs.n ? sg_calloc(fs.n, sizeof *order) : NULL;
    if (rc < 0 || fs.n == 0 || !order ||
        sg_funcstats_sort(&fs, spec, order) < 0) {
        rc = rc < 0 || fs.n ? SG_WRITE_NOMEM : 0;
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
    for (size_t r = 0; r < rows; r++)
        put_row(&fs.f[order[r]], out);
    sb_puts(out, "\n\n");
    if (waits)
        rc = put_waits(&fs, out);
    free(order);
    sg_funcstats_free(&fs);
    return rc;
}

int
sg_write_text(const sg_profile *p, const writer_opts *o, strbuf *out)
{
    if (p->kind == SG_PROFILE_SAMPLED)
        return sg_write_sample_report(p, o, out);
    if (p->kind == SG_PROFILE_LINES)
        return sg_writer_linetext(p, o, out);
    if (p->kind == SG_PROFILE_MEMORY)
        return sg_write_memtext(p, o, out);
    if (p->kind == SG_PROFILE_TIMELINE)
        return sg_write_tltext(p, o, out);
    sg_sort_spec spec;
    strbuf err = STRBUF_INIT;
    if (sg_sort_parse(o->sort ? o->sort : "cumulative", &spec, &err) < 0) {
        sg_error("%s", sb_str(&err));
        sb_free(&err);
        return -1;
    }
    sb_free(&err);
    /* Only the default order leaves waits out: any key that was asked
     * for, "cumulative" too, orders exactly as pstats. */
    bool busy = o->sort == NULL;
    int rc = put_table(p, SG_ROOT_NODE, &spec, busy, o, out);
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
        sb_puts(out, "Thread ");
        sg_writer_put_name(out, f->name);
        sb_printf(out, " (id %llu)", (unsigned long long)f->id);
        const sg_thread_time *t = sg_profile_thread_time(
            p, nd->frame == SG_NO_ID ? SG_NO_ID : p->frames[nd->frame].func);
        if (t && t->cpu_known)
            sb_printf(out, ": %.3f s CPU", (double)t->cpu_ns * 1e-9);
        sb_puts(out, "\n\n");
        if ((rc = put_table(p, n, &spec, busy, o, out)) < 0)
            return rc;
    }
    return 0;
}
