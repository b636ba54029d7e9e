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
/* timeit's choice: the largest unit not larger than seconds. */
const sg_time_unit *sg_time_unit_for(double seconds);
/* Format seconds with 3 significant digits in unit u (or the automatic one
 * when u is NULL), like timeit: "30.2 usec". Returns buf. */
char *sg_fmt_timeit(char *buf, size_t n, double seconds,
                    const sg_time_unit *u);
/* hyperfine-style short units: "101.2 ms", "2.315 s", "812.3 µs". */
char *sg_fmt_duration(char *buf, size_t n, double seconds);
/* The same number in the unit that sg_fmt_duration would pick for ref. */
char *sg_fmt_duration_as(char *buf, size_t n, double seconds, double ref);
/* "1.9 MiB" and friends, from bytes. */
char *sg_fmt_bytes(char *buf, size_t n, double bytes);

#endif
