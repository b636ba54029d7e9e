/* timeline.h -- `spyglass memory --timeline FILE`: memory over time from
 * inside the profiled process (agent/memory/timeline.c).
 */
#ifndef SG_AGENT_MEMORY_TIMELINE_H
#define SG_AGENT_MEMORY_TIMELINE_H

#include "common/output.h"
#include "model/timeline.h"
#include "request/commands.h"

/* Start sampling the traced heap and the resident set every interval
 * seconds on a thread of its own, and bracketing the selected functions'
 * calls (call after mem_lines_start, with the GIL). Returns 0, or -1
 * after an error line (nothing started). */
int mem_timeline_start(double interval_s, const char *cmdline);
/* Stop the thread and the brackets (with the GIL, before mem_lines_stop);
 * what was recorded stays until mem_timeline_clear. */
void mem_timeline_stop(void);
/* What was recorded (NULL when no timeline ran). */
sg_timeline *mem_timeline_get(void);
/* Write it where the request says, in its format; SG_OUT_WRITTEN when
 * there is none to write. */
sg_out_result mem_timeline_write(const rq_memory *o);
void mem_timeline_clear(void);

#endif
