/* witness.c -- the process that sees what was sent to the whole process
 * group; see witness.h.
 *
 * The protocol on the socket pair is one byte each way: spyglass sends a
 * signal number, with WITNESS_WAIT_BIT when the witness may wait for it a
 * while; the witness answers 1 if that signal was (or came) pending in it,
 * and is now taken, else 0. The witness does nothing else, so after a fork
 * it runs only async-signal-safe calls.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "proc/witness.h"

/* How long the handler waits for an answer beyond the question's own
 * wait before giving the witness up (it answers in microseconds; this only
 * bounds a stopped or stuck one). */
#define WITNESS_ANSWER_MS 2000
/* How long the witness waits for a group copy that follows a signal sent
 * to spyglass alone: `timeout -s INT` signals its command and then the
 * command's group, back to back. */
#define WITNESS_FOLLOW_MS 50
#define WITNESS_WAIT_BIT 0x80

static volatile sig_atomic_t witness_fd = -1; /* spyglass's end */

/* Close every descriptor but keep: a pipe that is spyglass's stdout or
 * stderr must see its end when spyglass ends, not when the witness does. */
static void
witness_close_all_but(int keep)
{
#ifdef SYS_close_range
    if ((keep == 0 ||
         syscall(SYS_close_range, 0u, (unsigned)keep - 1, 0u) == 0) &&
        syscall(SYS_close_range, (unsigned)keep + 1, ~0u, 0u) == 0)
        return;
#endif
    struct rlimit rl;
    rlim_t max = 65536;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < max)
        max = rl.rlim_cur;
    for (rlim_t fd = 0; fd < max; fd++)
        if ((int)fd != keep)
            close((int)fd);
}

/* The witness itself: keeps set blocked, ignores every other signal (one
 * sent to the group for the program, SIGQUIT or SIGUSR1, must not end
 * it), and answers questions until spyglass's end of the socket closes. */
static void
witness_main(int fd, const sigset_t *set)
{
    witness_close_all_but(fd);
    struct sigaction ign;
    ign.sa_handler = SIG_IGN;
    ign.sa_flags = 0;
    sigemptyset(&ign.sa_mask);
    for (int s = 1; s <= SIGRTMAX; s++)
        if (!sigismember(set, s) && s != SIGKILL && s != SIGSTOP)
            sigaction(s, &ign, NULL); /* EINVAL for libc's own: fine */
    sigprocmask(SIG_SETMASK, set, NULL);
    for (;;) {
        unsigned char sig, took = 0;
        ssize_t k = read(fd, &sig, 1);
        if (k < 0 && errno == EINTR)
            continue;
        if (k != 1)
            _exit(0);
        struct timespec wait = {0, 0};
        if (sig & WITNESS_WAIT_BIT)
            wait.tv_nsec = WITNESS_FOLLOW_MS * 1000000L;
        sig &= (unsigned char)~WITNESS_WAIT_BIT;
        if (sig > 0 && sigismember(set, sig) == 1) {
            sigset_t one;
            sigemptyset(&one);
            sigaddset(&one, sig);
            int got;
            while ((got = sigtimedwait(&one, NULL, &wait)) < 0 &&
                   errno == EINTR)
                ;
            took = got == sig;
        }
        if (send(fd, &took, 1, MSG_NOSIGNAL) != 1)
            _exit(0);
    }
}

typedef struct spawn_args {
    int fd;
    const sigset_t *set;
    int rc;
} spawn_args;

/* On a thread of its own, which ends at once: fork a process that forks
 * the witness and exits, so that the witness is nobody's child here. */
static void *
witness_spawner(void *arg)
{
    spawn_args *a = arg;
    pid_t mid = fork();
    if (mid == 0) {
        pid_t w = fork();
        if (w == 0)
            witness_main(a->fd, a->set);
        _exit(w < 0);
    }
    if (mid < 0)
        return NULL;
    int status;
    pid_t r;
    while ((r = waitpid(mid, &status, 0)) < 0 && errno == EINTR)
        ;
    if (r == mid && WIFEXITED(status) && WEXITSTATUS(status) == 0)
        a->rc = 0;
    return NULL;
}

int
witness_start(const sigset_t *set)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        return -1;
    spawn_args a = {sv[1], set, -1};
    /* The thread starts with every signal blocked: no handler runs on it,
     * and the witness starts with nothing it could die of. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_t t;
    int e = pthread_create(&t, NULL, witness_spawner, &a);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (e == 0)
        pthread_join(t, NULL);
    close(sv[1]);
    if (e != 0 || a.rc != 0) {
        close(sv[0]);
        return -1;
    }
    witness_fd = sv[0];
    return 0;
}

bool
witness_took(int sig, bool wait)
{
    int fd = (int)witness_fd;
    if (fd < 0)
        return false;
    unsigned char q = (unsigned char)(sig | (wait ? WITNESS_WAIT_BIT : 0));
    unsigned char took = 0;
    struct pollfd p = {fd, POLLIN, 0};
    int k = -1;
    if (send(fd, &q, 1, MSG_NOSIGNAL) == 1) {
        do
            k = poll(&p, 1,
                     WITNESS_ANSWER_MS + (wait ? WITNESS_FOLLOW_MS : 0));
        while (k < 0 && errno == EINTR);
    }
    if (k != 1 || read(fd, &took, 1) != 1) {
        /* Gone or stuck: an answer arriving later would be taken for the
         * next question's. Without it, signals count as spyglass's own. */
        witness_fd = -1;
        close(fd);
        return false;
    }
    return took == 1;
}
