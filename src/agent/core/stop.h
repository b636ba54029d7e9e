/* stop.h -- a stop signal that comes while the agent runs Python code of
 * its own inside the program.
 *
 * SIGTERM unwinds the program: its Python-level handler (runmain.c)
 * raises SystemExit between two bytecodes of the main thread. Those may
 * be the agent's own, run on the program's behalf inside an event (the
 * line profiler's selection calls os.path.realpath), where errors are
 * cleared: the program would never learn it was told to stop, and run
 * on. So the agent marks such code (stop_nest), the handler only notes a
 * signal that comes meanwhile, and the signal is raised again when the
 * agent's code is done: the handler then runs in the program's code.
 */
#ifndef SG_AGENT_STOP_H
#define SG_AGENT_STOP_H

#include <signal.h>

/* How deep the agent's own Python code nests now (with the GIL held). */
extern int stop_agent_code;
/* The signal noted meanwhile, 0 if none. */
extern int stop_deferred;

/* Enter (+1) or leave (-1) the agent's own Python code. */
static inline void
stop_nest(int delta)
{
    stop_agent_code += delta;
    if (stop_agent_code == 0 && stop_deferred) {
        int sig = stop_deferred;
        stop_deferred = 0;
        raise(sig);
    }
}

#endif
