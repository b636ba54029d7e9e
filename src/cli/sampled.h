/* sampled.h -- the program a sampled command (record, top) reads: -p PID,
 * or SCRIPT / -m MODULE / -c CODE run under the interpreter --python
 * picks, or -- CMD; the checks of that part of the command line, shared so
 * that both commands take and refuse the same things in the same words.
 */
#ifndef SG_CLI_SAMPLED_H
#define SG_CLI_SAMPLED_H

#include <limits.h>
#include <sys/types.h>

typedef struct sampled_target {
    pid_t pid;          /* -p/--pid */
    const char *python; /* --python */
    int kind;           /* 'm' or 'c' for -m/-c, 0 for SCRIPT */
    const char *target; /* SCRIPT, MODULE or CODE */
    char **cmd;         /* what is launched (NULL with -p) */
    char **python_cmd;  /* the python command line when we built it */
    char interp[PATH_MAX];
} sampled_target;

/* After the getopt loop stopped (at -m/-c, the first operand, or `--`;
 * last_value: the last option's argument, which tells `-o --` from a `--`
 * of its own): take SCRIPT or -- CMD from argv and check that exactly one
 * program is given and --python only with SCRIPT, -m or -c. verb says
 * what the command does ("record", "watch"). Returns -1, or
 * SG_EXIT_USAGE after the error line. */
int sampled_operands(const char *cmd, const char *verb, sampled_target *t,
                     int argc, char **argv, const char *last_value);

/* The python command line of SCRIPT, -m or -c (the rest of argv is the
 * program's), in t->cmd; nothing to do for -p or -- CMD. Returns -1, or
 * the exit status after the error line. */
int sampled_command(const char *cmd, sampled_target *t, int argc, char **argv);

#endif
