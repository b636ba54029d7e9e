/* ssread.h -- speedscope JSON read back for `spyglass report`: the files
 * spyglass's speedscope/json format writes and those of speedscope's own
 * exporters ("sampled" and "evented" profiles of
 * https://www.speedscope.app/file-format-schema.json).
 *
 * Untrusted input: the JSON reader is strict and bounded
 * (common/jsonread.h), every index, number and type is checked, and a bad
 * file fails with a reason rather than crash.
 */
#ifndef SG_WRITERS_SSREAD_H
#define SG_WRITERS_SSREAD_H

#include <stddef.h>

#include "model/profile.h"

/* Whether buf looks like a JSON object rather than a marshal'ed dict. */
int sg_speedscope_sniff(const char *buf, size_t n);

/* Read a speedscope file into *out: a new sampled profile when it is NULL,
 * else the one given, to which the stacks add. Each profile of the file is
 * a thread root of its name; weights in a time unit become "ns", in bytes
 * "bytes", in none "samples" (a given profile must have the same). An
 * evented profile's time between two events goes to the stack open
 * between them; frames still open at the end are closed at endValue.
 * Returns 0; or -1 with the reason in err (a new profile is then freed, a
 * given one may hold part of the file). */
int sg_speedscope_parse(const char *buf, size_t n, sg_profile **out, char *err,
                        size_t errn);

#endif
