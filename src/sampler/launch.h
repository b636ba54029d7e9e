/* launch.h -- the start every sampled command shares (record, top): check
 * the host, take the stop signals, launch the program or take --pid, and
 * attach a sampling session to it, with the one error line of each way
 * this can fail.
 */
#ifndef SG_SAMPLER_LAUNCH_H
#define SG_SAMPLER_LAUNCH_H

#include <signal.h>
#include <stdbool.h>
#include <sys/types.h>

#include "model/profile.h"
#include "sampler/record.h"

typedef struct sampler_run {
    pid_t pid;     /* the program launched, or the one attached to */
    bool launched; /* pid is our child */
    sg_profile *p; /* the profile the session fills */
    record_session *s;
    volatile sig_atomic_t *stop; /* set by the stop signals */
} sampler_run;

/* Launch cmd (NULL: attach to pid) and attach a session configured by cfg.
 * command names the command in error lines ("record: ..."). Returns -1
 * with r filled, or the exit status after an error line (a launched
 * program then reaped; nothing left to free). */
int sampler_start(const char *command, char **cmd, pid_t pid,
                  const record_config *cfg, sampler_run *r);

/* The launched program's exit status, as a shell shows it (reaping it). */
int sampler_wait_child(pid_t pid);

/* The same, saying on stderr ("spyglass COMMAND: the program was killed
 * by SIGSEGV") when a signal ended it. */
int sampler_end_child(const char *command, pid_t pid);

/* Free the session and its profile. */
void sampler_free(sampler_run *r);

#endif
