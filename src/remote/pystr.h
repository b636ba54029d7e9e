/* pystr.h -- CPython str payloads (latin-1, UCS-2, UCS-4) to UTF-8.
 *
 * Pure: the reader copies the code points out of the target, this turns
 * them into UTF-8. Code points that UTF-8 cannot carry (lone surrogates,
 * values past U+10FFFF from a torn read) become U+FFFD; a NUL, which
 * would end the C string, is written as the four characters \x00.
 */
#ifndef SG_REMOTE_PYSTR_H
#define SG_REMOTE_PYSTR_H

#include <stddef.h>
#include <stdint.h>

#include "common/strbuf.h"

/* Append n code points of the given kind (1, 2 or 4 bytes each) from data
 * as UTF-8. */
void pystr_to_utf8(strbuf *out, const void *data, size_t n, unsigned kind);

#endif
