/* jsonread.c -- the strict, bounded JSON reader (see jsonread.h).
 *
 * One loop over the bytes with an explicit stack of open containers (at
 * most JR_MAX_DEPTH): the input decides nothing about the C stack. Every
 * value is appended to the flat array, containers get their end index when
 * they close. Errors name the line, which is what a person fixes.
 */
#include "common/jsonread.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/json.h"

typedef struct jr_parser {
    jr_doc *d;
    const char *s;
    size_t n, pos;
    const char *why; /* the error, NULL while none */
    size_t stack[JR_MAX_DEPTH];
    int depth;
} jr_parser;

static int
jr_fail(jr_parser *p, const char *why)
{
    if (!p->why)
        p->why = why;
    return -1;
}

static void
jr_ws(jr_parser *p)
{
    while (p->pos < p->n && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' ||
                             p->s[p->pos] == '\n' || p->s[p->pos] == '\r'))
        p->pos++;
}

/* A new value of type t; its index, or JR_NONE when out of memory. */
static size_t
jr_add(jr_parser *p, jr_type t)
{
    jr_doc *d = p->d;
    if (SG_GROW(d->v, d->cap, d->n + 1) < 0) {
        jr_fail(p, "out of memory");
        return JR_NONE;
    }
    jr_value *v = &d->v[d->n];
    memset(v, 0, sizeof *v);
    v->type = t;
    v->end = (uint32_t)(d->n + 1);
    if (p->depth > 0)
        d->v[p->stack[p->depth - 1]].len++;
    return d->n++;
}

static int
jr_put(jr_parser *p, const char *b, size_t k)
{
    jr_doc *d = p->d;
    if (SG_GROW(d->strings, d->cap_strings, d->n_strings + k) < 0)
        return jr_fail(p, "out of memory");
    memcpy(d->strings + d->n_strings, b, k);
    d->n_strings += k;
    return 0;
}

static int
jr_hex4(jr_parser *p, uint32_t *out)
{
    uint32_t c = 0;
    if (p->n - p->pos < 4)
        return jr_fail(p, "bad \\u escape");
    for (int i = 0; i < 4; i++) {
        char h = p->s[p->pos++];
        int v = h >= '0' && h <= '9'   ? h - '0'
                : h >= 'a' && h <= 'f' ? h - 'a' + 10
                : h >= 'A' && h <= 'F' ? h - 'A' + 10
                                       : -1;
        if (v < 0)
            return jr_fail(p, "bad \\u escape");
        c = c << 4 | (uint32_t)v;
    }
    *out = c;
    return 0;
}

/* A \uXXXX escape (a surrogate pair taken whole) as UTF-8. */
static int
jr_unicode(jr_parser *p)
{
    uint32_t c, lo;
    if (jr_hex4(p, &c) < 0)
        return -1;
    if (c >= 0xdc00 && c <= 0xdfff)
        return jr_fail(p, "lone surrogate in a \\u escape");
    if (c >= 0xd800 && c <= 0xdbff) {
        if (p->n - p->pos < 2 || p->s[p->pos] != '\\' ||
            p->s[p->pos + 1] != 'u')
            return jr_fail(p, "lone surrogate in a \\u escape");
        p->pos += 2;
        if (jr_hex4(p, &lo) < 0)
            return -1;
        if (lo < 0xdc00 || lo > 0xdfff)
            return jr_fail(p, "lone surrogate in a \\u escape");
        c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
    }
    if (c == 0)
        return jr_fail(p, "\\u0000 in a string");
    char u[4];
    size_t k;
    if (c < 0x80)
        u[0] = (char)c, k = 1;
    else if (c < 0x800)
        u[0] = (char)(0xc0 | c >> 6), u[1] = (char)(0x80 | (c & 0x3f)), k = 2;
    else if (c < 0x10000)
        u[0] = (char)(0xe0 | c >> 12), u[1] = (char)(0x80 | (c >> 6 & 0x3f)),
        u[2] = (char)(0x80 | (c & 0x3f)), k = 3;
    else
        u[0] = (char)(0xf0 | c >> 18), u[1] = (char)(0x80 | (c >> 12 & 0x3f)),
        u[2] = (char)(0x80 | (c >> 6 & 0x3f)),
        u[3] = (char)(0x80 | (c & 0x3f)), k = 4;
    return jr_put(p, u, k);
}

static int
jr_escape(jr_parser *p)
{
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    if (p->pos >= p->n)
        return jr_fail(p, "unterminated string");
    char e = p->s[p->pos++];
    if (e == 'u')
        return jr_unicode(p);
    const char *at = e ? strchr(from, e) : NULL;
    if (!at)
        return jr_fail(p, "bad escape in a string");
    return jr_put(p, &to[at - from], 1);
}

/* A string at p->pos (its opening quote). */
static int
jr_string(jr_parser *p)
{
    size_t i = jr_add(p, JR_STRING);
    if (i == JR_NONE)
        return -1;
    size_t start = p->d->n_strings;
    p->d->v[i].str = start;
    p->pos++;
    for (;;) {
        if (p->pos >= p->n)
            return jr_fail(p, "unterminated string");
        unsigned char c = (unsigned char)p->s[p->pos];
        if (c == '"')
            break;
        if (c < 0x20)
            return jr_fail(p, "control character in a string");
        if (c == '\\') {
            p->pos++;
            if (jr_escape(p) < 0)
                return -1;
            continue;
        }
        size_t k =
            json_utf8_len((const unsigned char *)p->s + p->pos, p->n - p->pos);
        if (k == 0)
            return jr_fail(p, "invalid UTF-8 in a string");
        if (jr_put(p, p->s + p->pos, k) < 0)
            return -1;
        p->pos += k;
    }
    p->pos++;
    size_t len = p->d->n_strings - start;
    if (len > UINT32_MAX)
        return jr_fail(p, "string too long");
    p->d->v[i].len = (uint32_t)len;
    return jr_put(p, "", 1);
}

static size_t
jr_digits(jr_parser *p)
{
    size_t k = 0;
    while (p->pos < p->n && p->s[p->pos] >= '0' && p->s[p->pos] <= '9')
        p->pos++, k++;
    return k;
}

/* A number, checked against the grammar, then converted. */
static int
jr_number(jr_parser *p)
{
    size_t start = p->pos;
    if (p->s[p->pos] == '-')
        p->pos++;
    if (p->pos < p->n && p->s[p->pos] == '0')
        p->pos++;
    else if (jr_digits(p) == 0)
        return jr_fail(p, "bad number");
    if (p->pos < p->n && p->s[p->pos] == '.') {
        p->pos++;
        if (jr_digits(p) == 0)
            return jr_fail(p, "bad number");
    }
    if (p->pos < p->n && (p->s[p->pos] == 'e' || p->s[p->pos] == 'E')) {
        p->pos++;
        if (p->pos < p->n && (p->s[p->pos] == '+' || p->s[p->pos] == '-'))
            p->pos++;
        if (jr_digits(p) == 0)
            return jr_fail(p, "bad number");
    }
    char tmp[128];
    size_t len = p->pos - start;
    if (len >= sizeof tmp)
        return jr_fail(p, "number too long");
    memcpy(tmp, p->s + start, len);
    tmp[len] = '\0';
    double v = strtod(tmp, NULL);
    if (!isfinite(v))
        return jr_fail(p, "number out of range");
    size_t i = jr_add(p, JR_NUMBER);
    if (i == JR_NONE)
        return -1;
    p->d->v[i].num = v;
    return 0;
}

static int
jr_literal(jr_parser *p, const char *word, jr_type t)
{
    size_t k = strlen(word);
    if (p->n - p->pos < k || memcmp(p->s + p->pos, word, k) != 0)
        return jr_fail(p, "not JSON");
    p->pos += k;
    return jr_add(p, t) == JR_NONE ? -1 : 0;
}

/* Open an array or object at p->pos. */
static int
jr_open(jr_parser *p, jr_type t)
{
    if (p->depth >= JR_MAX_DEPTH)
        return jr_fail(p, "nested too deep");
    size_t i = jr_add(p, t);
    if (i == JR_NONE)
        return -1;
    p->stack[p->depth++] = i;
    p->pos++;
    return 0;
}

/* One value at p->pos: a scalar whole, or a container opened. */
static int
jr_value_at(jr_parser *p)
{
    jr_ws(p);
    if (p->pos >= p->n)
        return jr_fail(p, "unexpected end");
    char c = p->s[p->pos];
    switch (c) {
    case '{':
        return jr_open(p, JR_OBJECT);
    case '[':
        return jr_open(p, JR_ARRAY);
    case '"':
        return jr_string(p);
    case 't':
        return jr_literal(p, "true", JR_TRUE);
    case 'f':
        return jr_literal(p, "false", JR_FALSE);
    case 'n':
        return jr_literal(p, "null", JR_NULL);
    default:
        if (c == '-' || (c >= '0' && c <= '9'))
            return jr_number(p);
        return jr_fail(p, "not JSON");
    }
}

/* An object's "key": at p->pos. */
static int
jr_key(jr_parser *p)
{
    jr_ws(p);
    if (p->pos >= p->n || p->s[p->pos] != '"')
        return jr_fail(p, "expected a key");
    if (jr_string(p) < 0)
        return -1;
    p->d->v[p->stack[p->depth - 1]].len--; /* members count pairs */
    jr_ws(p);
    if (p->pos >= p->n || p->s[p->pos] != ':')
        return jr_fail(p, "expected ':'");
    p->pos++;
    return 0;
}

static void
jr_close(jr_parser *p)
{
    jr_value *v = &p->d->v[p->stack[--p->depth]];
    v->end = (uint32_t)p->d->n;
    p->pos++;
}

/* After a value inside the innermost container: ',' and the next
 * element, or the container's end. Returns 1 when a value is due next. */
static int
jr_after(jr_parser *p)
{
    jr_ws(p);
    jr_type t = p->d->v[p->stack[p->depth - 1]].type;
    char close = t == JR_OBJECT ? '}' : ']';
    if (p->pos >= p->n)
        return jr_fail(p, "unexpected end");
    if (p->s[p->pos] == close) {
        jr_close(p);
        return 0;
    }
    if (p->s[p->pos] != ',')
        return jr_fail(p, t == JR_OBJECT ? "expected ',' or '}'"
                                         : "expected ',' or ']'");
    p->pos++;
    if (t == JR_OBJECT && jr_key(p) < 0)
        return -1;
    return 1;
}

/* Just after a container opened: its end, or its first element. */
static int
jr_first(jr_parser *p)
{
    jr_ws(p);
    jr_type t = p->d->v[p->stack[p->depth - 1]].type;
    if (p->pos < p->n && p->s[p->pos] == (t == JR_OBJECT ? '}' : ']')) {
        jr_close(p);
        return 0;
    }
    if (t == JR_OBJECT && jr_key(p) < 0)
        return -1;
    return 1;
}

static int
jr_run(jr_parser *p)
{
    bool want = true; /* a value is due */
    for (;;) {
        if (want) {
            int depth = p->depth;
            if (jr_value_at(p) < 0)
                return -1;
            if (p->depth > depth) { /* a container opened */
                int r = jr_first(p);
                if (r < 0)
                    return -1;
                want = r == 1;
                continue;
            }
        }
        if (p->depth == 0)
            break;
        int r = jr_after(p);
        if (r < 0)
            return -1;
        want = r == 1;
    }
    jr_ws(p);
    if (p->pos != p->n)
        return jr_fail(p, "data after the document");
    return 0;
}

int
jr_parse(jr_doc *d, const char *buf, size_t n, char *err, size_t errn)
{
    jr_parser p;
    memset(&p, 0, sizeof p);
    memset(d, 0, sizeof *d);
    p.d = d;
    p.s = buf;
    p.n = n;
    if (n >= JR_MAX_INPUT) {
        snprintf(err, errn, "too large for a JSON profile");
        return -1;
    }
    if (jr_run(&p) == 0)
        return 0;
    size_t line = 1;
    for (size_t i = 0; i < p.pos && i < n; i++)
        line += buf[i] == '\n';
    snprintf(err, errn, "line %zu: %s", line, p.why);
    jr_free(d);
    return -1;
}

void
jr_free(jr_doc *d)
{
    free(d->v);
    free(d->strings);
    memset(d, 0, sizeof *d);
}

size_t
jr_member(const jr_doc *d, size_t obj, const char *key)
{
    if (obj >= d->n || d->v[obj].type != JR_OBJECT)
        return JR_NONE;
    for (size_t k = obj + 1; k < d->v[obj].end; k = d->v[k + 1].end)
        if (strcmp(d->strings + d->v[k].str, key) == 0)
            return k + 1;
    return JR_NONE;
}

const char *
jr_str(const jr_doc *d, size_t i)
{
    return i < d->n && d->v[i].type == JR_STRING ? d->strings + d->v[i].str
                                                 : NULL;
}
