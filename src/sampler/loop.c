/* loop.c -- fixed-rate sampling on absolute deadlines; see loop.h.
 *
 * The stop signals are blocked while a tick runs and taken only inside the
 * sleep (proc_sleep_until), so a stop that arrives during a tick ends the
 * very next sleep instead of waiting out a whole interval -- which at a low
 * rate is seconds.
 *
 * A sample the scheduler delays is a sample late or missed, so the thread
 * asks for what the system lets it have (loop.h); where it may share the
 * target's CPU it holds it only while its deadlines slip (loop_policy),
 * as a real-time thread there preempts the target at every tick. It gives
 * it back when the loop ends: what follows (writing the profile) needs no
 * haste.
 *
 * For the same reason it keeps off the CPU its target's main thread runs
 * on (loop_place): a sampler woken there preempts the target at each
 * tick, at whatever priority; one woken on another CPU costs it nothing.
 */
#include <assert.h>
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/clock.h"
#include "model/profile.h"
#include "proc/proc.h"
#include "proc/tree.h"
#include "sampler/loop.h"
#include "writers/writers.h"

int
loop_classify(uint64_t d, uint64_t now, uint64_t i)
{
    if (now <= d + i / 10)
        return 0;
    if (now < d + i)
        return 1;
    return 2;
}

uint64_t
loop_missed_in_tick(uint64_t d, uint64_t tick_end, uint64_t i, uint64_t behind)
{
    /* Deadline d + j*i is missed when the next one has passed: those
     * whose next had passed when the last tick returned fell on it. */
    uint64_t over = tick_end > d ? (tick_end - d) / i : 0;
    return over < behind ? over : behind;
}

/* The nice value tried when no real-time policy is allowed. */
#define LOOP_NICE (-10)

/* Whether the thread was real-time before the loop (chrt, or a caller's
 * choice): it keeps that throughout. */
static int
loop_started_rt(const loop_sched *sv)
{
    return sv->policy == SCHED_FIFO || sv->policy == SCHED_RR;
}

/* Linux applies both calls to the calling thread only, never to the rest
 * of the process nor to the target. */
loop_priority
loop_raise(loop_sched *sv)
{
    sv->tid = (pid_t)syscall(SYS_gettid);
    sv->policy = sched_getscheduler(0);
    sched_getparam(0, &sv->param);
    errno = 0;
    sv->nice = getpriority(PRIO_PROCESS, (id_t)sv->tid);
    if (loop_started_rt(sv))
        return LOOP_PRIO_FIFO; /* keep it */
    struct sched_param sp = {.sched_priority =
                                 sched_get_priority_min(SCHED_FIFO)};
    if (sched_setscheduler(0, SCHED_FIFO | SCHED_RESET_ON_FORK, &sp) == 0)
        return LOOP_PRIO_FIFO;
    if (errno == 0 && sv->nice > LOOP_NICE &&
        setpriority(PRIO_PROCESS, (id_t)sv->tid, LOOP_NICE) == 0)
        return LOOP_PRIO_NICE;
    return LOOP_PRIO_NONE;
}

void
loop_policy_init(loop_policy *pol, uint64_t interval_ns, uint64_t now)
{
    uint64_t base = 16 * interval_ns;
    if (base < 1000000000u)
        base = 1000000000u;
    *pol = (loop_policy){
        .base_ns = base, .quiet_ns = base, .since_ns = now, .raised = 1};
}

static int
loop_policy_raise(loop_policy *pol, uint64_t now)
{
    /* Dropped too soon: wait twice as long before the next try. */
    if (pol->probation && pol->quiet_ns < pol->base_ns * LOOP_QUIET_MAX)
        pol->quiet_ns *= 2;
    pol->raised = 1;
    pol->probation = 0;
    pol->since_ns = now;
    return LOOP_RAISE;
}

int
loop_policy_tick(loop_policy *pol, int bucket, uint64_t now)
{
    if (pol->raised) {
        /* The quiet stretch counts from the last tick that was not on
         * time: raised, a late one says the load is still there. */
        if (bucket != 0)
            pol->since_ns = now;
        if (now - pol->since_ns < pol->quiet_ns)
            return LOOP_KEEP;
        pol->raised = 0;
        pol->probation = 1;
        pol->since_ns = now;
        pol->window = pol->late = 0;
        return LOOP_DROP;
    }
    if (pol->probation && now - pol->since_ns >= pol->quiet_ns) {
        pol->probation = 0; /* the drop was right: back to the first */
        pol->quiet_ns = pol->base_ns;
    }
    if (bucket == 2)
        return loop_policy_raise(pol, now);
    if (bucket == 1 && ++pol->late >= LOOP_LATE_RAISE)
        return loop_policy_raise(pol, now);
    if (++pol->window >= LOOP_WINDOW)
        pol->window = pol->late = 0;
    return LOOP_KEEP;
}

/* Lowering is always allowed. */
void
loop_restore(const loop_sched *sv, loop_priority got)
{
    if (got == LOOP_PRIO_FIFO && !loop_started_rt(sv))
        sched_setscheduler(0, sv->policy, &sv->param);
    else if (got == LOOP_PRIO_NICE)
        setpriority(PRIO_PROCESS, (id_t)sv->tid, sv->nice);
}

const char *
loop_priority_name(const loop_stats *st)
{
    switch (st->priority) {
    case LOOP_PRIO_FIFO:
        return "real-time (SCHED_FIFO)";
    case LOOP_PRIO_NICE:
        return "nice -10";
    default:
        return "normal";
    }
}

void
loop_say_priority(const char *command, const loop_stats *st)
{
    if (st->priority != LOOP_PRIO_NONE)
        return;
    fprintf(stderr,
            "spyglass %s: sampled at normal priority (a real-time one needs "
            "CAP_SYS_NICE, which root has, or RLIMIT_RTPRIO): a busy machine "
            "may delay samples\n",
            command);
}

static void
loop_meta_uint(sg_profile *p, const char *key, uint64_t n)
{
    char v[32];
    snprintf(v, sizeof v, "%llu", (unsigned long long)n);
    sg_profile_set_meta(p, key, v);
}

void
loop_set_meta(const loop_stats *st, sg_profile *p)
{
    loop_meta_uint(p, SG_META_ON_TIME, st->on_time);
    loop_meta_uint(p, SG_META_LATE, st->late);
    loop_meta_uint(p, SG_META_MISSED, st->missed);
    loop_meta_uint(p, LOOP_META_MISSED_IN_TICK, st->missed_in_tick);
    loop_meta_uint(p, LOOP_META_MISSED_RAISED, st->missed_raised);
    sg_profile_set_meta(p, SG_META_PRIORITY, loop_priority_name(st));
    loop_meta_uint(p, LOOP_META_RAISES, st->raises);
    loop_meta_uint(p, LOOP_META_RAISED_TICKS, st->raised_ticks);
    loop_meta_uint(p, LOOP_META_MOVES, st->moves);
}

/* The thread's priority over the loop: what it may take, found by taking
 * it once, and whether it holds it now. A thread started real-time (by
 * chrt, or a caller's choice) keeps what it was given throughout; so does
 * one kept off the target's CPU (loop_place), where the priority costs the
 * target nothing and dropping it costs deadlines under load: only a loop
 * that may share the target's CPU follows loop_policy. */
typedef struct loop_prio {
    loop_sched saved;
    loop_priority may; /* what raising gets */
    int held;          /* it is raised now */
    int fixed;         /* never changed during the loop */
    loop_policy pol;
} loop_prio;

static void
loop_prio_start(loop_prio *lp, uint64_t interval, uint64_t now, int placed)
{
    lp->may = loop_raise(&lp->saved);
    lp->fixed = placed || loop_started_rt(&lp->saved);
    lp->held = lp->may != LOOP_PRIO_NONE;
    loop_policy_init(&lp->pol, interval, now);
}

/* Apply the policy's decision for a tick of bucket woken at now. */
static void
loop_prio_tick(loop_prio *lp, int bucket, uint64_t now, loop_stats *st)
{
    if (lp->held)
        st->raised_ticks++;
    if (lp->may == LOOP_PRIO_NONE || lp->fixed)
        return;
    int act = loop_policy_tick(&lp->pol, bucket, now);
    if (act == LOOP_RAISE) {
        lp->may = loop_raise(&lp->saved);
        lp->held = lp->may != LOOP_PRIO_NONE;
        st->raises += lp->held;
    } else if (act == LOOP_DROP && lp->held) {
        loop_restore(&lp->saved, lp->may);
        lp->held = 0;
    }
}

/* n deadlines from d on were missed, the loop having gone to sleep at
 * slept, with its priority raised or not. */
static void
loop_count_missed(loop_stats *st, uint64_t n, uint64_t d, uint64_t slept,
                  uint64_t interval, int raised)
{
    st->missed += n;
    st->missed_in_tick += loop_missed_in_tick(d, slept, interval, n);
    if (raised)
        st->missed_raised += n;
}

/* Where the loop's thread may run: anywhere it could before, but the CPU
 * the target's main thread was last seen on, looked up every
 * LOOP_PLACE_EVERY ticks (a CPU-bound thread seldom moves; a read of its
 * stat is some microseconds). Only the loop's thread changes. */
#define LOOP_PLACE_EVERY 16

typedef struct loop_place {
    pid_t pid;         /* 0: no target, nothing to avoid */
    cpu_set_t allowed; /* the thread's affinity before the loop */
    int avoided;       /* the CPU kept off, or -1 */
    uint64_t ticks;    /* taken so far */
} loop_place;

static void
loop_place_start(loop_place *lp, pid_t pid)
{
    lp->avoided = -1;
    lp->ticks = 0;
    lp->pid = pid;
    /* With one CPU there is nowhere else to go. */
    if (pid <= 0 || sched_getaffinity(0, sizeof lp->allowed, &lp->allowed) ||
        CPU_COUNT(&lp->allowed) < 2)
        lp->pid = 0;
}

static void
loop_place_tick(loop_place *lp, loop_stats *st)
{
    if (!lp->pid || lp->ticks++ % LOOP_PLACE_EVERY)
        return;
    int cpu = proc_last_cpu(lp->pid);
    if (cpu < 0 || cpu == lp->avoided)
        return;
    cpu_set_t away = lp->allowed;
    if (cpu < CPU_SETSIZE)
        CPU_CLR(cpu, &away);
    if (CPU_COUNT(&away) == 0)
        return;
    if (sched_setaffinity(0, sizeof away, &away) == 0) {
        lp->avoided = cpu;
        st->moves++;
    }
}

static void
loop_place_end(const loop_place *lp)
{
    if (lp->avoided >= 0)
        sched_setaffinity(0, sizeof lp->allowed, &lp->allowed);
}

static void
loop_prio_end(loop_prio *lp)
{
    if (lp->held)
        loop_restore(&lp->saved, lp->may); /* keeps a real-time start */
}

int
loop_run(const loop_config *cfg, loop_tick_fn tick, loop_report_fn report,
         void *ctx, volatile sig_atomic_t *stop, loop_stats *st)
{
    return loop_run_beside(cfg, 0, tick, report, ctx, stop, st);
}

int
loop_run_beside(const loop_config *cfg, pid_t target, loop_tick_fn tick,
                loop_report_fn report, void *ctx, volatile sig_atomic_t *stop,
                loop_stats *st)
{
    assert(cfg->rate_hz > 0);
    *st = (loop_stats){0};
    /* The default 50 us timer slack would let every wake-up drift. */
    prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
    uint64_t interval = (uint64_t)(1e9 / cfg->rate_hz);
    if (interval == 0)
        interval = 1;
    loop_prio prio;
    loop_place place;
    loop_place_start(&place, target);
    uint64_t start = sg_now_ns();
    loop_prio_start(&prio, interval, start, place.pid != 0);
    st->raises = prio.held && !loop_started_rt(&prio.saved);
    uint64_t end = cfg->duration_s > 0
                       ? start + (uint64_t)(cfg->duration_s * 1e9)
                       : UINT64_MAX;
    uint64_t next_report =
        cfg->report_ns ? start + cfg->report_ns : UINT64_MAX;
    uint64_t k = 0;
    uint64_t slept = start; /* when the loop last went to sleep */
    int why = 0;
    sigset_t stops, during;
    proc_stop_signals(&stops);
    pthread_sigmask(SIG_BLOCK, &stops, &during);
    for (;;) {
        uint64_t deadline = start + k * interval;
        if (deadline >= end)
            break;
        if (proc_sleep_until(deadline, stop, &during))
            break;
        uint64_t now = sg_now_ns();
        int bucket = loop_classify(deadline, now, interval);
        if (bucket == 2) {
            /* Skip every deadline already past; the one at or before now
             * is taken late rather than dropped. */
            uint64_t behind = (now - deadline) / interval;
            if (end != UINT64_MAX) {
                /* Deadlines at or after the end were never due. */
                uint64_t due = (end - deadline + interval - 1) / interval;
                if (behind >= due) {
                    loop_count_missed(st, due, deadline, slept, interval,
                                      prio.held);
                    break;
                }
            }
            loop_count_missed(st, behind, deadline, slept, interval,
                              prio.held);
            k += behind;
            st->late++;
        } else if (bucket == 1) {
            st->late++;
        } else {
            st->on_time++;
        }
        loop_prio_tick(&prio, bucket, now, st);
        int r = tick(ctx, now);
        if (r == LOOP_ERROR)
            st->errors++;
        loop_place_tick(&place, st);
        k++;
        if (r == LOOP_STOP) {
            why = LOOP_STOP;
            break;
        }
        if (report && now >= next_report) {
            st->elapsed_ns = now - start;
            report(ctx, st);
            next_report = now + cfg->report_ns;
        }
        slept = sg_now_ns();
    }
    st->elapsed_ns = sg_now_ns() - start;
    pthread_sigmask(SIG_SETMASK, &during, NULL);
    st->priority = prio.may;
    loop_prio_end(&prio);
    loop_place_end(&place);
    return why;
}
