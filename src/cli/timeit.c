/* timeit.c -- `spyglass timeit`: options, help, and the hand-over to the
 * agent, which runs the timing loops in-process (src/agent/timeit.c). */
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/opts.h"
#include "cli/pylaunch.h"
#include "common/err.h"
#include "common/units.h"
#include "request/commands.h"
#include "writers/writers.h"

/* The command line: the request, and what only the executable uses. */
typedef struct timeit_cli {
    rq_timeit rq;
    const char *python; /* --python; NULL: default interpreter */
    const char *format; /* -f; NULL: from -o's extension, else text */
    bool help;
} timeit_cli;

static void
timeit_usage(void)
{
    printf("usage: spyglass timeit [-n NUMBER] [-r REPEAT] [-s SETUP]... "
           "[-p] [-u UNIT] [-v]\n"
           "                       [-o FILE] [-f FORMAT] [--python PYTHON] "
           "STMT [STMT...]\n\n"
           "Time small Python statements, as `python -m timeit` does (same "
           "options, same\ndefaults, same result line), and compare several "
           "side by side in one process.\n\n"
           "  -n, --number N     loops per repeat (default: the smallest of "
           "1, 2, 5, 10,\n"
           "                     20, 50, ... that takes at least 0.2 s)\n"
           "  -r, --repeat N     repeats; the best is reported (default 5)\n"
           "  -s, --setup S      statement run once per repeat, untimed; may "
           "be given\n                     several times (lines joined)\n"
           "  -p, --process      measure the process's CPU time "
           "(time.process_time), not\n"
           "                     wall time (time.perf_counter)\n"
           "  -u, --unit U       print times in nsec, usec, msec or sec, as "
           "timeit does\n"
           "                     (default: a unit per value)\n"
           "  -v, --verbose      print the autorange steps and the raw "
           "times; repeat\n"
           "                     for one more digit each time, as timeit\n"
           "  -o, --output FILE  write the results to FILE (default: "
           "stdout)\n"
           "  -f, --format F     %s: json is pyperf's format, with every "
           "repeat's\n"
           "                     timings (default: from FILE's extension, "
           "else text)\n"
           "      --python P     run under interpreter P (it needs spyglass "
           "installed)\n"
           "  -h, --help         show this help\n\n"
           "Unlike `python -m timeit`, several STMT arguments are separate "
           "statements\n"
           "to compare, not lines of one statement (use a newline, or ';', "
           "inside one).\n"
           "Repeats of the statements are interleaved so that drift in the "
           "machine's\nspeed affects them alike.\n",
           sg_writer_names(SG_DATA_TIMEIT));
}

/* --python has no short form: -p is --process, as in python -m timeit. */
enum { OPT_PYTHON = 256 };

static const struct option long_opts[] = {
    {"number", required_argument, NULL, 'n'},
    {"repeat", required_argument, NULL, 'r'},
    {"setup", required_argument, NULL, 's'},
    {"process", no_argument, NULL, 'p'},
    {"unit", required_argument, NULL, 'u'},
    {"verbose", no_argument, NULL, 'v'},
    {"output", required_argument, NULL, 'o'},
    {"format", required_argument, NULL, 'f'},
    {"python", required_argument, NULL, OPT_PYTHON},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* Whether a statement is a path to an executable file, as `-p PYTHON`
 * leaves it. Only a blank-free text with a '/' naming such a file counts:
 * `a/b` is valid Python, but not one a user means to time beside an
 * executable called b in a directory a. */
static bool
timeit_is_program(const char *stmt)
{
    struct stat st;
    return strchr(stmt, '/') && !strpbrk(stmt, " \t\n()=") &&
           stat(stmt, &st) == 0 && S_ISREG(st.st_mode) &&
           access(stmt, X_OK) == 0;
}

/* Parse argv (argv[0] = "timeit") into o. Returns -1 when the caller
 * should go on, else an exit status (usage errors print their line). The
 * request points into argv and a vector freed by timeit_cli_free. */
static int
timeit_parse(int argc, char **argv, timeit_cli *o)
{
    memset(o, 0, sizeof *o);
    rq_timeit *rq = &o->rq;
    rq->repeat = 5;
    rq->setup = sg_xcalloc((size_t)argc, sizeof *rq->setup);
    opts_reset();
    int c;
    while ((c = getopt_long(argc, argv, "+:n:r:s:pu:vo:f:h", long_opts,
                            NULL)) != -1) {
        switch (c) {
        case 'n':
            if (!opts_long("timeit", "-n/--number", optarg, 1, LONG_MAX,
                           &rq->number))
                return SG_EXIT_USAGE;
            break;
        case 'r':
            if (!opts_long("timeit", "-r/--repeat", optarg, 1, 1000000,
                           &rq->repeat))
                return SG_EXIT_USAGE;
            break;
        case 's':
            rq->setup[rq->n_setup++] = optarg;
            break;
        case 'u': {
            const sg_time_unit *u = sg_time_unit_by_name(optarg);
            if (!u) {
                sg_error("timeit: unknown unit '%s': use nsec, usec, msec "
                         "or sec",
                         optarg);
                return SG_EXIT_USAGE;
            }
            rq->unit = u->name;
            break;
        }
        case 'p':
            rq->process_time = true;
            break;
        case 'v':
            rq->verbose++;
            break;
        case 'o':
            rq->output = optarg;
            break;
        case 'f':
            o->format = optarg;
            break;
        case OPT_PYTHON:
            o->python = optarg;
            break;
        case 'h':
            o->help = true;
            return -1;
        default:
            opts_report("timeit", c, argv);
            return SG_EXIT_USAGE;
        }
    }
    rq->stmts = (const char **)(argv + optind);
    rq->n_stmts = argc - optind;
    if (rq->n_stmts == 0) {
        sg_error("timeit: no statement to time (e.g. spyglass timeit "
                 "'sum(range(100))')");
        return SG_EXIT_USAGE;
    }
    if (rq->process_time && timeit_is_program(rq->stmts[0])) {
        /* `-p PYTHON` as the interpreter, from before -p meant --process:
         * the path would be timed as a statement, a SyntaxError. */
        sg_error("timeit: '%s' is a program, not a statement: -p is "
                 "--process, as in python -m timeit; the interpreter is "
                 "--python PYTHON",
                 rq->stmts[0]);
        return SG_EXIT_USAGE;
    }
    /* The format is chosen here, once, and a FILE that cannot be written
     * is refused: before any statement runs. */
    const sg_writer *w;
    if (sg_writer_pick(o->format, rq->output, &sg_output_timeit, &w))
        return SG_EXIT_USAGE;
    rq->format = w->name;
    return -1;
}

static void
timeit_cli_free(timeit_cli *o)
{
    free(o->rq.setup);
    o->rq.setup = NULL;
}

int
cmd_timeit(int argc, char **argv)
{
    timeit_cli o;
    int rc = timeit_parse(argc, argv, &o);
    if (rc < 0 && o.help) {
        timeit_usage();
        rc = SG_EXIT_OK;
    }
    if (rc < 0)
        rc = pylaunch_run(o.python, &rq_timeit_spec, &o.rq);
    timeit_cli_free(&o);
    return rc;
}
