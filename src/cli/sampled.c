/* sampled.c -- the program of a sampled command; see sampled.h. */
#include <getopt.h>
#include <stdbool.h>
#include <string.h>

#include "cli/opts.h"
#include "cli/pylaunch.h"
#include "cli/sampled.h"
#include "common/err.h"

int
sampled_operands(const char *cmd, const char *verb, sampled_target *t,
                 int argc, char **argv, const char *last_value)
{
    return opts_outside_target(cmd, verb, argc, argv, last_value, t->pid != 0,
                               t->python != NULL, &t->target, &t->cmd);
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
