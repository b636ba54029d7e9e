/* instr.h -- results per bytecode instruction: a `dis` listing with a
 * count beside each instruction.
 *
 * A listing is one block per code object, each block the rows of that
 * CPython's own `dis.dis` output, in its order: instruction rows (with
 * the instruction's offset, opcode name and count), the source line shown
 * above each line group, and the rows dis prints that are no instruction
 * (blank separators, the exception table). The text of a dis row is kept
 * exactly as dis printed it, so the writer adds columns and never
 * reformats the version's own listing. Counts are what the collector
 * measured: instructions executed (exact) or samples.
 *
 * Every function reports out-of-memory with -1 instead of exiting: the
 * agent builds listings inside the user's process.
 */
#ifndef SG_MODEL_INSTR_H
#define SG_MODEL_INSTR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum sg_instr_row_kind {
    SG_ROW_INSTR,  /* an instruction: dis's line, offset, opname, count */
    SG_ROW_SOURCE, /* the source line a line group starts with */
    SG_ROW_OTHER,  /* any other line of dis's output (blank, table) */
} sg_instr_row_kind;

typedef struct sg_instr_row {
    sg_instr_row_kind kind;
    char *text;     /* owned; without the newline */
    char *opname;   /* instructions: owned; else NULL */
    int32_t offset; /* instructions: byte offset in the code */
    int32_t line;   /* instructions and sources: the line, or -1 */
    uint64_t count;
    bool unknown; /* the collector cannot see this instruction run: no
                     count is shown (count is 0) */
} sg_instr_row;

typedef struct sg_instr_block {
    char *name; /* qualified name when the version has one; owned */
    char *file; /* owned */
    int32_t line;
    uint64_t total; /* sum of its instructions' counts */
    sg_instr_row *rows;
    size_t n_rows, cap_rows;
} sg_instr_block;

typedef struct sg_instr_listing {
    char *python;  /* the version that ran, "3.12.1"; owned */
    char *counted; /* what a count is: "instructions executed"; owned */
    bool adaptive; /* the specialised (adaptive) instructions are shown */
    sg_instr_block *blocks;
    size_t n_blocks, cap_blocks;
} sg_instr_listing;

/* Samples per instruction of a sampled profile: for each (function,
 * instruction offset) met, the samples whose innermost frame was there
 * (self) and those with the instruction anywhere on the stack (total, each
 * sample once per frame: recursion counts each level). On 3.11+ the
 * opcode the code object held there when last read (the specialised
 * instruction), else -1. Kept beside the model's tree (sg_profile.instr),
 * so no writer of the tree sees it. */
typedef struct sg_instr_hit {
    uint32_t func; /* sg_func_id */
    int32_t offset;
    int32_t opcode;
    uint64_t self, total;
} sg_instr_hit;

typedef struct sg_instr_table {
    sg_instr_hit *v;
    size_t n, cap;
    void *index; /* hm64 of (func << 32 | offset) -> slot */
} sg_instr_table;

/* A new empty table, or NULL. */
sg_instr_table *sg_instr_table_new(void);
void sg_instr_table_free(sg_instr_table *t);
/* The hit of (func, offset), created at zero when missing; NULL when
 * memory is exhausted. */
sg_instr_hit *sg_instr_table_hit(sg_instr_table *t, uint32_t func,
                                 int32_t offset);

/* A new empty listing, or NULL. */
sg_instr_listing *sg_instr_listing_new(const char *python,
                                       const char *counted);
void sg_instr_listing_free(sg_instr_listing *l);
/* A new block at the end of l, or NULL. */
sg_instr_block *sg_instr_block_add(sg_instr_listing *l, const char *name,
                                   const char *file, int32_t line);
/* A row appended to b (opname NULL for non-instructions); its count is
 * added to b's total. Returns 0, or -1 when memory is exhausted. */
int sg_instr_row_add(sg_instr_block *b, sg_instr_row_kind kind,
                     const char *text, const char *opname, int32_t offset,
                     int32_t line, uint64_t count);

#endif
