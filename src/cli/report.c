/* report.c -- `spyglass report`: one HTML report from saved profiles.
 *
 * Reads pstats files (cProfile's or spyglass's; several are added up as
 * pstats.Stats adds them), speedscope JSON (spyglass's speedscope/json
 * format, speedscope's sampled and evented profiles) or folded stacks
 * (spyglass's collapsed format, flamegraph.pl's, py-spy's; several stack
 * files are concatenated) and writes the
 * HTML report (writers/html.c). A pstats file's function table is shown
 * exactly as stored; its flame graph is derived from the callers graph
 * (writers/pstatsread.h). With --diff BASE NEW the report is NEW's, each
 * function coloured and listed by its change from BASE. Every file is
 * read and checked before anything is written.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/opts.h"
#include "common/err.h"
#include "writers/html.h"
#include "writers/pstatsread.h"
#include "writers/ssread.h"
#include "writers/writers.h"

static const sg_output report_output = {"report", SG_DATA_DETERMINISTIC,
                                        "html", false, false};

static void
report_usage(void)
{
    printf("usage: spyglass report [-o FILE] [-t TITLE] [--no-source] "
           "FILE...\n"
           "       spyglass report --diff BASE NEW [-o FILE] [-t TITLE]\n\n"
           "One offline HTML report (flame graph, function table with "
           "callers and\ncallees, source heat) from saved profiles: pstats "
           "files (spyglass profile -o\nX.pstats, python -m cProfile -o X), "
           "speedscope JSON (spyglass -f speedscope\nor json, speedscope's "
           "sampled and evented profiles) or folded stacks\n(spyglass "
           "record -f collapsed, flamegraph.pl, py-spy). Several files are "
           "added\nup. --diff colours each function of NEW by its change "
           "from BASE.\n\n"
           "  -o, --output FILE   where to write (default: the last file's "
           "name, .html)\n"
           "  -f, --format F      html (the only one)\n"
           "  -t, --title T       the report's title\n"
           "      --diff          two files: BASE then NEW\n"
           "      --no-source     embed no source lines\n"
           "  -h, --help          show this help\n");
}

enum { OPT_DIFF = 256, OPT_NO_SOURCE };

static const struct option long_opts[] = {
    {"output", required_argument, NULL, 'o'},
    {"format", required_argument, NULL, 'f'},
    {"title", required_argument, NULL, 't'},
    {"diff", no_argument, NULL, OPT_DIFF},
    {"no-source", no_argument, NULL, OPT_NO_SOURCE},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* The kinds of file report reads; one kind per report. */
typedef enum report_kind {
    REPORT_PSTATS,
    REPORT_SPEEDSCOPE,
    REPORT_FOLDED,
} report_kind;

static const char *const report_kind_names[] = {
    "a pstats file", "speedscope JSON", "folded stacks"};

/* What one side of the report is: a pstats table with its derived tree,
 * or stacks (speedscope or folded). */
typedef struct report_side {
    sg_funcstats stats; /* pstats only */
    bool pstats;
    report_kind kind;
    sg_profile *p;
} report_side;

static void
report_side_free(report_side *s)
{
    if (s->pstats)
        sg_funcstats_free(&s->stats);
    sg_profile_free(s->p);
}

static report_kind
report_sniff(const char *buf, size_t n)
{
    if (sg_speedscope_sniff(buf, n))
        return REPORT_SPEEDSCOPE;
    return sg_pstats_sniff(buf, n) ? REPORT_PSTATS : REPORT_FOLDED;
}

/* Parse one file of its kind into side; -1 with the reason in err. */
static int
report_parse_file(report_side *side, report_kind kind, const char *buf,
                  size_t n, char *err, size_t errn)
{
    switch (kind) {
    case REPORT_PSTATS:
        return sg_pstats_parse(buf, n, &side->stats, err, errn);
    case REPORT_SPEEDSCOPE:
        return sg_speedscope_parse(buf, n, &side->p, err, errn);
    default:
        return sg_folded_parse(buf, n, &side->p, err, errn);
    }
}

/* Add one file to side; the first file decides the kind. Returns 0, or
 * -1 after an error line. */
static int
report_add(report_side *side, const char *path, bool first)
{
    strbuf sb = STRBUF_INIT;
    char err[256] = "";
    if (opts_read_input("report", path, &sb) < 0) {
        sb_free(&sb);
        return -1;
    }
    const char *buf = sb.data ? sb.data : "";
    report_kind kind = report_sniff(buf, sb.len);
    int rc = 0;
    if (first) {
        side->kind = kind;
        side->pstats = kind == REPORT_PSTATS;
    }
    if (kind != side->kind) {
        sg_error("report: '%s' is %s, the first file is not: one kind of "
                 "file per report",
                 path, report_kind_names[kind]);
        rc = -1;
    } else if (report_parse_file(side, kind, buf, sb.len, err, sizeof err) <
               0) {
        sg_error("report: '%s' is not %s: %s (report reads pstats, "
                 "speedscope JSON or folded stacks)",
                 path, report_kind_names[kind], err);
        rc = -1;
    }
    sb_free(&sb);
    return rc;
}

/* Read files into side. Returns 0, or -1 after an error line. */
static int
report_load(report_side *side, char **files, int n)
{
    for (int i = 0; i < n; i++)
        if (report_add(side, files[i], i == 0) < 0)
            return -1;
    if (side->pstats) {
        sg_pstats_finish(&side->stats);
        side->p = sg_pstats_tree(&side->stats);
        if (!side->p)
            sg_die(SG_EXIT_FAIL, "report: out of memory");
    }
    return 0;
}

/* The last file's name with .html for its extension. */
static void
report_default_output(const char *last, char *buf, size_t n)
{
    const char *slash = strrchr(last, '/');
    const char *dot = strrchr(slash ? slash + 1 : last, '.');
    size_t len = dot && dot != (slash ? slash + 1 : last)
                     ? (size_t)(dot - last)
                     : strlen(last);
    snprintf(buf, n, "%.*s.html", (int)len, last);
}

typedef struct report_opts {
    const char *output, *format, *title;
    bool diff, no_source;
} report_opts;

/* Parse the command line; -1 to go on, else the exit status. */
static int
report_parse(int argc, char **argv, report_opts *o)
{
    int c;
    opts_reset();
    while ((c = getopt_long(argc, argv, ":o:f:t:h", long_opts, NULL)) != -1) {
        switch (c) {
        case 'o':
            o->output = optarg;
            break;
        case 'f':
            o->format = optarg;
            break;
        case 't':
            o->title = optarg;
            break;
        case OPT_DIFF:
            o->diff = true;
            break;
        case OPT_NO_SOURCE:
            o->no_source = true;
            break;
        case 'h':
            report_usage();
            return SG_EXIT_OK;
        default:
            opts_report("report", c, argv);
            return SG_EXIT_USAGE;
        }
    }
    int n = argc - optind;
    if (n == 0 || (o->diff && n != 2)) {
        sg_error(o->diff ? "report: --diff takes two files, BASE and NEW"
                         : "report: no FILE given (pstats, speedscope "
                           "JSON or folded stacks)");
        return SG_EXIT_USAGE;
    }
    return -1;
}

/* Render and write the report. Returns the exit status. */
static int
report_write(const report_opts *o, const sg_writer *w, const char *output,
             report_side *base, report_side *side, char **files)
{
    writer_opts wo = {0};
    wo.title = o->title;
    wo.no_source = o->no_source;
    sg_html_input in = {0};
    in.p = side->p;
    in.o = &wo;
    in.no_source = o->no_source;
    in.stats = side->pstats ? &side->stats : NULL;
    sg_funcstats own = {0};
    if (base) {
        in.base = &base->stats;
        if (!base->pstats &&
            sg_funcstats_build(base->p, SG_ROOT_NODE, false, &own) == 0)
            in.base = &own;
        in.base_label = files[0];
        in.new_label = files[1];
    }
    strbuf sb = STRBUF_INIT;
    if (sg_html_write(&in, &sb) != 0)
        sb.failed = true;
    sg_out_result r = sg_writer_deliver(&report_output, w, output, &sb);
    if (r == SG_OUT_WRITTEN && strcmp(output, "-") != 0)
        fprintf(stderr, "spyglass report: wrote %s (%s)\n", output, w->name);
    sb_free(&sb);
    if (base && !base->pstats)
        sg_funcstats_free(&own);
    return sg_output_status(SG_EXIT_OK, r);
}

int
cmd_report(int argc, char **argv)
{
    report_opts o = {0};
    int rc = report_parse(argc, argv, &o);
    if (rc >= 0)
        return rc;
    char **files = argv + optind;
    int n = argc - optind;
    char path[4096];
    const sg_writer *w;
    if (!o.output) {
        report_default_output(files[n - 1], path, sizeof path);
        o.output = path;
    }
    if (sg_writer_pick(o.format, o.output, &report_output, &w))
        return SG_EXIT_USAGE;
    if (w->id != SG_FMT_HTML) {
        sg_error("report: it writes html only, not %s", w->name);
        return SG_EXIT_USAGE;
    }
    report_side base = {0}, side = {0};
    rc = SG_EXIT_USAGE;
    if (o.diff) {
        if (report_load(&base, files, 1) == 0 &&
            report_load(&side, files + 1, 1) == 0) {
            if (base.kind != side.kind)
                sg_error("report: --diff compares two files of one kind "
                         "(pstats, speedscope JSON or folded stacks)");
            else
                rc = report_write(&o, w, o.output, &base, &side, files);
        }
    } else if (report_load(&side, files, n) == 0) {
        rc = report_write(&o, w, o.output, NULL, &side, files);
    }
    report_side_free(&base);
    report_side_free(&side);
    return rc;
}
