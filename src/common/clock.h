/* clock.h -- the monotonic clock every timing in spyglass uses.
 *
 * CLOCK_MONOTONIC through clock_gettime is served by the vDSO on Linux: no
 * system call, about 20 ns, the same clock as time.perf_counter().
 */
#ifndef SG_CLOCK_H
#define SG_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t
sg_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline double
sg_now_s(void)
{
    return (double)sg_now_ns() / 1e9;
}

#endif
