/* stats.h -- summary statistics over repeated measurements. */
#ifndef SG_STATS_H
#define SG_STATS_H

#include <stddef.h>

typedef struct sg_summary {
    size_t n;
    double mean;
    double stddev; /* sample standard deviation (n - 1); 0 when n < 2 */
    double median;
    double min;
    double max;
} sg_summary;

/* Summarise n values (n may be 0: everything is then 0). The input is not
 * modified. Out of memory leaves the median NAN. */
sg_summary sg_summarize(const double *v, size_t n);

/* Ratio a/b of two means and its propagated standard deviation, treating the
 * two as independent: sd = r * sqrt((sa/a)^2 + (sb/b)^2). */
void sg_ratio(const sg_summary *a, const sg_summary *b, double *ratio,
              double *sd);

#endif
