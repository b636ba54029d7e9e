/* stats.c -- mean, standard deviation, median, extremes. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/sort.h"
#include "common/stats.h"

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

sg_summary
sg_summarize(const double *v, size_t n)
{
    sg_summary s = {0};
    s.n = n;
    if (n == 0)
        return s;
    double sum = 0;
    s.min = s.max = v[0];
    for (size_t i = 0; i < n; i++) {
        sum += v[i];
        if (v[i] < s.min)
            s.min = v[i];
        if (v[i] > s.max)
            s.max = v[i];
    }
    s.mean = sum / (double)n;
    if (n > 1) {
        /* Two-pass variance: stable for the tightly clustered samples that
         * benchmarks produce. */
        double ss = 0;
        for (size_t i = 0; i < n; i++)
            ss += (v[i] - s.mean) * (v[i] - s.mean);
        s.stddev = sqrt(ss / (double)(n - 1));
    }
    double *sorted = sg_reallocarray(NULL, n, sizeof *sorted);
    if (!sorted) {
        /* Out of memory: everything but the median (JSON writes null). */
        s.median = NAN;
        return s;
    }
    memcpy(sorted, v, n * sizeof *sorted);
    sg_sort(sorted, n, sizeof *sorted, cmp_double);
    s.median =
        (n % 2) ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0;
    free(sorted);
    return s;
}

void
sg_ratio(const sg_summary *a, const sg_summary *b, double *ratio, double *sd)
{
    double r = (b->mean != 0) ? a->mean / b->mean : 0;
    double ra = (a->mean != 0) ? a->stddev / a->mean : 0;
    double rb = (b->mean != 0) ? b->stddev / b->mean : 0;
    *ratio = r;
    *sd = r * sqrt(ra * ra + rb * rb);
}
