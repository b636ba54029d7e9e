/* loop.h -- the sampler's clock: call a function at a fixed rate, on
 * absolute deadlines, and account for every deadline.
 *
 * Deadline k is start + k * interval, so the rate does not drift however
 * long each sample takes. Each deadline ends up in exactly one bucket:
 *   on time  the sample started within a tenth of an interval after it;
 *   late     it started later, but before the next deadline;
 *   missed   the next deadline had already passed: it was skipped (the loop
 *            never runs samples back to back to catch up, which would
 *            distort the rate the profile claims).
 *
 * The loop's thread asks for prompt wake-ups while it runs: the smallest
 * timer slack, and a real-time policy (SCHED_FIFO at the lowest priority)
 * or failing that a negative nice value, which need root, CAP_SYS_NICE or
 * an rlimit granting them. Only the calling thread changes, for the
 * length of the loop (SCHED_RESET_ON_FORK: nothing it starts inherits
 * it), never the target. What it got is in the stats, for the command to
 * say once (loop_say_priority) when it got nothing.
 */
#ifndef SG_SAMPLER_LOOP_H
#define SG_SAMPLER_LOOP_H

#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <sys/types.h>

struct sg_profile;

/* What the loop's thread got (loop_stats.priority). */
typedef enum loop_priority {
    LOOP_PRIO_NONE = 0, /* the default policy: not allowed more */
    LOOP_PRIO_NICE = 1, /* a negative nice value */
    LOOP_PRIO_FIFO = 2, /* SCHED_FIFO */
} loop_priority;

/* A thread's scheduling before loop_raise raised it. */
typedef struct loop_sched {
    int policy;
    struct sched_param param;
    int nice;
    pid_t tid;
} loop_sched;

/* Raise the calling thread's priority as the loop does, as far as allowed
 * (sv keeps what to restore), for a wait that must wake up promptly
 * outside the loop too (a session polling for its target to start). */
loop_priority loop_raise(loop_sched *sv);
/* Give back what loop_raise took. */
void loop_restore(const loop_sched *sv, loop_priority got);

typedef struct loop_stats {
    uint64_t on_time, late, missed; /* deadlines, see above */
    uint64_t errors;                /* ticks that reported a failed sample */
    uint64_t elapsed_ns;            /* from the first deadline to the stop */
    loop_priority priority;         /* what the loop's thread ran at */
} loop_stats;

/* What a tick says. */
enum { LOOP_OK = 0, LOOP_ERROR = 1, LOOP_STOP = 2 };

/* Called once per deadline taken; returns LOOP_OK, LOOP_ERROR (a failed
 * sample, counted) or LOOP_STOP (the target is gone: end the loop). */
typedef int (*loop_tick_fn)(void *ctx, uint64_t now_ns);
/* Called about every report_ns with the stats so far (may be NULL). */
typedef void (*loop_report_fn)(void *ctx, const loop_stats *st);

typedef struct loop_config {
    double rate_hz;     /* > 0 */
    double duration_s;  /* 0: until stopped */
    uint64_t report_ns; /* 0: never report */
} loop_config;

/* Run until the tick says stop, *stop becomes non-zero, or the duration
 * has passed. Returns the reason: LOOP_STOP (target), 0 (duration or
 * *stop). *stop is set by a signal handler: the stop signals of src/proc
 * are blocked while a tick runs and taken during the sleeps, so a stop is
 * seen at the end of the tick it arrived in, never an interval later. */
int loop_run(const loop_config *cfg, loop_tick_fn tick, loop_report_fn report,
             void *ctx, volatile sig_atomic_t *stop, loop_stats *st);

/* The bucket for a sample started at now for deadline d (interval i):
 * 0 on time, 1 late, 2 missed (now is at or past the next deadline).
 * Exposed for the unit tests. */
int loop_classify(uint64_t d, uint64_t now, uint64_t i);

/* "real-time (SCHED_FIFO)", "nice -10" or "normal": what st says the
 * loop's thread ran at, for reports and metadata. */
const char *loop_priority_name(const loop_stats *st);
/* When the loop could not raise its thread's priority, one line on stderr
 * saying so and what its deadlines may suffer ("spyglass COMMAND: ...");
 * nothing otherwise. */
void loop_say_priority(const char *command, const loop_stats *st);
/* Put st's deadlines (on time, late, missed) and priority in p's metadata
 * (writers/writers.h names the keys), for the formats that copy it. */
void loop_set_meta(const loop_stats *st, struct sg_profile *p);

#endif
