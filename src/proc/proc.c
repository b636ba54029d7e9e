/* proc.c -- starting, signalling and reaping the program; see proc.h.
 *
 * The state shared with the signal handler is two sig_atomic_t: the first
 * stop signal, and the child to forward to (and the witness's socket, in
 * witness.c). The signal sets are written
 * before the handler is installed, and only read by the main thread.
 */
#include <assert.h>
#include <errno.h>
#include <poll.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/clock.h"
#include "proc/proc.h"
#include "proc/witness.h"

extern char **environ;

_Static_assert(SIGSEGV == 11 && SIGTERM == 15 && SIGSYS == 31,
               "proc_signal_name's table is Linux's numbering");
_Static_assert(sizeof(pid_t) <= sizeof(sig_atomic_t),
               "the child's pid is shared with the handler as a "
               "sig_atomic_t");

static const int stop_signals[] = {SIGINT, SIGTERM, SIGHUP};

static volatile sig_atomic_t stop_sig;  /* first stop signal caught */
static volatile sig_atomic_t child_pid; /* forwarded to while > 0 */
static sigset_t caught;                 /* our handler's signals */
static sigset_t reset_in_child;         /* back to SIG_DFL in children */
static bool sets_ready;
static sigset_t held_from; /* the mask before proc_hold_stop_signals */
static bool held;          /* ... until proc_forward_signals */

static void
sets_init(void)
{
    if (sets_ready)
        return;
    sigemptyset(&caught);
    sigemptyset(&reset_in_child);
    sets_ready = true;
}

/* Did the child get sig already, sent to the whole process group it shares
 * with us? From the terminal (a Ctrl-C or hang-up: the kernel signals the
 * foreground group, SI_KERNEL), or by kill(2) to the group, which only the
 * witness tells from a kill of spyglass alone. The witness is asked every
 * time, so that its copy of a group signal cannot be taken for a later
 * one's; for a signal of spyglass alone, it waits a little for a group copy
 * following it (`timeout -s INT` sends both): the child gets that one, and
 * passing ours on too would deliver it twice.
 *
 * A group copy the witness took has one for spyglass too, queued by the
 * same kill(2) right after the witness's (the kernel signals a group's
 * newest members first): unless it merged with the signal being handled,
 * it is pending now, and is taken here so that it cannot pass for a
 * signal of spyglass alone next. */
static bool
child_got_it(int sig, const siginfo_t *info, pid_t child)
{
    bool tty = info->si_code == SI_KERNEL;
    bool took = witness_took(sig, !tty && child > 0);
    if (took) {
        sigset_t now;
        if (sigpending(&now) == 0 && sigismember(&now, sig) == 1) {
            sigset_t one;
            sigemptyset(&one);
            sigaddset(&one, sig);
            struct timespec zero = {0, 0};
            sigtimedwait(&one, NULL, &zero);
        }
    }
    return (took || tty) && child > 0 && getpgid(child) == getpgrp();
}

static void
on_stop_signal(int sig, siginfo_t *info, void *uctx)
{
    (void)uctx;
    /* kill() may set errno, and this handler can interrupt any code
     * between a failed call and its errno check. */
    int saved = errno;
    if (stop_sig == 0)
        stop_sig = sig;
    pid_t c = (pid_t)child_pid;
    if (!child_got_it(sig, info, c) && c > 0)
        kill(c, sig);
    errno = saved;
}

void
proc_forward_signals(void)
{
    sets_init();
    for (size_t i = 0; i < sizeof stop_signals / sizeof *stop_signals; i++) {
        struct sigaction old;
        /* Ignored by whoever started us (nohup, trap '' INT): so be it.
         * The child inherits it ignored, and nothing is forwarded. */
        if (sigaction(stop_signals[i], NULL, &old) == 0 &&
            old.sa_handler == SIG_IGN)
            continue;
        sigaddset(&caught, stop_signals[i]);
    }
    /* One arriving from here on waits until the witness and the handler
     * are both in place. The handler keeps the others blocked while it
     * asks the witness, one question at a time. */
    sigset_t old;
    sigprocmask(SIG_BLOCK, &caught, &old);
    if (held)
        old = held_from; /* what was held is let go below, handled */
    held = false;
    witness_start(&caught);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_stop_signal;
    /* SA_RESTART: a signal while the profile is being written must not
     * fail the write. Sleeps still end early (they return EINTR). */
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sa.sa_mask = caught;
    for (size_t i = 0; i < sizeof stop_signals / sizeof *stop_signals; i++)
        if (sigismember(&caught, stop_signals[i]))
            sigaction(stop_signals[i], &sa, NULL);
    sigprocmask(SIG_SETMASK, &old, NULL);
}

void
proc_hold_stop_signals(void)
{
    sigset_t stops;
    sigemptyset(&stops);
    for (size_t i = 0; i < sizeof stop_signals / sizeof *stop_signals; i++)
        sigaddset(&stops, stop_signals[i]);
    if (!held && sigprocmask(SIG_BLOCK, &stops, &held_from) == 0)
        held = true;
}

void
proc_ignore(int sig)
{
    sets_init();
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    sigemptyset(&sa.sa_mask);
    if (sigaction(sig, &sa, &old) == 0 && old.sa_handler != SIG_IGN)
        sigaddset(&reset_in_child, sig);
}

int
proc_stop_signal(void)
{
    return (int)stop_sig;
}

volatile sig_atomic_t *
proc_stop_flag(void)
{
    return &stop_sig;
}

void
proc_stop_signals(sigset_t *set)
{
    sets_init();
    *set = caught;
}

/* The file actions that give the child the stdio of spec. */
static int
stdio_actions(const proc_spec *spec, posix_spawn_file_actions_t *fa)
{
    const int fds[3] = {spec->stdin_fd, spec->stdout_fd, spec->stderr_fd};
    for (int target = 0; target < 3; target++) {
        if (fds[target] == PROC_INHERIT)
            continue;
        int e = posix_spawn_file_actions_adddup2(fa, fds[target], target);
        if (e)
            return e;
    }
    return 0;
}

static int
spawn(const proc_spec *spec, pid_t *pid, bool unless_stopped)
{
    assert(spec->argv && spec->argv[0]);
    sets_init();
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    int e = posix_spawn_file_actions_init(&fa);
    if (e)
        return e;
    e = posix_spawnattr_init(&attr);
    if (e) {
        posix_spawn_file_actions_destroy(&fa);
        return e;
    }
    /* The stop signals wait until the child is registered as the one to
     * forward to: one arriving during the spawn is then passed on, not
     * lost. The child starts with our mask as it was. */
    sigset_t old;
    sigprocmask(SIG_BLOCK, &caught, &old);
    /* Asked to stop before the program ran: it is not started. */
    e = unless_stopped && stop_sig ? ECANCELED : stdio_actions(spec, &fa);
    if (!e)
        e = posix_spawnattr_setsigmask(&attr, held ? &held_from : &old);
    if (!e)
        e = posix_spawnattr_setsigdefault(&attr, &reset_in_child);
    if (!e)
        e = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK |
                                                POSIX_SPAWN_SETSIGDEF);
    pid_t p = 0;
    if (!e)
        e = posix_spawnp(&p, spec->argv[0], &fa, &attr, spec->argv, environ);
    if (!e) {
        child_pid = p;
        *pid = p;
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    return e;
}

int
proc_spawn(const proc_spec *spec, pid_t *pid)
{
    return spawn(spec, pid, false);
}

int
proc_spawn_unless_stopped(const proc_spec *spec, pid_t *pid)
{
    return spawn(spec, pid, true);
}

bool
proc_exited(pid_t pid)
{
    siginfo_t info;
    memset(&info, 0, sizeof info);
    if (waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT) < 0)
        return errno == ECHILD;
    return info.si_pid == pid;
}

int
proc_wait(pid_t pid, proc_exit *out)
{
    memset(out, 0, sizeof *out);
    sets_init();
    /* Wait without reaping: until reaped, the pid cannot be given to
     * another process, so a signal forwarded meanwhile cannot hit one. */
    siginfo_t info;
    while (waitid(P_PID, (id_t)pid, &info, WEXITED | WNOWAIT) < 0)
        if (errno != EINTR)
            return errno;
    out->end_ns = sg_now_ns();
    sigset_t old;
    sigprocmask(SIG_BLOCK, &caught, &old);
    int status = 0;
    pid_t r = wait4(pid, &status, WNOHANG, &out->ru);
    int e = r == pid ? 0 : r < 0 ? errno : ECHILD;
    if (child_pid == pid)
        child_pid = 0;
    sigprocmask(SIG_SETMASK, &old, NULL);
    if (e)
        return e;
    if (WIFEXITED(status)) {
        out->code = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
        out->signal = WTERMSIG(status);
        out->core_dumped = WCOREDUMP(status) != 0;
        out->code = 128 + out->signal;
    } else {
        out->code = 1;
    }
    return 0;
}

const char *
proc_signal_name(int sig)
{
    /* Linux's numbering (x86_64 and the generic table agree on these);
     * sigabbrev_np is newer than the oldest glibc the wheels target. */
    static const char *const names[] = {
        NULL,      "SIGHUP",  "SIGINT",    "SIGQUIT", "SIGILL",    "SIGTRAP",
        "SIGABRT", "SIGBUS",  "SIGFPE",    "SIGKILL", "SIGUSR1",   "SIGSEGV",
        "SIGUSR2", "SIGPIPE", "SIGALRM",   "SIGTERM", "SIGSTKFLT", "SIGCHLD",
        "SIGCONT", "SIGSTOP", "SIGTSTP",   "SIGTTIN", "SIGTTOU",   "SIGURG",
        "SIGXCPU", "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH",  "SIGIO",
        "SIGPWR",  "SIGSYS",
    };
    if (sig <= 0 || (size_t)sig >= sizeof names / sizeof *names)
        return NULL;
    return names[sig];
}

void
proc_signal_text(int sig, bool core_dumped, char *buf, size_t n)
{
    const char *name = proc_signal_name(sig);
    const char *core = core_dumped ? " (core dumped)" : "";
    if (name)
        snprintf(buf, n, "%s%s", name, core);
    else
        snprintf(buf, n, "signal %d%s", sig, core);
}

bool
proc_sleep_until(uint64_t deadline_ns, volatile sig_atomic_t *stop,
                 const sigset_t *during)
{
    for (;;) {
        if (stop && *stop)
            return true;
        uint64_t now = sg_now_ns();
        if (now >= deadline_ns)
            return false;
        uint64_t left = deadline_ns - now;
        struct timespec ts = {(time_t)(left / 1000000000u),
                              (long)(left % 1000000000u)};
        /* ppoll swaps in `during` atomically with the sleep: a signal
         * blocked until now is taken inside it, and ends it (EINTR). */
        ppoll(NULL, 0, &ts, during);
    }
}
