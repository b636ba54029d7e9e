/* launch.c -- start a sampled command's session; see launch.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "proc/proc.h"
#include "sampler/launch.h"

static const char *
rm_hint(const rm_error *e)
{
    return e->msg[0] ? e->msg : "cannot read the process";
}

int
sampler_wait_child(pid_t pid)
{
    proc_exit ex;
    return proc_wait(pid, &ex) == 0 ? ex.code : SG_EXIT_FAIL;
}

int
sampler_end_child(const char *command, pid_t pid)
{
    proc_exit ex;
    if (proc_wait(pid, &ex) != 0)
        return SG_EXIT_FAIL;
    /* The status alone (139) leaves the reader to do the arithmetic. */
    if (ex.signal) {
        char sig[48];
        proc_signal_text(ex.signal, ex.core_dumped, sig, sizeof sig);
        fprintf(stderr, "spyglass %s: the program was killed by %s\n", command,
                sig);
    }
    return ex.code;
}

void
sampler_free(sampler_run *r)
{
    record_free(r->s);
    sg_profile_free(r->p);
    r->s = NULL;
    r->p = NULL;
}

int
sampler_start(const char *command, char **cmd, pid_t pid,
              const record_config *cfg, sampler_run *r)
{
    memset(r, 0, sizeof *r);
    rm_error host;
    if (remote_host_supported(&host) != 0) { /* before launching anything */
        sg_error("%s: %s", command, host.msg);
        return SG_EXIT_FAIL;
    }
    /* Before the launch, so that no stop signal can fall between. */
    proc_forward_signals();
    /* A closed stderr or stdout pipe must not kill us before the profile
     * is written; writes then fail with EPIPE instead. */
    proc_ignore(SIGPIPE);
    r->stop = proc_stop_flag();
    r->pid = pid;
    r->launched = cmd != NULL;
    if (r->launched) {
        proc_spec ps = {cmd, PROC_INHERIT, PROC_INHERIT, PROC_INHERIT};
        int err = proc_spawn_unless_stopped(&ps, &r->pid);
        if (err == ECANCELED) {
            fprintf(stderr,
                    "spyglass %s: stopped by %s before the program "
                    "started\n",
                    command, proc_signal_name(proc_stop_signal()));
            return 128 + proc_stop_signal();
        }
        if (err) {
            sg_error("%s: cannot run '%s': %s", command, cmd[0],
                     strerror(err));
            return SG_EXIT_NOEXEC;
        }
    }
    /* Counts, and the time each sample stands for (record.h). */
    const char *metrics[] = {"samples", "ns"};
    r->p = sg_profile_new(SG_PROFILE_SAMPLED, 2, metrics);
    if (!r->p)
        sg_die(SG_EXIT_FAIL, "%s: out of memory", command);
    r->s = record_new(cfg, r->p);
    rm_error err = {0};
    if (record_attach(r->s, r->pid, r->launched, r->stop, &err) == 0)
        return -1;
    if (r->launched && *r->stop)
        /* Passed on to the program, which was never read: not its fault,
         * nor a reason to call it anything. */
        fprintf(stderr,
                "spyglass %s: stopped by %s before the program "
                "could be read: nothing was sampled\n",
                command, proc_signal_name(proc_stop_signal()));
    else if (r->launched && err.code == RM_ENOTPY)
        sg_error("%s: '%s' is not a Python program (%s); "
                 "--subprocesses follows Python started by it",
                 command, cmd[0], rm_hint(&err));
    else
        sg_error("%s: %s", command, rm_hint(&err));
    int status =
        r->launched ? sampler_end_child(command, r->pid) : SG_EXIT_FAIL;
    sampler_free(r);
    return status == 0 ? SG_EXIT_FAIL : status; /* no profile: no success */
}
