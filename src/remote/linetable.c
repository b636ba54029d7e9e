/* linetable.c -- decoders of CPython's three line-table formats.
 *
 * The formats are CPython's own: Objects/lnotab_notes.txt (co_lnotab of
 * 3.8-3.9, co_linetable of 3.10) and Objects/locations.md (3.11+). Which
 * version uses which is a trait of the layout (layout.c).
 */
#include "remote/linetable.h"

#include <stdbool.h>

/* Lines are summed in 64 bits: a garbage table (or first line) from a torn
 * read would overflow 32 (undefined behaviour; found by the fuzzer). A sum
 * outside int32 is no line. */
static int32_t
line_or_none(int64_t line)
{
    return line < INT32_MIN || line > INT32_MAX ? -1 : (int32_t)line;
}

static int32_t
lnotab(const uint8_t *tab, size_t n, int64_t line, int64_t addrq)
{
    int64_t addr = 0;
    for (size_t i = 0; i + 1 < n; i += 2) {
        addr += tab[i];
        if (addr > addrq)
            break;
        line += (int8_t)tab[i + 1];
    }
    return line_or_none(line);
}

static int32_t
linetable310(const uint8_t *tab, size_t n, int64_t line, int64_t addrq)
{
    int64_t end = 0;
    for (size_t i = 0; i + 1 < n; i += 2) {
        int64_t start = end;
        end += tab[i];
        int8_t ld = (int8_t)tab[i + 1];
        if (ld != -128)
            line += ld;
        if (start <= addrq && addrq < end)
            return ld == -128 ? -1 : line_or_none(line);
    }
    return -1;
}

/* Varints of the location table: 6 bits per byte, bit 6 = more. */
static bool
varint(const uint8_t *tab, size_t n, size_t *i, uint32_t *out)
{
    uint32_t v = 0;
    unsigned shift = 0;
    while (*i < n) {
        uint8_t b = tab[(*i)++];
        if (shift < 32)
            v |= (uint32_t)(b & 63) << shift;
        shift += 6;
        if (!(b & 64)) {
            *out = v;
            return true;
        }
    }
    return false;
}

static bool
svarint(const uint8_t *tab, size_t n, size_t *i, int32_t *out)
{
    uint32_t v;
    if (!varint(tab, n, i, &v))
        return false;
    *out = (v & 1) ? -(int32_t)(v >> 1) : (int32_t)(v >> 1);
    return true;
}

static int32_t
locations(const uint8_t *tab, size_t n, int64_t line, int64_t addrq)
{
    int64_t addr = 0;
    size_t i = 0;
    while (i < n) {
        uint8_t first = tab[i++];
        if (!(first & 0x80))
            return -1; /* lost sync: torn or not a location table */
        unsigned code = (first >> 3) & 15;
        int64_t end = addr + ((first & 7) + 1) * 2;
        int32_t delta = 0;
        uint32_t skip;
        if (code == 15) {
            /* no location */
        } else if (code == 14) {
            if (!svarint(tab, n, &i, &delta) || !varint(tab, n, &i, &skip) ||
                !varint(tab, n, &i, &skip) || !varint(tab, n, &i, &skip))
                return -1;
        } else if (code == 13) {
            if (!svarint(tab, n, &i, &delta))
                return -1;
        } else if (code >= 10) {
            delta = (int32_t)code - 10;
            i += 2; /* start and end column */
        } else {
            i += 1; /* short form: one column byte */
        }
        line += delta;
        if (addr <= addrq && addrq < end)
            return code == 15 ? -1 : line_or_none(line);
        addr = end;
    }
    return -1;
}

int32_t
lt_line(lt_format fmt, const uint8_t *tab, size_t n, int32_t first_line,
        int64_t addrq)
{
    if (addrq < 0)
        return first_line;
    switch (fmt) {
    case LT_LNOTAB:
        return lnotab(tab, n, first_line, addrq);
    case LT_LINETABLE310:
        return linetable310(tab, n, first_line, addrq);
    case LT_LOCATIONS:
        return locations(tab, n, first_line, addrq);
    }
    return -1;
}
