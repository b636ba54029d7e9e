/* follow.h -- `record --subprocesses`: find the Python processes below the
 * root, off the sampling thread.
 *
 * A thread of its own, at a lower priority, scans the process tree
 * (src/proc/tree.h) ten times a second. Each new descendant -- (pid, start
 * time): a pid that a churning pool reuses is a new process -- gets a
 * remote reader, retried at later scans while its Python is starting, and
 * for a grace period while it is not Python yet (a launcher about to exec
 * Python; retried only when its mapped size changed). Opened readers wait
 * in a queue for the sampling thread, which takes them at its next tick
 * (one atomic load when there are none): neither the scan (a millisecond
 * or so with a few hundred processes) nor opening a reader (ELF parsing)
 * delays a sample.
 *
 * The follower forgets a process when it leaves the tree, so its memory is
 * bounded by the live descendants, however many came and went. Processes
 * it could not follow are counted by reason, with a few examples, for the
 * end report.
 */
#ifndef SG_SAMPLER_FOLLOW_H
#define SG_SAMPLER_FOLLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/strbuf.h"
#include "remote/remote.h"

typedef struct follow_item {
    remote *r; /* opened by the follower; the taker owns it */
    pid_t pid;
    uint64_t start_time; /* proc_entry.start_time */
} follow_item;

typedef struct follow follow;

/* Start following the descendants of root; with_root, root itself too (a
 * launcher that may exec Python later; it is not reported as a subprocess
 * not followed). Returns NULL when the thread could not start (errno
 * set). */
follow *follow_start(pid_t root, bool with_root);

/* Append the readers opened since the last call to *items (length *n,
 * capacity *cap, grown as needed). Returns how many were appended. For the
 * sampling thread. */
size_t follow_take(follow *f, follow_item **items, size_t *n, size_t *cap);

/* The sampler gave up the reader it took for (pid, start_time): the
 * process no longer reads as the Python it was (it exec'd a new program,
 * as a fork between subprocess's fork and exec does). The follower looks
 * at it anew at its next scan. For the sampling thread. */
void follow_release(follow *f, pid_t pid, uint64_t start_time);

/* Stop the thread and wait for it; readers not taken are closed. */
void follow_stop(follow *f);

/* How many descendants of the root the follower met. After follow_stop;
 * 0 for NULL. */
uint64_t follow_seen(const follow *f);

/* Append one line per reason processes were not followed (nothing when
 * all were), e.g. "2 subprocesses not followed: not Python (412 sleep,
 * 413 sh)". After follow_stop. */
void follow_report(const follow *f, strbuf *sb);

/* How many scans of the tree are complete (for the tests). */
uint64_t follow_scans(const follow *f);

void follow_free(follow *f);

#endif
