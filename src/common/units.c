/* units.c -- formatting of durations and sizes. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
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

/* x rounded to the 3 significant digits timeit shows, as printf rounds:
 * whether a value shows as 1000 or as 999 is decided here once. */
static double
round3(double x)
{
    char digits[32];
    snprintf(digits, sizeof digits, "%.2e", x);
    return strtod(digits, NULL);
}

const sg_time_unit *
sg_time_unit_for(double seconds)
{
    /* timeit walks the units from the largest and keeps the first one in
     * which the value is at least 1; tiny values end in nsec. It compares
     * the exact value, so that 999.95 nsec prints as "1e+03 nsec"; here
     * the value as shown, so that it is 1 usec. */
    for (size_t i = N_UNITS; i-- > 0;)
        if (round3(seconds / time_units[i].scale) >= 1)
            return &time_units[i];
    return &time_units[0];
}

/* x with 3 significant digits in plain notation, trailing zeros dropped as
 * %g drops them ("39.1", "1", "0.00012"); from 1000 up, the whole number
 * ("2034"), since more digits than three beat an exponent. */
static void
put_sig3(char *buf, size_t n, double x)
{
    if (!isfinite(x) || x == 0) {
        snprintf(buf, n, "%g", x);
        return;
    }
    if (fabs(round3(x)) >= 1000) {
        snprintf(buf, n, "%.0f", x);
        return;
    }
    /* Decimals for 3 significant digits (0 from 100 up), at most
     * MAX_DECIMALS: below that, nothing a clock can tell apart is left. A
     * value that rounds up into the next decade gets one decimal too many,
     * always a 0, and dropped below. */
    enum { MAX_DECIMALS = 12 };
    int decimals = 2 - (int)floor(log10(fabs(x)));
    if (decimals > MAX_DECIMALS)
        decimals = MAX_DECIMALS;
    int len = snprintf(buf, n, "%.*f", decimals, x);
    if (len <= 0 || (size_t)len >= n || !strchr(buf, '.'))
        return;
    char *end = buf + len;
    while (end[-1] == '0')
        *--end = '\0';
    if (end[-1] == '.')
        end[-1] = '\0';
}

char *
sg_fmt_timeit(char *buf, size_t n, double seconds, const sg_time_unit *u)
{
    return sg_fmt_timeit_as(buf, n, seconds, seconds, u);
}

char *
sg_fmt_timeit_as(char *buf, size_t n, double seconds, double ref,
                 const sg_time_unit *u)
{
    if (u) {
        /* A unit asked for (-u) is python -m timeit's: "%.3g" in it, which
         * may read "1.23e+04 nsec". */
        snprintf(buf, n, "%.*g %s", 3, seconds / u->scale, u->name);
        return buf;
    }
    u = sg_time_unit_for(ref);
    char num[48];
    put_sig3(num, sizeof num, seconds / u->scale);
    snprintf(buf, n, "%s %s", num, u->name);
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
