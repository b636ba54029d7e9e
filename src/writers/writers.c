/* writers.c -- the registry of output formats; see writers.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "writers/writers.h"

static const char *const ext_pstats[] = {"pstats", "prof", NULL};
static const char *const ext_text[] = {"txt", NULL};
static const char *const ext_flame[] = {"svg", NULL};
static const char *const ext_speedscope[] = {"speedscope.json", "json", NULL};
static const char *const ext_collapsed[] = {"collapsed", "folded", NULL};
static const char *const ext_chrome[] = {"trace.json", "chrome.json", NULL};
static const char *const ext_lprof[] = {"lprof", NULL};
static const char *const ext_kernprof[] = {"lprof.txt", NULL};

static const sg_writer w_pstats = {
    "pstats", ext_pstats,
    "cProfile's marshal file, for pstats, SnakeViz, gprof2dot", true,
    sg_write_pstats};
static const sg_writer w_text = {
    "text", ext_text, "cProfile's table; for samples, top functions and lines",
    false, sg_write_text};
static const sg_writer w_flame = {
    "flamegraph", ext_flame,
    "interactive SVG flame graph (zoom, search, tooltips)", false,
    sg_write_flamegraph};
static const sg_writer w_speedscope = {
    "speedscope", ext_speedscope, "speedscope JSON, one profile per thread",
    false, sg_write_speedscope};
static const sg_writer w_collapsed = {
    "collapsed", ext_collapsed,
    "folded stacks 'f (file:line);g (file:line) N' (flamegraph.pl, inferno)",
    false, sg_write_collapsed};
static const sg_writer w_chrome = {
    "chrometrace", ext_chrome,
    "Chrome Trace Event JSON (Perfetto, chrome://tracing)", false,
    sg_write_chrometrace};
static const sg_writer w_lprof = {
    "lprof", ext_lprof,
    "line_profiler's pickle (python -m line_profiler FILE)", true,
    sg_writer_lprof};
static const sg_writer w_kernprof = {"kernprof", ext_kernprof,
                                     "the table kernprof -l -v prints", false,
                                     sg_writer_linetext};

static const sg_writer *const all_writers[] = {
    &w_pstats, &w_text,  &w_flame,    &w_speedscope, &w_collapsed,
    &w_chrome, &w_lprof, &w_kernprof, NULL,
};

const sg_writer *const *
sg_writers(void)
{
    return all_writers;
}

const sg_writer *
sg_writer_by_name(const char *name)
{
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
            /* ".ext" must follow a non-empty base name. */
            if (el + 1 < blen && path[plen - el - 1] == '.' &&
                strcmp(path + plen - el, *e) == 0 && el > best_len) {
                best = all_writers[i];
                best_len = el;
            }
        }
    }
    return best;
}

const char *
sg_writer_names(void)
{
    static char buf[256];
    if (!buf[0]) {
        size_t k = 0;
        for (size_t i = 0; all_writers[i]; i++)
            k += (size_t)snprintf(buf + k, sizeof buf - k, "%s%s",
                                  i ? ", " : "", all_writers[i]->name);
    }
    return buf;
}

int
sg_writer_write_file(const sg_writer *w, const sg_profile *p,
                     const writer_opts *o, const char *path)
{
    writer_opts defaults = {0};
    strbuf sb = STRBUF_INIT;
    if (w->write(p, o ? o : &defaults, &sb) < 0) {
        sb_free(&sb);
        return -1;
    }
    int rc = sb_write_file(&sb, path);
    if (rc < 0)
        sg_error("cannot write '%s': %s", path, strerror(errno));
    sb_free(&sb);
    return rc;
}

int
sg_writer_weight_metric(const sg_profile *p, double *seconds_per_unit)
{
    int m = sg_profile_metric(p, "ns");
    if (m >= 0) {
        *seconds_per_unit = 1e-9;
        return m;
    }
    const char *iv = sg_profile_get_meta(p, "sample_interval_ns");
    *seconds_per_unit = iv ? atof(iv) * 1e-9 : 0.0;
    return 0;
}

void
sg_writer_frame_label(const sg_profile *p, sg_frame_id f, strbuf *sb)
{
    const sg_frame *fr = &p->frames[f];
    const sg_func *fn = &p->funcs[fr->func];
    sb_puts(sb, fn->name);
    if (sg_func_is_synthetic(fn) || !fn->file[0] || strcmp(fn->file, "~") == 0)
        return;
    int line = fr->line ? fr->line : fn->first_line;
    sb_printf(sb, " (%s:%d)", fn->file, line);
}
