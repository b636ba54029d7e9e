/* record.h -- a sampling session: attach to one process (and, on request,
 * its descendants), sample every thread's stack at a fixed rate through the
 * remote reader, and aggregate the stacks into the profile model.
 *
 * The profile has two metrics: "samples", 1 per stack, and "ns", the wall
 * time each stands for (since its thread was last read, capped: see
 * record.c), which writers show as time; sample_interval_ns is the
 * nominal interval. Stacks go under a thread root node per
 * thread (writers show those only with --threads), under a process root per
 * process when following subprocesses. Subprocesses are found and opened
 * by a thread of their own (follow.h), never inside the sampling tick.
 */
#ifndef SG_RECORD_H
#define SG_RECORD_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/strbuf.h"
#include "model/profile.h"
#include "remote/remote.h"
#include "sampler/loop.h"

typedef struct record_config {
    double rate_hz;
    double duration_s; /* 0: until the target ends or a signal */
    bool idle;         /* keep threads that are not on a CPU */
    bool gil;          /* keep only the thread holding the GIL */
    bool subprocesses; /* follow descendant Python processes */
    bool function;     /* one frame per function, not per line */
    bool timeline;     /* stamp each stack with its time (the profile's
                          stamps, which the Chrome trace draws) */
    bool progress;     /* live line on stderr */
    bool status;       /* read each thread's on-CPU state even with idle
                          (a live view shows the Active share) */
    /* Called between ticks about every watch_ns (and once more when the
     * sampling ends, before pending thread roots are renamed, with ended
     * set): a live view reads the profile there, which nothing else
     * touches meanwhile. It may set *stop to end the sampling. */
    void (*watch)(void *ctx, bool ended);
    void *watch_ctx;
    uint64_t watch_ns;
} record_config;

typedef struct record_counts {
    loop_stats loop;         /* deadlines on time / late / missed */
    uint64_t stacks;         /* thread stacks added to the profile */
    uint64_t weight_ns;      /* the time they stand for (their weights) */
    uint64_t failed_samples; /* remote_sample calls that were dropped */
    uint64_t thread_errors;  /* torn thread walks, dropped */
    uint64_t reads;          /* memory reads (syscalls) in all */
    uint32_t processes;      /* Python processes sampled */
    uint32_t seen;           /* processes looked at: the root and, with
                                subprocesses, its descendants */
    bool ended_early;        /* the root ended before it could be read */
    uint32_t live;           /* of them, still sampled */
    uint32_t threads;        /* threads in the last sample of each */
    uint64_t gil_ticks;      /* ticks where a thread held the GIL */
    uint64_t active_ticks;   /* ticks where a thread was on a CPU */
} record_counts;

typedef struct record_session record_session;

record_session *record_new(const record_config *cfg, sg_profile *p);
void record_free(record_session *s);

/* Attach to the root process. launched: pid is our child that may still be
 * starting its interpreter, so retriable errors are retried while it lives
 * (and "not Python" for up to two seconds, the time a wrapper may take to
 * exec Python). Returns 0, or -1 with err set. With subprocesses, a root
 * that is not Python is not an error: it is polled only briefly, and then
 * its descendants and itself are followed from the first tick. */
int record_attach(record_session *s, pid_t pid, bool launched,
                  volatile sig_atomic_t *stop, rm_error *err);

/* Sample until the duration passes, *stop is set, or every target ended. */
void record_run(record_session *s, volatile sig_atomic_t *stop);

void record_get_counts(const record_session *s, record_counts *out);
/* Append the end report's lines on what could not be sampled: a launched
 * program that ended before it could be read, subprocesses that could not
 * be followed (not Python, no permission, unsupported version); nothing
 * when there were none. */
void record_unfollowed(const record_session *s, strbuf *sb);

/* The first attached process's info (NULL when none was). */
const rm_info *record_root_info(const record_session *s);

#endif
