/* runmain.h -- run a user's program in-process the way `python` would.
 *
 * `spyglass profile/lines/memory SCRIPT ARGS | -m MODULE ARGS | -c CODE ARGS`
 * run the program inside the agent's interpreter. The program must not be
 * able to tell: it sees the same sys.argv, sys.path[0], __main__ module
 * (so pickling and multiprocessing work), __file__, stdin/stdout/stderr, and
 * its exit status is the one python would give. Exceptions are printed
 * through sys.excepthook; SystemExit is turned into a status here, not by
 * exiting the process, so that the caller can still write its profile.
 */
#ifndef SG_RUNMAIN_H
#define SG_RUNMAIN_H

#include <stdbool.h>

#include "agent/agent.h"
#include "request/commands.h" /* rq_program: what to run */

/* Set sys.argv and sys.path[0] for the target and, for a script, check that
 * it can be read. Returns 0, or an exit status after printing one error
 * line (a missing script is SG_EXIT_USAGE... as python: 2). Call before
 * starting a profiler, so that its setup is not profiled. */
int runmain_prepare(const rq_program *t);

/* Run the prepared target in __main__. Returns the exit status python
 * would have: 0; the SystemExit code; 1 for an uncaught exception (or a
 * SyntaxError), which runmain_report prints; 130 for KeyboardInterrupt,
 * after arranging that the process, once Python is finalized, kills
 * itself with SIGINT as python does (a parent sees -SIGINT, not 130).
 * SIGTERM (caught since runmain_prepare, unless it was ignored or
 * handled already) unwinds the program like sys.exit: 143 here, and the
 * process dies of SIGTERM once finalized, after the caller wrote its
 * results; a SIGTERM after the program ended waits for them too. No
 * Python exception is left set. */
int runmain_run(const rq_program *t);

/* For a command that runs no program but Python code of the user's
 * (timeit): catch SIGTERM as runmain_prepare does, and say while that
 * code runs (a SIGTERM then unwinds it with SystemExit). */
void runmain_catch_sigterm(void);
void runmain_set_running(bool on);

/* Whether the exception set is a stop (KeyboardInterrupt, or the
 * SystemExit of a caught SIGTERM): then it is cleared, python's ending
 * (dying of that signal once finalized) is arranged, and the status
 * (130, 143) returned; else 0, the exception left as it is. */
int runmain_stopped(void);

/* Whether the prepared SCRIPT is a directory or zip file (anything an
 * import hook takes as a path entry): python runs its __main__ module,
 * SCRIPT/__main__.py, with SCRIPT as sys.path[0]. */
bool runmain_runs_path_entry(void);

/* Whether runmain_run returned in a child the program forked, which ran to
 * the program's end (no os._exit): the results are the parent's, and such
 * a child writes none, over them or beside them; it only cleans up and
 * ends with its status, as python would. */
bool runmain_forked(void);

/* Print the uncaught exception runmain_run kept, if any, through
 * sys.excepthook as python does. Called once the collector stopped, so
 * that the traceback's printing (Python code on 3.13) is not profiled. */
void runmain_report(void);

#endif
