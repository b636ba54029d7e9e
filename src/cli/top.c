/* top.c -- `spyglass top`: the live view's command line.
 *
 * Parses and checks the options (everything before a program runs), then
 * hands over to the viewer (src/top/top.h), which launches the program or
 * attaches to --pid, shows the view and writes -o at the end.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/opts.h"
#include "cli/sampled.h"
#include "common/err.h"
#include "top/top.h"

static void
top_usage(void)
{
    printf("usage: spyglass top [-r RATE] [--delay SECONDS] [--idle] [--gil] "
           "[--threads]\n"
           "                    [--subprocesses] [-o FILE] [-f FORMAT] "
           "[--python PYTHON]\n"
           "                    (-p PID | SCRIPT [ARGS...] | -m MODULE "
           "[ARGS...]\n"
           "                     | -c CODE [ARGS...] | -- CMD [ARGS...])\n\n"
           "A live view, like Unix top, of the functions a running Python "
           "program is in,\nsampled from outside without stopping or slowing "
           "it (py-spy top).\n\n"
           "  -r, --rate HZ       samples per second (default 100)\n"
           "      --delay S       seconds between refreshes (default 1)\n"
           "      --idle          count threads that are not on a CPU too\n"
           "      --gil           count only the thread holding the GIL\n"
           "      --threads       a row per thread and function; -o with a "
           "root per thread\n"
           "      --subprocesses  follow child Python processes\n"
           "  -o, --output FILE   on exit, write everything sampled to FILE\n"
           "  -f, --format F      its format: %s\n"
           "                      (default: from -o's extension, else "
           "flamegraph)\n"
           "  -p, --pid PID       attach to a running process\n"
           "      --python P      run SCRIPT, -m and -c under interpreter P\n"
           "  -m MODULE           run a library module as a script "
           "(python -m)\n"
           "  -c CODE             run CODE (python -c)\n"
           "  -- CMD              launch any command\n"
           "  -h, --help          show this help\n\n"
           "Keys: 1-4 sort, L lines, R reset, P or space pause, t threads, / "
           "filter,\n? help, q quit. When stdout is not a terminal, a plain "
           "snapshot is printed\nevery refresh instead. Quitting with q stops "
           "a launched program (SIGINT).\n",
           sg_writer_names(SG_DATA_SAMPLED));
}

static const struct option long_opts[] = {
    {"rate", required_argument, NULL, 'r'},
    {"delay", required_argument, NULL, 'D'},
    {"output", required_argument, NULL, 'o'},
    {"format", required_argument, NULL, 'f'},
    {"idle", no_argument, NULL, 'I'},
    {"gil", no_argument, NULL, 'G'},
    {"threads", no_argument, NULL, 'T'},
    {"subprocesses", no_argument, NULL, 'S'},
    {"pid", required_argument, NULL, 'p'},
    {"python", required_argument, NULL, 'P'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* One option into o (and t); returns -1 to go on, else an exit status. */
static int
top_option(int c, top_options *o, sampled_target *t, const char **format,
           char **argv)
{
    long pid;
    switch (c) {
    case 'r':
        return opts_double("top", "-r/--rate", optarg, 0.01, 100000,
                           &o->cfg.rate_hz)
                   ? -1
                   : SG_EXIT_USAGE;
    case 'D':
        return opts_double("top", "--delay", optarg, 0.05, 3600, &o->delay_s)
                   ? -1
                   : SG_EXIT_USAGE;
    case 'o':
        o->output = optarg;
        return -1;
    case 'f':
        *format = optarg;
        return -1;
    case 'I':
        o->cfg.idle = true;
        return -1;
    case 'G':
        o->cfg.gil = true;
        return -1;
    case 'T':
        o->threads = true;
        return -1;
    case 'S':
        o->cfg.subprocesses = true;
        return -1;
    case 'p':
        if (!opts_long("top", "-p/--pid", optarg, 1, INT_MAX, &pid))
            return SG_EXIT_USAGE;
        t->pid = (pid_t)pid;
        return -1;
    case 'P':
        t->python = optarg;
        return -1;
    case 'm':
    case 'c':
        /* Like python: what follows belongs to the program. */
        t->kind = c;
        t->target = optarg;
        return -1;
    case 'h':
        top_usage();
        return SG_EXIT_OK;
    default:
        opts_report("top", c, argv);
        return SG_EXIT_USAGE;
    }
}

static int
parse(int argc, char **argv, top_options *o, sampled_target *t)
{
    memset(o, 0, sizeof *o);
    memset(t, 0, sizeof *t);
    o->cfg.rate_hz = 100;
    o->delay_s = 1;
    opts_reset();
    const char *format = NULL;
    const char *last_value = NULL; /* tells `-o --` from a `--` of its own */
    int c, rc;
    while (!t->target && (c = getopt_long(argc, argv, "+:r:o:f:p:m:c:h",
                                          long_opts, NULL)) != -1) {
        last_value = optarg;
        if ((rc = top_option(c, o, t, &format, argv)) >= 0)
            return rc;
    }
    rc = sampled_operands("top", "watch", t, argc, argv, last_value);
    if (rc >= 0)
        return rc;
    if (format && !o->output) {
        sg_error("top: -f/--format is the format of -o FILE: give -o too");
        return SG_EXIT_USAGE;
    }
    if (o->output &&
        sg_writer_pick(format, o->output, &top_output, &o->writer))
        return SG_EXIT_USAGE;
    rc = sampled_command("top", t, argc, argv);
    o->cmd = t->cmd;
    o->pid = t->pid;
    return rc;
}

int
cmd_top(int argc, char **argv)
{
    top_options o;
    sampled_target t;
    int rc = parse(argc, argv, &o, &t);
    if (rc < 0)
        rc = top_main(&o);
    free(t.python_cmd);
    return rc;
}
