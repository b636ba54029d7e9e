/* dis.c -- the annotated `dis` listing as text or JSON (writers/dis.h). */
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/json.h"
#include "common/sort.h"
#include "writers/dis.h"

#define DIS_BAR 10 /* characters of a 100% bar */

static double
dis_share(uint64_t count, uint64_t total)
{
    return total ? (double)count / (double)total : 0.0;
}

/* count, share and bar, then the separator: the columns on the left. */
static void
dis_columns(strbuf *out, const sg_instr_row *r, uint64_t total)
{
    if (!r || r->unknown) {
        sb_printf(out, "%*s%*s| ", 12, r ? "-" : "", 1 + 7 + 1 + DIS_BAR + 1,
                  "");
        return;
    }
    double s = dis_share(r->count, total);
    char bar[DIS_BAR + 1];
    int n = (int)(s * DIS_BAR + 0.5);
    memset(bar, '#', (size_t)n);
    if (n == 0 && r->count > 0)
        bar[n++] = '.'; /* ran, but less than half a character's share */
    bar[n] = '\0';
    sb_printf(out, "%12llu %6.1f%% %-*s | ", (unsigned long long)r->count,
              100.0 * s, DIS_BAR, bar);
}

/* A row of the listing; trailing blanks trimmed (a blank dis line). */
static void
dis_text_row(strbuf *out, const sg_instr_row *r, uint64_t total)
{
    size_t start = out->len;
    if (r->kind == SG_ROW_INSTR) {
        dis_columns(out, r, total);
        sb_puts(out, r->text);
    } else {
        dis_columns(out, NULL, total);
        if (r->kind == SG_ROW_SOURCE) {
            /* The program's text: control characters shown, not sent. */
            sb_printf(out, "# %d: ", r->line);
            sg_writer_put_name(out, r->text);
        } else {
            sb_puts(out, r->text);
        }
    }
    size_t end = out->len;
    while (end > start && out->data && out->data[end - 1] == ' ')
        end--;
    sb_truncate(out, end);
    sb_putc(out, '\n');
}

static int
dis_by_count(const void *a, const void *b)
{
    const sg_instr_row *x = *(const sg_instr_row *const *)a;
    const sg_instr_row *y = *(const sg_instr_row *const *)b;
    if (x->count != y->count)
        return x->count < y->count ? 1 : -1;
    return (x->offset > y->offset) - (x->offset < y->offset);
}

/* The top o->top instructions of b by count, each with its line. */
static int
dis_text_top(strbuf *out, const sg_instr_block *b, long top)
{
    const sg_instr_row **v = sg_calloc(b->n_rows ? b->n_rows : 1, sizeof *v);
    if (!v)
        return -1;
    size_t n = 0;
    for (size_t i = 0; i < b->n_rows; i++)
        if (b->rows[i].kind == SG_ROW_INSTR)
            v[n++] = &b->rows[i];
    sg_sort(v, n, sizeof *v, dis_by_count);
    for (size_t i = 0; i < n && (long)i < top; i++) {
        dis_columns(out, v[i], b->total);
        sb_puts(out, v[i]->text);
        if (v[i]->line >= 0)
            sb_printf(out, "    # line %d", v[i]->line);
        sb_putc(out, '\n');
    }
    if ((long)n > top)
        sb_printf(out, "(%ld of %zu instructions shown)\n", top, n);
    free(v);
    return 0;
}

static int
dis_text(const sg_instr_listing *l, const dis_opts *o, strbuf *out)
{
    sb_printf(out, "spyglass dis: %s, per instruction (CPython %s%s)\n",
              l->counted, l->python,
              l->adaptive ? ", specialised instructions" : "");
    if (l->n_blocks == 0)
        sb_puts(out, "\nNo selected code ran.\n");
    for (size_t i = 0; i < l->n_blocks; i++) {
        const sg_instr_block *b = &l->blocks[i];
        sb_puts(out, "\nFunction: ");
        sg_writer_put_name(out, b->name);
        sb_puts(out, " at ");
        sg_writer_put_name(out, b->file);
        sb_printf(out, ":%d\nTotal: %llu %s\n\n", b->line,
                  (unsigned long long)b->total, l->counted);
        sb_printf(out, "%12s %7s %-*s | %s\n", "Count", "Share", DIS_BAR, "",
                  o->top > 0 ? "Instruction" : "dis.dis");
        if (o->top > 0) {
            if (dis_text_top(out, b, o->top) < 0)
                return SG_WRITE_NOMEM;
            continue;
        }
        for (size_t k = 0; k < b->n_rows; k++)
            dis_text_row(out, &b->rows[k], b->total);
    }
    return sb_failed(out) ? SG_WRITE_NOMEM : 0;
}

static void
dis_json_row(json_writer *j, const sg_instr_row *r)
{
    static const char *const kinds[] = {
        [SG_ROW_INSTR] = "instruction",
        [SG_ROW_SOURCE] = "source",
        [SG_ROW_OTHER] = "other",
    };
    json_begin_object(j);
    json_key(j, "kind");
    json_string(j, kinds[r->kind]);
    if (r->kind == SG_ROW_INSTR) {
        json_key(j, "offset");
        json_int(j, r->offset);
        json_key(j, "opname");
        json_string(j, r->opname);
        json_key(j, "count");
        if (r->unknown)
            json_null(j);
        else
            json_uint(j, r->count);
    }
    if (r->kind != SG_ROW_OTHER) {
        json_key(j, "line");
        if (r->line >= 0)
            json_int(j, r->line);
        else
            json_null(j);
    }
    json_key(j, "text");
    json_string(j, r->text);
    json_end_object(j);
}

static int
dis_json(const sg_instr_listing *l, strbuf *out)
{
    json_writer j;
    json_init(&j, out, false);
    json_begin_object(&j);
    json_key(&j, "python");
    json_string(&j, l->python);
    json_key(&j, "counted");
    json_string(&j, l->counted);
    json_key(&j, "adaptive");
    json_bool(&j, l->adaptive);
    json_key(&j, "functions");
    json_begin_array(&j);
    for (size_t i = 0; i < l->n_blocks; i++) {
        const sg_instr_block *b = &l->blocks[i];
        json_begin_object(&j);
        json_key(&j, "name");
        json_string(&j, b->name);
        json_key(&j, "file");
        json_string(&j, b->file);
        json_key(&j, "line");
        json_int(&j, b->line);
        json_key(&j, "total");
        json_uint(&j, b->total);
        json_key(&j, "rows");
        json_begin_array(&j);
        for (size_t k = 0; k < b->n_rows; k++)
            dis_json_row(&j, &b->rows[k]);
        json_end_array(&j);
        json_end_object(&j);
    }
    json_end_array(&j);
    json_end_object(&j);
    sb_putc(out, '\n');
    return sb_failed(out) ? SG_WRITE_NOMEM : 0;
}

int
sg_write_dis(const sg_instr_listing *l, const sg_writer *w, const dis_opts *o,
             strbuf *out)
{
    if (w->id == SG_FMT_JSON)
        return dis_json(l, out);
    return dis_text(l, o, out);
}
