/* flamegraph.c -- a self-contained interactive SVG flame graph.
 *
 * Everything is in the one file: a bar of controls (the heading, which
 * names the command; a search box with the matched share; the details of
 * the frame under the pointer; reset zoom) that stays at the top of the
 * window however the page scrolls, and the frames as
 * <g><title/><rect/><text/></g>, siblings in name order, frames narrower
 * than 0.1 px left out. The root is at the top (an icicle, as py-spy
 * draws it), so a deep stack opens on its outermost frames; `flame` puts
 * it at the bottom, as flamegraph.pl does, and the page then opens
 * scrolled to it. The height is that of the deepest frame drawn.
 *
 * A frame's label is "function (file.py:line)" with the path cut to the
 * components that tell its file from the others (writers/paths.c); its
 * <title>, the native tooltip, holds the full path and, on a second line,
 * its samples (or calls), time and share (a memory profile's: bytes and
 * share). Search matches the first line
 * only, never the numbers of the second.
 *
 * No data is ever put inside the script: names only appear as escaped XML
 * text and attributes, so a function called "<script>alert(1)</script>"
 * is drawn as text and runs nothing. Threads are merged unless per_thread
 * keeps a root per thread.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/hashmap.h"
#include "common/sort.h"
#include "common/units.h"
#include "writers/writers.h"

#define FG_WIDTH 1200.0
#define FG_FRAME_H 16
#define FG_BAR_H 60 /* the controls: heading, then search and details */
#define FG_PAD 10   /* above the first row and below the last */
#define FG_PAD_SIDE 10.0
#define FG_MIN_WIDTH 0.1
#define FG_FONT_W 6.6 /* average glyph width of 12px Verdana, for fitting */
#define FG_SEARCH_W 250.0
/* The heading's 17px glyphs are about 9.4 px wide: what fits between the
 * reset button and the right edge. */
#define FG_HEADING_CHARS 105

static uint32_t
name_hash(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

/* flamegraph.pl's warm palette for Python code, a cooler one for C
 * functions, grey for thread roots and elided frames. */
static void
put_color(strbuf *sb, const sg_func *f)
{
    uint32_t h = name_hash(f->name);
    double v1 = (double)(h & 0xff) / 255.0;
    double v2 = (double)((h >> 8) & 0xff) / 255.0;
    int r, g, b;
    if (sg_func_is_synthetic(f) || f->kind == SG_FUNC_OTHER) {
        r = g = b = 200;
    } else if (f->kind == SG_FUNC_BUILTIN) {
        r = 80 + (int)(60 * v1);
        g = 160 + (int)(60 * v2);
        b = 200 + (int)(55 * v1);
    } else {
        r = 205 + (int)(50 * v2);
        g = (int)(230 * v1);
        b = (int)(55 * v2);
    }
    sb_printf(sb, "rgb(%d,%d,%d)", r, g, b);
}

typedef struct fg_ctx {
    const sg_profile *t;
    uint64_t *incl;          /* inclusive weight of each node (metric 0) */
    bool counts;             /* t's metric 1 is a count of calls */
    uint64_t *samples;       /* a weighted sampled profile's samples under each
                                node (t's metric 1, inclusive); NULL otherwise */
    bool bytes;              /* the weight is a size in bytes */
    const char **short_file; /* per function of t: its file, shortened */
    double scale;            /* px per unit */
    double spu;              /* seconds per unit, 0 when not a time */
    const char *unit_name;
    uint64_t total;
    bool flame; /* root at the bottom */
    int height; /* of the whole picture */
    strbuf *out;
    strbuf label, full; /* scratch: the shown and the full label */
} fg_ctx;

/* A frame still to draw: the walk is depth-first with this explicit stack,
 * so a stack 200,000 frames deep is no deeper in C. */
typedef struct fg_item {
    sg_node_id node;
    int depth;
    double x;
} fg_item;

static const sg_profile *sort_tree;

static int
cmp_children(const void *a, const void *b)
{
    sg_node_id x = *(const sg_node_id *)a, y = *(const sg_node_id *)b;
    const sg_func *fx =
        sg_profile_frame_func(sort_tree, sort_tree->nodes[x].frame);
    const sg_func *fy =
        sg_profile_frame_func(sort_tree, sort_tree->nodes[y].frame);
    int c = strcmp(fx->name, fy->name);
    if (c)
        return c;
    c = strcmp(fx->file, fy->file);
    return c ? c : (x > y) - (x < y);
}

/* Where s must be cut to show at most width px of it with ".." after it:
 * a byte offset at a character boundary, or strlen(s) when it fits whole,
 * or 0 when not even three characters fit. */
static size_t
fit_cut(const char *s, double width)
{
    int max_chars = (int)((width - 6) / FG_FONT_W);
    if (max_chars < 3)
        return 0;
    size_t chars = 0, i = 0, cut = 0;
    for (; s[i]; i++) {
        if (((unsigned char)s[i] & 0xc0) != 0x80) {
            if ((int)chars == max_chars - 2)
                cut = i;
            chars++;
        }
    }
    return (int)chars <= max_chars ? i : cut;
}

/* s, XML-escaped; when longer than max characters, its middle is replaced
 * by ".." (a command line says most at its ends: the program and its
 * arguments, after the interpreter's directory). */
static void
put_middle_cut(strbuf *sb, const char *s, size_t max)
{
    size_t chars = 0, len = strlen(s);
    for (size_t i = 0; i < len; i++)
        chars += ((unsigned char)s[i] & 0xc0) != 0x80;
    if (chars <= max) {
        sb_put_xml(sb, s);
        return;
    }
    /* Byte offsets where the head ends and the tail starts. */
    size_t head = max / 3, tail = max - head - 2, head_end = 0, k = 0;
    size_t tail_start = len;
    for (size_t i = 0; i < len; i++) {
        if (((unsigned char)s[i] & 0xc0) == 0x80)
            continue;
        if (k == head)
            head_end = i;
        if (k == chars - tail)
            tail_start = i;
        k++;
    }
    sb_put_xml_n(sb, s, head_end);
    sb_puts(sb, "..");
    sb_put_xml(sb, s + tail_start);
}

/* The label drawn in a frame, and the full one of its tooltip. */
static void
make_labels(fg_ctx *c, const sg_node *n)
{
    const sg_frame *fr = &c->t->frames[n->frame];
    const sg_func *f = &c->t->funcs[fr->func];
    sb_clear(&c->label);
    sb_clear(&c->full);
    if (f->kind == SG_FUNC_THREAD) {
        sb_printf(&c->full, "thread %llu: ", (unsigned long long)f->id);
        sg_writer_put_name(&c->full, f->name);
        sb_puts(&c->label, sb_str(&c->full));
        return;
    }
    sg_writer_frame_label(c->t, n->frame, &c->full);
    sg_writer_put_name(&c->label, f->name);
    if (c->short_file[fr->func]) {
        sb_puts(&c->label, " (");
        sg_writer_put_name(&c->label, c->short_file[fr->func]);
        sb_printf(&c->label, ":%d)", fr->line ? fr->line : f->first_line);
    }
}

/* The tooltip's second line: "12 samples, 120.0 ms, 34.56%", or for
 * bytes "12.3 MiB, 45.00%". */
static void
put_stats(fg_ctx *c, sg_node_id node)
{
    uint64_t w = c->incl[node];
    double pct = c->total ? 100.0 * (double)w / (double)c->total : 0;
    char t[48];
    if (c->samples) {
        unsigned long long n = c->samples[node];
        sb_printf(c->out, "%llu sample%s, %s, %.2f%%", n, n == 1 ? "" : "s",
                  sg_fmt_duration(t, sizeof t, (double)w * c->spu), pct);
    } else if (c->counts) {
        unsigned long long calls = c->t->nodes[node].self[1];
        sb_printf(c->out, "%llu call%s, %s, %.2f%%", calls,
                  calls == 1 ? "" : "s",
                  sg_fmt_duration(t, sizeof t, (double)w * c->spu), pct);
    } else if (c->bytes) {
        sb_printf(c->out, "%s, %.2f%%", sg_fmt_bytes(t, sizeof t, (double)w),
                  pct);
    } else if (c->spu > 0) {
        sb_printf(c->out, "%llu sample%s, %s, %.2f%%", (unsigned long long)w,
                  w == 1 ? "" : "s",
                  sg_fmt_duration(t, sizeof t, (double)w * c->spu), pct);
    } else {
        sb_printf(c->out, "%llu %s, %.2f%%", (unsigned long long)w,
                  c->unit_name, pct);
    }
}

/* The <g> of one frame. The drawn text is cut to fit; when it is, the
 * whole label goes in data-l, for the script to fit it again on zoom. */
static void
put_frame(fg_ctx *c, sg_node_id node, double x, int depth, double width)
{
    const sg_node *n = &c->t->nodes[node];
    const sg_func *f = sg_profile_frame_func(c->t, n->frame);
    make_labels(c, n);
    /* Rows are whole pixels: printed as integers, which costs a fraction
     * of a floating-point conversion. */
    int y = c->flame ? c->height - FG_PAD - (depth + 1) * FG_FRAME_H
                     : FG_BAR_H + FG_PAD + depth * FG_FRAME_H;
    const char *label = sb_str(&c->label);
    size_t cut = fit_cut(label, width);
    bool whole = label[cut] == '\0';
    sb_puts(c->out, "<g class=\"f\"");
    if (!whole) {
        sb_puts(c->out, " data-l=\"");
        sb_put_xml(c->out, label);
        sb_putc(c->out, '"');
    }
    sb_puts(c->out, "><title>");
    sb_put_xml(c->out, sb_str(&c->full));
    sb_putc(c->out, '\n');
    put_stats(c, node);
    sb_printf(c->out,
              "</title><rect x=\"%.2f\" y=\"%d\" width=\"%.2f\" "
              "height=\"%d\" fill=\"",
              x, y, width, FG_FRAME_H - 1);
    put_color(c->out, f);
    /* The baseline, 4.5 px above the row's bottom. */
    sb_printf(c->out, "\" rx=\"2\" ry=\"2\"/><text x=\"%.2f\" y=\"%d.5\">",
              x + 3, y + FG_FRAME_H - 5);
    sb_put_xml_n(c->out, label, cut);
    if (!whole && cut)
        sb_puts(c->out, "..");
    sb_puts(c->out, "</text></g>\n");
}

/* Every frame at least FG_MIN_WIDTH wide, depth first, siblings in name
 * order from the left. Returns 0 or SG_WRITE_NOMEM. */
static int
put_frames(fg_ctx *c)
{
    fg_item *stack = NULL;
    sg_node_id *kids = NULL;
    size_t cap_stack = 0, cap_kids = 0, top = 0;
    int rc = SG_WRITE_NOMEM;
    if (SG_GROW(stack, cap_stack, 1) < 0)
        goto done;
    stack[top++] = (fg_item){SG_ROOT_NODE, 0, FG_PAD_SIDE};
    while (top) {
        fg_item it = stack[--top];
        const sg_node *n = &c->t->nodes[it.node];
        double width = (double)c->incl[it.node] * c->scale;
        if (width < FG_MIN_WIDTH)
            continue;
        if (it.node != SG_ROOT_NODE)
            put_frame(c, it.node, it.x, it.depth, width);
        size_t nc = 0;
        for (sg_node_id ch = n->first_child; ch != SG_NO_ID;
             ch = c->t->nodes[ch].next_sibling) {
            if (SG_GROW(kids, cap_kids, nc + 1) < 0)
                goto done;
            kids[nc++] = ch;
        }
        sort_tree = c->t;
        sg_sort(kids, nc, sizeof *kids, cmp_children);
        if (SG_GROW(stack, cap_stack, top + nc) < 0)
            goto done;
        /* Pushed right to left, so the leftmost child is drawn next. */
        int depth = it.node == SG_ROOT_NODE ? 0 : it.depth + 1;
        double x = it.x;
        for (size_t i = 0; i < nc; i++) {
            stack[top + nc - 1 - i] = (fg_item){kids[i], depth, x};
            x += (double)c->incl[kids[i]] * c->scale;
        }
        top += nc;
    }
    rc = 0;
done:
    free(stack);
    free(kids);
    return rc;
}

/* The rows the picture needs: the depth of its deepest drawn frame. A
 * child is never wider than its parent, so a node is drawn exactly when
 * it is wide enough itself. */
static int
drawn_rows(const fg_ctx *c)
{
    uint32_t rows = 0;
    for (size_t i = 1; i < c->t->n_nodes; i++)
        if ((double)c->incl[i] * c->scale >= FG_MIN_WIDTH &&
            c->t->nodes[i].depth > rows)
            rows = c->t->nodes[i].depth;
    return (int)rows;
}

/* The script reads everything from the DOM; it holds no profile data. The
 * bar follows the window's scroll position, so the controls are always on
 * screen (SVG has no position: fixed). */
static const char fg_script[] =
    "<script type=\"text/ecmascript\"><![CDATA[\n"
    "'use strict';\n"
    "var svg, bar, frames, details, matchedTxt, term, W, PAD = 10;\n"
    "var icicle, detailsChars;\n"
    "function init() {\n"
    "  svg = document.documentElement;\n"
    "  bar = document.getElementById('bar');\n"
    "  details = document.getElementById('details');\n"
    "  matchedTxt = document.getElementById('matched');\n"
    "  term = document.getElementById('term');\n"
    "  W = parseFloat(svg.getAttribute('width'));\n"
    "  icicle = svg.getAttribute('data-root') !== 'bottom';\n"
    "  detailsChars = Math.floor(parseFloat(details.getAttribute("
    "'data-w')) / 6.6);\n"
    "  frames = "
    "Array.prototype.slice.call(document.querySelectorAll('g.f'));\n"
    "  frames.forEach(function (g) {\n"
    "    var r = g.querySelector('rect'), t = g.querySelector('text');\n"
    "    var tip = g.querySelector('title').textContent;\n"
    "    var nl = tip.lastIndexOf('\\n');\n"
    "    g.dataset.x = r.getAttribute('x');\n"
    "    g.dataset.w = r.getAttribute('width');\n"
    "    g.dataset.y = r.getAttribute('y');\n"
    "    g.dataset.name = tip.slice(0, nl);\n"
    "    g.dataset.info = tip.slice(0, nl) + ' \\u2014 ' + tip.slice(nl + "
    "1);\n"
    "    if (!g.dataset.l) g.dataset.l = t.textContent;\n"
    "    g.addEventListener('click', function () { zoom(g); });\n"
    "    g.addEventListener('mouseover', function () {\n"
    "      show(g.dataset.info); });\n"
    "    g.addEventListener('mouseout', function () { show(' '); });\n"
    "  });\n"
    "  document.getElementById('reset').addEventListener('click', reset);\n"
    "  if (term) term.addEventListener('input', function () {\n"
    "    search(term.value); });\n"
    "  window.addEventListener('keydown', function (e) {\n"
    "    if (e.key === 'Escape') {\n"
    "      reset(); if (term) term.value = ''; search(''); }\n"
    "    if ((e.ctrlKey || e.metaKey) && e.key === 'f' && term) {\n"
    "      e.preventDefault(); term.focus(); term.select(); }\n"
    "  });\n"
    "  window.addEventListener('scroll', pin);\n"
    "  window.addEventListener('resize', pin);\n"
    "  if (!icicle) window.scrollTo(0, parseFloat(svg.getAttribute("
    "'height')));\n"
    "  pin();\n"
    "}\n"
    "function pin() {\n"
    "  bar.setAttribute('transform', 'translate(' + window.scrollX + ',' +\n"
    "    window.scrollY + ')');\n"
    "}\n"
    /* A long label gives way in its middle: the figures after the dash
     * and the file name before them say the most. */
    "function show(s) {\n"
    "  var i = s.indexOf(' \\u2014 '), room;\n"
    "  if (s.length > detailsChars) {\n"
    "    room = detailsChars - (i < 0 ? 0 : s.length - i) - 2;\n"
    "    s = i < 0 || room < 12 ? s.slice(0, detailsChars - 2) + '..' :\n"
    "      s.slice(0, Math.ceil(room / 2)) + '..' +\n"
    "      s.slice(i - Math.floor(room / 2));\n"
    "  }\n"
    "  details.textContent = s;\n"
    "}\n"
    "function fit(g, x, w) {\n"
    "  var r = g.querySelector('rect'), t = g.querySelector('text');\n"
    "  r.setAttribute('x', x); r.setAttribute('width', w);\n"
    "  t.setAttribute('x', x + 3);\n"
    "  var s = g.dataset.l, n = Math.floor((w - 6) / 6.6);\n"
    "  t.textContent = n < 3 ? '' : s.length <= n ? s :\n"
    "    s.slice(0, n - 2) + '..';\n"
    "}\n"
    "function deeper(y, y0) { return icicle ? y >= y0 : y <= y0; }\n"
    "function zoom(target) {\n"
    "  var x0 = parseFloat(target.dataset.x), w0 = "
    "parseFloat(target.dataset.w);\n"
    "  var y0 = parseFloat(target.dataset.y);\n"
    "  var k = (W - 2 * PAD) / w0;\n"
    "  frames.forEach(function (g) {\n"
    "    var x = parseFloat(g.dataset.x), w = parseFloat(g.dataset.w);\n"
    "    var y = parseFloat(g.dataset.y);\n"
    "    var inside = x >= x0 - 1e-6 && x + w <= x0 + w0 + 1e-6;\n"
    "    if (deeper(y, y0) && inside) {\n"
    "      g.style.display = ''; g.style.opacity = '';\n"
    "      fit(g, PAD + (x - x0) * k, w * k);\n"
    "    } else if (!deeper(y, y0) && x <= x0 + 1e-6 &&\n"
    "               x + w >= x0 + w0 - 1e-6) {\n"
    "      g.style.display = ''; g.style.opacity = '0.6';\n"
    "      fit(g, PAD, W - 2 * PAD);\n"
    "    } else {\n"
    "      g.style.display = 'none';\n"
    "    }\n"
    "  });\n"
    "  document.getElementById('reset').style.display = '';\n"
    "}\n"
    "function reset() {\n"
    "  frames.forEach(function (g) {\n"
    "    g.style.display = ''; g.style.opacity = '';\n"
    "    fit(g, parseFloat(g.dataset.x), parseFloat(g.dataset.w));\n"
    "  });\n"
    "  document.getElementById('reset').style.display = 'none';\n"
    "}\n"
    "function search(s) {\n"
    "  frames.forEach(function (g) { g.classList.remove('hit'); });\n"
    "  matchedTxt.textContent = ' ';\n"
    "  if (!s) return;\n"
    "  var re;\n"
    "  try { re = new RegExp(s); } catch (e) {\n"
    "    re = new RegExp(s.replace(/[.*+?^${}()|[\\]\\\\]/g, '\\\\$&')); "
    "}\n"
    "  /* The matched share counts each stretch of width once: a match\n"
    "     inside a matched frame adds nothing. */\n"
    "  var spans = [];\n"
    "  frames.forEach(function (g) {\n"
    "    if (!re.test(g.dataset.name)) return;\n"
    "    g.classList.add('hit');\n"
    "    spans.push([parseFloat(g.dataset.x), parseFloat(g.dataset.w)]);\n"
    "  });\n"
    "  spans.sort(function (a, b) { return a[0] - b[0]; });\n"
    "  var covered = 0, end = -1;\n"
    "  spans.forEach(function (s) {\n"
    "    var a = Math.max(s[0], end), b = s[0] + s[1];\n"
    "    if (b > a) { covered += b - a; end = b; }\n"
    "  });\n"
    "  matchedTxt.textContent = 'Matched: ' +\n"
    "    (100 * covered / (W - 2 * PAD)).toFixed(1) + '%';\n"
    "}\n"
    "window.addEventListener('load', init);\n"
    "]]></script>\n";

static const char fg_style[] =
    "<style type=\"text/css\">\n"
    "text { font-family: Verdana, sans-serif; font-size: 12px; "
    "fill: #000; }\n"
    "g.f text { pointer-events: none; }\n"
    "g.f:hover rect { stroke: #000; stroke-width: 0.5; cursor: pointer; }\n"
    "g.hit rect { fill: rgb(230,0,230) !important; }\n"
    "#heading { font-size: 17px; }\n"
    "#matched { font-weight: bold; }\n"
    ".button { cursor: pointer; fill: #333; }\n"
    ".button:hover { text-decoration: underline; }\n"
    "input { box-sizing: border-box; width: 100%; height: 22px; "
    "font: 12px Verdana, sans-serif; }\n"
    "</style>\n";

/* The heading: the title, then the profile's command ("spyglass record:
 * python app.py"). */
static void
heading(const sg_profile *p, const writer_opts *o, strbuf *sb)
{
    const char *cmd = sg_profile_get_meta(p, "command");
    sb_puts(sb, o->title                        ? o->title
                : p->kind == SG_PROFILE_SAMPLED ? "spyglass record"
                : p->kind == SG_PROFILE_MEMORY  ? "spyglass memory"
                                                : "spyglass profile");
    if (cmd && *cmd) {
        sb_puts(sb, ": ");
        sg_writer_put_name(sb, cmd);
    }
}

/* The controls, drawn last so that they cover the frames scrolling under
 * them. */
static void
put_bar(const fg_ctx *c, const char *title)
{
    strbuf *out = c->out;
    sb_printf(out,
              "<g id=\"bar\"><rect x=\"0\" y=\"0\" width=\"%.0f\" "
              "height=\"%d\" fill=\"#f0f0f0\"/>\n",
              FG_WIDTH, FG_BAR_H);
    sb_printf(out,
              "<rect x=\"0\" y=\"%d\" width=\"%.0f\" height=\"1\" "
              "fill=\"#c8c8c8\"/>\n",
              FG_BAR_H - 1, FG_WIDTH);
    sb_printf(out,
              "<text id=\"heading\" x=\"%.0f\" y=\"22\" "
              "text-anchor=\"middle\">",
              FG_WIDTH / 2);
    put_middle_cut(out, title, FG_HEADING_CHARS);
    sb_puts(out, "</text>\n");
    sb_printf(out,
              "<text id=\"reset\" class=\"button\" x=\"%.0f\" y=\"22\" "
              "style=\"display:none\">Reset zoom</text>\n",
              FG_PAD_SIDE);
    double search_x = FG_WIDTH - FG_PAD_SIDE - FG_SEARCH_W;
    double details_w = search_x - 120 - FG_PAD_SIDE;
    sb_printf(out,
              "<text id=\"details\" x=\"%.0f\" y=\"47\" "
              "data-w=\"%.0f\"> </text>\n",
              FG_PAD_SIDE, details_w);
    sb_printf(out,
              "<text id=\"matched\" x=\"%.0f\" y=\"47\" "
              "text-anchor=\"end\"> </text>\n",
              search_x - 8);
    sb_printf(out,
              "<foreignObject x=\"%.0f\" y=\"31\" width=\"%.0f\" "
              "height=\"24\"><input xmlns=\"http://www.w3.org/1999/xhtml\" "
              "id=\"term\" type=\"search\" placeholder=\"Search "
              "(regular expression; Ctrl-F)\" title=\"Highlights the "
              "frames whose function or file:line matches\"/>"
              "</foreignObject>\n",
              search_x, FG_SEARCH_W);
    sb_puts(out, "</g>\n");
}

int
sg_write_flamegraph(const sg_profile *p, const writer_opts *o, strbuf *out)
{
    if (p->kind == SG_PROFILE_TIMELINE) /* memory over time: a plot */
        return sg_write_plot(p, o, out);
    double spu;
    int m = sg_writer_weight_metric(p, o, &spu);
    int calls_m = sg_profile_metric(p, "calls");
    /* Samples weighed by time ("ns"): the tooltip counts them too. */
    int samples_m =
        calls_m < 0 && m != 0 && p->kind == SG_PROFILE_SAMPLED ? 0 : -1;
    sg_profile *t =
        sg_writer_retree(p, m, calls_m >= 0 ? calls_m : samples_m,
                         o->per_thread, sg_writer_same_frame, NULL);
    uint64_t *incl =
        t ? sg_calloc(t->n_nodes, t->n_metrics * sizeof *incl) : NULL;
    const char **shorts = t ? sg_writer_short_files(t) : NULL;
    uint64_t *samples =
        t && samples_m >= 0 ? sg_calloc(t->n_nodes, sizeof *samples) : NULL;
    if (!incl || !shorts || (samples_m >= 0 && !samples)) {
        free(incl);
        free(shorts);
        free(samples);
        sg_profile_free(t);
        return SG_WRITE_NOMEM;
    }
    sg_profile_totals(t, incl);
    fg_ctx c;
    memset(&c, 0, sizeof c);
    c.t = t;
    /* Metric 0 of each node: the totals hold n_metrics per node (metric
     * 1 read first: the packing only overwrites entries already read). */
    for (size_t i = 0; i < t->n_nodes; i++) {
        if (samples)
            samples[i] = incl[i * (size_t)t->n_metrics + 1];
        incl[i] = incl[i * (size_t)t->n_metrics];
    }
    c.incl = incl;
    c.samples = samples;
    c.counts = calls_m >= 0 && spu > 0;
    c.bytes = sg_writer_metric_is_bytes(p, m);
    c.short_file = shorts;
    c.total = incl[0];
    c.scale = c.total ? (FG_WIDTH - 2 * FG_PAD_SIDE) / (double)c.total : 0;
    c.spu = spu;
    c.unit_name = p->metric_names[m];
    c.flame = o->flame;
    c.height = FG_BAR_H + 2 * FG_PAD + drawn_rows(&c) * FG_FRAME_H;
    c.out = out;
    strbuf title = STRBUF_INIT;
    heading(p, o, &title);

    sb_printf(out,
              "<?xml version=\"1.0\" standalone=\"no\"?>\n"
              "<svg version=\"1.1\" width=\"%.0f\" height=\"%d\" "
              "viewBox=\"0 0 %.0f %d\" data-root=\"%s\" "
              "xmlns=\"http://www.w3.org/2000/svg\">\n",
              FG_WIDTH, c.height, FG_WIDTH, c.height,
              c.flame ? "bottom" : "top");
    /* The document's title: what a browser's tab shows. */
    sb_puts(out, "<title>");
    sb_put_xml(out, sb_str(&title));
    sb_puts(out, "</title>\n");
    sb_puts(out, fg_style);
    sb_puts(out, fg_script);
    sb_printf(out,
              "<rect x=\"0\" y=\"0\" width=\"%.0f\" height=\"%d\" "
              "fill=\"#f8f8f8\"/>\n",
              FG_WIDTH, c.height);
    sb_puts(out, "<g id=\"frames\">\n");
    int rc = put_frames(&c);
    sb_puts(out, "</g>\n");
    put_bar(&c, sb_str(&title));
    sb_puts(out, "</svg>\n");
    if (rc == 0 &&
        (sb_failed(&c.label) || sb_failed(&c.full) || sb_failed(&title)))
        rc = SG_WRITE_NOMEM;
    sb_free(&c.label);
    sb_free(&c.full);
    sb_free(&title);
    free(incl);
    free(samples);
    free(shorts);
    sg_profile_free(t);
    return rc;
}
