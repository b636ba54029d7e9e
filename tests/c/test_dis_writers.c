/* Unit tests for per-instruction results (src/model/instr.c) and the dis
 * listing's formats (src/writers/dis.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "model/instr.h"
#include "writers/dis.h"

static sg_instr_listing *
sample_listing(void)
{
    sg_instr_listing *l = sg_instr_listing_new("3.12.1", "instructions");
    sg_instr_block *b = sg_instr_block_add(l, "f", "/t/x.py", 3);
    CHECK(b != NULL);
    CHECK(sg_instr_row_add(b, SG_ROW_SOURCE, "t += i", NULL, 0, 4, 0) == 0);
    CHECK(sg_instr_row_add(b, SG_ROW_INSTR, "  4   0 RESUME   0", "RESUME", 0,
                           4, 0) == 0);
    b->rows[b->n_rows - 1].unknown = true;
    CHECK(sg_instr_row_add(b, SG_ROW_INSTR, "      2 LOAD_FAST  1 (t)",
                           "LOAD_FAST", 2, 4, 1) == 0);
    CHECK(sg_instr_row_add(b, SG_ROW_OTHER, "", NULL, 0, -1, 0) == 0);
    CHECK(sg_instr_row_add(b, SG_ROW_INSTR, "      4 BINARY_OP  0 (+)",
                           "BINARY_OP", 4, 4, 999) == 0);
    CHECK(b->total == 1000);
    return l;
}

static void
test_text(void)
{
    sg_instr_listing *l = sample_listing();
    strbuf sb = STRBUF_INIT;
    dis_opts o = {0};
    CHECK(sg_write_dis(l, sg_writer_by_name("text"), &o, &sb) == 0);
    const char *s = sb_str(&sb);
    /* Count, share and bar on the left of dis's unchanged text; a row
     * that cannot be counted shows "-", a blank dis line stays blank. */
    CHECK(strstr(s, "Total: 1000 instructions\n") != NULL);
    CHECK(strstr(s, "\n           -                    |   4   0 RESUME   "
                    "0\n") != NULL);
    CHECK(strstr(s, "\n           1    0.1% .          |       2 LOAD_FAST"
                    "  1 (t)\n") != NULL);
    CHECK(strstr(s, "\n         999   99.9% ########## |       4 BINARY_OP"
                    "  0 (+)\n") != NULL);
    CHECK(strstr(s, "|\n") != NULL);
    CHECK(strstr(s, "| # 4: t += i\n") != NULL);
    sb_free(&sb);

    /* --top 1: the busiest instruction only, with its line. */
    o.top = 1;
    CHECK(sg_write_dis(l, sg_writer_by_name("text"), &o, &sb) == 0);
    s = sb_str(&sb);
    CHECK(strstr(s, "BINARY_OP  0 (+)    # line 4\n") != NULL);
    CHECK(strstr(s, "LOAD_FAST") == NULL);
    CHECK(strstr(s, "(1 of 3 instructions shown)") != NULL);
    sb_free(&sb);
    sg_instr_listing_free(l);
}

static void
test_json(void)
{
    sg_instr_listing *l = sample_listing();
    strbuf sb = STRBUF_INIT;
    dis_opts o = {0};
    CHECK(sg_write_dis(l, sg_writer_by_name("json"), &o, &sb) == 0);
    const char *s = sb_str(&sb);
    CHECK(strstr(s, "\"python\":\"3.12.1\"") != NULL);
    CHECK(strstr(s, "{\"kind\":\"instruction\",\"offset\":0,\"opname\":"
                    "\"RESUME\",\"count\":null,\"line\":4") != NULL);
    CHECK(strstr(s, "\"opname\":\"BINARY_OP\",\"count\":999") != NULL);
    CHECK(strstr(s, "{\"kind\":\"source\",\"line\":4,\"text\":\"t += i\"}") !=
          NULL);
    sb_free(&sb);
    sg_instr_listing_free(l);
}

static void
test_table(void)
{
    sg_instr_table *t = sg_instr_table_new();
    sg_instr_hit *h = sg_instr_table_hit(t, 7, 48);
    CHECK(h && h->self == 0 && h->opcode == -1);
    h->self = 5;
    CHECK(sg_instr_table_hit(t, 7, 48)->self == 5);
    CHECK(sg_instr_table_hit(t, 8, 48)->self == 0);
    CHECK(sg_instr_table_hit(t, 7, 50)->self == 0);
    CHECK(t->n == 3);
    /* Out of memory: NULL, the table unchanged. */
    sg_alloc_fail_at(0);
    for (int i = 0; i < 200; i++)
        if (!sg_instr_table_hit(t, 9, i * 2))
            break;
    sg_alloc_fail_at(-1);
    CHECK(sg_instr_table_hit(t, 7, 48)->self == 5);
    sg_instr_table_free(t);
}

static void
test_listing_out_of_memory(void)
{
    for (long n = 0; n < 40; n++) {
        sg_alloc_fail_at(n);
        sg_instr_listing *l = sg_instr_listing_new("3.8.18", "x");
        sg_instr_block *b = l ? sg_instr_block_add(l, "f", "x.py", 1) : NULL;
        if (b)
            sg_instr_row_add(b, SG_ROW_INSTR, "0 NOP", "NOP", 0, 1, 1);
        sg_alloc_fail_at(-1);
        sg_instr_listing_free(l);
    }
    CHECK(1);
}

TESTS(test_text, test_json, test_table, test_listing_out_of_memory)
