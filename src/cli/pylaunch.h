/* pylaunch.h -- hand an in-process command over to the agent.
 *
 * In-process commands (timeit, profile, lines) are parsed and validated by
 * the executable, so usage errors and --help never need Python. The
 * executable then replaces itself with the chosen interpreter running the
 * agent, `python -c <glue> REQUEST...`, where REQUEST is the command's
 * request (src/request/request.h): the agent decodes it, and never sees
 * the command line. Replacing (exec, not fork) keeps the program's
 * stdin/stdout/stderr, pid and exit status.
 */
#ifndef SG_PYLAUNCH_H
#define SG_PYLAUNCH_H

#include "request/request.h"

/* Run request r (a struct of spec's type) in the agent of interpreter
 * `python` (-p; NULL: the python next to this executable, as in a venv's
 * bin/, else python3 from PATH). Returns only on failure, after printing
 * an error line: the exit status. */
int pylaunch_run(const char *python, const rq_spec *spec, const void *r);

#endif
