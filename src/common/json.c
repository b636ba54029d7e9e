/* json.c -- streaming JSON writer, see json.h. */
#include <assert.h>
#include <math.h>
#include <string.h>

#include "common/json.h"

void
json_init(json_writer *j, strbuf *sb, bool pretty)
{
    memset(j, 0, sizeof *j);
    j->sb = sb;
    j->pretty = pretty;
    j->first[0] = true;
}

static void
newline(json_writer *j)
{
    if (!j->pretty)
        return;
    sb_putc(j->sb, '\n');
    for (int i = 0; i < j->depth; i++)
        sb_puts(j->sb, "  ");
}

/* Called before every value or key: emits the separator it needs. */
static void
before_item(json_writer *j)
{
    if (j->after_key) {
        j->after_key = false;
        return;
    }
    if (j->depth > 0) {
        if (!j->first[j->depth])
            sb_putc(j->sb, ',');
        newline(j);
    }
    j->first[j->depth] = false;
}

static void
open_scope(json_writer *j, char c)
{
    before_item(j);
    sb_putc(j->sb, c);
    assert(j->depth + 1 < JSON_MAX_DEPTH);
    j->depth++;
    j->first[j->depth] = true;
}

static void
close_scope(json_writer *j, char c)
{
    assert(j->depth > 0 && !j->after_key);
    bool empty = j->first[j->depth];
    j->depth--;
    if (!empty)
        newline(j);
    sb_putc(j->sb, c);
}

void
json_begin_object(json_writer *j)
{
    open_scope(j, '{');
}
void
json_end_object(json_writer *j)
{
    close_scope(j, '}');
}
void
json_begin_array(json_writer *j)
{
    open_scope(j, '[');
}
void
json_end_array(json_writer *j)
{
    close_scope(j, ']');
}

size_t
json_utf8_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    uint32_t cp;
    if (c < 0x80)
        return 1;
    if ((c & 0xE0) == 0xC0) {
        len = 2;
        cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
        len = 3;
        cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    /* Reject overlong forms, surrogates and values past U+10FFFF. */
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
        (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

void
json_put_quoted(strbuf *sb, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    sb_putc(sb, '"');
    size_t i = 0;
    while (i < n) {
        unsigned char c = p[i];
        if (c == '"' || c == '\\') {
            sb_putc(sb, '\\');
            sb_putc(sb, (char)c);
            i++;
        } else if (c < 0x20) {
            switch (c) {
            case '\n':
                sb_puts(sb, "\\n");
                break;
            case '\r':
                sb_puts(sb, "\\r");
                break;
            case '\t':
                sb_puts(sb, "\\t");
                break;
            default:
                sb_printf(sb, "\\u%04x", c);
            }
            i++;
        } else if (c < 0x80) {
            sb_putc(sb, (char)c);
            i++;
        } else {
            size_t len = json_utf8_len(p + i, n - i);
            if (len == 0) {
                sb_puts(sb, "\\ufffd");
                i++;
            } else {
                sb_append(sb, p + i, len);
                i += len;
            }
        }
    }
    sb_putc(sb, '"');
}

void
json_key(json_writer *j, const char *key)
{
    assert(!j->after_key);
    before_item(j);
    json_put_quoted(j->sb, key, strlen(key));
    sb_puts(j->sb, j->pretty ? ": " : ":");
    j->after_key = true;
}

void
json_string_n(json_writer *j, const char *s, size_t n)
{
    before_item(j);
    json_put_quoted(j->sb, s, n);
}

void
json_string(json_writer *j, const char *s)
{
    if (!s) {
        json_null(j);
        return;
    }
    json_string_n(j, s, strlen(s));
}

void
json_int(json_writer *j, int64_t v)
{
    before_item(j);
    sb_printf(j->sb, "%lld", (long long)v);
}

void
json_uint(json_writer *j, uint64_t v)
{
    before_item(j);
    sb_printf(j->sb, "%llu", (unsigned long long)v);
}

void
json_double(json_writer *j, double v)
{
    before_item(j);
    if (!isfinite(v))
        sb_puts(j->sb, "null");
    else
        sb_printf(j->sb, "%.17g", v);
}

void
json_bool(json_writer *j, bool v)
{
    before_item(j);
    sb_puts(j->sb, v ? "true" : "false");
}

void
json_null(json_writer *j)
{
    before_item(j);
    sb_puts(j->sb, "null");
}
