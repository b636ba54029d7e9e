/* Unit tests for src/sampler: deadline accounting, stopping, and the
 * subprocess follower. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "common/clock.h"
#include "proc/proc.h"
#include "sampler/follow.h"
#include "sampler/loop.h"

static void
test_classify(void)
{
    uint64_t i = 1000000; /* 1 ms */
    CHECK(loop_classify(5000000, 5000000, i) == 0);
    CHECK(loop_classify(5000000, 5000000 + i / 10, i) == 0);
    CHECK(loop_classify(5000000, 5000000 + i / 10 + 1, i) == 1);
    CHECK(loop_classify(5000000, 5000000 + i - 1, i) == 1);
    CHECK(loop_classify(5000000, 5000000 + i, i) == 2);
}

typedef struct tick_ctx {
    int n;
    int stop_after;
    long sleep_ns; /* busy time per tick */
} tick_ctx;

static int
tick(void *ctx, uint64_t now)
{
    tick_ctx *c = ctx;
    c->n++;
    if (c->sleep_ns) {
        struct timespec ts = {0, c->sleep_ns};
        nanosleep(&ts, NULL);
    }
    if (c->stop_after && c->n >= c->stop_after)
        return LOOP_STOP;
    return (c->n % 3 == 0) ? LOOP_ERROR : LOOP_OK;
}

static void
test_rate_and_accounting(void)
{
    tick_ctx c = {0, 0, 0};
    loop_config cfg = {200.0, 0.25, 0};
    loop_stats st;
    int why = loop_run(&cfg, tick, NULL, &c, NULL, &st);
    CHECK(why == 0);
    /* 0.25 s at 200 Hz: 50 deadlines, every one accounted for. */
    CHECK(st.on_time + st.late + st.missed == 50);
    CHECK((uint64_t)c.n == st.on_time + st.late);
    CHECK(st.errors == (uint64_t)(c.n / 3));
    CHECK(st.elapsed_ns >= 245000000u && st.elapsed_ns < 2000000000u);
}

static void
test_slow_ticks_are_missed_not_bunched(void)
{
    /* Each tick takes 2.5 intervals: deadlines in between are missed, and
     * the loop never runs ticks back to back to catch up. */
    tick_ctx c = {0, 0, 5000000};
    loop_config cfg = {500.0, 0.2, 0}; /* 2 ms interval, 100 deadlines */
    loop_stats st;
    loop_run(&cfg, tick, NULL, &c, NULL, &st);
    CHECK(st.missed > 30);
    CHECK(c.n < 50);
    CHECK(st.on_time + st.late + st.missed >= 95);
    CHECK(st.on_time + st.late + st.missed <= 101);
    /* Every tick ran past the next deadline: at least one deadline after
     * each was lost to the tick itself, whatever the wake-ups added. */
    CHECK(st.missed_in_tick >= (uint64_t)c.n - 1);
    CHECK(st.missed_in_tick <= st.missed);
}

static void
test_missed_in_tick(void)
{
    uint64_t ms = 1000000;
    /* The tick returned 3.5 intervals past the deadline it was to sleep
     * to: three deadlines were gone before the sleep began. */
    CHECK(loop_missed_in_tick(10 * ms, 13 * ms + ms / 2, ms, 5) == 3);
    CHECK(loop_missed_in_tick(10 * ms, 13 * ms + ms / 2, ms, 2) == 2);
    /* It returned before the deadline: the wake-up lost them all. */
    CHECK(loop_missed_in_tick(10 * ms, 9 * ms, ms, 4) == 0);
    CHECK(loop_missed_in_tick(10 * ms, 10 * ms + ms / 2, ms, 4) == 0);
}

/* Feed the policy n ticks of bucket, step_ns apart from *now; the count of
 * each decision. */
static void
policy_feed(loop_policy *pol, uint64_t *now, uint64_t step_ns, int n,
            int bucket, int got[3])
{
    for (int i = 0; i < n; i++) {
        *now += step_ns;
        got[loop_policy_tick(pol, bucket, *now)]++;
    }
}

static void
test_policy_raises_only_when_deadlines_slip(void)
{
    uint64_t ms = 1000000, now = 0;
    loop_policy pol;
    loop_policy_init(&pol, ms, now);
    CHECK(pol.base_ns == 1000000000u && pol.raised);
    int got[3] = {0};
    /* Raised at the start; a second on time drops it, and ten more
     * seconds on time at 1 kHz never raise it again. */
    policy_feed(&pol, &now, ms, 11000, 0, got);
    CHECK(got[LOOP_DROP] == 1 && got[LOOP_RAISE] == 0 && !pol.raised);
    /* A late tick now and then (one per window) is not enough... */
    for (int i = 0; i < 5; i++) {
        policy_feed(&pol, &now, ms, 1, 1, got);
        policy_feed(&pol, &now, ms, LOOP_WINDOW - 1, 0, got);
    }
    CHECK(got[LOOP_RAISE] == 0 && !pol.raised);
    /* ... two in one window are. */
    policy_feed(&pol, &now, ms, 1, 1, got);
    policy_feed(&pol, &now, ms, 3, 0, got);
    CHECK(loop_policy_tick(&pol, 1, now += ms) == LOOP_RAISE);
    CHECK(pol.raised);
    /* A missed deadline raises at once. */
    loop_policy_init(&pol, ms, now);
    memset(got, 0, sizeof got);
    policy_feed(&pol, &now, ms, 1000, 0, got);
    CHECK(got[LOOP_DROP] == 1 && !pol.raised);
    CHECK(loop_policy_tick(&pol, 2, now += ms) == LOOP_RAISE);
    /* A slow rate waits 16 intervals, not 1 s, before dropping. */
    loop_policy_init(&pol, 500 * ms, now);
    CHECK(pol.base_ns == 8000 * ms);
}

static void
test_policy_drops_after_a_quiet_stretch_and_backs_off(void)
{
    uint64_t ms = 1000000, now = 0;
    loop_policy pol;
    loop_policy_init(&pol, ms, now);
    int got[3] = {0};
    /* Raised: late ticks restart the quiet stretch; 1 s on time ends it. */
    policy_feed(&pol, &now, ms, 500, 0, got);
    policy_feed(&pol, &now, ms, 1, 1, got);
    policy_feed(&pol, &now, ms, 999, 0, got);
    CHECK(got[LOOP_DROP] == 0 && pol.raised);
    CHECK(loop_policy_tick(&pol, 0, now += ms) == LOOP_DROP);
    CHECK(!pol.raised);
    /* Slipping again soon after the drop: the next stretch is twice as
     * long, then four times... */
    for (uint64_t want = 2; want <= LOOP_QUIET_MAX; want *= 2) {
        CHECK(loop_policy_tick(&pol, 2, now += 10 * ms) == LOOP_RAISE);
        CHECK(pol.quiet_ns == want * pol.base_ns);
        memset(got, 0, sizeof got);
        policy_feed(&pol, &now, ms, (int)(want * 1000), 0, got);
        CHECK(got[LOOP_DROP] == 1 && !pol.raised);
    }
    /* ... up to LOOP_QUIET_MAX times the first. */
    CHECK(loop_policy_tick(&pol, 2, now += ms) == LOOP_RAISE);
    CHECK(pol.quiet_ns == LOOP_QUIET_MAX * pol.base_ns);
    memset(got, 0, sizeof got);
    policy_feed(&pol, &now, ms, LOOP_QUIET_MAX * 1000, 0, got);
    CHECK(got[LOOP_DROP] == 1);
    /* A quiet stretch at normal priority proves the drop right: the next
     * raise waits the first stretch again. */
    policy_feed(&pol, &now, ms, LOOP_QUIET_MAX * 1000, 0, got);
    CHECK(loop_policy_tick(&pol, 2, now += ms) == LOOP_RAISE);
    CHECK(pol.quiet_ns == pol.base_ns);
}

static void
test_stop_from_tick_and_flag(void)
{
    tick_ctx c = {0, 7, 0};
    loop_config cfg = {1000.0, 0, 0};
    loop_stats st;
    CHECK(loop_run(&cfg, tick, NULL, &c, NULL, &st) == LOOP_STOP);
    CHECK(c.n == 7);
    volatile sig_atomic_t stop = 1;
    tick_ctx c2 = {0, 0, 0};
    loop_run(&cfg, tick, NULL, &c2, &stop, &st);
    CHECK(c2.n == 0);
}

/* A tick that asks for a stop the way a signal handler would. */
static volatile sig_atomic_t tick_stop;
static int tick_calls;

static int
tick_sets_stop(void *ctx, uint64_t now)
{
    tick_calls++;
    tick_stop = 1;
    return LOOP_OK;
}

static void
test_stop_during_a_tick_does_not_wait_an_interval(void)
{
    /* Regression: the flag was looked at only after the next sleep, so a
     * stop that came during a tick waited one whole interval: 5 s here. */
    tick_stop = 0;
    tick_calls = 0;
    loop_config cfg = {0.2, 0, 0};
    loop_stats st;
    uint64_t t0 = sg_now_ns();
    loop_run(&cfg, tick_sets_stop, NULL, NULL, &tick_stop, &st);
    CHECK(tick_calls == 1);
    CHECK(sg_now_ns() - t0 < 2500000000u);
}

static int
tick_signals(void *ctx, uint64_t now)
{
    tick_calls++;
    kill(getpid(), SIGINT); /* to the process, as kill(1) would */
    return LOOP_OK;
}

static void
test_stop_signal_during_a_tick_ends_the_next_sleep(void)
{
    /* A real stop signal arriving while a tick runs: it is taken at the
     * start of the next sleep, which it ends at once. */
    proc_forward_signals();
    tick_calls = 0;
    loop_config cfg = {0.2, 0, 0};
    loop_stats st;
    uint64_t t0 = sg_now_ns();
    loop_run(&cfg, tick_signals, NULL, NULL, proc_stop_flag(), &st);
    CHECK(tick_calls == 1);
    CHECK(proc_stop_signal() == SIGINT);
    CHECK(sg_now_ns() - t0 < 2500000000u);
    /* The loop gives the caller its signal mask back. */
    sigset_t now_mask;
    sigprocmask(SIG_BLOCK, NULL, &now_mask);
    CHECK(!sigismember(&now_mask, SIGINT));
}

/* Wait (up to 30 s, however busy the machine) for scans to reach n. */
static bool
wait_scans(const follow *f, uint64_t n)
{
    for (int i = 0; i < 3000 && follow_scans(f) < n; i++)
        usleep(10000);
    return follow_scans(f) >= n;
}

static void
test_follower_reports_a_child_that_is_not_python(void)
{
    follow *f = follow_start(getpid(), false);
    CHECK(f != NULL);
    if (!f)
        return;
    CHECK(wait_scans(f, 1)); /* a scan with no descendants at all */
    int fds[2];
    CHECK(pipe(fds) == 0);
    pid_t child = fork();
    if (child == 0) {
        close(fds[1]);
        char b;
        ssize_t r = read(fds[0], &b, 1);
        _exit(r < 0);
    }
    close(fds[0]);
    /* Two more complete scans: the second began after the fork. */
    CHECK(wait_scans(f, follow_scans(f) + 2));
    follow_item *items = NULL;
    size_t n = 0, cap = 0;
    CHECK(follow_take(f, &items, &n, &cap) == 0); /* not Python */
    follow_stop(f);
    strbuf sb = STRBUF_INIT;
    follow_report(f, &sb);
    char want[128];
    snprintf(want, sizeof want,
             "1 subprocess not followed: not Python (%d test_sampler)\n",
             (int)child);
    CHECK_STR(sb_str(&sb), want);
    sb_free(&sb);
    free(items);
    follow_free(f);
    close(fds[1]);
    waitpid(child, NULL, 0);
}

TESTS(test_classify, test_rate_and_accounting,
      test_slow_ticks_are_missed_not_bunched, test_missed_in_tick,
      test_policy_raises_only_when_deadlines_slip,
      test_policy_drops_after_a_quiet_stretch_and_backs_off,
      test_stop_from_tick_and_flag,
      test_stop_during_a_tick_does_not_wait_an_interval,
      test_stop_signal_during_a_tick_ends_the_next_sleep,
      test_follower_reports_a_child_that_is_not_python)
