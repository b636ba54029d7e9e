/* pylaunch.h -- hand an in-process command over to the agent.
 *
 * In-process commands (timeit, profile, lines) are parsed and validated by
 * the executable, so usage errors and --help never need Python. The
 * executable then replaces itself with the chosen interpreter running the
 * agent, `python -c <glue> REQUEST...`, where REQUEST is the command's
 * request (src/request/request.h): the agent decodes it, and never sees
 * the command line. Replacing (exec, not fork) keeps the program's
 * stdin/stdout/stderr, pid and exit status. `record` launches SCRIPT,
 * -m and -c under the same interpreter, picked the same way.
 */
#ifndef SG_PYLAUNCH_H
#define SG_PYLAUNCH_H

#include "request/request.h"

/* Pick the interpreter that runs Python programs for command cmd:
 * `python` (--python; NULL: the python next to this executable, as in a
 * venv's bin/, else python3 from PATH), found in PATH as execvp would, and
 * checked before anything runs: it must be a CPython 3.8-3.13 (a file that
 * cannot be run: 127; anything else: 2). Writes its path to out and
 * returns -1, or prints one error line and returns the exit status. */
int pylaunch_pick(const char *cmd, const char *python, char *out, size_t cap);

/* The python command line that runs SCRIPT (kind 0), -m MODULE or -c
 * CODE (kind 'm' or 'c') with the program's argc arguments args, under
 * the interpreter pylaunch_pick chooses for `python` (its path written to
 * interp, of cap bytes): for the commands that launch it as a child from
 * outside (record, top, timeline). Sets *argv (NULL-terminated; the
 * caller frees the array only) and returns -1, or prints one error line
 * (a SCRIPT that cannot be read, a bad interpreter) and returns the exit
 * status. */
int pylaunch_command(const char *cmd, const char *python, int kind,
                     const char *target, int argc, char **args, char *interp,
                     size_t cap, char ***argv);

/* Run request r (a struct of spec's type) in the agent of the interpreter
 * pylaunch_pick chooses for `python`. Returns only on failure, after
 * printing an error line: the exit status. */
int pylaunch_run(const char *python, const rq_spec *spec, const void *r);

/* The error line for getopt's return c (':' or '?') in an in-process
 * command, as opts_report says it, but for -p, which is not the pid there:
 * the interpreter option is --python, long only, in every command.
 * Returns SG_EXIT_USAGE. */
int pylaunch_bad_option(const char *cmd, int c, char *const argv[]);

#endif
