/* sampled.c -- the program of a sampled command; see sampled.h. */
#include <getopt.h>
#include <stdbool.h>
#include <string.h>

#include "cli/pylaunch.h"
#include "cli/sampled.h"
#include "common/err.h"

int
sampled_operands(const char *cmd, const char *verb, sampled_target *t,
                 int argc, char **argv, const char *last_value)
{
    /* After `--` a command; else the first operand is a SCRIPT. */
    bool dashdash = optind > 1 && strcmp(argv[optind - 1], "--") == 0 &&
                    argv[optind - 1] != last_value;
    if (!t->target && optind < argc && !dashdash)
        t->target = argv[optind++];
    else if (!t->target && optind < argc)
        t->cmd = argv + optind;
    if (t->pid && (t->cmd || t->target)) {
        sg_error("%s: give either -p/--pid PID or a program to run "
                 "(SCRIPT, -m MODULE, -c CODE or -- CMD), not both",
                 cmd);
        return SG_EXIT_USAGE;
    }
    if (!t->pid && !t->cmd && !t->target) {
        sg_error("%s: nothing to %s: give -p/--pid PID, SCRIPT, -m "
                 "MODULE, -c CODE or -- CMD [ARGS...]",
                 cmd, verb);
        return SG_EXIT_USAGE;
    }
    if (t->python && !t->target) {
        sg_error("%s: --python is the interpreter of SCRIPT, -m and -c; %s",
                 cmd,
                 t->pid ? "-p/--pid reads the process's own"
                        : "-- CMD names its own");
        return SG_EXIT_USAGE;
    }
    return -1;
}

int
sampled_command(const char *cmd, sampled_target *t, int argc, char **argv)
{
    if (!t->target)
        return -1;
    int rc = pylaunch_command(cmd, t->python, t->kind, t->target,
                              argc - optind, argv + optind, t->interp,
                              sizeof t->interp, &t->python_cmd);
    if (rc < 0)
        t->cmd = t->python_cmd;
    return rc;
}
