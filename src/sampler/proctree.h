/* proctree.h -- the processes below a pid, for `record --subprocesses`.
 *
 * A launched program may start Python children directly (multiprocessing,
 * subprocess) or through a shell; the sampler polls this list so that each
 * new descendant is attached as it appears.
 */
#ifndef SG_PROCTREE_H
#define SG_PROCTREE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Fill out (capacity cap) with the live descendants of root, breadth first,
 * root excluded. Returns how many were found (may exceed cap: only cap are
 * stored). Reads /proc; a process that ends meanwhile is skipped. */
size_t proctree_descendants(pid_t root, pid_t *out, size_t cap);

/* The parent of pid from /proc/PID/stat, or -1. Exposed for tests. */
pid_t proctree_parent(pid_t pid);

/* Does pid exist and run (not a zombie)? */
bool proctree_alive(pid_t pid);

#endif
