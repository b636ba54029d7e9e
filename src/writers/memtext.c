/* memtext.c -- the text of a memory profile (`spyglass memory`'s report):
 *
 *   Filename: /path/to/script.py
 *
 *   Line #    Mem usage    Increment  Occurrences    Allocated  ...
 *   ==========================================================  ...
 *        4   14.000 MiB   14.000 MiB           1       1.2 KiB  ...
 *
 * memory_profiler's table (its show_results) for each selected function,
 * the source lines re-read from disk as it does: the first four columns
 * are formatted exactly as `python -m memory_profiler` formats them
 * ('{:>6}', then '{:7.3f} MiB' right-aligned in 12, and '{:>10}'
 * occurrences), so eyes and scripts used to its table keep working. spyglass's
 * own columns come after Occurrences, before the source text (which has to
 * stay last, being of any width): the bytes the line's own blocks allocated,
 * freed and still hold (net), the peak of the traced heap while the line ran
 * and, when it was measured, the resident set size after it (memory_profiler's
 * own Mem usage).
 *
 * Then the summary, in readable units: the process peak (when, where),
 * the stacks holding memory at the peak and those still holding it when
 * tracing ended, the largest first, each as a short stack "f (x.py:3) <-
 * caller (x.py:9)". Sampled figures are said to be estimates.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/err.h"
#include "common/sort.h"
#include "common/units.h"
#include "model/memory.h"
#include "writers/lines.h"
#include "writers/writers.h"

#define MT_MIB 1048576.0
#define MT_TOP 10        /* stacks listed when writer_opts.limit is 0 */
#define MT_STACK_SHOWN 6 /* frames of a short stack before "<- ..." */

/* ---- the table --------------------------------------------------------- */

/* The cells of one row; empty for a line that never ran. */
typedef struct mt_cells {
    char usage[32], inc[32], occ[32];
    char alloc[32], freed[32], net[32], peak[32], rss[32];
} mt_cells;

/* memory_profiler's '{0:7.3f} MiB': the precision (3) its command line,
 * `python -m memory_profiler`, prints with, which `spyglass memory`
 * stands in for. */
static void
fmt_mib(char *buf, size_t n, double bytes)
{
    snprintf(buf, n, "%7.3f MiB", bytes / MT_MIB);
}

static void
fmt_cells(mt_cells *c, const sg_line *l, bool rss)
{
    memset(c, 0, sizeof *c);
    if (l->hits) {
        fmt_mib(c->usage, sizeof c->usage, (double)l->m[SG_MEM_USAGE]);
        fmt_mib(c->inc, sizeof c->inc,
                (double)sg_mem_signed(l->m[SG_MEM_INC]));
        snprintf(c->occ, sizeof c->occ, "%" PRIu64, l->hits);
        fmt_mib(c->peak, sizeof c->peak, (double)l->m[SG_MEM_LINE_PEAK]);
        if (rss)
            fmt_mib(c->rss, sizeof c->rss, (double)l->m[SG_MEM_RSS]);
    }
    /* A line's own blocks are shown whenever it has any, even without a
     * line event of its own (a generator's first line, say). */
    uint64_t a = l->m[SG_MEM_ALLOC], f = l->m[SG_MEM_FREE];
    if (l->hits || a || f) {
        sg_fmt_bytes(c->alloc, sizeof c->alloc, (double)a);
        sg_fmt_bytes(c->freed, sizeof c->freed, (double)f);
        sg_fmt_bytes(c->net, sizeof c->net, (double)a - (double)f);
    }
}

/* One row before its source text: memory_profiler's template
 * '{0:>6} {1:>12} {2:>12}  {3:>10}', then our columns. */
static void
put_row(strbuf *sb, const char *lineno, const mt_cells *c, bool rss)
{
    sb_printf(sb, "%6s %12s %12s  %10s %12s %12s %12s %12s", lineno, c->usage,
              c->inc, c->occ, c->alloc, c->freed, c->net, c->peak);
    if (rss)
        sb_printf(sb, " %12s", c->rss);
    sb_puts(sb, "   ");
}

/* The table's head: memory_profiler's header line, its '=' rule as long
 * as the header. */
static void
put_head(strbuf *sb, bool rss)
{
    static const mt_cells names = {
        "Mem usage", "Increment", "Occurrences", "Allocated",
        "Freed",     "Net",       "Peak inside", "RSS",
    };
    size_t before = sb->len;
    put_row(sb, "Line #", &names, rss);
    sb_puts(sb, "Line Contents");
    size_t n = sb->len - before;
    sb_putc(sb, '\n');
    for (size_t i = 0; i < n; i++)
        sb_putc(sb, '=');
    sb_putc(sb, '\n');
}

/* The table of function f: its block's lines as the file holds them now
 * (from its first line, decorators included, to the end of its body),
 * or, when the file cannot be read, the lines that have entries with no
 * text. */
static int
put_func(strbuf *sb, const sg_profile *p, sg_func_id f, bool rss)
{
    const sg_func *fn = &p->funcs[f];
    sg_line *lines;
    size_t n = sg_lines_of_func(p, f, &lines);
    size_t srclen = 0;
    bool oom = false;
    char *src = lines ? sg_read_source(fn->file, &srclen, &oom) : NULL;
    if (!lines || oom)
        goto nomem;
    int start = fn->first_line, stop = start;
    if (src)
        stop = sg_source_block_end(src, srclen, start);
    else if (n && lines[n - 1].line > stop)
        stop = lines[n - 1].line;
    if (n && lines[0].line < start)
        start = lines[0].line;

    sb_puts(sb, "Filename: ");
    sg_writer_put_name(sb, fn->file);
    sb_puts(sb, "\n\n");
    put_head(sb, rss);
    size_t k = 0;
    for (int ln = start; ln <= stop; ln++) {
        mt_cells c;
        memset(&c, 0, sizeof c);
        while (k < n && lines[k].line < ln)
            k++;
        if (k < n && lines[k].line == ln)
            fmt_cells(&c, &lines[k], rss);
        char num[16];
        snprintf(num, sizeof num, "%d", ln);
        put_row(sb, num, &c, rss);
        size_t tl = 0;
        const char *t = src ? sg_source_line(src, srclen, ln, &tl) : NULL;
        if (t)
            sb_append(sb, t, tl);
        sb_putc(sb, '\n');
    }
    if (!src) {
        sb_puts(sb, "(");
        sg_writer_put_name(sb, fn->file);
        sb_puts(sb, " could not be read: no line contents)\n");
    }
    sb_puts(sb, "\n\n");
    free(src);
    free(lines);
    return 0;
nomem:
    free(src);
    free(lines);
    return SG_WRITE_NOMEM;
}

/* The selected functions: those with line entries, in id order. */
static int
put_tables(strbuf *sb, const sg_profile *p, bool rss)
{
    bool *selected = sg_calloc(p->n_funcs ? p->n_funcs : 1, sizeof *selected);
    if (!selected)
        return SG_WRITE_NOMEM;
    for (size_t i = 0; i < p->n_lines; i++)
        selected[p->lines[i].func] = true;
    int rc = 0;
    for (size_t f = 0; f < p->n_funcs && rc == 0; f++)
        if (selected[f])
            rc = put_func(sb, p, (sg_func_id)f, rss);
    free(selected);
    return rc;
}

/* ---- the summary ------------------------------------------------------- */

/* A stack and its weight, for sorting. */
typedef struct mt_site {
    uint64_t bytes;
    sg_node_id node;
} mt_site;

static int
cmp_site(const void *a, const void *b)
{
    const mt_site *x = a, *y = b;
    if (x->bytes != y->bytes)
        return (x->bytes < y->bytes) - (x->bytes > y->bytes);
    return (x->node > y->node) - (x->node < y->node);
}

/* What the summary reads: the profile's stacks with thread roots merged
 * (metric 0 the bytes live at the peak, 1 those left at the end). */
typedef struct mt_summary {
    const sg_profile *t;
    const char **short_file; /* per function of t */
    mt_site *sites;
    size_t limit;
} mt_summary;

/* "f (x.py:3)": the frame's function and the line it was at. */
static void
put_frame(strbuf *sb, const mt_summary *s, sg_frame_id f)
{
    const sg_frame *fr = &s->t->frames[f];
    const sg_func *fn = &s->t->funcs[fr->func];
    sg_writer_put_name(sb, fn->name);
    if (s->short_file[fr->func]) {
        sb_puts(sb, " (");
        sg_writer_put_name(sb, s->short_file[fr->func]);
        sb_printf(sb, ":%d)", fr->line ? fr->line : fn->first_line);
    }
}

/* "f (x.py:3) <- caller (x.py:9) <- ...", the allocating frame first; a
 * frame repeated by recursion is shown once, "g (x.py:5) x8", and frames
 * beyond MT_STACK_SHOWN are counted. */
static void
put_stack(strbuf *sb, const mt_summary *s, sg_node_id node)
{
    const sg_profile *t = s->t;
    size_t shown = 0, more = 0, repeat = 0;
    sg_frame_id last = SG_NO_ID;
    bool last_shown = false;
    for (sg_node_id n = node; n != SG_ROOT_NODE && n != SG_NO_ID;
         n = t->nodes[n].parent) {
        sg_frame_id f = t->nodes[n].frame;
        if (sg_func_is_synthetic(sg_profile_frame_func(t, f)))
            continue;
        if (f == last) {
            repeat++;
            continue;
        }
        if (repeat && last_shown)
            sb_printf(sb, " x%zu", repeat + 1);
        repeat = 0;
        last = f;
        last_shown = shown < MT_STACK_SHOWN;
        if (!last_shown) {
            more++;
            continue;
        }
        if (shown++)
            sb_puts(sb, " <- ");
        put_frame(sb, s, f);
    }
    if (repeat && last_shown)
        sb_printf(sb, " x%zu", repeat + 1);
    if (more)
        sb_printf(sb, " <- ... (%zu more)", more);
}

/* The stacks with bytes in metric m of the merged tree, the largest
 * first: at most s->limit of them, then what the others hold. */
static void
put_sites(strbuf *sb, mt_summary *s, int m, const char *what)
{
    const sg_profile *t = s->t;
    size_t n = 0;
    uint64_t total = 0;
    for (sg_node_id i = 1; i < t->n_nodes; i++) {
        uint64_t b = t->nodes[i].self[m];
        if (b) {
            s->sites[n++] = (mt_site){b, i};
            total += b;
        }
    }
    char size[32];
    if (n == 0) {
        sb_printf(sb, "%s: nothing.\n", what);
        return;
    }
    sg_sort(s->sites, n, sizeof *s->sites, cmp_site);
    sb_printf(sb, "%s: %s in %zu stack%s%s\n", what,
              sg_fmt_bytes(size, sizeof size, (double)total), n,
              n == 1 ? "" : "s", n > 1 ? ", the largest first:" : ":");
    size_t shown = n < s->limit ? n : s->limit;
    uint64_t rest = total;
    for (size_t i = 0; i < shown; i++) {
        uint64_t b = s->sites[i].bytes;
        rest -= b;
        sb_printf(sb, "  %10s %5.1f%%  ",
                  sg_fmt_bytes(size, sizeof size, (double)b),
                  100.0 * (double)b / (double)total);
        put_stack(sb, s, s->sites[i].node);
        sb_putc(sb, '\n');
    }
    if (shown < n)
        sb_printf(sb, "  ... %zu more stack%s holding %s\n", n - shown,
                  n - shown == 1 ? "" : "s",
                  sg_fmt_bytes(size, sizeof size, (double)rest));
}

/* A metadata number, 0 when missing. */
static uint64_t
meta_u64(const sg_profile *p, const char *key)
{
    const char *v = sg_profile_get_meta(p, key);
    return v ? strtoull(v, NULL, 10) : 0;
}

/* "<what>: 12.3 MiB, <when> 1.234 s" from two metadata keys, the time
 * left out when the profile does not have it. */
static void
put_amount(strbuf *sb, const sg_profile *p, const char *what,
           const char *bytes_key, const char *when, const char *ns_key)
{
    char size[32], t[48];
    sb_printf(sb, "%s: %s", what,
              sg_fmt_bytes(size, sizeof size, (double)meta_u64(p, bytes_key)));
    if (sg_profile_get_meta(p, ns_key))
        sb_printf(
            sb, when,
            sg_fmt_duration(t, sizeof t, (double)meta_u64(p, ns_key) * 1e-9));
}

/* The peak, the end, and whether the figures are estimates. */
static void
put_totals(strbuf *sb, const sg_profile *p)
{
    char size[32];
    const char *where = sg_profile_get_meta(p, SG_MEM_META_PEAK_WHERE);
    put_amount(sb, p, "Peak of the traced heap", SG_MEM_META_PEAK_BYTES,
               ", %s after tracing started", SG_MEM_META_PEAK_NS);
    if (where && *where) {
        sb_puts(sb, ", reached at ");
        sg_writer_put_name(sb, where);
    }
    sb_puts(sb, "\n");
    put_amount(sb, p, "Traced heap when tracing ended", SG_MEM_META_END_BYTES,
               ", after %s", SG_MEM_META_TOTAL_NS);
    sb_puts(sb, "\n");
    uint64_t sample = meta_u64(p, SG_MEM_META_SAMPLE_BYTES);
    if (sample)
        sb_printf(sb,
                  "Sampled (one block per %s allocated on average): every "
                  "figure is an estimate.\n",
                  sg_fmt_bytes(size, sizeof size, (double)sample));
    const char *native = sg_profile_get_meta(p, SG_MEM_META_NATIVE);
    sb_printf(sb, "Traced: %s.\n",
              native && strcmp(native, "1") == 0
                  ? "Python's allocators and malloc and friends (--native)"
                  : "Python's allocators (--native adds malloc and "
                    "friends, which C extensions call)");
}

static int
put_summary(strbuf *sb, const sg_profile *p, const writer_opts *o)
{
    mt_summary s;
    memset(&s, 0, sizeof s);
    sg_profile *t = sg_writer_retree(p, SG_MEM_PEAK, SG_MEM_LEAK, false,
                                     sg_writer_same_frame, NULL);
    int rc = SG_WRITE_NOMEM;
    s.t = t;
    s.short_file = t ? sg_writer_short_files(t) : NULL;
    s.sites = t ? sg_calloc(t->n_nodes, sizeof *s.sites) : NULL;
    s.limit = o->limit > 0 ? (size_t)o->limit : MT_TOP;
    if (!s.short_file || !s.sites)
        goto done;
    put_totals(sb, p);
    sb_putc(sb, '\n');
    put_sites(sb, &s, 0, "Live at the peak");
    sb_putc(sb, '\n');
    put_sites(sb, &s, 1, "Still allocated when tracing ended");
    rc = 0;
done:
    free(s.sites);
    free(s.short_file);
    sg_profile_free(t);
    return rc;
}

int
sg_write_memtext(const sg_profile *p, const writer_opts *o, strbuf *out)
{
    if (p->kind != SG_PROFILE_MEMORY || p->n_metrics < SG_MEM_N_METRICS) {
        sg_error("the memory report needs a memory profile (spyglass "
                 "memory)");
        return -1;
    }
    const char *rss = sg_profile_get_meta(p, SG_MEM_META_RSS);
    int rc = put_tables(out, p, rss && strcmp(rss, "1") == 0);
    return rc < 0 ? rc : put_summary(out, p, o);
}
