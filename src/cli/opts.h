/* opts.h -- shared conventions for parsing command lines.
 *
 * Every command uses getopt_long with a leading "+:" optstring (stop at the
 * first operand, report missing arguments as ':'), and these helpers for the
 * error lines and number parsing, so all commands speak alike.
 */
#ifndef SG_OPTS_H
#define SG_OPTS_H

#include <getopt.h>
#include <stdbool.h>

/* Call before a command's getopt loop: errors are reported by opts_report,
 * not by getopt. Each command line is parsed once per process (by the
 * executable only), so getopt starts from its initial state. */
void opts_reset(void);
/* Report the getopt error for return value c (':' or '?') as one line. */
void opts_report(const char *cmd, int c, char *const argv[]);
/* Parse a whole decimal integer in [min, max]; on failure print an error
 * naming the option and return false. */
bool opts_long(const char *cmd, const char *opt, const char *s, long min,
               long max, long *out);
bool opts_double(const char *cmd, const char *opt, const char *s, double min,
                 double max, double *out);
/* The extension of path ("json" for "a/b.json"), or "" when none. */
const char *opts_extension(const char *path);

#endif
