/* writers.c -- the registry of output formats; see writers.h. */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/alloc.h"
#include "common/err.h"
#include "writers/writers.h"

static const char *const ext_pstats[] = {"pstats", "prof", NULL};
static const char *const ext_text[] = {"txt", NULL};
static const char *const ext_json[] = {"json", NULL};
static const char *const ext_flame[] = {"svg", NULL};
static const char *const ext_speedscope[] = {"speedscope.json", NULL};
static const char *const ext_collapsed[] = {"collapsed", "folded", NULL};
static const char *const ext_chrome[] = {"trace.json", "chrome.json", NULL};
static const char *const ext_lprof[] = {"lprof", NULL};
static const char *const ext_kernprof[] = {"lprof.txt", NULL};
static const char *const ext_csv[] = {"csv", NULL};
static const char *const ext_markdown[] = {"md", "markdown", NULL};
static const char *const ext_dat[] = {"dat", NULL};
static const char *const ext_html[] = {"html", "htm", NULL};

#define PROFILES (SG_HOLDS(SG_DATA_DETERMINISTIC) | SG_HOLDS(SG_DATA_SAMPLED))
#define LINES SG_HOLDS(SG_DATA_LINES)
#define TIMINGS SG_HOLDS(SG_DATA_TIMINGS)
#define STACKS SG_HOLDS(SG_DATA_STACKS)
#define TIMEIT SG_HOLDS(SG_DATA_TIMEIT)
#define MEMORY SG_HOLDS(SG_DATA_MEMORY)
#define TIMELINE SG_HOLDS(SG_DATA_TIMELINE)
#define DIS SG_HOLDS(SG_DATA_DIS)

static const sg_writer w_pstats = {
    .name = "pstats",
    .id = SG_FMT_PSTATS,
    .extensions = ext_pstats,
    .description = "cProfile's marshal file, for pstats, SnakeViz, gprof2dot",
    .binary = true,
    .holds = PROFILES,
    .write = sg_write_pstats,
};
static const sg_writer w_text = {
    .name = "text",
    .id = SG_FMT_TEXT,
    .extensions = ext_text,
    .description = "cProfile's table; for samples, top functions and lines; "
                   "for memory, memory_profiler's table",
    .holds =
        PROFILES | LINES | MEMORY | TIMINGS | STACKS | TIMEIT | TIMELINE | DIS,
    .write = sg_write_text,
};
/* JSON of a profile is speedscope's; time, dump and timeit render their
 * own (hyperfine's, py-spy dump's, pyperf's). */
static const sg_writer w_json = {
    .name = "json",
    .id = SG_FMT_JSON,
    .extensions = ext_json,
    .description = "speedscope JSON (the same as -f speedscope)",
    .holds = PROFILES | MEMORY | TIMINGS | STACKS | TIMEIT | TIMELINE | DIS,
    .stacks = true,
    .write = sg_write_speedscope,
};
static const sg_writer w_flame = {
    .name = "flamegraph",
    .id = SG_FMT_FLAMEGRAPH,
    .extensions = ext_flame,
    .description = "interactive SVG flame graph (zoom, search, tooltips); "
                   "for a timeline, a plot",
    .holds = PROFILES | MEMORY | TIMELINE,
    .stacks = true,
    .write = sg_write_flamegraph,
};
static const sg_writer w_speedscope = {
    .name = "speedscope",
    .id = SG_FMT_SPEEDSCOPE,
    .extensions = ext_speedscope,
    .description = "speedscope JSON, one profile per thread",
    .holds = PROFILES | MEMORY,
    .stacks = true,
    .write = sg_write_speedscope,
};
static const sg_writer w_collapsed = {
    .name = "collapsed",
    .id = SG_FMT_COLLAPSED,
    .extensions = ext_collapsed,
    .description = "folded stacks 'f (file:line);g (file:line) N' "
                   "(flamegraph.pl, inferno)",
    .holds = PROFILES | MEMORY,
    .stacks = true,
    .write = sg_write_collapsed,
};
static const sg_writer w_chrome = {
    .name = "chrometrace",
    .id = SG_FMT_CHROMETRACE,
    .extensions = ext_chrome,
    .description = "Chrome Trace Event JSON (Perfetto, chrome://tracing)",
    .holds = PROFILES,
    .stacks = true,
    .write = sg_write_chrometrace,
};
static const sg_writer w_lprof = {
    .name = "lprof",
    .id = SG_FMT_LPROF,
    .extensions = ext_lprof,
    .description = "line_profiler's pickle (python -m line_profiler FILE)",
    .binary = true,
    .holds = LINES,
    .write = sg_writer_lprof,
};
static const sg_writer w_kernprof = {
    .name = "kernprof",
    .id = SG_FMT_KERNPROF,
    .extensions = ext_kernprof,
    .description = "the table kernprof -l -v prints",
    .holds = LINES,
    .write = sg_writer_linetext,
};
/* time renders its own tables. */
static const sg_writer w_csv = {
    .name = "csv",
    .id = SG_FMT_CSV,
    .extensions = ext_csv,
    .description = "hyperfine's CSV export",
    .holds = TIMINGS,
};
static const sg_writer w_markdown = {
    .name = "markdown",
    .id = SG_FMT_MARKDOWN,
    .extensions = ext_markdown,
    .description = "hyperfine's Markdown table",
    .holds = TIMINGS,
};

static const sg_writer w_dat = {
    .name = "dat",
    .id = SG_FMT_DAT,
    .extensions = ext_dat,
    .description = "mprof's .dat (mprof plot, mprof peak)",
    .holds = TIMELINE,
    .weak_ext = true,
    .write = sg_write_dat,
};

/* One page: flame graph, function table, source heat and memory. */
static const sg_writer w_html = {
    .name = "html",
    .id = SG_FMT_HTML,
    .extensions = ext_html,
    .description = "one offline HTML report: flame graph, function table, "
                   "source heat, memory",
    .holds = PROFILES | LINES | MEMORY | TIMELINE,
    .write = sg_write_html,
};

const sg_output sg_output_profile = {"profile", SG_DATA_DETERMINISTIC, "text",
                                     false, false};
const sg_output sg_output_record = {"record", SG_DATA_SAMPLED, "flamegraph",
                                    false, true};
const sg_output sg_output_lines = {"lines", SG_DATA_LINES, "text", true,
                                   false};
const sg_output sg_output_memory = {"memory", SG_DATA_MEMORY, "text", true,
                                    false};
const sg_output sg_output_time = {"time", SG_DATA_TIMINGS, "text", true,
                                  false};
const sg_output sg_output_dump = {"dump", SG_DATA_STACKS, "text", true, false};
const sg_output sg_output_timeit = {"timeit", SG_DATA_TIMEIT, "text", true,
                                    false};
const sg_output sg_output_timeline = {"timeline", SG_DATA_TIMELINE, "dat",
                                      false, true};
const sg_output sg_output_plot = {"plot", SG_DATA_TIMELINE, "flamegraph",
                                  false, false};
const sg_output sg_output_dis = {"dis", SG_DATA_DIS, "text", true, false};

static const sg_writer *const all_writers[] = {
    &w_pstats,    &w_text,   &w_json,  &w_flame,    &w_speedscope,
    &w_collapsed, &w_chrome, &w_lprof, &w_kernprof, &w_csv,
    &w_markdown,  &w_dat,    &w_html,  NULL,
};

const sg_writer *const *
sg_writers(void)
{
    return all_writers;
}

/* Other tools' names for our formats: py-spy's -f raw is collapsed stacks,
 * and "svg" is what a flame graph file is called. The error message and
 * --help list the canonical names only. */
static const struct {
    const char *alias, *name;
} writer_aliases[] = {
    {"svg", "flamegraph"},
    {"raw", "collapsed"},
};

const sg_writer *
sg_writer_by_name(const char *name)
{
    for (size_t i = 0; i < sizeof writer_aliases / sizeof writer_aliases[0];
         i++)
        if (strcmp(writer_aliases[i].alias, name) == 0) {
            name = writer_aliases[i].name;
            break;
        }
    for (size_t i = 0; all_writers[i]; i++)
        if (strcmp(all_writers[i]->name, name) == 0)
            return all_writers[i];
    return NULL;
}

const sg_writer *
sg_writer_for_path(const char *path)
{
    const sg_writer *best = NULL;
    size_t best_len = 0, plen = strlen(path);
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    size_t blen = strlen(base);
    for (size_t i = 0; all_writers[i]; i++) {
        for (const char *const *e = all_writers[i]->extensions; *e; e++) {
            size_t el = strlen(*e);
            /* ".ext" must follow a non-empty base name; "X.SVG" is an
             * SVG file too. */
            if (el + 1 < blen && path[plen - el - 1] == '.' &&
                strcasecmp(path + plen - el, *e) == 0 && el > best_len) {
                best = all_writers[i];
                best_len = el;
            }
        }
    }
    return best;
}

const char *
sg_data_kind_name(sg_data_kind kind)
{
    static const char *const names[SG_DATA_N_KINDS] = {
        [SG_DATA_DETERMINISTIC] = "a function profile",
        [SG_DATA_SAMPLED] = "a sampled profile",
        [SG_DATA_LINES] = "a line profile",
        [SG_DATA_MEMORY] = "a memory profile",
        [SG_DATA_TIMINGS] = "timing results",
        [SG_DATA_STACKS] = "a stack dump",
        [SG_DATA_TIMEIT] = "timeit results",
        [SG_DATA_TIMELINE] = "a memory timeline",
        [SG_DATA_DIS] = "a dis listing",
    };
    assert(kind < SG_DATA_N_KINDS);
    return names[kind];
}

const char *
sg_writer_names(sg_data_kind kind)
{
    static char bufs[SG_DATA_N_KINDS][256];
    assert(kind < SG_DATA_N_KINDS);
    char *buf = bufs[kind];
    if (!buf[0]) {
        size_t k = 0;
        for (size_t i = 0; all_writers[i]; i++)
            if (sg_writer_holds(all_writers[i], kind) && k < sizeof bufs[0])
                k += (size_t)snprintf(buf + k, sizeof bufs[0] - k, "%s%s",
                                      k ? ", " : "", all_writers[i]->name);
    }
    return buf;
}

/* "a line profile", or "a function profile or a sampled profile". */
static void
holds_phrase(const sg_writer *w, char *buf, size_t n)
{
    size_t k = 0;
    int count = 0, total = 0;
    for (int d = 0; d < SG_DATA_N_KINDS; d++)
        total += sg_writer_holds(w, (sg_data_kind)d);
    buf[0] = '\0';
    for (int d = 0; d < SG_DATA_N_KINDS && k < n; d++) {
        if (!sg_writer_holds(w, (sg_data_kind)d))
            continue;
        count++;
        const char *sep = count == 1 ? "" : count == total ? " or " : ", ";
        k += (size_t)snprintf(buf + k, n - k, "%s%s", sep,
                              sg_data_kind_name((sg_data_kind)d));
    }
}

int
sg_writer_pick_msg(const char *format, const char *path, const sg_output *what,
                   const sg_writer **out, char *msg, size_t n)
{
    const char *kind = sg_data_kind_name(what->kind);
    const char *list = sg_writer_names(what->kind);
    const sg_writer *w = NULL;
    bool from_path = false;
    *out = NULL;
    if (format) {
        w = sg_writer_by_name(format);
        if (!w) {
            snprintf(msg, n, "unknown format '%s' (formats for %s: %s)",
                     format, kind, list);
            return SG_EXIT_USAGE;
        }
    } else if (path && strcmp(path, "-") != 0) {
        w = sg_writer_for_path(path);
        if (w && w->weak_ext && !sg_writer_holds(w, what->kind))
            w = NULL;
        from_path = w != NULL;
        if (!w && !what->unknown_ext_default) {
            snprintf(msg, n,
                     "cannot tell the format of '%s' from its extension: "
                     "give -f FORMAT (formats for %s: %s)",
                     path, kind, list);
            return SG_EXIT_USAGE;
        }
    }
    if (!w) {
        w = sg_writer_by_name(what->default_format);
        assert(w && sg_writer_holds(w, what->kind));
    }
    if (!sg_writer_holds(w, what->kind)) {
        char holds[160];
        holds_phrase(w, holds, sizeof holds);
        snprintf(msg, n,
                 "the %s format%s%s%s cannot hold %s (it holds %s); "
                 "formats for %s: %s",
                 w->name, from_path ? " of '" : "", from_path ? path : "",
                 from_path ? "'" : "", kind, holds, kind, list);
        return SG_EXIT_USAGE;
    }
    *out = w;
    return 0;
}

int
sg_writer_pick(const char *format, const char *path, const sg_output *what,
               const sg_writer **out)
{
    char msg[768];
    /* The path first: "it is a directory" says more than "cannot tell
     * its format". */
    int rc = sg_output_check(path, msg, sizeof msg) ? SG_EXIT_USAGE : 0;
    if (rc == 0)
        rc = sg_writer_pick_msg(format, path, what, out, msg, sizeof msg);
    if (rc == 0 && !path && what->default_in_cwd) {
        char why[256];
        if (sg_output_check_dir(".", why, sizeof why) != 0) {
            snprintf(msg, sizeof msg,
                     "cannot write the %s in the current directory: %s "
                     "(give -o FILE)",
                     (*out)->name, why);
            rc = SG_EXIT_USAGE;
        }
    }
    if (rc) {
        *out = NULL;
        sg_error("%s: %s", what->command, msg);
    }
    return rc;
}

sg_data_kind
sg_profile_data_kind(const sg_profile *p)
{
    return p->kind == SG_PROFILE_TIMELINE ? SG_DATA_TIMELINE
                                          : (sg_data_kind)p->kind;
}

/* The deepest node of p. */
static uint32_t
max_depth(const sg_profile *p)
{
    uint32_t d = 0;
    for (size_t i = 0; i < p->n_nodes; i++)
        if (p->nodes[i].depth > d)
            d = p->nodes[i].depth;
    return d;
}

int
sg_writer_render(const sg_writer *w, const sg_profile *p, const writer_opts *o,
                 strbuf *out)
{
    writer_opts defaults = {0};
    if (!w->write || !sg_writer_holds(w, sg_profile_data_kind(p))) {
        sg_error("the %s format cannot hold %s", w->name,
                 sg_data_kind_name(sg_profile_data_kind(p)));
        return -1;
    }
    sg_profile *cut = NULL;
    int rc = 0;
    if (w->stacks && max_depth(p) > SG_WRITER_MAX_DEPTH) {
        cut = sg_profile_cut(p, SG_WRITER_MAX_DEPTH);
        if (!cut)
            rc = SG_WRITE_NOMEM;
    }
    if (rc == 0)
        rc = w->write(cut ? cut : p, o ? o : &defaults, out);
    sg_profile_free(cut);
    if (rc == 0 && sb_failed(out))
        rc = SG_WRITE_NOMEM;
    if (rc == SG_WRITE_NOMEM)
        sg_error("out of memory writing the %s format", w->name);
    return rc < 0 ? -1 : 0;
}

sg_out_result
sg_writer_deliver(const sg_output *what, const sg_writer *w, const char *path,
                  const strbuf *sb)
{
    if (sb_failed(sb)) {
        sg_error("%s: out of memory writing the %s format", what->command,
                 w->name);
        return SG_OUT_LOST;
    }
    sg_out_target t = {
        .command = what->command,
        .path = path,
        .ext = w->extensions[0],
        .binary = w->binary,
    };
    return sg_output_deliver(&t, sb_str(sb), sb->len);
}

sg_out_result
sg_writer_write_file(const sg_output *what, const sg_writer *w,
                     const sg_profile *p, const writer_opts *o,
                     const char *path)
{
    strbuf sb = STRBUF_INIT;
    sg_out_result r = sg_writer_render(w, p, o, &sb) < 0
                          ? SG_OUT_LOST
                          : sg_writer_deliver(what, w, path, &sb);
    sb_free(&sb);
    return r;
}

int
sg_writer_weight_metric(const sg_profile *p, const writer_opts *o,
                        double *seconds_per_unit)
{
    int m = o && o->metric > 0 && o->metric < p->n_metrics
                ? o->metric
                : sg_profile_metric(p, "ns");
    if (m < 0)
        m = 0;
    if (strcmp(p->metric_names[m], "ns") == 0)
        *seconds_per_unit = 1e-9;
    else if (p->kind == SG_PROFILE_SAMPLED && m == 0)
        *seconds_per_unit = (double)p->sample_interval_ns * 1e-9;
    else
        *seconds_per_unit = 0.0;
    return m;
}

bool
sg_writer_metric_is_bytes(const sg_profile *p, int m)
{
    const char *name = p->metric_names[m];
    size_t n = strlen(name);
    return strcmp(name, "bytes") == 0 ||
           (n > 6 && strcmp(name + n - 6, "_bytes") == 0);
}

sg_frame_id
sg_writer_same_frame(sg_profile *t, const sg_profile *p, sg_frame_id i,
                     void *ctx)
{
    const sg_func *f = &p->funcs[p->frames[i].func];
    sg_func_id nf = sg_profile_func(t, (sg_func_kind)f->kind, f->name, f->file,
                                    f->first_line, f->id);
    (void)ctx;
    return sg_profile_frame(t, nf, p->frames[i].line);
}

sg_profile *
sg_writer_retree(const sg_profile *p, int m, int count_m, bool keep_threads,
                 sg_retree_frame_fn frame, void *ctx)
{
    const char *names[] = {"w", "n"};
    sg_profile *t = sg_profile_new(p->kind, count_m < 0 ? 1 : 2, names);
    sg_frame_id *fmap = sg_calloc(p->n_frames, sizeof *fmap);
    sg_node_id *nmap = sg_calloc(p->n_nodes, sizeof *nmap);
    if (!t || !fmap || !nmap)
        goto fail;
    for (size_t i = 0; i < p->n_frames; i++)
        if ((fmap[i] = frame(t, p, (sg_frame_id)i, ctx)) == SG_NO_ID)
            goto fail;
    /* Parents come before children, so one pass maps every node. */
    nmap[0] = SG_ROOT_NODE;
    for (size_t i = 1; i < p->n_nodes; i++) {
        const sg_node *n = &p->nodes[i];
        bool skip = !keep_threads &&
                    sg_profile_frame_func(p, n->frame)->kind == SG_FUNC_THREAD;
        nmap[i] = skip ? nmap[n->parent]
                       : sg_profile_child(t, nmap[n->parent], fmap[n->frame]);
        if (nmap[i] == SG_NO_ID)
            goto fail;
        t->nodes[nmap[i]].self[0] += n->self[m];
        if (count_m >= 0)
            t->nodes[nmap[i]].self[1] += n->self[count_m];
    }
    free(nmap);
    free(fmap);
    return t;
fail:
    free(nmap);
    free(fmap);
    sg_profile_free(t);
    return NULL;
}

/* The length of the UTF-8 sequence at s that a terminal would obey rather
 * than show, or 0: a C1 control (U+0080-U+009F; U+009B is CSI), or a
 * line separator or bidirectional override (U+2028-U+202E, U+200E-U+200F,
 * U+2066-U+2069) that reorders what follows. repr escapes each. */
static size_t
invisible_utf8(const unsigned char *s, uint32_t *cp)
{
    if (s[0] == 0xc2 && s[1] >= 0x80 && s[1] <= 0x9f) {
        *cp = s[1];
        return 2;
    }
    if (s[0] != 0xe2 || (s[1] != 0x80 && s[1] != 0x81) || s[2] < 0x80 ||
        s[2] > 0xbf)
        return 0;
    *cp = 0x2000u | ((uint32_t)(s[1] & 0x3f) << 6) | (s[2] & 0x3fu);
    bool hidden = (*cp >= 0x200e && *cp <= 0x200f) ||
                  (*cp >= 0x2028 && *cp <= 0x202e) ||
                  (*cp >= 0x2066 && *cp <= 0x2069);
    return hidden ? 3 : 0;
}

void
sg_writer_put_name(strbuf *sb, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        uint32_t cp;
        size_t n =
            c >= 0x80 ? invisible_utf8((const unsigned char *)s, &cp) : 0;
        if (n) {
            sb_printf(sb, cp < 0x100 ? "\\x%02x" : "\\u%04x", cp);
            s += n - 1;
        } else if (c >= 0x20 && c != 0x7f)
            sb_putc(sb, (char)c);
        else if (c == '\n')
            sb_puts(sb, "\\n");
        else if (c == '\t')
            sb_puts(sb, "\\t");
        else if (c == '\r')
            sb_puts(sb, "\\r");
        else
            sb_printf(sb, "\\x%02x", c);
    }
}

bool
sg_writer_has_file(const sg_func *fn)
{
    return !sg_func_is_synthetic(fn) && fn->file[0] &&
           strcmp(fn->file, "~") != 0;
}

void
sg_writer_frame_label(const sg_profile *p, sg_frame_id f, strbuf *sb)
{
    const sg_frame *fr = &p->frames[f];
    const sg_func *fn = &p->funcs[fr->func];
    sg_writer_put_name(sb, fn->name);
    if (!sg_writer_has_file(fn))
        return;
    sb_puts(sb, " (");
    sg_writer_put_name(sb, fn->file);
    sb_printf(sb, ":%d)", fr->line ? fr->line : fn->first_line);
}
