/* strbuf.c -- growable byte buffer, see strbuf.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <assert.h>
#include <stdint.h>

#include "common/alloc.h"
#include "common/output.h"
#include "common/strbuf.h"

int
sb_reserve(strbuf *sb, size_t extra)
{
    if (sb->failed)
        return -1;
    /* A size past SIZE_MAX / 2 cannot be allocated: fail like malloc. */
    char *data = NULL;
    if (extra < SIZE_MAX / 2 - sb->len) {
        size_t need = sb->len + extra + 1;
        if (need <= sb->cap)
            return 0;
        size_t cap = sb->cap ? sb->cap : 64;
        while (cap < need)
            cap *= 2;
        data = sg_realloc(sb->data, cap);
        if (data)
            sb->cap = cap;
    }
    if (!data) {
        sb->failed = true;
        return -1;
    }
    sb->data = data;
    return 0;
}

void
sb_append(strbuf *sb, const void *data, size_t n)
{
    /* Room for n bytes and the NUL is the common case: no call. */
    if ((sb->failed || n >= sb->cap - sb->len) && sb_reserve(sb, n) < 0)
        return;
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
    if (sb_reserve(sb, (size_t)n) < 0)
        return;
    va_start(ap, fmt);
    vsnprintf(sb->data + sb->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    sb->len += (size_t)n;
}

void
sb_put_xml(strbuf *sb, const char *s)
{
    sb_put_xml_n(sb, s, SIZE_MAX);
}

void
sb_put_xml_n(strbuf *sb, const char *s, size_t n)
{
    for (size_t i = 0; i < n && s[i]; i++) {
        char c = s[i];
        switch (c) {
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
            if ((unsigned char)c < 0x20 && c != '\t' && c != '\n' && c != '\r')
                sb_putc(sb, '?');
            else
                sb_putc(sb, c);
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
sb_truncate(strbuf *sb, size_t len)
{
    assert(len <= sb->len);
    sb->len = len;
    if (sb->data)
        sb->data[len] = '\0';
}

void
sb_free(strbuf *sb)
{
    free(sb->data);
    sb->data = NULL;
    sb->len = sb->cap = 0;
    sb->failed = false;
}

const char *
sb_str(const strbuf *sb)
{
    return sb->data ? sb->data : "";
}

int
sb_write_file(const strbuf *sb, const char *path)
{
    if (sb->failed) {
        errno = ENOMEM;
        return -1;
    }
    return sg_output_write(path, sb->data ? sb->data : "", sb->len);
}
