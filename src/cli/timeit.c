/* timeit.c -- `spyglass timeit`: options, help, and the hand-over to the
 * agent, which runs the timing loops in-process (src/agent/timeit.c). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/opts.h"
#include "cli/pylaunch.h"
#include "cli/timeit.h"
#include "common/alloc.h"
#include "common/err.h"

void
timeit_usage(void)
{
    printf(
        "usage: spyglass timeit [-n NUMBER] [-r REPEAT] [-s SETUP]... "
        "[-u UNIT]\n"
        "                       [-p PYTHON] [-v] [--process] STMT "
        "[STMT...]\n\n"
        "Time small Python statements, as `python -m timeit` does (same "
        "defaults,\nsame result line), and compare several side by side in "
        "one process.\n\n"
        "  -n, --number N    loops per repeat (default: the smallest of "
        "1, 2, 5, 10,\n"
        "                    20, 50, ... that takes at least 0.2 s)\n"
        "  -r, --repeat N    repeats; the best is reported (default 5)\n"
        "  -s, --setup S     statement run once per repeat, untimed; may be "
        "given\n                    several times (lines joined)\n"
        "  -u, --unit U      nsec, usec, msec or sec (default: automatic)\n"
        "  -p, --python P    run under interpreter P (it needs spyglass "
        "installed)\n"
        "      --process     measure process CPU time, not wall time\n"
        "  -v, --verbose     print the autorange steps and the raw times\n"
        "  -h, --help        show this help\n\n"
        "Unlike `python -m timeit`, several STMT arguments are separate "
        "statements\n"
        "to compare, not lines of one statement (use a newline, or ';', "
        "inside one).\n"
        "Repeats of the statements are interleaved so that drift in the "
        "machine's\nspeed affects them alike.\n");
}

static const struct option long_opts[] = {
    {"number", required_argument, NULL, 'n'},
    {"repeat", required_argument, NULL, 'r'},
    {"setup", required_argument, NULL, 's'},
    {"unit", required_argument, NULL, 'u'},
    {"python", required_argument, NULL, 'p'},
    {"verbose", no_argument, NULL, 'v'},
    {"process", no_argument, NULL, 'P'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

int
timeit_parse(int argc, char **argv, timeit_opts *o)
{
    memset(o, 0, sizeof *o);
    o->repeat = 5;
    o->setup = sg_calloc((size_t)argc, sizeof *o->setup);
    if (!o->setup) {
        sg_error("timeit: out of memory");
        return SG_EXIT_FAIL;
    }
    opts_reset();
    int c;
    while ((c = getopt_long(argc, argv, "+:n:r:s:u:p:vh", long_opts, NULL)) !=
           -1) {
        switch (c) {
        case 'n':
            if (!opts_long("timeit", "-n/--number", optarg, 1, LONG_MAX,
                           &o->number))
                return SG_EXIT_USAGE;
            break;
        case 'r':
            if (!opts_long("timeit", "-r/--repeat", optarg, 1, 1000000,
                           &o->repeat))
                return SG_EXIT_USAGE;
            break;
        case 's':
            o->setup[o->n_setup++] = optarg;
            break;
        case 'u':
            o->unit = sg_time_unit_by_name(optarg);
            if (!o->unit) {
                sg_error("timeit: unknown unit '%s': use nsec, usec, msec "
                         "or sec",
                         optarg);
                return SG_EXIT_USAGE;
            }
            break;
        case 'p':
            o->python = optarg;
            break;
        case 'v':
            o->verbose = true;
            break;
        case 'P':
            o->process_time = true;
            break;
        case 'h':
            o->help = true;
            return -1;
        default:
            opts_report("timeit", c, argv);
            return SG_EXIT_USAGE;
        }
    }
    o->stmts = (const char **)(argv + optind);
    o->n_stmts = argc - optind;
    if (o->n_stmts == 0) {
        sg_error("timeit: no statement to time (e.g. spyglass timeit "
                 "'sum(range(100))')");
        return SG_EXIT_USAGE;
    }
    return -1;
}

void
timeit_opts_free(timeit_opts *o)
{
    free(o->setup);
    o->setup = NULL;
}

int
cmd_timeit(int argc, char **argv)
{
    timeit_opts o;
    int rc = timeit_parse(argc, argv, &o);
    if (rc < 0 && o.help) {
        timeit_usage();
        rc = SG_EXIT_OK;
    }
    if (rc >= 0) {
        timeit_opts_free(&o);
        return rc;
    }
    const char *python = o.python;
    timeit_opts_free(&o);
    return pylaunch_exec(python, "timeit", argc, argv);
}
