/* proc.h -- the programs spyglass runs: start one, stand between it and
 * signals, wait for it.
 *
 * Used by every command that launches a program (time, record). The child
 * runs in spyglass's process group with the stdio it is given (inherited by
 * default), so a terminal's Ctrl-C reaches it exactly as it would without
 * spyglass. The stop signals (SIGINT, SIGTERM, SIGHUP) are caught: the
 * first one is noted, so that a command can stop and still report, and
 * each is passed on to the running child -- unless it was sent to the whole
 * process group the child shares with spyglass, which the child got
 * already: by the terminal (a Ctrl-C or hang-up), or by kill(2) to the
 * group (`kill -INT -PGID`, os.killpg, `timeout -s INT`), which a witness
 * process tells apart (witness.h). A signal of spyglass alone is passed on
 * once the witness has waited up to 50 ms for a group copy following it.
 *
 * Dispositions: a child starts with the signal dispositions spyglass was
 * started with. A signal spyglass catches or ignores for itself
 * (proc_ignore) is back to its default in the child; one ignored by
 * whoever started spyglass (nohup, a background job) stays ignored, and is
 * not caught by spyglass either.
 */
#ifndef SG_PROC_H
#define SG_PROC_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

/* A stdio slot of proc_spec that the child shares with spyglass. */
#define PROC_INHERIT (-1)

typedef struct proc_spec {
    char *const *argv; /* NULL-terminated; argv[0] is looked up in PATH */
    /* PROC_INHERIT, or a descriptor that becomes the child's 0, 1 or 2
     * (best opened O_CLOEXEC: only the copy reaches the program). */
    int stdin_fd, stdout_fd, stderr_fd;
} proc_spec;

typedef struct proc_exit {
    int code;         /* as a shell shows it: the exit status (0-255), or
                         128 + the signal that killed it */
    int signal;       /* the signal that killed it, else 0 */
    bool core_dumped; /* ... and it left a core dump */
    uint64_t end_ns;  /* sg_now_ns() when its end was seen, before the
                         bookkeeping of reaping it */
    struct rusage ru; /* the kernel's accounting of it, including the
                         children it waited for */
} proc_exit;

/* Catch the stop signals (those not ignored when spyglass started); see
 * above. Call once, before proc_spawn. */
void proc_forward_signals(void);

/* Block the stop signals from the very start of a command (before its
 * options are read, and any probe of an interpreter), so that one coming
 * before proc_forward_signals is handled by it, not by the default action
 * that would end spyglass without a word. Children still start with the
 * mask spyglass had. */
void proc_hold_stop_signals(void);

/* Ignore sig in spyglass (e.g. SIGPIPE, so a closed pipe cannot kill it
 * before its data is written); children still get the default. */
void proc_ignore(int sig);

/* Start the program. Returns 0 with *pid set, or the errno of the failed
 * start (then nothing runs). The child becomes the one stop signals are
 * forwarded to, with no window in which a signal could miss it, until
 * proc_wait reaps it. */
int proc_spawn(const proc_spec *spec, pid_t *pid);

/* The same for the program the user asked for, which is not started once
 * a stop signal was caught, whenever it came (ECANCELED; checked with the
 * stop signals blocked, so none falls between). Helpers spyglass runs for
 * itself (a probe, the listing after a stopped recording) use
 * proc_spawn. */
int proc_spawn_unless_stopped(const proc_spec *spec, pid_t *pid);

/* Wait for pid to end and reap it (restarting after signals). Returns 0 with
 * *out filled, or an errno value. */
int proc_wait(pid_t pid, proc_exit *out);

/* Has pid (our child) ended? Does not reap it, so that proc_wait still
 * gets its status. */
bool proc_exited(pid_t pid);

/* "SIGSEGV" for SIGSEGV: the name a shell or kill -l gives a signal, or
 * NULL for a number with none (real-time signals). */
const char *proc_signal_name(int sig);

/* A signal as a message names it: "SIGSEGV", "SIGSEGV (core dumped)",
 * "signal 40". */
void proc_signal_text(int sig, bool core_dumped, char *buf, size_t n);

/* The first stop signal caught, or 0. The flag itself, for loops that poll
 * it (it is set from the signal handler). */
int proc_stop_signal(void);
volatile sig_atomic_t *proc_stop_flag(void);

/* The signals proc_forward_signals catches (empty before it is called). */
void proc_stop_signals(sigset_t *set);

/* Sleep until the CLOCK_MONOTONIC deadline (ns) or until *stop is set,
 * whichever comes first; never sleeps once *stop is set (stop may be NULL).
 * The caller keeps the signals that set *stop blocked while it works, and
 * `during` is the mask to sleep with (those signals unblocked): a signal
 * that arrived while it worked then ends the sleep at once instead of
 * being noticed one whole interval late. Returns whether *stop is set. */
bool proc_sleep_until(uint64_t deadline_ns, volatile sig_atomic_t *stop,
                      const sigset_t *during);

#endif
