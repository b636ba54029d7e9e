/* commands.h -- the agent's command entry points.
 *
 * `spyglass CMD ...` (an in-process command) is validated by the executable
 * and handed over as a request (src/request/); module.c decodes it and
 * calls the command's entry point here with the decoded request. Each
 * returns the exit status; none exits the process, and none sees the
 * command line.
 */
#ifndef SG_AGENT_COMMANDS_H
#define SG_AGENT_COMMANDS_H

#include "request/commands.h"

int agent_timeit_main(const rq_timeit *rq);   /* src/agent/timeit.c */
int agent_profile_main(const rq_profile *rq); /* profile/command.c */
int agent_lines_main(const rq_lines *rq);     /* lines/command.c */

#endif
