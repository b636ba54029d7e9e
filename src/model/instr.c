/* instr.c -- results per bytecode instruction (instr.h). */
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/hashmap.h"
#include "model/instr.h"

sg_instr_listing *
sg_instr_listing_new(const char *python, const char *counted)
{
    sg_instr_listing *l = sg_calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->python = sg_strdup(python);
    l->counted = sg_strdup(counted);
    if (!l->python || !l->counted) {
        sg_instr_listing_free(l);
        return NULL;
    }
    return l;
}

static void
sg_instr_block_clear(sg_instr_block *b)
{
    for (size_t i = 0; i < b->n_rows; i++) {
        free(b->rows[i].text);
        free(b->rows[i].opname);
    }
    free(b->rows);
    free(b->name);
    free(b->file);
}

void
sg_instr_listing_free(sg_instr_listing *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n_blocks; i++)
        sg_instr_block_clear(&l->blocks[i]);
    free(l->blocks);
    free(l->python);
    free(l->counted);
    free(l);
}

sg_instr_block *
sg_instr_block_add(sg_instr_listing *l, const char *name, const char *file,
                   int32_t line)
{
    if (SG_GROW(l->blocks, l->cap_blocks, l->n_blocks + 1) < 0)
        return NULL;
    sg_instr_block *b = &l->blocks[l->n_blocks];
    memset(b, 0, sizeof *b);
    b->name = sg_strdup(name);
    b->file = sg_strdup(file);
    b->line = line;
    if (!b->name || !b->file) {
        sg_instr_block_clear(b);
        return NULL;
    }
    l->n_blocks++;
    return b;
}

int
sg_instr_row_add(sg_instr_block *b, sg_instr_row_kind kind, const char *text,
                 const char *opname, int32_t offset, int32_t line,
                 uint64_t count)
{
    if (SG_GROW(b->rows, b->cap_rows, b->n_rows + 1) < 0)
        return -1;
    sg_instr_row *r = &b->rows[b->n_rows];
    memset(r, 0, sizeof *r);
    r->kind = kind;
    r->text = sg_strdup(text);
    r->opname = opname ? sg_strdup(opname) : NULL;
    if (!r->text || (opname && !r->opname)) {
        free(r->text);
        free(r->opname);
        return -1;
    }
    r->offset = offset;
    r->line = line;
    r->count = count;
    b->total += count;
    b->n_rows++;
    return 0;
}

sg_instr_table *
sg_instr_table_new(void)
{
    sg_instr_table *t = sg_calloc(1, sizeof *t);
    hm64 *m = sg_calloc(1, sizeof *m);
    if (!t || !m) {
        free(t);
        free(m);
        return NULL;
    }
    hm64_init(m);
    t->index = m;
    return t;
}

void
sg_instr_table_free(sg_instr_table *t)
{
    if (!t)
        return;
    hm64_free(t->index);
    free(t->index);
    free(t->v);
    free(t);
}

sg_instr_hit *
sg_instr_table_hit(sg_instr_table *t, uint32_t func, int32_t offset)
{
    uint64_t key = (uint64_t)func << 32 | (uint32_t)offset;
    uint32_t slot = hm64_get(t->index, key);
    if (slot != HM_NONE)
        return &t->v[slot];
    if (SG_GROW(t->v, t->cap, t->n + 1) < 0 ||
        hm64_put(t->index, key, (uint32_t)t->n) < 0)
        return NULL;
    sg_instr_hit *h = &t->v[t->n++];
    *h = (sg_instr_hit){func, offset, -1, 0, 0};
    return h;
}
