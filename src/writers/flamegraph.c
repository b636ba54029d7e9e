/* flamegraph.c -- a self-contained interactive SVG flame graph.
 *
 * Everything is in the one file: the frames as <g><title/><rect/><text/></g>
 * (root at the bottom, siblings in name order, frames narrower than 0.1 px
 * left out), and a small script for click-to-zoom, search with highlight and
 * the matched share, reset (Escape or the button), and a details line on
 * hover; <title> gives the native tooltip. No data is ever put inside the
 * script: names only appear as escaped XML text and attributes, so a
 * function called "<script>alert(1)</script>" is drawn as text and runs
 * nothing. Threads are merged unless per_thread keeps a root per thread.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/sort.h"
#include "common/alloc.h"
#include "common/hashmap.h"
#include "writers/writers.h"

#define FG_WIDTH 1200.0
#define FG_FRAME_H 16
#define FG_PAD_TOP 60
#define FG_PAD_BOTTOM 40
#define FG_PAD_SIDE 10.0
#define FG_MIN_WIDTH 0.1
#define FG_FONT_W 6.6 /* average glyph width of 12px Verdana, for fitting */

/* Frames of the merged tree: the same functions and lines. */
static sg_frame_id
same_frame(sg_profile *t, const sg_profile *p, sg_frame_id i, void *ctx)
{
    const sg_func *f = &p->funcs[p->frames[i].func];
    sg_func_id nf = sg_profile_func(t, (sg_func_kind)f->kind, f->name, f->file,
                                    f->first_line, f->id);
    (void)ctx;
    return sg_profile_frame(t, nf, p->frames[i].line);
}

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
    uint64_t *incl;
    double scale; /* px per unit */
    int height;
    double spu; /* seconds per unit, 0 when not a time */
    const char *unit_name;
    uint64_t total;
    strbuf *out;
    strbuf label;
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

/* Append at most max_chars characters of s (whole UTF-8 sequences), with
 * ".." when cut, XML-escaped. */
static void
put_fitted(strbuf *sb, const char *s, double width)
{
    int max_chars = (int)((width - 6) / FG_FONT_W);
    if (max_chars < 3)
        return;
    size_t chars = 0, i = 0, cut = 0;
    for (; s[i]; i++) {
        if (((unsigned char)s[i] & 0xc0) != 0x80) {
            if ((int)chars == max_chars - 2)
                cut = i;
            chars++;
        }
    }
    if ((int)chars <= max_chars) {
        sb_put_xml(sb, s);
        return;
    }
    sb_put_xml_n(sb, s, cut);
    sb_puts(sb, "..");
}

/* The <g> of one frame. */
static void
put_frame(fg_ctx *c, sg_node_id node, double x, int depth, double width)
{
    const sg_node *n = &c->t->nodes[node];
    uint64_t w = c->incl[node];
    const sg_func *f = sg_profile_frame_func(c->t, n->frame);
    sb_clear(&c->label);
    if (f->kind == SG_FUNC_THREAD)
        sb_printf(&c->label, "thread %llu: %s", (unsigned long long)f->id,
                  f->name);
    else
        sg_writer_frame_label(c->t, n->frame, &c->label);
    double y = c->height - FG_PAD_BOTTOM - (depth + 1) * FG_FRAME_H;
    double pct = c->total ? 100.0 * (double)w / (double)c->total : 0;
    sb_puts(c->out, "<g class=\"f\"><title>");
    sb_put_xml(c->out, sb_str(&c->label));
    if (c->spu > 0)
        sb_printf(c->out, " (%.6g s, %.2f%%)", (double)w * c->spu, pct);
    else
        sb_printf(c->out, " (%llu %s, %.2f%%)", (unsigned long long)w,
                  c->unit_name, pct);
    sb_printf(c->out,
              "</title><rect x=\"%.2f\" y=\"%.0f\" width=\"%.2f\" "
              "height=\"%d\" fill=\"",
              x, y, width, FG_FRAME_H - 1);
    put_color(c->out, f);
    sb_printf(c->out,
              "\" rx=\"2\" ry=\"2\"/><text x=\"%.2f\" "
              "y=\"%.1f\">",
              x + 3, y + FG_FRAME_H - 4.5);
    put_fitted(c->out, sb_str(&c->label), width);
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

/* The script reads everything from the DOM; it holds no profile data. */
static const char fg_script[] =
    "<script type=\"text/ecmascript\"><![CDATA[\n"
    "'use strict';\n"
    "var svg, frames, details, matchedTxt, W, PAD = 10, zoomed = null;\n"
    "function init() {\n"
    "  svg = document.documentElement;\n"
    "  frames = "
    "Array.prototype.slice.call(document.querySelectorAll('g.f'));\n"
    "  details = document.getElementById('details');\n"
    "  matchedTxt = document.getElementById('matched');\n"
    "  W = parseFloat(svg.getAttribute('width'));\n"
    "  frames.forEach(function (g) {\n"
    "    var r = g.querySelector('rect'), t = g.querySelector('text');\n"
    "    g.dataset.x = r.getAttribute('x');\n"
    "    g.dataset.w = r.getAttribute('width');\n"
    "    g.dataset.label = g.querySelector('title').textContent;\n"
    "    g.dataset.name = g.dataset.label.replace(/ \\([^()]*\\)$/, '');\n"
    "    g.addEventListener('click', function () { zoom(g); });\n"
    "    g.addEventListener('mouseover', function () {\n"
    "      details.textContent = g.dataset.label; });\n"
    "    g.addEventListener('mouseout', function () {\n"
    "      details.textContent = ' '; });\n"
    "  });\n"
    "  document.getElementById('reset').addEventListener('click', reset);\n"
    "  document.getElementById('search').addEventListener('click', ask);\n"
    "  window.addEventListener('keydown', function (e) {\n"
    "    if (e.key === 'Escape') { reset(); clearSearch(); }\n"
    "    if ((e.ctrlKey || e.metaKey) && e.key === 'f') {\n"
    "      e.preventDefault(); ask(); }\n"
    "  });\n"
    "}\n"
    "function fit(g, x, w) {\n"
    "  var r = g.querySelector('rect'), t = g.querySelector('text');\n"
    "  r.setAttribute('x', x); r.setAttribute('width', w);\n"
    "  t.setAttribute('x', x + 3);\n"
    "  var name = g.dataset.name, n = Math.floor((w - 6) / 6.6);\n"
    "  t.textContent = n < 3 ? '' : name.length <= n ? name :\n"
    "    name.slice(0, n - 2) + '..';\n"
    "}\n"
    "function zoom(target) {\n"
    "  var x0 = parseFloat(target.dataset.x), w0 = "
    "parseFloat(target.dataset.w);\n"
    "  var y0 = parseFloat(target.querySelector('rect').getAttribute('y'));\n"
    "  var k = (W - 2 * PAD) / w0;\n"
    "  frames.forEach(function (g) {\n"
    "    var x = parseFloat(g.dataset.x), w = parseFloat(g.dataset.w);\n"
    "    var y = parseFloat(g.querySelector('rect').getAttribute('y'));\n"
    "    var inside = x >= x0 - 1e-6 && x + w <= x0 + w0 + 1e-6;\n"
    "    if (y <= y0 && inside) {\n"
    "      g.style.display = ''; g.style.opacity = '';\n"
    "      fit(g, PAD + (x - x0) * k, w * k);\n"
    "    } else if (y > y0 && x <= x0 + 1e-6 && x + w >= x0 + w0 - 1e-6) {\n"
    "      g.style.display = ''; g.style.opacity = '0.6';\n"
    "      fit(g, PAD, W - 2 * PAD);\n"
    "    } else {\n"
    "      g.style.display = 'none';\n"
    "    }\n"
    "  });\n"
    "  zoomed = target;\n"
    "  document.getElementById('reset').style.display = '';\n"
    "}\n"
    "function reset() {\n"
    "  frames.forEach(function (g) {\n"
    "    g.style.display = ''; g.style.opacity = '';\n"
    "    fit(g, parseFloat(g.dataset.x), parseFloat(g.dataset.w));\n"
    "  });\n"
    "  zoomed = null;\n"
    "  document.getElementById('reset').style.display = 'none';\n"
    "}\n"
    "function clearSearch() {\n"
    "  frames.forEach(function (g) { g.classList.remove('hit'); });\n"
    "  matchedTxt.textContent = ' ';\n"
    "}\n"
    "function ask() {\n"
    "  var term = window.prompt('Search (regular expression)', '');\n"
    "  if (term === null) return;\n"
    "  search(term);\n"
    "}\n"
    "function search(term) {\n"
    "  clearSearch();\n"
    "  if (!term) return;\n"
    "  var re;\n"
    "  try { re = new RegExp(term); } catch (e) {\n"
    "    re = new RegExp(term.replace(/[.*+?^${}()|[\\]\\\\]/g, '\\\\$&')); "
    "}\n"
    "  /* The matched share counts each stretch of width once: a match\n"
    "     inside a matched frame adds nothing. */\n"
    "  var spans = [];\n"
    "  frames.forEach(function (g) {\n"
    "    if (!re.test(g.dataset.label)) return;\n"
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

int
sg_write_flamegraph(const sg_profile *p, const writer_opts *o, strbuf *out)
{
    double spu;
    int m = sg_writer_weight_metric(p, &spu);
    sg_profile *t = sg_writer_retree(p, m, o->per_thread, same_frame, NULL);
    uint64_t *incl = t ? sg_calloc(t->n_nodes, sizeof *incl) : NULL;
    if (!incl) {
        sg_profile_free(t);
        return SG_WRITE_NOMEM;
    }
    sg_profile_totals(t, incl);
    int max_depth = 0;
    for (size_t i = 0; i < t->n_nodes; i++)
        if ((int)t->nodes[i].depth > max_depth)
            max_depth = (int)t->nodes[i].depth;
    fg_ctx c;
    memset(&c, 0, sizeof c);
    c.t = t;
    c.incl = incl;
    c.total = incl[0];
    c.scale = c.total ? (FG_WIDTH - 2 * FG_PAD_SIDE) / (double)c.total : 0;
    c.height = FG_PAD_TOP + FG_PAD_BOTTOM + max_depth * FG_FRAME_H;
    c.spu = spu;
    c.unit_name = p->metric_names[m];
    c.out = out;
    const char *title = o->title ? o->title : "Flame Graph";

    sb_printf(
        out,
        "<?xml version=\"1.0\" standalone=\"no\"?>\n"
        "<svg version=\"1.1\" width=\"%.0f\" height=\"%d\" "
        "viewBox=\"0 0 %.0f %d\" xmlns=\"http://www.w3.org/2000/svg\">\n",
        FG_WIDTH, c.height, FG_WIDTH, c.height);
    sb_puts(out, "<style type=\"text/css\">\n"
                 "text { font-family: Verdana, sans-serif; font-size: 12px; "
                 "fill: #000; }\n"
                 "g.f text { pointer-events: none; }\n"
                 "g.f:hover rect { stroke: #000; stroke-width: 0.5; "
                 "cursor: pointer; }\n"
                 "g.hit rect { fill: rgb(230,0,230) !important; }\n"
                 "#title { font-size: 17px; }\n"
                 ".button { cursor: pointer; fill: #333; }\n"
                 ".button:hover { text-decoration: underline; }\n"
                 "</style>\n");
    sb_puts(out, fg_script);
    sb_printf(out,
              "<rect x=\"0\" y=\"0\" width=\"%.0f\" height=\"%d\" "
              "fill=\"#f8f8f8\"/>\n",
              FG_WIDTH, c.height);
    sb_printf(out,
              "<text id=\"title\" x=\"%.0f\" y=\"24\" "
              "text-anchor=\"middle\">",
              FG_WIDTH / 2);
    sb_put_xml(out, title);
    sb_puts(out, "</text>\n");
    sb_printf(out,
              "<text id=\"reset\" class=\"button\" x=\"%.0f\" y=\"24\" "
              "style=\"display:none\">Reset zoom</text>\n",
              FG_PAD_SIDE);
    sb_printf(out,
              "<text id=\"search\" class=\"button\" x=\"%.0f\" y=\"24\" "
              "text-anchor=\"end\">Search</text>\n",
              FG_WIDTH - FG_PAD_SIDE);
    sb_printf(out,
              "<text id=\"matched\" x=\"%.0f\" y=\"%d\" "
              "text-anchor=\"end\"> </text>\n",
              FG_WIDTH - FG_PAD_SIDE, c.height - 12);
    sb_printf(out, "<text id=\"details\" x=\"%.0f\" y=\"%d\"> </text>\n",
              FG_PAD_SIDE, c.height - 12);
    sb_puts(out, "<g id=\"frames\">\n");
    int rc = put_frames(&c);
    sb_puts(out, "</g>\n</svg>\n");
    if (rc == 0 && sb_failed(&c.label))
        rc = SG_WRITE_NOMEM;
    sb_free(&c.label);
    free(incl);
    sg_profile_free(t);
    return rc;
}
