/* ticks.h -- the one clock of the agent's collectors.
 *
 * Every event callback reads ticks_now(): the time stamp counter when the
 * CPU says it is invariant (constant rate across frequency changes and sleep
 * states), read in a few cycles without the vDSO's conversions; otherwise,
 * and on machines that are not x86, CLOCK_MONOTONIC through the vDSO, whose
 * ticks are nanoseconds. Collectors store ticks and convert once, when they
 * build their results, with ticks_ns_per_tick(): the counter's rate measured
 * against CLOCK_MONOTONIC from module import to that moment.
 */
#ifndef SG_AGENT_TICKS_H
#define SG_AGENT_TICKS_H

#include <stdbool.h>
#include <stdint.h>

#include "common/clock.h"

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#define TICKS_HAVE_TSC 1
#else
#define TICKS_HAVE_TSC 0
#endif

/* Whether ticks are TSC cycles (else nanoseconds); set by ticks_init. */
extern bool ticks_tsc;

static inline uint64_t
ticks_now(void)
{
#if TICKS_HAVE_TSC
    if (ticks_tsc)
        return __rdtsc();
#endif
    return sg_now_ns();
}

/* Choose the source (SPYGLASS_NO_TSC=1 forces the vDSO clock) and start
 * the calibration. Once, before any tick is read; later calls do nothing. */
void ticks_init(void);

/* Nanoseconds per tick. The first call measures the rate over at least
 * 20 ms since ticks_init (sleeping for what is missing), so that it is
 * precise to well under 0.01%; later calls return the same value, so that
 * a collector's results do not change between two renderings. */
double ticks_ns_per_tick(void);

/* "tsc" or "monotonic", for the profile's metadata. */
const char *ticks_source(void);

#endif
