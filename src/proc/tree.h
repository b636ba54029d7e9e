/* tree.h -- processes as /proc shows them: one process's identity and
 * state, and the processes below a pid (for `record --subprocesses` and
 * `dump` of a launcher).
 *
 * A pid alone does not name a process for long: a pool that churns through
 * children reuses them. (pid, start time) does, for as long as the machine
 * runs.
 */
#ifndef SG_PROC_TREE_H
#define SG_PROC_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct proc_entry {
    pid_t pid, ppid;
    uint64_t start_time; /* clock ticks after boot (field 22 of stat) */
    uint64_t vsize;      /* bytes mapped: changes when it maps a library
                            or execs (field 23) */
    char state;          /* R, S, D, Z, ... */
    char comm[16];       /* the kernel's short name of the program */
} proc_entry;

typedef struct proc_list {
    proc_entry *v;
    size_t n, cap;
} proc_list;

/* One process, from /proc/PID/stat. Returns 0, or -1 when it does not
 * exist (or /proc cannot be read). */
int proc_read(pid_t pid, proc_entry *out);

/* The CPU pid's main thread last ran on (field 39 of its stat), or -1. */
int proc_last_cpu(pid_t pid);

/* Is (pid, start_time) still running (not a zombie)? start_time 0: any
 * process with that pid. */
bool proc_running(pid_t pid, uint64_t start_time);

/* The parent of pid, or -1. */
pid_t proc_parent(pid_t pid);

/* Replace *out with the live (not zombie) descendants of root, root
 * excluded, breadth first. Processes that end meanwhile are skipped.
 * Returns 0, or -1 when /proc cannot be listed or memory ran out (*out is
 * then empty). */
int proc_descendants(pid_t root, proc_list *out);

void proc_list_free(proc_list *l);

#endif
