/* top.h -- `spyglass top`: a live console view of where a running Python
 * program spends its time, over the record session (sampler/record.h).
 *
 * The sampler runs as for `record`, on the same non-blocking reader; the
 * viewer is called between its ticks (record_config.watch), reads the keys
 * and, every refresh delay, takes the new samples from the profile into
 * its table (table.h) and draws a frame (screen.h) on the terminal
 * (term.h). When the program ends, the last frame stays, saying so, until
 * q. On exit the profile is written through the writer registry when -o
 * or -f asked for it: the same profile `record` would have written.
 */
#ifndef SG_TOP_TOP_H
#define SG_TOP_TOP_H

#include <stdbool.h>
#include <sys/types.h>

#include "sampler/record.h"
#include "writers/writers.h"

typedef struct top_options {
    record_config cfg; /* rate, idle, gil, subprocesses */
    double delay_s;    /* between refreshes */
    bool threads;      /* rows per thread; -o with a root per thread */
    char **cmd;        /* launch this, or attach to pid */
    pid_t pid;
    const sg_writer *writer; /* NULL: write no profile */
    const char *output;
} top_options;

/* What the command line of top writes, for sg_writer_pick. */
extern const sg_output top_output;

/* Run top; the exit status: the launched program's when it ended on its
 * own or was stopped by a signal, 0 when q ended it (or for --pid), then
 * whether the profile reached -o (sg_output_status). */
int top_main(const top_options *o);

#endif
