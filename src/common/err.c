/* err.c -- user-facing error lines (the exiting helpers are in fatal.c). */
#include <stdio.h>

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
