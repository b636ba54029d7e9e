/* units.h -- human-readable times and sizes, as the peer tools print them. */
#ifndef SG_UNITS_H
#define SG_UNITS_H

#include <stddef.h>
#include <stdint.h>

/* A time unit as timeit names them. */
typedef struct sg_time_unit {
    const char *name; /* "nsec", "usec", "msec", "sec" */
    double scale;     /* seconds per unit */
} sg_time_unit;

/* Look up a unit by timeit's name; NULL when unknown. */
const sg_time_unit *sg_time_unit_by_name(const char *name);
/* timeit's choice: the largest unit not larger than seconds, once seconds
 * is rounded to the `digits` significant digits shown (999.95e-9 is
 * 1 usec with 3). */
const sg_time_unit *sg_time_unit_for(double seconds, int digits);
/* Format seconds like timeit, with `digits` significant digits (timeit's
 * 3, one more for each -v after the first; at most 17) and a unit:
 * "30.2 usec". With u (timeit's -u), exactly as python -m timeit prints in
 * a unit it was given, "%.3g" ("1.23e+04 usec"); without, in the unit
 * sg_time_unit_for picks and never in scientific notation ("1 usec", not
 * python's "1e+03 nsec"; "2034 sec"). Returns buf. */
char *sg_fmt_timeit(char *buf, size_t n, double seconds, const sg_time_unit *u,
                    int digits);
/* The same, in the unit sg_fmt_timeit would pick for ref (u, when given,
 * wins): a spread in its mean's unit, "39.1 usec ± 67.7 usec", also when
 * it is far larger or smaller than the mean ("0.0012 usec"). */
char *sg_fmt_timeit_as(char *buf, size_t n, double seconds, double ref,
                       const sg_time_unit *u, int digits);
/* hyperfine-style short units: "101.2 ms", "2.315 s", "812.3 µs". */
char *sg_fmt_duration(char *buf, size_t n, double seconds);
/* The same number in the unit that sg_fmt_duration would pick for ref. */
char *sg_fmt_duration_as(char *buf, size_t n, double seconds, double ref);
/* "1.9 MiB" and friends, from bytes. */
char *sg_fmt_bytes(char *buf, size_t n, double bytes);

#endif
