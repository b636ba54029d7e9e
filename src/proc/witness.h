/* witness.h -- tell a signal sent to spyglass's whole process group from
 * one sent to spyglass alone.
 *
 * kill(2) gives both the same siginfo (SI_USER and the sender's pid), but
 * only the first also reached the program spyglass launched into its
 * group: passing that one on would deliver it twice (`kill -INT -PGID`,
 * os.killpg, `timeout -s INT`). The witness is a small process of the same
 * group that keeps the stop signals blocked, so a group kill stays pending
 * in it. The kernel signals a group's newest members first, and the
 * witness is newer than spyglass: by the time spyglass's handler runs, a
 * group kill is already pending in the witness, which the handler asks
 * about (and so consumes). No timing is involved.
 *
 * The witness is not spyglass's child (a grandchild whose parent exited at
 * once, made from a short-lived thread so that the main thread's children
 * are only the programs it runs); it holds no descriptor but its end of a
 * socket pair, and ends when spyglass's end closes.
 */
#ifndef SG_PROC_WITNESS_H
#define SG_PROC_WITNESS_H

#include <signal.h>
#include <stdbool.h>

/* Start the witness, blocking the signals of set in it. Call with those
 * signals blocked and before any handler for them is installed. Returns 0,
 * or -1 (no witness: every signal then counts as sent to spyglass alone). */
int witness_start(const sigset_t *set);

/* Did the group get sig too? Asks the witness whether sig is pending in
 * it, and takes it if so; with wait, whether it comes within 50 ms (a
 * group kill that follows one of spyglass alone, as `timeout -s INT`
 * sends them). Async-signal-safe: for the stop signals' handler, which
 * must keep the other stop signals blocked meanwhile (one question at a
 * time). A witness that does not answer is given up on. */
bool witness_took(int sig, bool wait);

#endif
