/* sort.h -- qsort that accepts an empty array.
 *
 * qsort's base is declared nonnull even when there is nothing to sort, and
 * an empty table's pointer is often NULL (an empty profile, a program that
 * ran no sampled code): calling qsort then is undefined behaviour (UBSan
 * halts on it). Every sort in spyglass goes through here.
 */
#ifndef SG_SORT_H
#define SG_SORT_H

#include <stdlib.h>

static inline void
sg_sort(void *base, size_t n, size_t size,
        int (*cmp)(const void *, const void *))
{
    if (n > 1)
        qsort(base, n, size, cmp);
}

#endif
