/* Unit tests for src/proc: starting a child with given stdio and
 * dispositions, waiting for it, forwarding signals, and the process tree.
 *
 * The tests share the process's signal state: each sets the dispositions it
 * relies on first, and the ones that install the handler come last.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "common/clock.h"
#include "proc/proc.h"
#include "proc/tree.h"

static void
set_disposition(int sig, void (*handler)(int))
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, NULL);
}

/* Start argv with spyglass's stdio; its pid (0 after a failed CHECK). */
static pid_t
spawn(char *const *argv)
{
    proc_spec spec = {argv, PROC_INHERIT, PROC_INHERIT, PROC_INHERIT};
    pid_t pid = 0;
    CHECK(proc_spawn(&spec, &pid) == 0);
    return pid;
}

/* Run argv with stdout into a pipe; return what it wrote (static). */
static const char *
run_capture(char *const *argv, proc_exit *ex)
{
    static char out[8192];
    int fds[2];
    CHECK(pipe2(fds, O_CLOEXEC) == 0);
    proc_spec spec = {argv, PROC_INHERIT, fds[1], PROC_INHERIT};
    pid_t pid;
    int e = proc_spawn(&spec, &pid);
    CHECK(e == 0);
    close(fds[1]);
    size_t n = 0;
    ssize_t r;
    while (n < sizeof out - 1 &&
           (r = read(fds[0], out + n, sizeof out - 1 - n)) > 0)
        n += (size_t)r;
    out[n] = '\0';
    close(fds[0]);
    if (e == 0)
        CHECK(proc_wait(pid, ex) == 0);
    return out;
}

static void
test_spawn_stdio_and_status(void)
{
    proc_exit ex;
    char *echo[] = {"sh", "-c", "echo hello; exit 7", NULL};
    CHECK_STR(run_capture(echo, &ex), "hello\n");
    CHECK(ex.code == 7 && ex.signal == 0);
    CHECK(ex.end_ns > 0);
    /* stdin from a given descriptor. */
    int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
    char *count[] = {"sh", "-c", "wc -c", NULL};
    proc_spec spec = {count, in, PROC_INHERIT, PROC_INHERIT};
    int fds[2];
    CHECK(pipe2(fds, O_CLOEXEC) == 0);
    spec.stdout_fd = fds[1];
    pid_t pid;
    CHECK(proc_spawn(&spec, &pid) == 0);
    close(in);
    close(fds[1]);
    char buf[64] = {0};
    CHECK(read(fds[0], buf, sizeof buf - 1) > 0);
    close(fds[0]);
    CHECK(atoi(buf) == 0);
    CHECK(proc_wait(pid, &ex) == 0 && ex.code == 0);
}

static void
test_killed_child_and_rusage(void)
{
    proc_exit ex;
    char *selfkill[] = {"sh", "-c", "kill -TERM $$", NULL};
    run_capture(selfkill, &ex);
    CHECK(ex.signal == SIGTERM && ex.code == 128 + SIGTERM);
    /* The kernel's accounting includes the children the child waited for:
     * a shell running a CPU loop in a child. */
    char *busy[] = {"sh", "-c",
                    "sh -c 'i=0; while [ $i -lt 20000 ]; do i=$((i+1)); "
                    "done'",
                    NULL};
    run_capture(busy, &ex);
    CHECK(ex.code == 0);
    long cpu_us = (ex.ru.ru_utime.tv_sec + ex.ru.ru_stime.tv_sec) * 1000000L +
                  ex.ru.ru_utime.tv_usec + ex.ru.ru_stime.tv_usec;
    CHECK(cpu_us > 0);
}

static void
test_spawn_failure_runs_nothing(void)
{
    char *none[] = {"/no/such/program", NULL};
    proc_spec spec = {none, PROC_INHERIT, PROC_INHERIT, PROC_INHERIT};
    pid_t pid = 0;
    CHECK(proc_spawn(&spec, &pid) == ENOENT);
    CHECK(pid == 0);
    /* Nothing is left to reap. */
    CHECK(waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD);
}

static void
test_exited_does_not_reap(void)
{
    char *t[] = {"true", NULL};
    pid_t pid = spawn(t);
    for (int i = 0; i < 2000 && !proc_exited(pid); i++)
        usleep(1000);
    CHECK(proc_exited(pid));
    CHECK(proc_exited(pid)); /* still there to be waited for */
    proc_exit ex;
    CHECK(proc_wait(pid, &ex) == 0 && ex.code == 0);
}

/* The SigIgn and SigBlk masks of a child, as /proc shows them. */
static void
child_masks(unsigned long long *ign, unsigned long long *blk)
{
    char *cat[] = {"cat", "/proc/self/status", NULL};
    proc_exit ex;
    const char *s = run_capture(cat, &ex);
    const char *i = strstr(s, "SigIgn:");
    const char *b = strstr(s, "SigBlk:");
    CHECK(i && b);
    *ign = i ? strtoull(i + 7, NULL, 16) : 0;
    *blk = b ? strtoull(b + 7, NULL, 16) : 0;
}

#define BIT(sig) (1ull << ((sig)-1))

static void
test_dispositions(void)
{
    /* As under nohup: SIGHUP ignored by whoever started us. */
    set_disposition(SIGINT, SIG_DFL);
    set_disposition(SIGTERM, SIG_DFL);
    set_disposition(SIGPIPE, SIG_DFL);
    set_disposition(SIGHUP, SIG_IGN);
    proc_forward_signals();
    proc_ignore(SIGPIPE);
    sigset_t caught;
    proc_stop_signals(&caught);
    CHECK(sigismember(&caught, SIGINT) && sigismember(&caught, SIGTERM));
    CHECK(!sigismember(&caught, SIGHUP)); /* left ignored, not caught */
    unsigned long long ign, blk;
    child_masks(&ign, &blk);
    /* The inherited ignore is the child's too; the one spyglass chose
     * for itself is not; the caught ones are back to default. */
    CHECK(ign & BIT(SIGHUP));
    CHECK(!(ign & BIT(SIGPIPE)));
    CHECK(!(ign & (BIT(SIGINT) | BIT(SIGTERM))));
    CHECK(blk == 0);
    set_disposition(SIGHUP, SIG_DFL);
}

static void
test_kill_sent_signal_is_forwarded(void)
{
    /* Handlers are in place (test_dispositions). A SIGTERM sent to us
     * alone reaches the child, which dies of it. */
    char *sl[] = {"sleep", "30", NULL};
    pid_t pid = spawn(sl);
    CHECK(kill(getpid(), SIGTERM) == 0);
    proc_exit ex;
    CHECK(proc_wait(pid, &ex) == 0);
    CHECK(ex.signal == SIGTERM);
    CHECK(proc_stop_signal() == SIGTERM);
}

static void
test_handler_keeps_errno(void)
{
    /* Regression: the handler's kill() overwrote errno under code that
     * was about to read it. The child is reaped behind proc's back, so
     * the forward fails (ESRCH). */
    char *t[] = {"true", NULL};
    pid_t pid = spawn(t);
    CHECK(waitpid(pid, NULL, 0) == pid);
    errno = EDOM;
    raise(SIGTERM);
    CHECK(errno == EDOM);
}

static void
test_tree_finds_grandchildren(void)
{
    int fds[2];
    CHECK(pipe(fds) == 0);
    pid_t child = fork();
    if (child == 0) {
        /* child: start a grandchild, then both wait for the pipe. */
        close(fds[1]);
        if (fork() == 0) {
            char b;
            ssize_t r = read(fds[0], &b, 1);
            _exit(r < 0);
        }
        char b;
        ssize_t r = read(fds[0], &b, 1);
        wait(NULL);
        _exit(r < 0);
    }
    close(fds[0]);
    proc_list l = {0};
    for (int tries = 0; tries < 200 && l.n < 2; tries++) {
        CHECK(proc_descendants(getpid(), &l) == 0);
        if (l.n < 2)
            usleep(5000);
    }
    CHECK(l.n == 2);
    if (l.n == 2) {
        CHECK(l.v[0].pid == child); /* breadth first */
        CHECK(l.v[1].ppid == child);
        CHECK(proc_parent(l.v[1].pid) == child);
        CHECK(l.v[0].start_time > 0);
        CHECK(proc_running(child, l.v[0].start_time));
        /* Another process with the same pid is not this one. */
        CHECK(!proc_running(child, l.v[0].start_time + 1));
    }
    CHECK(proc_parent(getpid()) == getppid());
    CHECK(proc_parent(-5) == -1);
    proc_entry self;
    CHECK(proc_read(getpid(), &self) == 0);
    CHECK_STR(self.comm, "test_proc");
    CHECK(self.state == 'R');
    close(fds[1]); /* release both */
    waitpid(child, NULL, 0);
    /* Reaped: gone from the tree. */
    for (int tries = 0; tries < 200 && l.n > 0; tries++) {
        CHECK(proc_descendants(getpid(), &l) == 0);
        if (l.n > 0)
            usleep(5000);
    }
    CHECK(l.n == 0);
    proc_list_free(&l);
}

static void
test_tree_reads_odd_names(void)
{
    /* A program may name itself anything, parentheses and spaces too:
     * the fields are read after the last ')'. */
    int fds[2];
    CHECK(pipe(fds) == 0);
    pid_t child = fork();
    if (child == 0) {
        close(fds[1]);
        prctl(PR_SET_NAME, "x) 1 (y 2) z", 0, 0, 0);
        char b;
        ssize_t r = read(fds[0], &b, 1);
        _exit(r < 0);
    }
    close(fds[0]);
    proc_entry self, e;
    CHECK(proc_read(getpid(), &self) == 0);
    for (int tries = 0; tries < 2000; tries++) {
        CHECK(proc_read(child, &e) == 0);
        if (strcmp(e.comm, "test_proc") != 0)
            break;
        usleep(1000);
    }
    CHECK_STR(e.comm, "x) 1 (y 2) z");
    CHECK(e.ppid == getpid());
    CHECK(e.state == 'S' || e.state == 'R');
    CHECK(e.start_time >= self.start_time);
    close(fds[1]);
    waitpid(child, NULL, 0);
}

static void
test_vsize_follows_the_map(void)
{
    proc_entry a, b;
    CHECK(proc_read(getpid(), &a) == 0);
    CHECK(a.vsize > 0);
    /* A new mapping (as a dlopen'd library would add) shows. */
    void *m =
        mmap(NULL, 1 << 20, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(m != MAP_FAILED);
    CHECK(proc_read(getpid(), &b) == 0);
    CHECK(b.vsize == a.vsize + (1 << 20));
    munmap(m, 1 << 20);
}

static void
test_stop_flag_ends_sleep_at_once(void)
{
    volatile sig_atomic_t stop = 1;
    uint64_t t0 = sg_now_ns();
    CHECK(proc_sleep_until(t0 + 5000000000u, &stop, NULL));
    CHECK(sg_now_ns() - t0 < 2000000000u);
    stop = 0;
    CHECK(!proc_sleep_until(sg_now_ns() + 1000000u, &stop, NULL));
}

static void
test_signal_text(void)
{
    char buf[64];
    proc_signal_text(SIGSEGV, true, buf, sizeof buf);
    CHECK(strcmp(buf, "SIGSEGV (core dumped)") == 0);
    proc_signal_text(SIGHUP, false, buf, sizeof buf);
    CHECK(strcmp(buf, "SIGHUP") == 0);
    proc_signal_text(SIGRTMIN + 6, false, buf, sizeof buf);
    CHECK(strncmp(buf, "signal ", 7) == 0);
    CHECK(proc_signal_name(0) == NULL && proc_signal_name(65) == NULL);
}

static void
test_nothing_starts_after_a_stop(void)
{
    /* A stop signal was caught (test_kill_sent_signal_is_forwarded): the
     * user's program is not started any more; spyglass's helpers are. */
    CHECK(proc_stop_signal() != 0);
    char *t[] = {"true", NULL};
    proc_spec user = {t, PROC_INHERIT, PROC_INHERIT, PROC_INHERIT};
    pid_t pid = 0;
    CHECK(proc_spawn_unless_stopped(&user, &pid) == ECANCELED && pid == 0);
    proc_exit ex;
    CHECK(proc_wait(spawn(t), &ex) == 0 && ex.code == 0);
}

TESTS(test_spawn_stdio_and_status, test_killed_child_and_rusage,
      test_spawn_failure_runs_nothing, test_exited_does_not_reap,
      test_tree_finds_grandchildren, test_tree_reads_odd_names,
      test_vsize_follows_the_map, test_stop_flag_ends_sleep_at_once,
      test_dispositions, test_kill_sent_signal_is_forwarded,
      test_handler_keeps_errno, test_signal_text,
      test_nothing_starts_after_a_stop)
