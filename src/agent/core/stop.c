/* stop.c -- the state of a stop signal deferred past the agent's own code
 * (see stop.h). */
#include "agent/core/stop.h"

int stop_agent_code;
int stop_deferred;
