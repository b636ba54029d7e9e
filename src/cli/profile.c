/* profile.c -- `spyglass profile`: options, help, and the hand-over to the
 * agent, which runs the program under the deterministic profiler
 * (src/agent/profile/command.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/opts.h"
#include "cli/pylaunch.h"
#include "common/err.h"
#include "model/funcstats.h"
#include "request/commands.h"
#include "writers/writers.h"

/* The command line: the request, and what only the executable uses. */
typedef struct profile_cli {
    rq_profile rq;
    const char *python; /* --python */
    bool help;
} profile_cli;

static void
profile_usage(void)
{
    printf(
        "usage: spyglass profile [-s SORT] [-o FILE] [-f FORMAT] "
        "[--no-builtins]\n"
        "                        [--threads] [--limit N] [--flame] "
        "[--python PYTHON]\n"
        "                        (SCRIPT | -m MODULE | -c CODE) [ARGS...]\n\n"
        "Profile every function call of a Python program, as cProfile does "
        "(same\ncounts, same table, pstats files), in every thread, with "
        "less overhead.\n\n"
        "  -s, --sort KEYS     sort the table by pstats keys, comma-separated "
        "(default\n"
        "                      cumulative): %s\n"
        "  -o, --output FILE   write the profile to FILE instead of printing "
        "the table;\n"
        "                      the format follows the extension (see "
        "below)\n"
        "  -f, --format NAME   output format: %s\n"
        "      --no-builtins   do not record C functions (builtins, "
        "methods)\n"
        "      --threads       also print one table per thread\n"
        "      --limit N       print at most N rows\n"
        "      --flame         flame graph with the root at the bottom "
        "(default: at the\n"
        "                      top; --inverted, flamegraph.pl's name for "
        "that, too)\n"
        "      --no-source     html: embed no source lines (confidential "
        "code)\n"
        "      --python P      run under interpreter P, a CPython 3.8-3.13 "
        "with\n"
        "                      spyglass installed (default: the python next "
        "to\n"
        "                      spyglass, else python3)\n"
        "  -m MODULE           run a library module as a script "
        "(python -m)\n"
        "  -c CODE             run CODE (python -c)\n"
        "  -h, --help          show this help\n\n"
        "Formats and the extensions that select them:\n",
        sg_sort_keys(), sg_writer_names(SG_DATA_DETERMINISTIC));
    for (const sg_writer *const *w = sg_writers(); *w; w++) {
        if (!sg_writer_holds(*w, SG_DATA_DETERMINISTIC))
            continue;
        char exts[128] = "";
        size_t k = 0;
        for (const char *const *e = (*w)->extensions; *e; e++)
            k += (size_t)snprintf(exts + k, sizeof exts - k, "%s.%s",
                                  k ? " " : "", *e);
        printf("  %-12s %-26s %s\n", (*w)->name, exts, (*w)->description);
    }
    printf("\nThe table goes to stdout after the program's own output, as "
           "with\n`python -m cProfile`. The program keeps its arguments, "
           "stdin/stdout/stderr\nand exit status; its profile is written "
           "even when it exits with an error,\nis interrupted (Ctrl-C) or "
           "gets SIGTERM.\n");
}

static const struct option long_opts[] = {
    {"sort", required_argument, NULL, 's'},
    {"output", required_argument, NULL, 'o'},
    {"format", required_argument, NULL, 'f'},
    {"no-builtins", no_argument, NULL, 'B'},
    {"threads", no_argument, NULL, 'T'},
    {"limit", required_argument, NULL, 'L'},
    {"flame", no_argument, NULL, 'F'},
    {"no-source", no_argument, NULL, 'N'},
    {"inverted", no_argument, NULL, 'V'},
    {"python", required_argument, NULL, 'P'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* Parse argv (argv[0] = "profile") into o. Returns -1 when the caller
 * should go on, else an exit status (errors print their line). */
static int
profile_parse(int argc, char **argv, profile_cli *o)
{
    memset(o, 0, sizeof *o);
    rq_profile *rq = &o->rq;
    rq->builtins = true;
    rq->sort = NULL; /* the default order: cumulative, outside waits */
    const char *format = NULL;
    bool have_target = false;
    opts_reset();
    int c;
    while (!have_target && (c = getopt_long(argc, argv, "+:s:o:f:m:c:h",
                                            long_opts, NULL)) != -1) {
        switch (c) {
        case 's':
            rq->sort = optarg;
            break;
        case 'o':
            rq->output = optarg;
            break;
        case 'f':
            format = optarg;
            break;
        case 'B':
            rq->builtins = false;
            break;
        case 'T':
            rq->threads = true;
            break;
        case 'L':
            if (!opts_long("profile", "--limit", optarg, 1, 1000000000,
                           &rq->limit))
                return SG_EXIT_USAGE;
            break;
        case 'F':
        case 'V':
            rq->flame = c == 'F'; /* the last one given wins */
            break;
        case 'N':
            rq->no_source = true;
            break;
        case 'P':
            o->python = optarg;
            break;
        case 'm':
        case 'c':
            opts_program_option(c, optarg, &rq->program);
            have_target = true;
            break;
        case 'h':
            o->help = true;
            return -1;
        default:
            return pylaunch_bad_option("profile", c, argv);
        }
    }
    if (!opts_program("profile", argc, argv, have_target, &rq->program))
        return SG_EXIT_USAGE;

    strbuf err = STRBUF_INIT;
    sg_sort_spec spec;
    if (rq->sort && sg_sort_parse(rq->sort, &spec, &err) < 0) {
        sg_error("profile: %s", sb_str(&err));
        sb_free(&err);
        return SG_EXIT_USAGE;
    }
    sb_free(&err);
    /* The format is chosen here, once: the agent writes what it is told.
     * Without -f or -o that is the table on stdout. */
    const sg_writer *w;
    if (sg_writer_pick(format, rq->output, &sg_output_profile, &w))
        return SG_EXIT_USAGE;
    rq->format = w->name;
    return -1;
}

int
cmd_profile(int argc, char **argv)
{
    profile_cli o;
    int rc = profile_parse(argc, argv, &o);
    if (rc < 0 && o.help) {
        profile_usage();
        return SG_EXIT_OK;
    }
    if (rc >= 0)
        return rc;
    return pylaunch_run(o.python, &rq_profile_spec, &o.rq);
}
