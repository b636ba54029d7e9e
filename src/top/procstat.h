/* procstat.h -- what top's header shows of the process itself: its CPU
 * time and resident memory, from /proc (with its descendants, for
 * --subprocesses).
 */
#ifndef SG_TOP_PROCSTAT_H
#define SG_TOP_PROCSTAT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct top_procstat {
    uint64_t cpu_ns; /* user + system time so far */
    uint64_t rss;    /* resident bytes */
} top_procstat;

/* pid's figures, plus its live descendants' with children. Returns 0, or
 * -1 when pid cannot be read (it ended). */
int top_procstat_read(pid_t pid, bool children, top_procstat *out);

#endif
