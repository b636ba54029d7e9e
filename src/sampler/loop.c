/* loop.c -- fixed-rate sampling on absolute deadlines; see loop.h.
 *
 * The stop signals are blocked while a tick runs and taken only inside the
 * sleep (proc_sleep_until), so a stop that arrives during a tick ends the
 * very next sleep instead of waiting out a whole interval -- which at a low
 * rate is seconds.
 */
#include <assert.h>
#include <signal.h>
#include <sys/prctl.h>

#include "common/clock.h"
#include "proc/proc.h"
#include "sampler/loop.h"

int
loop_classify(uint64_t d, uint64_t now, uint64_t i)
{
    if (now <= d + i / 10)
        return 0;
    if (now < d + i)
        return 1;
    return 2;
}

int
loop_run(const loop_config *cfg, loop_tick_fn tick, loop_report_fn report,
         void *ctx, volatile sig_atomic_t *stop, loop_stats *st)
{
    assert(cfg->rate_hz > 0);
    /* The default 50 us timer slack would let every wake-up drift. */
    prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
    uint64_t interval = (uint64_t)(1e9 / cfg->rate_hz);
    if (interval == 0)
        interval = 1;
    uint64_t start = sg_now_ns();
    uint64_t end = cfg->duration_s > 0
                       ? start + (uint64_t)(cfg->duration_s * 1e9)
                       : UINT64_MAX;
    uint64_t next_report =
        cfg->report_ns ? start + cfg->report_ns : UINT64_MAX;
    uint64_t k = 0;
    int why = 0;
    *st = (loop_stats){0};
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
                    st->missed += due;
                    break;
                }
            }
            st->missed += behind;
            k += behind;
            st->late++;
        } else if (bucket == 1) {
            st->late++;
        } else {
            st->on_time++;
        }
        int r = tick(ctx, now);
        if (r == LOOP_ERROR)
            st->errors++;
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
    }
    st->elapsed_ns = sg_now_ns() - start;
    pthread_sigmask(SIG_SETMASK, &during, NULL);
    return why;
}
