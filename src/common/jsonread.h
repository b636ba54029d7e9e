/* jsonread.h -- a strict, bounded JSON reader (RFC 8259) for files that
 * spyglass reads back (speedscope profiles).
 *
 * The document becomes one flat array of values in preorder: a container
 * is followed by its elements (an object's as key, value, key, value...)
 * and knows the index just past its last descendant, so walking it needs
 * no recursion. Nesting is bounded by JR_MAX_DEPTH, every size is checked,
 * strings must be valid UTF-8 and are stored decoded, NUL-terminated.
 * Nothing here exits: out of memory is an error like any other.
 */
#ifndef SG_JSONREAD_H
#define SG_JSONREAD_H

#include <stddef.h>
#include <stdint.h>

#define JR_MAX_DEPTH 64
/* Larger inputs are refused (values are numbered in 32 bits). */
#define JR_MAX_INPUT ((size_t)1 << 31)
#define JR_NONE ((size_t)-1)

typedef enum jr_type {
    JR_NULL,
    JR_FALSE,
    JR_TRUE,
    JR_NUMBER,
    JR_STRING,
    JR_ARRAY,
    JR_OBJECT,
} jr_type;

typedef struct jr_value {
    jr_type type;
    uint32_t end; /* the index just past this value and its elements */
    uint32_t len; /* array: elements; object: members; string: bytes */
    double num;   /* a number's value */
    size_t str;   /* a string's offset in jr_doc.strings */
} jr_value;

typedef struct jr_doc {
    jr_value *v;
    size_t n, cap;
    char *strings;
    size_t n_strings, cap_strings;
} jr_doc;

/* Parse buf[0..n) into d (zeroed). Returns 0; or -1 with the reason and
 * its line in err ("out of memory" included), d then freed. */
int jr_parse(jr_doc *d, const char *buf, size_t n, char *err, size_t errn);
void jr_free(jr_doc *d);

/* The value of key in the object at index obj, or JR_NONE (also when obj
 * is not an object). The first member of that name wins. */
size_t jr_member(const jr_doc *d, size_t obj, const char *key);
/* A string value's text (NULL when i is not a string). */
const char *jr_str(const jr_doc *d, size_t i);
/* The element after i in its container. */
static inline size_t
jr_next(const jr_doc *d, size_t i)
{
    return d->v[i].end;
}

#endif
