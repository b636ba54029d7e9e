/* plot.c -- a timeline drawn as one self-contained SVG, as `mprof plot`
 * draws a .dat with matplotlib: memory (MiB) against time (seconds from
 * each run's first sample), one line per series (each child its own with
 * -M; runs overlaid), the highest sample of each run marked, labelled and
 * ruled across (mprof's dashed max line), and function brackets: '[' at a
 * call's entry and ']' at its exit, at the memory of each end, one colour
 * per function, named in the legend.
 *
 * Long series are thinned to the lowest and highest sample of each pixel
 * column, so the drawing stays small and no peak is lost. The legend sits
 * on a pale box at the top left, or at the top right when a peak's marker
 * or label would fall under it.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/timeline.h"
#include "writers/writers.h"

#define MIB 1048576.0

enum { PW = 960, PH = 540, ML = 72, MR = 24, MT = 48, MB = 52 };
#define X0 ((double)ML)
#define X1 ((double)(PW - MR))
#define Y0 ((double)(PH - MB)) /* the bottom of the plot area */
#define Y1 ((double)MT)
#define LEGEND_MAX 14 /* entries shown; the rest counted */

static const char *const palette[] = {
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
    "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22",
};
#define N_COLORS (sizeof palette / sizeof *palette)

typedef struct plot {
    const sg_timeline *tl;
    double *t0;        /* each run's origin */
    double tmax, ymax; /* seconds, MiB: the axes' ends */
    strbuf *out;
    strbuf legend_sb; /* the entries, drawn once the series are */
    int legend;       /* entries so far */
    int legend_more;
    size_t legend_chars; /* the longest entry's text */
} plot;

static double
px(const plot *p, double t)
{
    return X0 + (X1 - X0) * t / p->tmax;
}

static double
py(const plot *p, uint64_t bytes)
{
    return Y0 - (Y0 - Y1) * ((double)bytes / MIB) / p->ymax;
}

/* Text from outside (a command line, a function name): control
 * characters escaped, bytes that are not UTF-8 shown as '?', XML's
 * specials escaped -- so any .dat gives valid XML. */
static void
plot_text(strbuf *out, const char *s)
{
    strbuf t = STRBUF_INIT;
    sg_writer_put_name(&t, s);
    const unsigned char *u = (const unsigned char *)sb_str(&t);
    strbuf v = STRBUF_INIT;
    for (size_t i = 0; u[i];) {
        int len = u[i] < 0x80             ? 1
                  : (u[i] & 0xe0) == 0xc0 ? 2
                  : (u[i] & 0xf0) == 0xe0 ? 3
                  : (u[i] & 0xf8) == 0xf0 ? 4
                                          : 0;
        bool ok = len > 0 && (len != 2 || u[i] >= 0xc2);
        for (int k = 1; ok && k < len; k++)
            ok = (u[i + k] & 0xc0) == 0x80;
        if (ok)
            sb_append(&v, u + i, (size_t)len);
        else
            sb_putc(&v, '?');
        i += ok ? (size_t)len : 1;
    }
    sb_put_xml(out, sb_str(&v));
    if (sb_failed(&t) || sb_failed(&v))
        out->failed = true;
    sb_free(&t);
    sb_free(&v);
}

/* A step of 1, 2 or 5 times a power of ten giving about n ticks over
 * range. */
static double
nice_step(double range, int n)
{
    double raw = range / n, mag = pow(10, floor(log10(raw)));
    double f = raw / mag;
    return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * mag;
}

/* The axis end: range rounded up to a whole step. */
static double
nice_end(double range)
{
    if (!(range > 0))
        return 1;
    double step = nice_step(range, 6);
    return ceil(range / step - 1e-9) * step;
}

static void
plot_axes(plot *p)
{
    strbuf *o = p->out;
    sb_printf(o,
              "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
              "fill=\"#fff\" stroke=\"#888\"/>\n",
              ML, MT, PW - ML - MR, PH - MT - MB);
    double xs = nice_step(p->tmax, 8), ys = nice_step(p->ymax, 6);
    sb_puts(o, "<g class=\"axes\" font-size=\"12\" fill=\"#333\">\n");
    for (int k = 0; k * xs <= p->tmax * (1 + 1e-9); k++) {
        double x = px(p, k * xs);
        sb_printf(o,
                  "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                  "stroke=\"#eee\"/><text x=\"%.1f\" y=\"%.1f\" "
                  "text-anchor=\"middle\">%g</text>\n",
                  x, Y1, x, Y0, x, Y0 + 16, k * xs);
    }
    for (int k = 0; k * ys <= p->ymax * (1 + 1e-9); k++) {
        double y = Y0 - (Y0 - Y1) * k * ys / p->ymax;
        sb_printf(o,
                  "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                  "stroke=\"#eee\"/><text x=\"%.1f\" y=\"%.1f\" "
                  "text-anchor=\"end\">%g</text>\n",
                  X0, y, X1, y, X0 - 6, y + 4, k * ys);
    }
    sb_printf(o,
              "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">time "
              "(s)</text>\n<text transform=\"translate(18 %.1f) "
              "rotate(-90)\" text-anchor=\"middle\">memory (MiB)</text>\n"
              "</g>\n",
              (X0 + X1) / 2, PH - 14, (Y0 + Y1) / 2);
}

/* A legend entry: a swatch in color (dashed as the series) and a name. */
static void
plot_legend(plot *p, const char *color, const char *dash, const char *name,
            const char *name2)
{
    if (p->legend >= LEGEND_MAX) {
        p->legend_more++;
        return;
    }
    double y = Y1 + 16 + 16 * p->legend++;
    size_t chars = strlen(name) + (name2 ? 2 + strlen(name2) : 0);
    if (chars > p->legend_chars)
        p->legend_chars = chars;
    sb_printf(
        &p->legend_sb,
        "<g class=\"legend-entry\"><line x1=\"%.1f\" y1=\"%.1f\" "
        "x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"2\"%s%s%s/>"
        "<text x=\"%.1f\" y=\"%.1f\" font-size=\"12\">",
        X0 + 10, y - 4, X0 + 30, y - 4, color,
        dash ? " stroke-dasharray=\"" : "", dash ? dash : "", dash ? "\"" : "",
        X0 + 36, y);
    plot_text(&p->legend_sb, name);
    if (name2) {
        sb_puts(&p->legend_sb, ": ");
        plot_text(&p->legend_sb, name2);
    }
    sb_puts(&p->legend_sb, "</text></g>\n");
}

static const char *
kind_dash(sg_tl_kind k)
{
    return k == SG_TL_PSS ? "6 3" : k == SG_TL_SWAP ? "2 3" : NULL;
}

/* "run label: RSS of child 1234" */
static void
series_name(const plot *p, const sg_tl_series *s, char *buf, size_t n)
{
    const char *kind = sg_tl_kind_name(s->kind);
    if (s->pid)
        snprintf(buf, n, "%s of child %lld", kind, (long long)s->pid);
    else if (p->tl->children_summed && s->kind != SG_TL_HEAP)
        snprintf(buf, n, "%s, children included", kind);
    else
        snprintf(buf, n, "%s", kind);
}

/* One point of a polyline, unless it repeats the last one drawn. */
static void
plot_point(plot *p, double x, double y, double *lx, double *ly)
{
    if (fabs(x - *lx) < 0.05 && fabs(y - *ly) < 0.05)
        return;
    sb_printf(p->out, "%.1f,%.1f ", x, y);
    *lx = x;
    *ly = y;
}

/* The series as a polyline: in each pixel column, its samples' lowest and
 * highest, in the order they came. */
static void
plot_series(plot *p, const sg_tl_series *s, const char *color)
{
    char name[80];
    series_name(p, s, name, sizeof name);
    double t0 = p->t0[s->run], lx = -1, ly = -1;
    sb_printf(p->out,
              "<polyline class=\"series\" fill=\"none\" stroke=\"%s\" "
              "stroke-width=\"1.5\" stroke-linejoin=\"round\"%s%s%s "
              "points=\"",
              color, kind_dash(s->kind) ? " stroke-dasharray=\"" : "",
              kind_dash(s->kind) ? kind_dash(s->kind) : "",
              kind_dash(s->kind) ? "\"" : "");
    for (size_t i = 0; i < s->n;) {
        double x = floor(px(p, s->v[i].t - t0));
        size_t lo = i, hi = i, j = i;
        for (; j < s->n && floor(px(p, s->v[j].t - t0)) == x; j++) {
            if (s->v[j].bytes < s->v[lo].bytes)
                lo = j;
            if (s->v[j].bytes > s->v[hi].bytes)
                hi = j;
        }
        if (j == i)
            j = i + 1; /* times going back: one at a time */
        size_t a = lo < hi ? lo : hi, b = lo < hi ? hi : lo;
        plot_point(p, px(p, s->v[a].t - t0), py(p, s->v[a].bytes), &lx, &ly);
        plot_point(p, px(p, s->v[b].t - t0), py(p, s->v[b].bytes), &lx, &ly);
        i = j;
    }
    sb_puts(p->out, "\"><title>");
    if (p->tl->n_runs > 1 && p->tl->runs[s->run].label) {
        plot_text(p->out, p->tl->runs[s->run].label);
        sb_puts(p->out, ": ");
    }
    plot_text(p->out, name);
    sb_puts(p->out, "</title></polyline>\n");
}

/* Where a peak's label goes: left of the dot in the right half, else
 * right of it; above it, unless that leaves the plot. Its box, roughly
 * (bold 12 px text), for the legend to keep clear of. */
typedef struct peak_at {
    double x, y;               /* the dot */
    double tx, ty;             /* the label's anchor */
    bool left;                 /* the label ends at tx */
    double bx0, by0, bx1, by1; /* the dot and the label */
} peak_at;

#define PEAK_LABEL_W 200.0

static bool
peak_place(const plot *p, const sg_tl_series *s, peak_at *a)
{
    long k = sg_tl_series_peak(s);
    if (k < 0)
        return false;
    a->x = px(p, s->v[k].t - p->t0[s->run]);
    a->y = py(p, s->v[k].bytes);
    a->left = a->x > (X0 + X1) / 2;
    a->tx = a->left ? a->x - 8 : a->x + 8;
    a->ty = a->y < Y1 + 20 ? a->y + 16 : a->y - 8;
    a->bx0 = a->left ? a->tx - PEAK_LABEL_W : a->x - 6;
    a->bx1 = a->left ? a->x + 6 : a->tx + PEAK_LABEL_W;
    a->by0 = (a->ty - 12 < a->y - 6) ? a->ty - 12 : a->y - 6;
    a->by1 = (a->ty + 3 > a->y + 6) ? a->ty + 3 : a->y + 6;
    return true;
}

/* The peak of a run's main series: a dot, a dashed rule across the plot
 * and its label. */
static void
plot_peak(plot *p, const sg_tl_series *s, const char *color)
{
    peak_at a;
    if (!peak_place(p, s, &a))
        return;
    long k = sg_tl_series_peak(s);
    double t = s->v[k].t - p->t0[s->run], mib = (double)s->v[k].bytes / MIB;
    double x = a.x, y = a.y;
    sb_printf(p->out,
              "<g class=\"peak\"><line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
              "y2=\"%.1f\" stroke=\"%s\" stroke-dasharray=\"4 4\" "
              "opacity=\"0.6\"/><circle cx=\"%.1f\" cy=\"%.1f\" r=\"5\" "
              "fill=\"%s\" stroke=\"#000\"/><text x=\"%.1f\" y=\"%.1f\" "
              "font-size=\"12\" font-weight=\"bold\" text-anchor=\"%s\">"
              "peak %.1f MiB at %.3g s</text></g>\n",
              X0, y, X1, y, color, x, y, color, a.tx, a.ty,
              a.left ? "end" : "start", mib, t);
}

/* The colour of a function: its name's hash, past the series' colours. */
static const char *
func_color(const char *name)
{
    unsigned h = 5381;
    for (const unsigned char *c = (const unsigned char *)name; *c; c++)
        h = h * 33 + *c;
    return palette[h % N_COLORS];
}

/* mprof's brackets: '[' at the entry, ']' at the exit. */
static void
plot_brackets(plot *p)
{
    const sg_timeline *tl = p->tl;
    for (size_t i = 0; i < tl->n_funcs; i++) {
        const sg_tl_func *f = &tl->funcs[i];
        const char *c = func_color(f->name);
        double x0 = px(p, f->t0 - p->t0[f->run]), y0 = py(p, f->m0);
        double x1 = px(p, f->t1 - p->t0[f->run]), y1 = py(p, f->m1);
        sb_printf(p->out,
                  "<path class=\"bracket\" fill=\"none\" stroke=\"%s\" "
                  "stroke-width=\"2\" d=\"M%.1f,%.1f h-4 v16 h4 "
                  "M%.1f,%.1f h4 v16 h-4\"><title>",
                  c, x0 + 2, y0 - 8, x1 - 2, y1 - 8);
        plot_text(p->out, f->name);
        sb_printf(p->out, ": %.3f s to %.3f s, %.1f MiB to %.1f MiB",
                  f->t0 - p->t0[f->run], f->t1 - p->t0[f->run],
                  (double)f->m0 / MIB, (double)f->m1 / MIB);
        sb_puts(p->out, "</title></path>\n");
    }
}

/* A legend entry per function name, in order of first call. */
static void
plot_func_legend(plot *p)
{
    const sg_timeline *tl = p->tl;
    for (size_t i = 0; i < tl->n_funcs; i++) {
        bool seen = false;
        for (size_t k = 0; k < i && !seen; k++)
            seen = strcmp(tl->funcs[k].name, tl->funcs[i].name) == 0;
        if (!seen)
            plot_legend(p, func_color(tl->funcs[i].name), "1 1",
                        tl->funcs[i].name, NULL);
    }
}

/* The axes' ends: the longest run, the highest sample or bracket. */
static void
plot_extent(plot *p)
{
    const sg_timeline *tl = p->tl;
    double tmax = 0, ymax = 0;
    for (size_t i = 0; i < tl->n_series; i++) {
        const sg_tl_series *s = &tl->series[i];
        for (size_t k = 0; k < s->n; k++) {
            double t = s->v[k].t - p->t0[s->run];
            tmax = t > tmax ? t : tmax;
            ymax = (double)s->v[k].bytes > ymax ? (double)s->v[k].bytes : ymax;
        }
    }
    for (size_t i = 0; i < tl->n_funcs; i++) {
        const sg_tl_func *f = &tl->funcs[i];
        double t = f->t1 - p->t0[f->run];
        tmax = t > tmax ? t : tmax;
        ymax = (double)f->m0 > ymax ? (double)f->m0 : ymax;
        ymax = (double)f->m1 > ymax ? (double)f->m1 : ymax;
    }
    p->tmax = nice_end(tmax);
    p->ymax = nice_end(ymax * 1.08 / MIB);
}

static void
plot_title(plot *p, const writer_opts *o)
{
    const sg_timeline *tl = p->tl;
    sb_printf(p->out,
              "<text x=\"%d\" y=\"28\" font-size=\"16\" "
              "text-anchor=\"middle\">",
              PW / 2);
    plot_text(p->out, o->title ? o->title : "memory over time");
    if (tl->n_runs == 1 && tl->runs[0].cmdline) {
        sb_puts(p->out, ": ");
        plot_text(p->out, tl->runs[0].cmdline);
    }
    sb_puts(p->out, "</text>\n");
}

/* The legend, drawn on a pale box at the top left, or at the top right
 * when the marker or label of one of the peaks would fall under it. */
static void
plot_legend_box(plot *p, const sg_tl_series *const *mains)
{
    int rows = p->legend + (p->legend_more ? 1 : 0);
    if (rows == 0)
        return;
    double w = 44 + 7.2 * (double)p->legend_chars, h = 16.0 * rows + 8;
    if (w > (X1 - X0) / 2)
        w = (X1 - X0) / 2;
    double x0 = X0 + 4, y0 = Y1 + 4, dx = 0;
    for (size_t r = 0; r < p->tl->n_runs; r++) {
        peak_at a;
        if (mains[r] && peak_place(p, mains[r], &a) && a.bx0 < x0 + w &&
            a.bx1 > x0 && a.by0 < y0 + h && a.by1 > y0)
            dx = (X1 - 4 - w) - x0;
    }
    sb_printf(p->out,
              "<g class=\"legend\" transform=\"translate(%.1f 0)\">"
              "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
              "height=\"%.1f\" fill=\"#fff\" opacity=\"0.85\" "
              "stroke=\"#ddd\"/>\n",
              dx, x0, y0, w, h);
    sb_append(p->out, sb_str(&p->legend_sb), p->legend_sb.len);
    if (sb_failed(&p->legend_sb))
        p->out->failed = true;
    if (p->legend_more)
        sb_printf(p->out,
                  "<text x=\"%.1f\" y=\"%.1f\" font-size=\"12\">... and "
                  "%d more</text>\n",
                  X0 + 36, Y1 + 16 + 16 * LEGEND_MAX, p->legend_more);
    sb_puts(p->out, "</g>\n");
}

int
sg_write_plot(const sg_profile *prof, const writer_opts *o, strbuf *out)
{
    const sg_timeline *tl = prof->timeline;
    static const sg_timeline empty;
    if (!tl)
        tl = &empty;
    plot p = {.tl = tl, .out = out, .legend_sb = STRBUF_INIT};
    size_t nr = tl->n_runs ? tl->n_runs : 1;
    p.t0 = calloc(nr, sizeof *p.t0);
    /* Each run's main series (its program's RSS, if any) and colour. */
    const sg_tl_series **mains = calloc(nr, sizeof *mains);
    const char **main_colors = calloc(nr, sizeof *main_colors);
    if (!p.t0 || !mains || !main_colors) {
        free(p.t0);
        free(mains);
        free(main_colors);
        return SG_WRITE_NOMEM;
    }
    for (size_t r = 0; r < tl->n_runs; r++)
        p.t0[r] = sg_timeline_run_start(tl, (int)r);
    plot_extent(&p);
    sb_printf(out,
              "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
              "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
              "height=\"%d\" viewBox=\"0 0 %d %d\" "
              "font-family=\"Verdana, sans-serif\">\n"
              "<rect width=\"100%%\" height=\"100%%\" fill=\"#f8f8f8\"/>\n",
              PW, PH, PW, PH);
    plot_title(&p, o);
    plot_axes(&p);
    size_t color = 0;
    for (size_t r = 0; r < tl->n_runs; r++) {
        for (size_t i = 0; i < tl->n_series; i++) {
            const sg_tl_series *s = &tl->series[i], *m = mains[r];
            if (s->run != (int)r)
                continue;
            const char *c = palette[color++ % N_COLORS];
            char name[80];
            series_name(&p, s, name, sizeof name);
            plot_series(&p, s, c);
            plot_legend(&p, c, kind_dash(s->kind),
                        tl->n_runs > 1 && tl->runs[r].label ? tl->runs[r].label
                                                            : name,
                        tl->n_runs > 1 && tl->runs[r].label ? name : NULL);
            if (!m || (m->pid && !s->pid) ||
                (m->kind != SG_TL_RSS && s->kind == SG_TL_RSS && !s->pid)) {
                mains[r] = s;
                main_colors[r] = c;
            }
        }
    }
    plot_func_legend(&p);
    plot_legend_box(&p, mains);
    for (size_t r = 0; r < tl->n_runs; r++)
        if (mains[r])
            plot_peak(&p, mains[r], main_colors[r]);
    plot_brackets(&p); /* last: small, over the peak's marker */
    if (tl->n_series == 0 && tl->n_funcs == 0)
        sb_printf(out,
                  "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">no "
                  "samples</text>\n",
                  PW / 2, PH / 2);
    sb_puts(out, "</svg>\n");
    sb_free(&p.legend_sb);
    free(p.t0);
    free(mains);
    free(main_colors);
    return 0;
}
