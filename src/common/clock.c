/* clock.c -- absolute-deadline sleeping (for samplers that must not drift). */
#include <errno.h>

#include "common/clock.h"

void
sg_sleep_until_ns(uint64_t deadline_ns, volatile int *stop)
{
    struct timespec ts;
    ts.tv_sec = (time_t)(deadline_ns / 1000000000u);
    ts.tv_nsec = (long)(deadline_ns % 1000000000u);
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) ==
           EINTR) {
        if (stop && *stop)
            return;
    }
}
