/* pylaunch.h -- start the Python half of an in-process command.
 *
 * In-process commands (timeit, profile, lines, ...) are parsed by the
 * executable first, so usage errors and --help never need Python. Then the
 * executable replaces itself with the chosen interpreter running the agent,
 * which parses the same argv again and does the work. Replacing (exec, not
 * fork) keeps the program's stdin/stdout/stderr, pid and exit status.
 */
#ifndef SG_PYLAUNCH_H
#define SG_PYLAUNCH_H

/* The interpreter to use: `python` when given (-p), else the python next to
 * this executable (a venv's bin/), else "python3" from PATH. Returns a
 * string valid until the next call. */
const char *pylaunch_interpreter(const char *python);

/* exec `interp -c <glue> cmd argv[1..]`. Returns only on failure, after
 * printing an error; the caller exits with SG_EXIT_NOEXEC. */
int pylaunch_exec(const char *python, const char *cmd, int argc,
                  char *const argv[]);

#endif
