/* fuzz_linetable.c -- fuzz the line-table decoders, which run on bytes
 * copied out of another process (a torn or garbage table is normal there).
 *
 * Input: byte 0 picks the format, bytes 1-4 are first_line (little
 * endian), the rest is the table. Every instruction offset up to past the
 * table's end is looked up, as a sampler would. Checked besides memory
 * safety: an offset before the first instruction gives first_line.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "remote/linetable.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 5)
        return 0;
    lt_format fmt = (lt_format)(data[0] % 3);
    uint32_t u;
    memcpy(&u, data + 1, 4);
    int32_t first = (int32_t)u;
    const uint8_t *tab = data + 5;
    size_t n = size - 5;
    /* A copy of exactly n bytes, so that ASan sees any read past it. */
    uint8_t *copy = malloc(n ? n : 1);
    if (!copy)
        return 0;
    memcpy(copy, tab, n);
    if (lt_line(fmt, copy, n, first, -1) != first)
        abort();
    /* 64 instruction offsets (code units are 2 bytes) spread over more
     * code than a table of n bytes usually covers, and the first few. */
    int64_t end = (int64_t)n * 8 + 64, step = (end / 64 + 1) & ~(int64_t)1;
    for (int64_t a = 0; a < end; a += a < 16 ? 2 : step)
        (void)lt_line(fmt, copy, n, first, a);
    free(copy);
    return 0;
}
