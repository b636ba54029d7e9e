/* linetext.c -- kernprof -l -v's table (line_profiler's show_func and
 * show_text, 4.x/5.x plain-text layout) from the profile model.
 *
 * Every number is formatted the way line_profiler formats it ('%5.1f',
 * falling back to '%5.3g' when wider than the column, '%d' hits falling
 * back to '%g'), and the columns widen to the widest cell, so that the
 * output can be compared with kernprof's byte for byte.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/alloc.h"
#include "common/sort.h"
#include "writers/lines.h"
#include "writers/writers.h"

/* line_profiler's minimum column widths (rc/line_profiler.toml). */
#define W_LINE 6
#define W_HITS 9
#define W_TIME 12
#define W_PERHIT 8
#define W_PERCENT 8

static int
cmp_line(const void *a, const void *b)
{
    const sg_line *x = a, *y = b;
    return (x->line > y->line) - (x->line < y->line);
}

size_t
sg_lines_of_func(const sg_profile *p, sg_func_id f, sg_line **out)
{
    size_t n = 0;
    for (size_t i = 0; i < p->n_lines; i++)
        n += p->lines[i].func == f;
    sg_line *v = sg_calloc(n, sizeof *v);
    *out = v;
    if (!v)
        return 0;
    n = 0;
    for (size_t i = 0; i < p->n_lines; i++)
        if (p->lines[i].func == f)
            v[n++] = p->lines[i];
    sg_sort(v, n, sizeof *v, cmp_line);
    return n;
}

/* ---- the code block of a function, as inspect.getblock sees it ---- */

typedef struct scan_state {
    char quote; /* the quote of an open string, 0 when none */
    int triple; /* that string is triple-quoted */
    int depth;  /* open brackets */
    int cont;   /* the previous line ended with a backslash */
} scan_state;

/* Scan one physical line [s, e), updating st. Sets *code when the line has
 * a token outside strings and comments that starts a logical line. */
static void
scan_line(const char *s, const char *e, scan_state *st, int *has_code)
{
    *has_code = 0;
    st->cont = 0;
    for (const char *c = s; c < e; c++) {
        if (st->quote) {
            if (*c == '\\') {
                c++;
                continue;
            }
            if (*c != st->quote)
                continue;
            if (!st->triple) {
                st->quote = 0;
            } else if (c + 2 < e && c[1] == st->quote && c[2] == st->quote) {
                st->quote = 0;
                c += 2;
            }
            continue;
        }
        switch (*c) {
        case '#':
            return;
        case ' ':
        case '\t':
        case '\f':
        case '\r':
            break;
        case '\\':
            if (c + 1 == e || c[1] == '\r')
                st->cont = 1;
            break;
        case '\'':
        case '"':
            *has_code = 1;
            st->quote = *c;
            st->triple = c + 2 < e && c[1] == *c && c[2] == *c;
            if (st->triple)
                c += 2;
            break;
        case '(':
        case '[':
        case '{':
            *has_code = 1;
            st->depth++;
            break;
        case ')':
        case ']':
        case '}':
            *has_code = 1;
            if (st->depth > 0)
                st->depth--;
            break;
        default:
            *has_code = 1;
            break;
        }
    }
}

static int
indent_of(const char *s, const char *e)
{
    int col = 0;
    for (; s < e; s++) {
        if (*s == ' ')
            col++;
        else if (*s == '\t')
            col = (col / 8 + 1) * 8;
        else if (*s != '\f')
            break;
    }
    return col;
}

int
sg_source_block_end(const char *text, size_t len, int first)
{
    const char *p = text, *end = text + len;
    int lineno = 1;
    while (lineno < first && p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        p = nl ? nl + 1 : end;
        lineno++;
    }
    if (p >= end)
        return first;
    scan_state st = {0, 0, 0, 0};
    int base = -1;       /* indentation of the block's first line */
    int header_done = 0; /* the def/class line (after decorators) ended */
    int decorator = 0;   /* the current logical line starts with '@' */
    int last = first;    /* last line of the last complete statement */
    for (; p < end; lineno++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *e = nl ? nl : end;
        int continuing = st.quote || st.depth || st.cont;
        int code;
        int ind = indent_of(p, e);
        scan_line(p, e, &st, &code);
        if (!continuing && code) {
            /* A new logical line. */
            if (base < 0)
                base = ind;
            else if (header_done && ind <= base)
                break; /* dedent: the block ended before this line */
            const char *q = p;
            while (q < e && (*q == ' ' || *q == '\t' || *q == '\f'))
                q++;
            decorator = *q == '@';
        }
        int complete = !st.quote && !st.depth && !st.cont;
        if (complete && (code || continuing) && base >= 0) {
            /* Decorators are statements of their own; the header is the
             * first logical line that is not one. */
            if (!decorator)
                header_done = 1;
            last = lineno;
        }
        p = nl ? nl + 1 : end;
    }
    return last;
}

/* ---- the table ---- */

typedef struct cells {
    char hits[48], time[48], perhit[48], percent[16];
} cells;

/* Python's `'%d'`-or-`'%g'` and `'%5.1f'`-or-`'%5.3g'` choices. */
static void
fmt_cells(cells *c, const sg_line *l, uint64_t ns, uint64_t total,
          double scalar)
{
    if (total == 0)
        c->percent[0] = '\0';
    else
        snprintf(c->percent, sizeof c->percent, "%5.1f",
                 100 * (double)ns / (double)total);
    double t = (double)ns * scalar;
    snprintf(c->time, sizeof c->time, "%5.1f", t);
    if (strlen(c->time) > W_TIME)
        snprintf(c->time, sizeof c->time, "%5.3g", t);
    double ph = (double)ns * scalar / (double)l->hits;
    snprintf(c->perhit, sizeof c->perhit, "%5.1f", ph);
    if (strlen(c->perhit) > W_PERHIT)
        snprintf(c->perhit, sizeof c->perhit, "%5.3g", ph);
    snprintf(c->hits, sizeof c->hits, "%llu", (unsigned long long)l->hits);
    if (strlen(c->hits) > W_HITS)
        snprintf(c->hits, sizeof c->hits, "%g", (double)l->hits);
}

static sg_source_reader *source_fallback;

void
sg_set_source_fallback(sg_source_reader *reader)
{
    source_fallback = reader;
}

char *
sg_read_source(const char *path, size_t *len, bool *oom)
{
    struct stat sb;
    *oom = false;
    if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
        return source_fallback ? source_fallback(path, len, oom) : NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = (size_t)sb.st_size + 1, n = 0;
    char *buf = sg_malloc(cap + 1);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            char *more = sg_realloc(buf, 2 * cap + 1);
            if (!more) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = more;
            cap *= 2;
        }
    }
    fclose(f);
    if (!buf) {
        *oom = true;
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

const char *
sg_source_line(const char *text, size_t len, int lineno, size_t *n)
{
    const char *p = text, *end = text + len;
    for (int i = 1; i < lineno && p < end; i++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        p = nl ? nl + 1 : end;
    }
    if (p >= end)
        return NULL;
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    const char *e = nl ? nl : end;
    while (e > p && e[-1] == '\r')
        e--;
    *n = (size_t)(e - p);
    return p;
}

static int
show_func(strbuf *sb, const sg_profile *p, sg_func_id f, int ns_metric,
          double output_unit)
{
    const sg_func *fn = &p->funcs[f];
    sg_line *lines;
    size_t n = sg_lines_of_func(p, f, &lines);
    size_t srclen = 0;
    bool oom;
    char *src = lines ? sg_read_source(fn->file, &srclen, &oom) : NULL;
    /* Cells, and the column widths they need. */
    cells *c = lines && !oom ? sg_calloc(n, sizeof *c) : NULL;
    if (!c) {
        free(src);
        free(lines);
        return SG_WRITE_NOMEM;
    }
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += lines[i].m[ns_metric];
    const double unit = 1e-9;
    double scalar = unit / output_unit;
    sb_printf(sb, "Total time: %g s\n", (double)total * unit);

    int start = fn->first_line, stop;
    if (src) {
        sb_puts(sb, "File: ");
        sg_writer_put_name(sb, fn->file);
        sb_puts(sb, "\nFunction: ");
        sg_writer_put_name(sb, fn->name);
        sb_printf(sb, " at line %d\n", start);
        stop = sg_source_block_end(src, srclen, start);
    } else {
        sb_puts(sb, "\n");
        sb_puts(sb, "Could not find file ");
        sg_writer_put_name(sb, fn->file);
        sb_putc(sb, '\n');
        sb_puts(sb, "Are you sure you are running this program from the "
                    "same directory\nthat you ran the profiler from?\n"
                    "Continuing without the function's contents.\n");
        int lo = start, hi = start;
        for (size_t i = 0; i < n; i++) {
            if (lines[i].line < lo)
                lo = lines[i].line;
            if (lines[i].line > hi)
                hi = lines[i].line;
        }
        stop = n ? start + (hi - lo) : start;
    }

    size_t wh = W_HITS, wt = W_TIME, wp = W_PERHIT;
    for (size_t i = 0; i < n; i++) {
        fmt_cells(&c[i], &lines[i], lines[i].m[ns_metric], total, scalar);
        if (strlen(c[i].hits) > wh)
            wh = strlen(c[i].hits);
        if (strlen(c[i].time) > wt)
            wt = strlen(c[i].time);
        if (strlen(c[i].perhit) > wp)
            wp = strlen(c[i].perhit);
    }
    int whi = (int)wh, wti = (int)wt, wpi = (int)wp;
    size_t before = sb->len;
    sb_printf(sb, "\n%*s %*s %*s %*s %*s  %s", W_LINE, "Line #", whi, "Hits",
              wti, "Time", wpi, "Per Hit", W_PERCENT, "% Time",
              "Line Contents");
    size_t hlen = sb->len - before - 1;
    sb_putc(sb, '\n');
    for (size_t i = 0; i < hlen; i++)
        sb_putc(sb, '=');
    sb_putc(sb, '\n');
    size_t k = 0;
    for (int ln = start; ln <= stop; ln++) {
        while (k < n && lines[k].line < ln)
            k++;
        const cells *cl = NULL;
        static const cells empty = {"", "", "", ""};
        cl = (k < n && lines[k].line == ln) ? &c[k] : &empty;
        sb_printf(sb, "%*d %*s %*s %*s %*s  ", W_LINE, ln, whi, cl->hits, wti,
                  cl->time, wpi, cl->perhit, W_PERCENT, cl->percent);
        size_t tl = 0;
        const char *t = src ? sg_source_line(src, srclen, ln, &tl) : NULL;
        if (t)
            sb_append(sb, t, tl);
        sb_putc(sb, '\n');
    }
    sb_putc(sb, '\n');
    free(c);
    free(src);
    free(lines);
    return 0;
}

int
sg_write_linetext(strbuf *sb, const sg_profile *p, int ns_metric,
                  double output_unit)
{
    sb_printf(sb, "Timer unit: %g s\n\n", output_unit);
    for (size_t f = 0; f < p->n_funcs; f++)
        if (p->funcs[f].kind == SG_FUNC_PYTHON &&
            show_func(sb, p, (sg_func_id)f, ns_metric, output_unit) < 0)
            return SG_WRITE_NOMEM;
    return 0;
}
