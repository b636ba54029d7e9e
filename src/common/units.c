/* units.c -- formatting of durations and sizes. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "common/units.h"

static const sg_time_unit time_units[] = {
    {"nsec", 1e-9},
    {"usec", 1e-6},
    {"msec", 1e-3},
    {"sec", 1.0},
};
#define N_UNITS (sizeof time_units / sizeof time_units[0])

const sg_time_unit *
sg_time_unit_by_name(const char *name)
{
    for (size_t i = 0; i < N_UNITS; i++)
        if (strcmp(time_units[i].name, name) == 0)
            return &time_units[i];
    return NULL;
}

const sg_time_unit *
sg_time_unit_for(double seconds)
{
    /* timeit walks the units from the largest and keeps the first one whose
     * scale is not above the value; tiny values end in nsec. */
    for (size_t i = N_UNITS; i-- > 0;)
        if (seconds >= time_units[i].scale)
            return &time_units[i];
    return &time_units[0];
}

char *
sg_fmt_timeit(char *buf, size_t n, double seconds, const sg_time_unit *u)
{
    if (!u)
        u = sg_time_unit_for(seconds);
    snprintf(buf, n, "%.*g %s", 3, seconds / u->scale, u->name);
    return buf;
}

static void
pick_short_unit(double ref, const char **name, double *scale)
{
    double a = fabs(ref);
    if (a >= 1.0) {
        *name = "s";
        *scale = 1.0;
    } else if (a >= 1e-3) {
        *name = "ms";
        *scale = 1e-3;
    } else if (a >= 1e-6) {
        *name = "µs";
        *scale = 1e-6;
    } else {
        *name = "ns";
        *scale = 1e-9;
    }
}

char *
sg_fmt_duration_as(char *buf, size_t n, double seconds, double ref)
{
    const char *name;
    double scale;
    pick_short_unit(ref, &name, &scale);
    double v = seconds / scale;
    /* Keep four significant figures across the unit's range. */
    int prec = fabs(v) >= 100 ? 1 : fabs(v) >= 10 ? 2 : 3;
    if (scale == 1.0)
        prec = 3;
    snprintf(buf, n, "%.*f %s", prec, v, name);
    return buf;
}

char *
sg_fmt_duration(char *buf, size_t n, double seconds)
{
    return sg_fmt_duration_as(buf, n, seconds, seconds);
}

char *
sg_fmt_bytes(char *buf, size_t n, double bytes)
{
    static const char *names[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    size_t i = 0;
    while (fabs(bytes) >= 1024 && i + 1 < sizeof names / sizeof names[0]) {
        bytes /= 1024;
        i++;
    }
    if (i == 0)
        snprintf(buf, n, "%.0f %s", bytes, names[i]);
    else
        snprintf(buf, n, "%.1f %s", bytes, names[i]);
    return buf;
}
