/* lprof.c -- the .lprof file: a pickle of line_profiler's LineStats.
 *
 * The class is named line_profiler._line_profiler.LineStats, which exists
 * in line_profiler 4.x and 5.x (5.x's loader only reads .timings and .unit,
 * so it accepts the 4.x class). The object is built the way pickle builds a
 * plain class instance: NEWOBJ with no arguments, then BUILD with the state
 * dict {'timings': {(file, first_line, name): [(line, hits, ns), ...]},
 * 'unit': 1e-09}, keyed (file, first line, name) as line_profiler keys
 * them. Protocol 4, without the optional FRAME and memo opcodes.
 */
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "writers/lines.h"
#include "writers/writers.h"

/* Pickle opcodes used here (Lib/pickletools.py). */
#define OP_PROTO '\x80'
#define OP_STOP '.'
#define OP_MARK '('
#define OP_EMPTY_TUPLE ')'
#define OP_TUPLE3 '\x87'
#define OP_EMPTY_LIST ']'
#define OP_APPENDS 'e'
#define OP_EMPTY_DICT '}'
#define OP_SETITEMS 'u'
#define OP_SHORT_BINUNICODE '\x8c'
#define OP_BINUNICODE 'X'
#define OP_STACK_GLOBAL '\x93'
#define OP_NEWOBJ '\x81'
#define OP_BUILD 'b'
#define OP_BININT1 'K'
#define OP_BININT2 'M'
#define OP_BININT 'J'
#define OP_LONG1 '\x8a'
#define OP_BINFLOAT 'G'

static void
put_str(strbuf *sb, const char *s)
{
    size_t n = strlen(s);
    if (n < 256) {
        sb_putc(sb, OP_SHORT_BINUNICODE);
        sb_putc(sb, (char)n);
    } else {
        sb_putc(sb, OP_BINUNICODE);
        for (int i = 0; i < 4; i++)
            sb_putc(sb, (char)((n >> (8 * i)) & 0xff));
    }
    sb_append(sb, s, n);
}

/* A non-negative integer in the smallest encoding pickle would choose. */
static void
put_uint(strbuf *sb, uint64_t v)
{
    if (v < 256) {
        sb_putc(sb, OP_BININT1);
        sb_putc(sb, (char)v);
    } else if (v < 65536) {
        sb_putc(sb, OP_BININT2);
        sb_putc(sb, (char)(v & 0xff));
        sb_putc(sb, (char)(v >> 8));
    } else if (v < 0x80000000u) {
        sb_putc(sb, OP_BININT);
        for (int i = 0; i < 4; i++)
            sb_putc(sb, (char)((v >> (8 * i)) & 0xff));
    } else {
        /* LONG1: little-endian two's complement; one more byte when the
         * top bit is set, so that the value stays positive. */
        unsigned char b[9];
        int n = 0;
        uint64_t x = v;
        while (x) {
            b[n++] = (unsigned char)(x & 0xff);
            x >>= 8;
        }
        if (b[n - 1] & 0x80)
            b[n++] = 0;
        sb_putc(sb, OP_LONG1);
        sb_putc(sb, (char)n);
        sb_append(sb, b, (size_t)n);
    }
}

static void
put_int(strbuf *sb, int32_t v)
{
    if (v >= 0) {
        put_uint(sb, (uint64_t)v);
        return;
    }
    sb_putc(sb, OP_BININT);
    uint32_t u = (uint32_t)v;
    for (int i = 0; i < 4; i++)
        sb_putc(sb, (char)((u >> (8 * i)) & 0xff));
}

static void
put_float(strbuf *sb, double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    sb_putc(sb, OP_BINFLOAT);
    for (int i = 7; i >= 0; i--)
        sb_putc(sb, (char)((u >> (8 * i)) & 0xff));
}

int
sg_write_lprof(strbuf *sb, const sg_profile *p, int ns_metric)
{
    sb_putc(sb, OP_PROTO);
    sb_putc(sb, 4);
    put_str(sb, "line_profiler._line_profiler");
    put_str(sb, "LineStats");
    sb_putc(sb, OP_STACK_GLOBAL);
    sb_putc(sb, OP_EMPTY_TUPLE);
    sb_putc(sb, OP_NEWOBJ);
    sb_putc(sb, OP_EMPTY_DICT);
    sb_putc(sb, OP_MARK);
    put_str(sb, "timings");
    sb_putc(sb, OP_EMPTY_DICT);
    int any = 0;
    for (size_t f = 0; f < p->n_funcs; f++) {
        const sg_func *fn = &p->funcs[f];
        if (fn->kind != SG_FUNC_PYTHON)
            continue;
        if (!any)
            sb_putc(sb, OP_MARK);
        any = 1;
        put_str(sb, fn->file);
        put_int(sb, fn->first_line);
        /* The model's name is the one line_profiler's label() gives:
         * co_qualname on 3.11+, co_name before (agent/lines.c). */
        put_str(sb, fn->name);
        sb_putc(sb, OP_TUPLE3);
        sb_putc(sb, OP_EMPTY_LIST);
        sg_line *lines;
        size_t n = sg_lines_of_func(p, (sg_func_id)f, &lines);
        if (!lines)
            return SG_WRITE_NOMEM;
        size_t shown = 0;
        for (size_t i = 0; i < n; i++) {
            if (!lines[i].hits)
                continue;
            if (!shown++)
                sb_putc(sb, OP_MARK);
            put_int(sb, lines[i].line);
            put_uint(sb, lines[i].hits);
            put_uint(sb, lines[i].m[ns_metric]);
            sb_putc(sb, OP_TUPLE3);
        }
        if (shown)
            sb_putc(sb, OP_APPENDS);
        free(lines);
    }
    if (any)
        sb_putc(sb, OP_SETITEMS);
    put_str(sb, "unit");
    put_float(sb, 1e-9);
    sb_putc(sb, OP_SETITEMS);
    sb_putc(sb, OP_BUILD);
    sb_putc(sb, OP_STOP);
    return 0;
}

/* The registry's entry points (writers.h): for a line profile, even one
 * with no lines (the selected functions never ran). */
static int
ns_metric_of(const sg_profile *p, const char *what)
{
    int m = sg_profile_metric(p, "ns");
    if (m < 0 || p->kind != SG_PROFILE_LINES) {
        sg_error("%s needs per-line timings (spyglass lines)", what);
        return -1;
    }
    return m;
}

int
sg_writer_lprof(const sg_profile *p, const writer_opts *o, strbuf *out)
{
    int m = ns_metric_of(p, "the lprof format");
    if (m < 0)
        return -1;
    return sg_write_lprof(out, p, m);
}

int
sg_writer_linetext(const sg_profile *p, const writer_opts *o, strbuf *out)
{
    int m = ns_metric_of(p, "the kernprof table");
    if (m < 0)
        return -1;
    return sg_write_linetext(out, p, m, o->unit > 0 ? o->unit : 1e-6);
}
