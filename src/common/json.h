/* json.h -- a small streaming JSON writer into a strbuf.
 *
 * The writer tracks nesting so callers never place commas by hand. Strings
 * are escaped, and bytes that are not valid UTF-8 (names read from another
 * process can be anything) become U+FFFD, so the output always parses.
 */
#ifndef SG_JSON_H
#define SG_JSON_H

#include <stdbool.h>
#include <stdint.h>

#include "common/strbuf.h"

#define JSON_MAX_DEPTH 64

typedef struct json_writer {
    strbuf *sb;
    int depth;
    bool pretty;
    bool first[JSON_MAX_DEPTH]; /* no element written yet at this depth */
    bool after_key;             /* a key was written, its value is next */
} json_writer;

void json_init(json_writer *j, strbuf *sb, bool pretty);
void json_begin_object(json_writer *j);
void json_end_object(json_writer *j);
void json_begin_array(json_writer *j);
void json_end_array(json_writer *j);
void json_key(json_writer *j, const char *key);
void json_string(json_writer *j, const char *s);
void json_string_n(json_writer *j, const char *s, size_t n);
void json_int(json_writer *j, int64_t v);
void json_uint(json_writer *j, uint64_t v);
/* Non-finite values are written as null. */
void json_double(json_writer *j, double v);
void json_bool(json_writer *j, bool v);
void json_null(json_writer *j);
/* Length of the valid UTF-8 sequence at s (at most n > 0 bytes), or 0
 * (overlong forms, surrogates and values past U+10FFFF are not valid). */
size_t json_utf8_len(const unsigned char *s, size_t n);
/* Append s as a quoted, escaped JSON string without any comma logic. */
void json_put_quoted(strbuf *sb, const char *s, size_t n);

#endif
