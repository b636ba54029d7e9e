/* err.c -- user-facing error lines and checked allocation. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"

void
sg_verror(const char *fmt, va_list ap)
{
    /* Build the line first so that it reaches stderr in one write and is not
     * interleaved with the target program's own output. */
    char buf[1024];
    int n = snprintf(buf, sizeof buf, "spyglass: error: ");
    vsnprintf(buf + n, sizeof buf - (size_t)n, fmt, ap);
    fprintf(stderr, "%s\n", buf);
    fflush(stderr);
}

void
sg_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sg_verror(fmt, ap);
    va_end(ap);
}

void
sg_warn(const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    int n = snprintf(buf, sizeof buf, "spyglass: warning: ");
    va_start(ap, fmt);
    vsnprintf(buf + n, sizeof buf - (size_t)n, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s\n", buf);
    fflush(stderr);
}

void
sg_die(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sg_verror(fmt, ap);
    va_end(ap);
    exit(code);
}

static void
oom(size_t n)
{
    sg_die(SG_EXIT_FAIL, "out of memory (allocating %zu bytes)", n);
}

void *
sg_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        oom(n);
    return p;
}

void *
sg_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        oom(n * size);
    return p;
}

void *
sg_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        oom(n);
    return q;
}

char *
sg_xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = sg_xmalloc(n);
    memcpy(p, s, n);
    return p;
}
