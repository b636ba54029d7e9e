/* alloc.c -- allocation that reports failure; see alloc.h. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"

static long fail_at = -1; /* armed: the allocation number that fails */
static long count;
static void (*on_failure)(size_t n);

/* Whether this allocation is to fail (fault injection). */
static bool
injected(void)
{
    if (fail_at < 0)
        return false;
    return count++ >= fail_at;
}

/* p, after telling the failure hook when p is NULL. */
static void *
checked(void *p, size_t n)
{
    if (!p && on_failure)
        on_failure(n);
    return p;
}

void
sg_alloc_on_failure(void (*fn)(size_t n))
{
    on_failure = fn;
}

void
sg_alloc_fail_at(long n)
{
    fail_at = n;
    count = 0;
}

long
sg_alloc_count(void)
{
    return count;
}

void *
sg_malloc(size_t n)
{
    return checked(injected() ? NULL : malloc(n ? n : 1), n);
}

void *
sg_calloc(size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        return checked(NULL, SIZE_MAX);
    return checked(injected() ? NULL : calloc(n ? n : 1, size ? size : 1),
                   n * size);
}

void *
sg_realloc(void *p, size_t n)
{
    return checked(injected() ? NULL : realloc(p, n ? n : 1), n);
}

void *
sg_reallocarray(void *p, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        return checked(NULL, SIZE_MAX);
    return sg_realloc(p, n * size);
}

int
sg_grow(void **arr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t c = *cap ? *cap : 64;
    while (c < need && c <= SIZE_MAX / 2)
        c *= 2;
    void *a = c >= need ? sg_reallocarray(*arr, c, elem) : NULL;
    if (!a)
        return -1;
    *arr = a;
    *cap = c;
    return 0;
}

char *
sg_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = sg_malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}
