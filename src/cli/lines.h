/* lines.h -- `spyglass lines` options, parsed identically by the executable
 * (to validate, print --help, pick the interpreter) and by the agent (to
 * run). */
#ifndef SG_CLI_LINES_H
#define SG_CLI_LINES_H

#include <stdbool.h>

typedef struct lines_opts {
    double unit;        /* -u: seconds per displayed time unit */
    const char *output; /* -o FILE (.lprof pickle, or text) */
    const char **funcs; /* --func MODULE:QUALNAME */
    int n_funcs;
    const char **files; /* --file PATH */
    int n_files;
    const char *python; /* -p */
    char kind;          /* 's' script, 'm' module, 'c' code */
    const char *target; /* script path, module name or code */
    char **args;        /* the program's own arguments */
    int n_args;
    bool help;
} lines_opts;

/* Parse argv (argv[0] = "lines"). Returns -1 when the caller should go on,
 * else an exit status (usage errors print their line). */
int lines_parse(int argc, char **argv, lines_opts *o);
void lines_opts_free(lines_opts *o);
void lines_usage(void);

#endif
