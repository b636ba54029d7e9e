/* term.c -- the terminal top draws on; see term.h. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <termios.h>
#include <unistd.h>

#include "top/term.h"

#define ENTER "\033[?1049h\033[?25l\033[H\033[2J"
#define LEAVE "\033[0m\033[?25h\033[?1049l"

static struct {
    bool open;
    bool keys; /* stdin is the terminal, in non-canonical mode */
    struct termios saved;
    int saved_err; /* the real stderr while it is held, else -1 */
    int held;      /* what spyglass wrote to stderr meanwhile */
    bool atexit_set;
    bool tstp; /* our Ctrl-Z handler is installed */
    struct sigaction old_tstp;
} term = {.saved_err = -1, .held = -1};

static volatile sig_atomic_t resized;
static struct termios raw_mode; /* what the view runs with */

static void
on_winch(int sig)
{
    (void)sig;
    resized = 1;
}

static int write_all(int fd, const char *s, size_t n);

/* Ctrl-Z: give the terminal back, stop as the default action would, and
 * take it again when continued (fg), with a full redraw. Only
 * async-signal-safe calls. */
static void
on_tstp(int sig)
{
    int saved_errno = errno;
    write_all(STDOUT_FILENO, LEAVE, sizeof LEAVE - 1);
    if (term.keys)
        tcsetattr(STDIN_FILENO, TCSADRAIN, &term.saved);
    struct sigaction dfl, ours;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigaction(SIGTSTP, &dfl, &ours);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTSTP);
    raise(sig);
    sigprocmask(SIG_UNBLOCK, &set, NULL); /* stops here until SIGCONT */
    sigprocmask(SIG_BLOCK, &set, NULL);
    sigaction(SIGTSTP, &ours, NULL);
    if (term.keys)
        tcsetattr(STDIN_FILENO, TCSADRAIN, &raw_mode);
    write_all(STDOUT_FILENO, ENTER, sizeof ENTER - 1);
    resized = 1; /* redraw everything */
    errno = saved_errno;
}

bool
top_term_usable(void)
{
    const char *t = getenv("TERM");
    return isatty(STDOUT_FILENO) && t && t[0] && strcmp(t, "dumb") != 0;
}

bool
top_term_colour(void)
{
    static const char *colour_terms[] = {
        "xterm",  "screen",    "tmux",  "rxvt",    "linux", "konsole",
        "gnome",  "alacritty", "kitty", "foot",    "st-",   "putty",
        "cygwin", "ansi",      "vte",   "wezterm", "iterm", "eterm"};
    const char *no = getenv("NO_COLOR");
    if (no && no[0])
        return false;
    const char *t = getenv("TERM");
    if (!t || !t[0] || strcmp(t, "dumb") == 0)
        return false;
    const char *ct = getenv("COLORTERM");
    if ((ct && ct[0]) || strstr(t, "color") || strstr(t, "256"))
        return true;
    for (size_t i = 0; i < sizeof colour_terms / sizeof *colour_terms; i++)
        if (strncmp(t, colour_terms[i], strlen(colour_terms[i])) == 0)
            return true;
    return false;
}

bool
top_term_utf8(void)
{
    /* The first of these that is set decides, as setlocale would. */
    static const char *vars[] = {"LC_ALL", "LC_CTYPE", "LANG"};
    for (size_t i = 0; i < 3; i++) {
        const char *v = getenv(vars[i]);
        if (v && v[0])
            return strcasestr(v, "utf-8") || strcasestr(v, "utf8");
    }
    return false;
}

/* Write all of s; -1 when fd no longer takes it. */
static int
write_all(int fd, const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, s, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Put the real stderr back and show what was written to it meanwhile. */
static void
release_stderr(void)
{
    if (term.saved_err < 0)
        return;
    dup2(term.saved_err, STDERR_FILENO);
    close(term.saved_err);
    term.saved_err = -1;
    char buf[4096];
    ssize_t n;
    if (lseek(term.held, 0, SEEK_SET) == 0)
        while ((n = read(term.held, buf, sizeof buf)) > 0)
            write_all(STDERR_FILENO, buf, (size_t)n);
    close(term.held);
    term.held = -1;
}

/* Hold stderr in a memory file while the screen is ours (best effort: on
 * failure messages go to the terminal as they come). */
static void
hold_stderr(void)
{
    int held = memfd_create("spyglass-top-stderr", MFD_CLOEXEC);
    if (held < 0)
        return;
    int saved = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
    if (saved < 0 || dup2(held, STDERR_FILENO) < 0) {
        if (saved >= 0)
            close(saved);
        close(held);
        return;
    }
    term.saved_err = saved;
    term.held = held;
}

void
top_term_close(void)
{
    if (!term.open)
        return;
    term.open = false;
    if (term.tstp)
        sigaction(SIGTSTP, &term.old_tstp, NULL);
    term.tstp = false;
    write_all(STDOUT_FILENO, LEAVE, strlen(LEAVE));
    if (term.keys)
        tcsetattr(STDIN_FILENO, TCSADRAIN, &term.saved);
    term.keys = false;
    release_stderr();
}

int
top_term_open(void)
{
    if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &term.saved) == 0) {
        raw_mode = term.saved;
        raw_mode.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
        raw_mode.c_cc[VMIN] = 0;
        raw_mode.c_cc[VTIME] = 0;
        term.keys = tcsetattr(STDIN_FILENO, TCSADRAIN, &raw_mode) == 0;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_winch;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGWINCH, &sa, NULL);
    /* Ctrl-Z only when spyglass was not started with it ignored (as a
     * shell without job control starts programs). */
    struct sigaction old;
    if (!term.tstp && sigaction(SIGTSTP, NULL, &old) == 0 &&
        old.sa_handler != SIG_IGN) {
        sa.sa_handler = on_tstp;
        term.tstp = sigaction(SIGTSTP, &sa, &term.old_tstp) == 0;
    }
    if (!term.atexit_set)
        term.atexit_set = atexit(top_term_close) == 0;
    term.open = true;
    write_all(STDOUT_FILENO, ENTER, strlen(ENTER));
    hold_stderr();
    return 0;
}

void
top_term_size(int *rows, int *cols)
{
    struct winsize ws;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 &&
        ws.ws_col > 0) {
        *rows = ws.ws_row;
        *cols = ws.ws_col;
    } else {
        *rows = 24;
        *cols = 80;
    }
}

bool
top_term_resized(void)
{
    bool r = resized;
    resized = 0;
    return r;
}

size_t
top_term_keys(char *buf, size_t n)
{
    if (!term.keys)
        return 0;
    ssize_t got = read(STDIN_FILENO, buf, n);
    return got > 0 ? (size_t)got : 0;
}

void
top_term_wait(int ms)
{
    struct pollfd pf = {STDIN_FILENO, POLLIN, 0};
    poll(&pf, term.keys ? 1 : 0, ms);
}

int
top_term_write(const strbuf *sb)
{
    return write_all(STDOUT_FILENO, sb_str(sb), strlen(sb_str(sb)));
}
