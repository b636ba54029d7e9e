/* runner.h -- run a command once and take the kernel's accounting of it.
 *
 * The figures come from the rusage of the finished child (which includes
 * the children it waited for, e.g. a shell's), and wall time from
 * CLOCK_MONOTONIC from just before the spawn to the moment its end is seen.
 * Starting, signals and reaping are src/proc's.
 */
#ifndef SG_RUNNER_H
#define SG_RUNNER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct run_result {
    double wall, user, sys; /* seconds */
    long max_rss_kb;
    long major_faults, minor_faults;
    long vol_cs, invol_cs;
    long fs_in, fs_out; /* 512-byte blocks, as the kernel counts */
    long swaps, signals, msg_sent, msg_recv;
    int exit_code;   /* 0-255, or 128 + signal */
    int term_signal; /* 0 unless killed by a signal */
    bool core_dumped;
} run_result;

typedef struct run_spec {
    char **argv;      /* NULL-terminated; argv[0] looked up in PATH */
    bool show_output; /* else stdout and stderr go to /dev/null */
    bool null_stdin;  /* stdin from /dev/null (repeated runs) */
} run_spec;

/* Run once. Returns 0, or an errno value when the command could not be
 * started (then nothing ran). The caller has called proc_forward_signals:
 * a stop signal reaches the running command, and proc_stop_signal() tells
 * whether one arrived. */
int runner_run(const run_spec *spec, run_result *out);

#endif
