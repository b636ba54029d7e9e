/* runner.c -- spawn, wait, measure. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "proc/proc.h"
#include "timing/runner.h"

static double
seconds(struct timeval tv)
{
    return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static void
fill_result(const proc_exit *ex, run_result *out)
{
    const struct rusage *ru = &ex->ru;
    out->user = seconds(ru->ru_utime);
    out->sys = seconds(ru->ru_stime);
    out->max_rss_kb = ru->ru_maxrss;
    out->major_faults = ru->ru_majflt;
    out->minor_faults = ru->ru_minflt;
    out->vol_cs = ru->ru_nvcsw;
    out->invol_cs = ru->ru_nivcsw;
    out->fs_in = ru->ru_inblock;
    out->fs_out = ru->ru_oublock;
    out->swaps = ru->ru_nswap;
    out->signals = ru->ru_nsignals;
    out->msg_sent = ru->ru_msgsnd;
    out->msg_recv = ru->ru_msgrcv;
    out->exit_code = ex->code;
    out->term_signal = ex->signal;
    out->core_dumped = ex->core_dumped;
}

int
runner_run(const run_spec *spec, run_result *out)
{
    memset(out, 0, sizeof *out);
    int null_fd = -1;
    if (!spec->show_output || spec->null_stdin) {
        null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (null_fd < 0)
            return errno;
    }
    proc_spec ps = {spec->argv, PROC_INHERIT, PROC_INHERIT, PROC_INHERIT};
    if (spec->null_stdin)
        ps.stdin_fd = null_fd;
    if (!spec->show_output)
        ps.stdout_fd = ps.stderr_fd = null_fd;

    pid_t pid;
    uint64_t t0 = sg_now_ns();
    int err = proc_spawn_unless_stopped(&ps, &pid);
    if (null_fd >= 0)
        close(null_fd);
    if (err)
        return err;
    proc_exit ex;
    err = proc_wait(pid, &ex);
    if (err)
        return err;
    out->wall = (double)(ex.end_ns - t0) / 1e9;
    fill_result(&ex, out);
    return 0;
}
