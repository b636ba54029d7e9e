/* launch.h -- start the program to profile, and stand between it and
 * signals.
 *
 * The program runs as our child in our process group, with our stdin,
 * stdout and stderr, so a terminal's Ctrl-C reaches it as it would without
 * spyglass. A signal sent to spyglass alone (kill, a supervisor's SIGTERM)
 * is forwarded to the program; one that came from the terminal is not, or
 * the program would get it twice.
 */
#ifndef SG_LAUNCH_H
#define SG_LAUNCH_H

#include <signal.h>
#include <stdbool.h>
#include <sys/types.h>

/* fork and exec argv (PATH searched). Returns 0 with *pid set, or the
 * errno of the failed exec (the child has then already exited). */
int launch_start(char **argv, pid_t *pid);

/* Catch SIGINT, SIGTERM and SIGHUP: set *stop and forward to child (when
 * child > 0 and the signal did not come from the terminal). */
void launch_handle_signals(pid_t child, volatile sig_atomic_t *stop);

/* Has pid exited? Does not reap it (its status stays for launch_wait). */
bool launch_exited(pid_t pid);

/* Wait for pid and return its exit status as a shell shows it: the code,
 * or 128 + the signal that killed it. */
int launch_wait(pid_t pid);

#endif
