/* pystr.c -- transcoding str payloads read from a target to UTF-8. */
#include "remote/pystr.h"

#include <string.h>

static void
put_cp(strbuf *out, uint32_t c)
{
    char b[4];
    if ((c >= 0xD800 && c <= 0xDFFF) || c > 0x10FFFF)
        c = 0xFFFD;
    if (c == 0) {
        /* The result is a C string: a NUL would end the name there. It is
         * written as repr writes it, so the rest of the name stays. */
        sb_puts(out, "\\x00");
        return;
    }
    if (c < 0x80) {
        sb_putc(out, (char)c);
        return;
    }
    size_t n;
    if (c < 0x800) {
        b[0] = (char)(0xC0 | (c >> 6));
        b[1] = (char)(0x80 | (c & 63));
        n = 2;
    } else if (c < 0x10000) {
        b[0] = (char)(0xE0 | (c >> 12));
        b[1] = (char)(0x80 | ((c >> 6) & 63));
        b[2] = (char)(0x80 | (c & 63));
        n = 3;
    } else {
        b[0] = (char)(0xF0 | (c >> 18));
        b[1] = (char)(0x80 | ((c >> 12) & 63));
        b[2] = (char)(0x80 | ((c >> 6) & 63));
        b[3] = (char)(0x80 | (c & 63));
        n = 4;
    }
    sb_append(out, b, n);
}

void
pystr_to_utf8(strbuf *out, const void *data, size_t n, unsigned kind)
{
    const uint8_t *p = data;
    sb_reserve(out, n * (kind == 1 ? 2 : 4));
    for (size_t i = 0; i < n; i++) {
        uint32_t c;
        if (kind == 1) {
            c = p[i];
        } else if (kind == 2) {
            uint16_t v;
            memcpy(&v, p + 2 * i, 2);
            c = v;
        } else {
            memcpy(&c, p + 4 * i, 4);
        }
        put_cp(out, c);
    }
}
