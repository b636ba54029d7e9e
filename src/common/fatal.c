/* fatal.c -- the executable's exits: sg_die and the allocators that exit on
 * out-of-memory (err.h). Never linked into sg_core, which the extension
 * shares: nothing there may exit inside the user's process. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"

void
sg_die(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sg_verror(fmt, ap);
    va_end(ap);
    exit(code);
}

void
sg_oom_exit(size_t n)
{
    sg_die(SG_EXIT_FAIL, "out of memory (allocating %zu bytes)", n);
}

void *
sg_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        sg_oom_exit(n);
    return p;
}

void *
sg_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        sg_oom_exit(n * size);
    return p;
}

void *
sg_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        sg_oom_exit(n);
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
