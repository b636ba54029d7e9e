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
 * timer slack throughout, and a real-time policy (SCHED_FIFO at the
 * lowest priority) or failing that a negative nice value, which need
 * root, CAP_SYS_NICE or an rlimit granting them. loop_run_beside keeps
 * the thread off the target's CPU, and then holds the priority
 * throughout: there it costs the target nothing. A loop that may share
 * the target's CPU (no target given, or one CPU allowed) holds it only
 * while needed (loop_policy below): a real-time sampler on the target's
 * CPU preempts it at once at every tick. Only the
 * calling thread changes, for the length of the loop
 * (SCHED_RESET_ON_FORK: nothing it starts inherits it), never the target.
 * What it could get is in the stats, for the command to say once
 * (loop_say_priority) when it got nothing.
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

/* When to hold the raised priority. The loop starts with it and drops it
 * after a quiet stretch (every tick on time for quiet_ns). At normal
 * priority it raises it again as soon as a deadline is missed, or when
 * LOOP_LATE_RAISE ticks of a window of LOOP_WINDOW are late (late from any
 * cause: at normal priority a tick that ran past the next deadline was
 * most often preempted). It learns from a drop that came too soon: raised
 * again before a quiet stretch passed at normal priority, it doubles the
 * stretch (up to LOOP_QUIET_MAX times the first one); a quiet stretch at
 * normal priority brings it back to the first. So a steadily loaded
 * machine costs a few late ticks per probe, ever rarer, and an idle one
 * has a real-time sampler for its first second only. The decisions
 * depend on the buckets and the clock only (loop_policy_tick), for the
 * unit tests. */
#define LOOP_WINDOW 32
#define LOOP_LATE_RAISE 2
#define LOOP_QUIET_MAX 32

typedef struct loop_policy {
    uint64_t base_ns;  /* the first quiet stretch: 1 s or 16 intervals */
    uint64_t quiet_ns; /* the current one */
    uint64_t since_ns; /* raised: the last late tick (or the start); else
                          the last drop */
    unsigned window;   /* ticks in the current window (at normal) */
    unsigned late;     /* late ones among them */
    int raised;        /* the thread holds the raised priority */
    int probation;     /* dropped, and no quiet stretch passed since */
} loop_policy;

/* What loop_policy_tick asks of the loop. */
enum { LOOP_KEEP = 0, LOOP_RAISE = 1, LOOP_DROP = 2 };

/* Start raised at now, for a loop of the given interval. */
void loop_policy_init(loop_policy *pol, uint64_t interval_ns, uint64_t now);
/* A tick of bucket (loop_classify's) woke at now: whether to raise the
 * priority, drop it, or keep it as it is. */
int loop_policy_tick(loop_policy *pol, int bucket, uint64_t now);

typedef struct loop_stats {
    uint64_t on_time, late, missed; /* deadlines, see above */
    uint64_t missed_in_tick;        /* of missed: passed while a tick ran */
    uint64_t missed_raised;         /* of missed: the priority was raised */
    uint64_t errors;                /* ticks that reported a failed sample */
    uint64_t elapsed_ns;            /* from the first deadline to the stop */
    uint64_t raises;                /* times the priority was raised, the
                                       start's included */
    uint64_t raised_ticks;          /* ticks woken at the raised priority */
    uint64_t moves;                 /* times it moved off the target's CPU */
    loop_priority priority;         /* what the loop's thread could take */
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
/* The same, the loop's thread kept off the CPU target's main thread runs
 * on whenever it may run elsewhere (loop.c). */
int loop_run_beside(const loop_config *cfg, pid_t target, loop_tick_fn tick,
                    loop_report_fn report, void *ctx,
                    volatile sig_atomic_t *stop, loop_stats *st);

/* The bucket for a sample started at now for deadline d (interval i):
 * 0 on time, 1 late, 2 missed (now is at or past the next deadline).
 * Exposed for the unit tests. */
int loop_classify(uint64_t d, uint64_t now, uint64_t i);
/* Of the behind deadlines missed from d on (interval i), how many had
 * been missed already when the previous tick returned at tick_end: the
 * tick's own length, not the wake-up, lost them. Exposed for the unit
 * tests. */
uint64_t loop_missed_in_tick(uint64_t d, uint64_t tick_end, uint64_t i,
                             uint64_t behind);

/* "real-time (SCHED_FIFO)", "nice -10" or "normal": what st says the
 * loop's thread ran at, for reports and metadata. */
const char *loop_priority_name(const loop_stats *st);
/* When the loop could not raise its thread's priority, one line on stderr
 * saying so and what its deadlines may suffer ("spyglass COMMAND: ...");
 * nothing otherwise. */
void loop_say_priority(const char *command, const loop_stats *st);
/* Put st's deadlines (on time, late, missed) and priority in p's metadata
 * (writers/writers.h names the keys), and how the priority was used
 * (below), for the formats that copy it. */
#define LOOP_META_MISSED_IN_TICK "deadlines_missed_in_tick"
#define LOOP_META_MISSED_RAISED "deadlines_missed_raised"
#define LOOP_META_RAISES "sampler_raises"
#define LOOP_META_RAISED_TICKS "sampler_raised_ticks"
#define LOOP_META_MOVES "sampler_cpu_moves"
void loop_set_meta(const loop_stats *st, struct sg_profile *p);

#endif
