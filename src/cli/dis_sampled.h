/* dis_sampled.h -- `record --dis NAME`: the sampled profile's samples per
 * instruction (model/instr.h) as the annotated dis listing of the
 * functions called NAME, rendered by a python of the target's version. */
#ifndef SG_CLI_DIS_SAMPLED_H
#define SG_CLI_DIS_SAMPLED_H

#include "common/strbuf.h"
#include "model/profile.h"
#include "remote/remote.h"
#include "writers/writers.h"

/* Render into out, in format w, the listing of every sampled Python
 * function of p named name (its qualified name, or the last part of it),
 * with the dis of a python of `in`'s version; top > 0 keeps only the top
 * most sampled instructions of each function. Returns 0, or an exit status
 * after one error line: SG_EXIT_USAGE when name matches no sampled
 * function, SG_EXIT_FAIL when a listing cannot be made (no python of that
 * version, the source file gone or changed, code not from a file). */
int dis_sampled(const sg_profile *p, const char *name, long top,
                const rm_info *in, const sg_writer *w, strbuf *out);

#endif
