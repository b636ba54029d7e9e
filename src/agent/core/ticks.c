/* ticks.c -- choosing the tick source and calibrating it (see ticks.h). */
#include <stdlib.h>
#include <time.h>

#include "agent/core/ticks.h"

#if TICKS_HAVE_TSC
#include <cpuid.h>
#endif

bool ticks_tsc;
static bool ticks_ready;
static uint64_t ticks_tick0, ticks_ns0; /* the calibration's start */
static double ticks_rate;               /* ns per tick, once measured */

#define TICKS_MIN_WINDOW_NS 20000000u

/* CPUID 0x80000007 EDX bit 8: the TSC is invariant. */
static bool
ticks_tsc_invariant(void)
{
#if TICKS_HAVE_TSC
    unsigned int a, b, c, d;
    if (!__get_cpuid(0x80000000, &a, &b, &c, &d) || a < 0x80000007)
        return false;
    __get_cpuid(0x80000007, &a, &b, &c, &d);
    return (d >> 8) & 1;
#else
    return false;
#endif
}

void
ticks_init(void)
{
    if (ticks_ready)
        return;
    ticks_tsc = !getenv("SPYGLASS_NO_TSC") && ticks_tsc_invariant();
    ticks_tick0 = ticks_now();
    ticks_ns0 = sg_now_ns();
    ticks_ready = true;
}

double
ticks_ns_per_tick(void)
{
    if (!ticks_tsc)
        return 1.0;
    if (ticks_rate > 0)
        return ticks_rate;
    uint64_t ns = sg_now_ns();
    if (ns - ticks_ns0 < TICKS_MIN_WINDOW_NS) {
        uint64_t missing = TICKS_MIN_WINDOW_NS - (ns - ticks_ns0);
        struct timespec ts = {0, (long)missing};
        nanosleep(&ts, NULL);
    }
    uint64_t t1 = ticks_now();
    ns = sg_now_ns();
    if (t1 <= ticks_tick0)
        return 1.0; /* a counter that does not count: no conversion */
    ticks_rate = (double)(ns - ticks_ns0) / (double)(t1 - ticks_tick0);
    return ticks_rate;
}

const char *
ticks_source(void)
{
    return ticks_tsc ? "tsc" : "monotonic";
}
