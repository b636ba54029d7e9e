/* lines.c -- `spyglass lines`: options, help, and the hand-over to the
 * agent, which runs the program and counts its lines in-process
 * (src/agent/lines*.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/lines.h"
#include "cli/opts.h"
#include "cli/pylaunch.h"
#include "common/alloc.h"
#include "common/err.h"
#include "common/units.h"
#include "writers/writers.h"

void
lines_usage(void)
{
    printf(
        "usage: spyglass lines [-u UNIT] [-o FILE] [--func MODULE:QUALNAME]..."
        "\n                      [--file PATH]... [-p PYTHON]\n"
        "                      (SCRIPT | -m MODULE | -c CODE) [ARGS...]\n\n"
        "Line-by-line hits and time, printed as `kernprof -l -v` prints "
        "them.\n\n"
        "Which functions:\n"
        "  - those decorated with @profile (spyglass puts `profile` in "
        "builtins,\n"
        "    as kernprof -l does, so scripts written for kernprof run "
        "unchanged);\n"
        "  - every --func target and every function defined in a --file;\n"
        "  - with neither, and no @profile in the script itself, every "
        "function\n"
        "    defined in the script's own file (or the -m module's).\n"
        "A selected function's own lines are counted; nested functions are "
        "selected\nby file rules only, and lambdas, comprehensions and "
        "generator expressions\ncount as lines of the function around them.\n"
        "Other code runs untraced (3.12+) or with tracing that skips it "
        "(3.8-3.11).\n\n"
        "  -u, --unit U       seconds per displayed time unit (default "
        "1e-6), or\n"
        "                     nsec, usec, msec, sec\n"
        "  -o, --output FILE  also write the results: FILE.lprof is a pickle "
        "that\n"
        "                     `python -m line_profiler FILE` loads; *.txt, "
        "or a name\n                     without a known extension, gets "
        "the text table\n"
        "      --func M:Q     profile function Q (qualified name, e.g. "
        "Cls.meth)\n"
        "                     of module M (`__main__` for the script)\n"
        "      --file PATH    profile every function defined in PATH\n"
        "  -p, --python P     run under interpreter P (it needs spyglass "
        "installed)\n"
        "  -m MODULE          run a module as `python -m` does\n"
        "  -c CODE            run code as `python -c` does\n"
        "  -h, --help         show this help\n\n"
        "The program's exit status is kept; its results are printed even "
        "when it\nexits with an error.\n");
}

static const struct option long_opts[] = {
    {"unit", required_argument, NULL, 'u'},
    {"output", required_argument, NULL, 'o'},
    {"func", required_argument, NULL, 'F'},
    {"file", required_argument, NULL, 'f'},
    {"python", required_argument, NULL, 'p'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

int
lines_parse(int argc, char **argv, lines_opts *o)
{
    memset(o, 0, sizeof *o);
    o->unit = 1e-6;
    o->funcs = sg_calloc((size_t)argc, sizeof *o->funcs);
    o->files = sg_calloc((size_t)argc, sizeof *o->files);
    if (!o->funcs || !o->files) {
        sg_error("lines: out of memory");
        return SG_EXIT_FAIL;
    }
    opts_reset();
    int c;
    while (!o->kind && (c = getopt_long(argc, argv, "+:u:o:p:m:c:h", long_opts,
                                        NULL)) != -1) {
        switch (c) {
        case 'u': {
            const sg_time_unit *u = sg_time_unit_by_name(optarg);
            if (u)
                o->unit = u->scale;
            else if (!opts_double("lines", "-u/--unit", optarg, 1e-12, 1e6,
                                  &o->unit))
                return SG_EXIT_USAGE;
            break;
        }
        case 'o':
            o->output = optarg;
            break;
        case 'F': {
            const char *colon = strchr(optarg, ':');
            if (!colon || colon == optarg || !colon[1]) {
                sg_error("lines: --func takes MODULE:QUALNAME (e.g. "
                         "__main__:main or pkg.mod:Cls.meth), not '%s'",
                         optarg);
                return SG_EXIT_USAGE;
            }
            o->funcs[o->n_funcs++] = optarg;
            break;
        }
        case 'f':
            o->files[o->n_files++] = optarg;
            break;
        case 'p':
            o->python = optarg;
            break;
        case 'm':
        case 'c':
            /* Like python: what follows belongs to the program. */
            o->kind = (char)c;
            o->target = optarg;
            break;
        case 'h':
            o->help = true;
            return -1;
        default:
            opts_report("lines", c, argv);
            return SG_EXIT_USAGE;
        }
    }
    if (!o->kind) {
        if (optind >= argc) {
            sg_error("lines: nothing to run: give SCRIPT, -m MODULE or -c "
                     "CODE (see 'spyglass lines --help')");
            return SG_EXIT_USAGE;
        }
        o->kind = 's';
        o->target = argv[optind++];
    }
    o->args = argv + optind;
    o->n_args = argc - optind;
    const sg_writer *w;
    if (o->output && sg_writer_pick(NULL, o->output, &sg_output_lines, &w))
        return SG_EXIT_USAGE;
    return -1;
}

void
lines_opts_free(lines_opts *o)
{
    free(o->funcs);
    free(o->files);
    o->funcs = o->files = NULL;
}

int
cmd_lines(int argc, char **argv)
{
    lines_opts o;
    int rc = lines_parse(argc, argv, &o);
    if (rc < 0 && o.help) {
        lines_usage();
        rc = SG_EXIT_OK;
    }
    if (rc >= 0) {
        lines_opts_free(&o);
        return rc;
    }
    const char *python = o.python;
    lines_opts_free(&o);
    return pylaunch_exec(python, "lines", argc, argv);
}
