/* timeit.h -- `spyglass timeit` options, parsed identically by the
 * executable (to validate and pick the interpreter) and by the agent (to
 * run). */
#ifndef SG_CLI_TIMEIT_H
#define SG_CLI_TIMEIT_H

#include <stdbool.h>

#include "common/units.h"

typedef struct timeit_opts {
    long number;        /* loops per repeat; 0: autorange */
    long repeat;        /* repeats (default 5) */
    const char **setup; /* -s lines, joined by newlines */
    int n_setup;
    const sg_time_unit *unit; /* NULL: automatic */
    const char *python;       /* -p; NULL: default interpreter */
    bool verbose;
    bool process_time;  /* --process: CPU time of the process */
    const char **stmts; /* statements to compare */
    int n_stmts;
    bool help;
} timeit_opts;

/* Parse argv (argv[0] = "timeit"). Returns -1 when the caller should go on,
 * else an exit status (usage errors print their line). Arrays point into
 * argv and a buffer freed by timeit_opts_free. */
int timeit_parse(int argc, char **argv, timeit_opts *o);
void timeit_opts_free(timeit_opts *o);
void timeit_usage(void);

#endif
