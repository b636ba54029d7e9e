/* strbuf.h -- a growable, always NUL-terminated byte buffer.
 *
 * Every writer builds its output in a strbuf and writes it with one call, so
 * a partially written file is never left behind by a formatting error.
 *
 * Out of memory makes the buffer failed, and it stays so until sb_free
 * (sb_clear keeps it): later appends do nothing, so a writer appends without
 * checking each call and checks sb_failed() once where it hands the buffer on;
 * sb_write_file refuses a failed buffer (ENOMEM). The contents of a failed
 * buffer are a truncated prefix: never use them as a whole.
 */
#ifndef SG_STRBUF_H
#define SG_STRBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "common/err.h"

typedef struct strbuf {
    char *data; /* NUL-terminated; NULL until the first append */
    size_t len;
    size_t cap;
    bool failed; /* an allocation failed: see above */
} strbuf;

#define STRBUF_INIT                                                           \
    {                                                                         \
        NULL, 0, 0, false                                                     \
    }

/* Room for extra more bytes. Returns 0, or -1 when the buffer is (now)
 * failed. */
int sb_reserve(strbuf *sb, size_t extra);
void sb_append(strbuf *sb, const void *data, size_t n);
void sb_puts(strbuf *sb, const char *s);
void sb_putc(strbuf *sb, char c);
void sb_printf(strbuf *sb, const char *fmt, ...) SG_PRINTF(2, 3);
/* Append s with XML/HTML special characters escaped (&, <, >, ", '). */
void sb_put_xml(strbuf *sb, const char *s);
/* The same for the first n bytes of s (stopping early at a NUL). */
void sb_put_xml_n(strbuf *sb, const char *s, size_t n);
/* Empty the buffer (a failed one stays failed). */
void sb_clear(strbuf *sb);
/* Keep the first len bytes (len <= sb->len). */
void sb_truncate(strbuf *sb, size_t len);
void sb_free(strbuf *sb);
/* Return the contents ("" when empty); the buffer keeps ownership. */
const char *sb_str(const strbuf *sb);
static inline bool
sb_failed(const strbuf *sb)
{
    return sb->failed;
}
/* Write the whole buffer to path ("-" means stdout), atomically
 * (sg_output_write in common/output.h). Returns 0, or -1 with errno set
 * (ENOMEM for a failed buffer, which writes nothing). */
int sb_write_file(const strbuf *sb, const char *path);

#endif
