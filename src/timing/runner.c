/* runner.c -- spawn, wait4, measure. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/clock.h"
#include "timing/runner.h"

extern char **environ;

static volatile sig_atomic_t child_pid;
static volatile sig_atomic_t interrupted;

static void
on_signal(int sig)
{
    interrupted = sig;
    if (child_pid > 0)
        kill((pid_t)child_pid, sig);
}

void
runner_install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

int
runner_interrupted(void)
{
    return (int)interrupted;
}

int
runner_run(const run_spec *spec, run_result *out)
{
    memset(out, 0, sizeof *out);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    if (!spec->show_output) {
        posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
        posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    }
    if (spec->null_stdin)
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    /* The child starts with default signal dispositions, whatever ours. */
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t def;
    sigemptyset(&def);
    sigaddset(&def, SIGINT);
    sigaddset(&def, SIGTERM);
    posix_spawnattr_setsigdefault(&attr, &def);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF);

    pid_t pid;
    uint64_t t0 = sg_now_ns();
    int err =
        posix_spawnp(&pid, spec->argv[0], &fa, &attr, spec->argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    if (err)
        return err;
    child_pid = pid;

    int status;
    struct rusage ru;
    pid_t r;
    while ((r = wait4(pid, &status, 0, &ru)) < 0 && errno == EINTR)
        ;
    uint64_t t1 = sg_now_ns();
    child_pid = 0;
    if (r < 0)
        return errno;

    out->wall = (double)(t1 - t0) / 1e9;
    out->user = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6;
    out->sys = (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
    out->max_rss_kb = ru.ru_maxrss;
    out->major_faults = ru.ru_majflt;
    out->minor_faults = ru.ru_minflt;
    out->vol_cs = ru.ru_nvcsw;
    out->invol_cs = ru.ru_nivcsw;
    out->fs_in = ru.ru_inblock;
    out->fs_out = ru.ru_oublock;
    out->swaps = ru.ru_nswap;
    out->signals = ru.ru_nsignals;
    out->msg_sent = ru.ru_msgsnd;
    out->msg_recv = ru.ru_msgrcv;
    if (WIFEXITED(status)) {
        out->exit_code = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
        out->term_signal = WTERMSIG(status);
        out->exit_code = 128 + out->term_signal;
    }
    return 0;
}
