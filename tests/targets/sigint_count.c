/* sigint_count.c -- a program that counts the SIGINTs it receives, for the
 * tests of signal forwarding (a launcher must not deliver one Ctrl-C twice).
 *
 * Prints "ready" once its handler is in place, waits for a first SIGINT,
 * then waits WINDOW_MS more for any duplicate, prints "SIGINT x N" and
 * exits 0. Gives up (exit 3) after 20 s without a SIGINT.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define WINDOW_MS 300

static volatile sig_atomic_t count;

static void
on_sigint(int sig)
{
    (void)sig;
    count++;
}

static void
pause_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    /* A signal cuts the sleep short; the caller loops on the clock. */
    nanosleep(&ts, NULL);
}

static double
now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
main(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    printf("ready\n");
    fflush(stdout);
    double give_up = now_s() + 20;
    while (count == 0) {
        if (now_s() > give_up)
            return 3;
        pause_ms(10);
    }
    double end = now_s() + WINDOW_MS / 1000.0;
    while (now_s() < end)
        pause_ms(10);
    printf("SIGINT x %d\n", (int)count);
    fflush(stdout);
    return 0;
}
