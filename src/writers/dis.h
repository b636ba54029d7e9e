/* dis.h -- the annotated `dis` listing's formats (writers/dis.c).
 *
 * Text: per code object, a heading, then the version's own dis lines
 * unchanged with three columns on their left: the count, its share of the
 * code object's total, and a bar of that share; the source line above
 * each line group. JSON: the same rows as objects. Registered in the
 * writer registry as text and json holding SG_DATA_DIS.
 */
#ifndef SG_WRITERS_DIS_H
#define SG_WRITERS_DIS_H

#include "common/strbuf.h"
#include "model/instr.h"
#include "writers/writers.h"

typedef struct dis_opts {
    long top; /* > 0: only the top instructions of each block, by count */
} dis_opts;

/* Render l in format w (text or json) into out. Returns 0, or
 * SG_WRITE_NOMEM when out failed. */
int sg_write_dis(const sg_instr_listing *l, const sg_writer *w,
                 const dis_opts *o, strbuf *out);

#endif
