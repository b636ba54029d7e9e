/* commands.h -- the options of the in-process commands, as a request.
 *
 * One struct per command holds what its run needs, already validated and
 * in canonical form: the executable fills it from the command line
 * (src/cli/<command>.c), the request carries it (request.h) and the agent
 * runs it (src/agent/). Defaults are applied by the executable; the agent
 * takes every value as given.
 */
#ifndef SG_REQUEST_COMMANDS_H
#define SG_REQUEST_COMMANDS_H

#include <stdbool.h>

#include "request/request.h"

/* What a program to run is, as python's own command line says it. */
typedef enum rq_run {
    RQ_RUN_SCRIPT, /* python SCRIPT ARGS */
    RQ_RUN_MODULE, /* python -m MODULE ARGS */
    RQ_RUN_CODE,   /* python -c CODE ARGS */
} rq_run;

typedef struct rq_program {
    rq_run kind;
    const char *target; /* script path, module name or code */
    const char **args;  /* the program's own arguments */
    int n_args;
} rq_program;

/* spyglass timeit */
typedef struct rq_timeit {
    long number; /* loops per repeat; 0: autorange */
    long repeat;
    const char **setup; /* lines of the setup, joined by newlines */
    int n_setup;
    const char *unit;   /* timeit's unit name; NULL: automatic */
    long verbose;       /* how many -v: the steps and raw times, then a digit
                           more for each -v after the first, as timeit */
    bool process_time;  /* CPU time of the process, not wall time */
    const char *output; /* NULL: stdout */
    const char *format; /* the writer's name, chosen by the executable */
    const char **stmts;
    int n_stmts; /* at least 1 */
} rq_timeit;

/* spyglass profile */
typedef struct rq_profile {
    const char *sort;   /* pstats sort keys, valid; NULL: the default order */
    const char *output; /* NULL: stdout */
    const char *format; /* the writer's name, chosen by the executable */
    bool builtins;      /* record C functions */
    bool threads;       /* a table per thread too */
    long limit;         /* rows of the table; 0: all */
    bool flame;         /* flamegraph: root at the bottom */
    bool no_source;     /* html: embed no source lines */
    rq_program program;
} rq_profile;

/* spyglass lines */
typedef struct rq_lines {
    double unit;        /* seconds per displayed time unit */
    const char *output; /* NULL: the table only */
    const char *format; /* the writer of output, chosen by the executable */
    const char **funcs; /* MODULE:QUALNAME */
    int n_funcs;
    const char **files;
    int n_files;
    bool no_source; /* html: embed no source lines */
    rq_program program;
} rq_lines;

/* spyglass memory */
typedef struct rq_memory {
    const char *output; /* NULL: the table and summary on stdout only */
    const char *format; /* the writer of output, chosen by the executable */
    const char **funcs; /* MODULE:QUALNAME, as `lines` */
    int n_funcs;
    const char **files;
    int n_files;
    bool native;       /* also trace malloc and friends (a preloaded shim) */
    bool rss;          /* add memory_profiler's RSS column */
    long sample_bytes; /* 0: exact; else Poisson sampling, mean bytes */
    bool allocated;    /* stack formats weigh bytes allocated, not bytes
                          live at the peak */
    bool flame;        /* flamegraph: root at the bottom */
    /* Memory over time besides: the traced heap and RSS sampled every
     * timeline_interval seconds, and the selected functions' calls as
     * brackets, written to timeline (NULL: none) in timeline_format. */
    const char *timeline;
    const char *timeline_format;
    double timeline_interval;
    bool no_source; /* html: embed no source lines */
    rq_program program;
} rq_memory;

/* spyglass dis */
typedef struct rq_dis {
    const char *output; /* NULL: stdout */
    const char *format; /* the writer, chosen by the executable */
    const char **funcs; /* MODULE:QUALNAME, as `lines` */
    int n_funcs;
    const char **files;
    int n_files;
    long top;      /* > 0: only the top instructions of each function */
    bool adaptive; /* show the specialised instructions (3.11+) */
    rq_program program;
} rq_dis;

extern const rq_spec rq_timeit_spec;
extern const rq_spec rq_profile_spec;
extern const rq_spec rq_lines_spec;
extern const rq_spec rq_memory_spec;
extern const rq_spec rq_dis_spec;

#endif
