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
#include "writers/writers.h"

int agent_timeit_main(const rq_timeit *rq);   /* src/agent/timeit.c */
int agent_profile_main(const rq_profile *rq); /* profile/command.c */
int agent_lines_main(const rq_lines *rq);     /* lines/command.c */
int agent_memory_main(const rq_memory *rq);   /* memory/command.c */
int agent_dis_main(const rq_dis *rq);         /* dis/command.c */

/* The writer a request names for data of `kind`. The executable chose it
 * from the same registry, so it exists and fits; should a request say
 * otherwise (a bug, or a hand-made one), print one line and return NULL,
 * before the program runs. */
const sg_writer *agent_request_writer(const char *command, const char *format,
                                      sg_data_kind kind);

#endif
