/* lines.c -- `spyglass lines`: options, help, and the hand-over to the
 * agent, which runs the program and counts its lines in-process
 * (src/agent/lines/command.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/opts.h"
#include "cli/pylaunch.h"
#include "common/err.h"
#include "common/units.h"
#include "request/commands.h"
#include "writers/writers.h"

/* The command line: the request, and what only the executable uses. */
typedef struct lines_cli {
    rq_lines rq;
    const char *python; /* --python */
    bool help;
} lines_cli;

static void
lines_usage(void)
{
    printf(
        "usage: spyglass lines [-u UNIT] [-o FILE] [-f FORMAT] "
        "[--func MODULE:QUALNAME]..."
        "\n                      [--file PATH]... [--python PYTHON]\n"
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
        "  -f, --format NAME  the format of -o FILE, or, without -o, what "
        "goes to\n"
        "                     stdout in place of the table: %s\n"
        "      --func M:Q     profile function Q (qualified name, e.g. "
        "Cls.meth)\n"
        "                     of module M (`__main__` for the script)\n"
        "      --file PATH    profile every function defined in PATH\n"
        "      --no-source    html: embed no source lines (confidential "
        "code)\n"
        "      --python P     run under interpreter P, a CPython 3.8-3.13 "
        "with\n"
        "                     spyglass installed (default: the python next "
        "to\n"
        "                     spyglass, else python3)\n"
        "  -m MODULE          run a module as `python -m` does\n"
        "  -c CODE            run code as `python -c` does\n"
        "  -h, --help         show this help\n\n"
        "The program's exit status is kept; its results are printed even "
        "when it\nexits with an error.\n",
        sg_writer_names(SG_DATA_LINES));
}

static const struct option long_opts[] = {
    {"unit", required_argument, NULL, 'u'},
    {"output", required_argument, NULL, 'o'},
    {"func", required_argument, NULL, 'F'},
    {"no-source", no_argument, NULL, 'N'},
    {"format", required_argument, NULL, 'f'},
    {"file", required_argument, NULL, 'E'},
    {"python", required_argument, NULL, 'P'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* Parse argv (argv[0] = "lines") into o. Returns -1 when the caller should
 * go on, else an exit status (usage errors print their line). The request
 * points into argv and vectors freed by lines_cli_free. */
static int
lines_parse(int argc, char **argv, lines_cli *o)
{
    memset(o, 0, sizeof *o);
    rq_lines *rq = &o->rq;
    rq->unit = 1e-6;
    rq->funcs = sg_xcalloc((size_t)argc, sizeof *rq->funcs);
    rq->files = sg_xcalloc((size_t)argc, sizeof *rq->files);
    const char *format = NULL;
    bool have_target = false;
    opts_reset();
    int c;
    while (!have_target && (c = getopt_long(argc, argv, "+:u:o:f:m:c:h",
                                            long_opts, NULL)) != -1) {
        switch (c) {
        case 'u': {
            const sg_time_unit *u = sg_time_unit_by_name(optarg);
            if (u)
                rq->unit = u->scale;
            else if (!opts_double("lines", "-u/--unit", optarg, 1e-12, 1e6,
                                  &rq->unit))
                return SG_EXIT_USAGE;
            break;
        }
        case 'o':
            rq->output = optarg;
            break;
        case 'N':
            rq->no_source = true;
            break;
        case 'F':
            if (!opts_func("lines", optarg))
                return SG_EXIT_USAGE;
            rq->funcs[rq->n_funcs++] = optarg;
            break;
        case 'f':
            format = optarg;
            break;
        case 'E':
            rq->files[rq->n_files++] = optarg;
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
            return pylaunch_bad_option("lines", c, argv);
        }
    }
    if (!opts_program("lines", argc, argv, have_target, &rq->program))
        return SG_EXIT_USAGE;
    /* Chosen here, once: the agent writes what it is told. */
    return opts_output(format, &rq->output, &rq->format, &sg_output_lines);
}

static void
lines_cli_free(lines_cli *o)
{
    free(o->rq.funcs);
    free(o->rq.files);
    o->rq.funcs = o->rq.files = NULL;
}

int
cmd_lines(int argc, char **argv)
{
    lines_cli o;
    int rc = lines_parse(argc, argv, &o);
    if (rc < 0 && o.help) {
        lines_usage();
        rc = SG_EXIT_OK;
    }
    if (rc < 0)
        rc = pylaunch_run(o.python, &rq_lines_spec, &o.rq);
    lines_cli_free(&o);
    return rc;
}
