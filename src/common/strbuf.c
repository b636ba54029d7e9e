/* strbuf.c -- growable byte buffer, see strbuf.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <assert.h>

#include "common/strbuf.h"

void
sb_reserve(strbuf *sb, size_t extra)
{
    size_t need = sb->len + extra + 1;
    if (need <= sb->cap)
        return;
    size_t cap = sb->cap ? sb->cap : 64;
    while (cap < need)
        cap *= 2;
    sb->data = sg_xrealloc(sb->data, cap);
    sb->cap = cap;
}

void
sb_append(strbuf *sb, const void *data, size_t n)
{
    sb_reserve(sb, n);
    memcpy(sb->data + sb->len, data, n);
    sb->len += n;
    sb->data[sb->len] = '\0';
}

void
sb_puts(strbuf *sb, const char *s)
{
    sb_append(sb, s, strlen(s));
}

void
sb_putc(strbuf *sb, char c)
{
    sb_append(sb, &c, 1);
}

void
sb_printf(strbuf *sb, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char small[256];
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    assert(n >= 0);
    if ((size_t)n < sizeof small) {
        sb_append(sb, small, (size_t)n);
        return;
    }
    sb_reserve(sb, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(sb->data + sb->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    sb->len += (size_t)n;
}

void
sb_put_xml(strbuf *sb, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&':
            sb_puts(sb, "&amp;");
            break;
        case '<':
            sb_puts(sb, "&lt;");
            break;
        case '>':
            sb_puts(sb, "&gt;");
            break;
        case '"':
            sb_puts(sb, "&quot;");
            break;
        case '\'':
            sb_puts(sb, "&#39;");
            break;
        default:
            /* XML 1.0 forbids most control characters even when escaped. */
            if ((unsigned char)*s < 0x20 && *s != '\t' && *s != '\n' &&
                *s != '\r')
                sb_putc(sb, '?');
            else
                sb_putc(sb, *s);
        }
    }
}

void
sb_clear(strbuf *sb)
{
    sb->len = 0;
    if (sb->data)
        sb->data[0] = '\0';
}

void
sb_free(strbuf *sb)
{
    free(sb->data);
    sb->data = NULL;
    sb->len = sb->cap = 0;
}

const char *
sb_str(const strbuf *sb)
{
    return sb->data ? sb->data : "";
}

int
sb_write_file(const strbuf *sb, const char *path)
{
    FILE *f = strcmp(path, "-") == 0 ? stdout : fopen(path, "wb");
    if (!f)
        return -1;
    size_t n = sb->len ? fwrite(sb->data, 1, sb->len, f) : 0;
    int err = (n != sb->len) ? errno : 0;
    if (f == stdout) {
        if (fflush(f) != 0 && !err)
            err = errno;
    } else if (fclose(f) != 0 && !err) {
        err = errno;
    }
    if (err) {
        errno = err;
        return -1;
    }
    return 0;
}
