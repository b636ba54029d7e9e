/* profile.h -- `spyglass profile` options, parsed identically by the
 * executable (to validate and print --help without Python) and by the agent
 * (to run). */
#ifndef SG_CLI_PROFILE_H
#define SG_CLI_PROFILE_H

#include <stdbool.h>

#include "writers/writers.h"

typedef enum profile_target {
    PROFILE_SCRIPT,
    PROFILE_MODULE,
    PROFILE_CODE,
} profile_target;

typedef struct profile_opts {
    const char *sort;        /* pstats sort keys (default "cumulative") */
    const char *output;      /* -o FILE, or NULL: the table on stdout */
    const sg_writer *writer; /* -f, or inferred from -o; NULL: text */
    bool builtins;           /* false with --no-builtins */
    bool threads;            /* --threads: a table per thread too */
    int limit;               /* --limit N rows of the table */
    const char *python;      /* -p */
    bool help;
    profile_target kind;
    const char *what; /* script, module or code */
    int argc;         /* the program's own arguments */
    char **argv;
} profile_opts;

/* Parse argv (argv[0] = "profile"). Returns -1 when the caller should go
 * on, else an exit status (errors print their line). */
int profile_parse(int argc, char **argv, profile_opts *o);
void profile_usage(void);

#endif
