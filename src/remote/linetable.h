/* linetable.h -- instruction offset -> line number, for each table format.
 *
 * Pure functions over a copy of the code object's table (bytes read from
 * the target), so they are unit-tested without a process. Tables may be
 * torn or garbage: decoding stops at the end of the buffer.
 */
#ifndef SG_REMOTE_LINETABLE_H
#define SG_REMOTE_LINETABLE_H

#include <stddef.h>
#include <stdint.h>

typedef enum lt_format {
    LT_LNOTAB = 0,   /* 3.8-3.9 co_lnotab: (addr incr u8, line incr s8) */
    LT_LINETABLE310, /* 3.10 co_linetable: (byte delta u8, line delta s8) */
    LT_LOCATIONS,    /* 3.11+ location table (Objects/locations.md) */
} lt_format;

/* The line of the instruction at byte offset addrq, or -1 when the table
 * says it has none. addrq < 0 (not started) gives first_line. */
int32_t lt_line(lt_format fmt, const uint8_t *tab, size_t n,
                int32_t first_line, int64_t addrq);

#endif
