/* mprofdat.h -- mprof's .dat files read back (writers/mprofdat.c).
 *
 * A .dat file is untrusted input: the parser is bounded (lines of at most
 * SG_DAT_MAX_LINE bytes), checks every number, and never crashes on any
 * bytes (a fuzz target feeds it).
 */
#ifndef SG_WRITERS_MPROFDAT_H
#define SG_WRITERS_MPROFDAT_H

#include <stddef.h>

#include "model/timeline.h"

#define SG_DAT_MAX_LINE 65536

/* Add the .dat text buf[0..n) to tl as a new run labelled label: CMDLINE,
 * MEM (the process, RSS), CHLD (a child, RSS) and FUNC lines, read as
 * mprof's read_mprofile_file reads them (other fields ignored). Returns
 * 0; or -1 with the reason in err ("line 3: ..."), tl then holding
 * nothing of this file (its run, series and brackets removed), or
 * tl->failed set when memory ran out. */
int sg_dat_parse(sg_timeline *tl, const char *buf, size_t n, const char *label,
                 char *err, size_t errn);

#endif
