/* fuzz_pystr.c -- fuzz the conversion of str payloads read from another
 * process (latin-1, UCS-2, UCS-4 code points, possibly torn) to UTF-8.
 *
 * Input: byte 0 picks the kind (1, 2 or 4 bytes per code point), the rest
 * is the payload. Checked besides memory safety: the output is valid UTF-8
 * (shortest forms, no surrogates, nothing past U+10FFFF) and holds exactly
 * one character per code point, but four for a NUL (written \x00, since it
 * would end the C string) -- what every writer downstream relies on.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"
#include "fuzz.h"
#include "remote/pystr.h"

/* The number of characters in s[0..n), or -1 when it is not valid UTF-8. */
static long
utf8_chars(const unsigned char *s, size_t n)
{
    long chars = 0;
    for (size_t i = 0; i < n; chars++) {
        unsigned c = s[i];
        size_t len = c < 0x80         ? 1
                     : (c >> 5) == 6  ? 2
                     : (c >> 4) == 14 ? 3
                     : (c >> 3) == 30 ? 4
                                      : 0;
        if (len == 0 || i + len > n)
            return -1;
        uint32_t cp = len == 1 ? c : c & (0x7f >> len);
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return -1;
            cp = cp << 6 | (s[i + k] & 0x3f);
        }
        static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < min[len] || cp > 0x10ffff || (cp >= 0xd800 && cp < 0xe000))
            return -1;
        i += len;
    }
    return chars;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static const unsigned kinds[] = {1, 2, 4};
    unsigned kind = kinds[data[0] % 3];
    size_t n = (size - 1) / kind;
    /* An exact-size, suitably aligned copy, as the reader passes. */
    size_t bytes = n * kind;
    void *copy = malloc(bytes ? bytes : 1);
    if (!copy)
        return 0;
    memcpy(copy, data + 1, bytes);
    long want = (long)n;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *cp = data + 1 + i * kind;
        bool nul = true;
        for (unsigned k = 0; k < kind; k++)
            nul = nul && cp[k] == 0;
        want += nul ? 3 : 0;
    }
    strbuf sb = STRBUF_INIT;
    pystr_to_utf8(&sb, copy, n, kind);
    if (utf8_chars((const unsigned char *)sb_str(&sb), sb.len) != want)
        abort();
    sb_free(&sb);
    free(copy);
    return 0;
}
