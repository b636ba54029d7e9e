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

#include "request/commands.h"
#include "writers/writers.h"

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
/* -m MODULE or -c CODE (c is 'm' or 'c'), the program, into p. As with
 * python, what follows belongs to the program: the caller stops parsing. */
void opts_program_option(int c, const char *value, rq_program *p);
/* The end of an in-process command's getopt loop, stopped at the program:
 * -m MODULE or -c CODE already in p (have_target), else SCRIPT,
 * argv[optind]; the rest of argv is the program's own arguments. False
 * after an error line when nothing is to be run. */
bool opts_program(const char *cmd, int argc, char **argv, bool have_target,
                  rq_program *p);
/* The end of the getopt loop of a command that runs a program from
 * outside (record, timeline), as `verb` ("record", "sample"): -m MODULE or
 * -c CODE already in *target, else after `--` a command to launch
 * (*launch = argv + optind), else SCRIPT (*target = argv[optind++]);
 * last_value is the last option's value (`-o --` is not a `--` of its
 * own). Refused with one line: a pid and a program both, neither, and
 * --python (have_python) without SCRIPT, -m or -c. Returns -1 to go on,
 * else SG_EXIT_USAGE. */
int opts_outside_target(const char *cmd, const char *verb, int argc,
                        char **argv, const char *last_value, bool have_pid,
                        bool have_python, const char **target, char ***launch);
/* Whether --func's value has the shape MODULE:QUALNAME; false after an
 * error line. Whether it names a function, only the agent can tell. */
bool opts_func(const char *cmd, const char *arg);
/* Whether SCRIPT can be opened; false after the error line python would
 * print (its wording), so that a typo is refused before anything runs. */
bool opts_script_readable(const char *cmd, const char *script);
/* The output of a command that prints a table without -o (lines,
 * memory): -f NAME alone writes that format to stdout ("-") in place of
 * the table; with an output, its writer is picked (sg_writer_pick) and
 * its name put in *format_out. Returns -1, or SG_EXIT_USAGE after the
 * error line. */
int opts_output(const char *format, const char **output,
                const char **format_out, const sg_output *what);
/* An interval: seconds, or a number with the unit s, ms or us ("5ms"),
 * from 1 ms to an hour; false after an error line naming opt. */
bool opts_interval(const char *cmd, const char *opt, const char *s,
                   double *out);
/* The extension of path ("json" for "a/b.json"), or "" when none. */
const char *opts_extension(const char *path);
/* Read the input file path whole into sb, refusing a directory or one
 * larger than 2 GiB. Returns 0, or -1 after an error line "<cmd>: cannot
 * read 'path': ...". */
int opts_read_input(const char *cmd, const char *path, strbuf *sb);

#endif
