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
 * with the dis of `in`'s interpreter. Returns 0, or an exit status after
 * one error line (SG_EXIT_USAGE when name matches no sampled function,
 * or that interpreter is not of the recorded version). */
int dis_sampled(const sg_profile *p, const char *name, const rm_info *in,
                const sg_writer *w, strbuf *out);

#endif
