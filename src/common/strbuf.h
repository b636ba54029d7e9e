/* strbuf.h -- a growable, always NUL-terminated byte buffer.
 *
 * Every writer builds its output in a strbuf and writes it with one call, so
 * a partially written file is never left behind by a formatting error.
 * Allocation failure is fatal through sg_xrealloc.
 */
#ifndef SG_STRBUF_H
#define SG_STRBUF_H

#include <stddef.h>
#include <stdio.h>

#include "common/err.h"

typedef struct strbuf {
    char *data; /* NUL-terminated; NULL until the first append */
    size_t len;
    size_t cap;
} strbuf;

#define STRBUF_INIT                                                           \
    {                                                                         \
        NULL, 0, 0                                                            \
    }

void sb_reserve(strbuf *sb, size_t extra);
void sb_append(strbuf *sb, const void *data, size_t n);
void sb_puts(strbuf *sb, const char *s);
void sb_putc(strbuf *sb, char c);
void sb_printf(strbuf *sb, const char *fmt, ...) SG_PRINTF(2, 3);
/* Append s with XML/HTML special characters escaped (&, <, >, ", '). */
void sb_put_xml(strbuf *sb, const char *s);
void sb_clear(strbuf *sb);
void sb_free(strbuf *sb);
/* Return the contents ("" when empty); the buffer keeps ownership. */
const char *sb_str(const strbuf *sb);
/* Write the whole buffer to path ("-" means stdout). Returns 0, or -1 with
 * errno set. */
int sb_write_file(const strbuf *sb, const char *path);

#endif
