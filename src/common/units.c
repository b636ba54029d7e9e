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

/* Significant digits a double can carry: more would print noise. */
#define MAX_DIGITS 17

static int
clamp_digits(int digits)
{
    return digits < 1 ? 1 : digits > MAX_DIGITS ? MAX_DIGITS : digits;
}

/* x rounded to the significant digits timeit shows, as printf rounds:
 * whether a value shows as 1000 or as 999 is decided here once. */
static double
round_to(double x, int digits)
{
    char shown[48];
    snprintf(shown, sizeof shown, "%.*e", digits - 1, x);
    return strtod(shown, NULL);
}

const sg_time_unit *
sg_time_unit_for(double seconds, int digits)
{
    /* timeit walks the units from the largest and keeps the first one in
     * which the value is at least 1; tiny values end in nsec. It compares
     * the exact value, so that 999.95 nsec prints as "1e+03 nsec"; here
     * the value as shown, so that it is 1 usec. */
    digits = clamp_digits(digits);
    for (size_t i = N_UNITS; i-- > 0;)
        if (round_to(seconds / time_units[i].scale, digits) >= 1)
            return &time_units[i];
    return &time_units[0];
}

/* x with `digits` significant digits in plain notation, trailing zeros
 * dropped as %g drops them ("39.1", "1", "0.00012"); from 10^digits up,
 * the whole number ("2034" for 3), since more digits beat an exponent. */
static void
put_significant(char *buf, size_t n, double x, int digits)
{
    if (!isfinite(x) || x == 0) {
        snprintf(buf, n, "%g", x);
        return;
    }
    if (fabs(round_to(x, digits)) >= pow(10, digits)) {
        snprintf(buf, n, "%.0f", x);
        return;
    }
    /* Decimals for the digits asked (none from 10^(digits-1) up), at most
     * MAX_DECIMALS: below that, nothing a clock can tell apart is left. A
     * value that rounds up into the next decade gets one decimal too many,
     * always a 0, and dropped below. */
    enum { MAX_DECIMALS = 30 };
    int decimals = digits - 1 - (int)floor(log10(fabs(x)));
    if (decimals > MAX_DECIMALS)
        decimals = MAX_DECIMALS;
    int len = snprintf(buf, n, "%.*f", decimals < 0 ? 0 : decimals, x);
    if (len <= 0 || (size_t)len >= n || !strchr(buf, '.'))
        return;
    char *end = buf + len;
    while (end[-1] == '0')
        *--end = '\0';
    if (end[-1] == '.')
        end[-1] = '\0';
}

char *
sg_fmt_timeit(char *buf, size_t n, double seconds, const sg_time_unit *u,
              int digits)
{
    return sg_fmt_timeit_as(buf, n, seconds, seconds, u, digits);
}

char *
sg_fmt_timeit_as(char *buf, size_t n, double seconds, double ref,
                 const sg_time_unit *u, int digits)
{
    digits = clamp_digits(digits);
    if (u) {
        /* A unit asked for (-u) is python -m timeit's: "%.3g" in it, which
         * may read "1.23e+04 nsec". */
        snprintf(buf, n, "%.*g %s", digits, seconds / u->scale, u->name);
        return buf;
    }
    u = sg_time_unit_for(ref, digits);
    char num[64];
    put_significant(num, sizeof num, seconds / u->scale, digits);
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
