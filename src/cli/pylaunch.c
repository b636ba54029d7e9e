/* pylaunch.c -- pick and check the interpreter, exec the agent with a
 * request. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/pylaunch.h"
#include "cli/config.h" /* generated: SG_SOURCE_DIR */
#include "cli/opts.h"
#include "common/clock.h"
#include "common/err.h"
#include "proc/proc.h"
#include "remote/elf.h"

/* Thin glue: import the agent without letting the current directory shadow
 * the installed package (sys.path[0] is '' under -c), restore sys.path, and
 * run the request. When this interpreter has no spyglass, or one older than
 * requests (no run_request), it says so in one line, naming what to
 * install; for that it knows the request's header (request.h: argv[2] is
 * "release=...", argv[3] "install=..."). Every other check is the agent's.
 * That branch is a string, compiled only when it runs: compiling the glue
 * is part of every in-process command's start-up. */
#define GLUE_FAIL                                                             \
    "x = sys.executable; r, s = [a.split('=', 1)[1] for a in "                \
    "sys.argv[2:4]]; "                                                        \
    "a = sys.modules.get('spyglass._agent'); "                                \
    "sys.stderr.write('spyglass: error: ' + ('spyglass %s cannot drive the "  \
    "agent of %s (spyglass %s): reinstall it with %s -m pip install %s' % "   \
    "(r, x, getattr(a, '__version__', 'unknown'), x, s) if a else '%s "       \
    "(Python %d.%d) cannot import spyglass._agent (%s); install spyglass %s " \
    "for it: %s -m pip install %s' % (x, sys.version_info[0], "               \
    "sys.version_info[1], e, r, x, s)) + chr(10)); sys.exit(2)"
/* Said by the glue when the interpreter is a CPython the executable could
 * not tell from outside (see pylaunch_pick) outside 3.8-3.13. */
#define GLUE_VERSION_FAIL                                                     \
    "sys.stderr.write('spyglass: error: %s is Python %d.%d; spyglass runs "   \
    "under CPython 3.8-3.13' % (sys.executable, sys.version_info[0], "        \
    "sys.version_info[1]) + chr(10)); sys.exit(2)"
static const char glue[] =
    "import sys\n"
    "if not (3, 8) <= sys.version_info[:2] <= (3, 13):\n"
    "    exec(\"" GLUE_VERSION_FAIL "\")\n"
    "p0 = sys.path.pop(0)\n"
    "try:\n"
    "    from spyglass._agent import run_request\n"
    "except ImportError as e:\n"
    "    exec(\"" GLUE_FAIL "\")\n"
    "sys.path.insert(0, p0)\n"
    "del p0\n"
    "sys.exit(run_request(sys.argv[1:]))\n";

/* What a Python answers to the probe: a computed number, so that a program
 * echoing its arguments cannot pass; then the implementation and version.
 * Python 2 syntax too, so that a Python 2 is named as one. */
#define PROBE_TAG "spyglass-probe42 "
static const char probe[] =
    "import sys; v = sys.version_info; sys.stdout.write('spyglass-probe%d "
    "%s %d.%d' % (6 * 7, getattr(getattr(sys, 'implementation', None), "
    "'name', 'cpython'), v[0], v[1]))";
/* How long an unknown interpreter may take to answer the probe. */
#define PROBE_TIMEOUT_MS 10000

/* The interpreter used without --python: the python next to this
 * executable (a venv's bin/), else python3 from PATH. */
static const char *
pylaunch_default(char *buf, size_t cap)
{
    ssize_t n = readlink("/proc/self/exe", buf, cap - 16);
    char *slash = NULL;
    if (n > 0) {
        buf[n] = '\0';
        slash = strrchr(buf, '/');
    }
    if (slash) {
        static const char *names[] = {"python3", "python"};
        for (size_t i = 0; i < 2; i++) {
            snprintf(slash + 1, cap - (size_t)(slash + 1 - buf), "%s",
                     names[i]);
            if (access(buf, X_OK) == 0)
                return buf;
        }
    }
    return "python3";
}

/* Whether path can be executed: 0, or the errno execve would give. */
static int
pylaunch_runnable(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return errno;
    if (S_ISDIR(st.st_mode))
        return EISDIR;
    return access(path, X_OK) == 0 ? 0 : errno;
}

/* Find name as execvp would (PATH when it has no '/') and copy the path to
 * out. Returns 0, or the errno of the most telling failure. */
static int
pylaunch_resolve(const char *name, char *out, size_t cap)
{
    if (strchr(name, '/')) {
        if (strlen(name) >= cap)
            return ENAMETOOLONG;
        strcpy(out, name);
        return pylaunch_runnable(out);
    }
    const char *path = getenv("PATH");
    if (!path)
        path = "/bin:/usr/bin"; /* execvp's default */
    int best = ENOENT;
    for (const char *p = path;; p++) {
        size_t len = strcspn(p, ":");
        int n =
            snprintf(out, cap, "%.*s%s%s", (int)len, p, len ? "/" : "", name);
        if (n > 0 && (size_t)n < cap) {
            int err = pylaunch_runnable(out);
            if (err == 0)
                return 0;
            if (err != ENOENT && err != ENOTDIR)
                best = err; /* found, but not runnable: say why */
        }
        p += len;
        if (!*p)
            return best;
    }
}

/* Read the probe's answer from fd into buf, for at most the timeout. */
static void
pylaunch_read_answer(int fd, char *buf, size_t cap)
{
    size_t got = 0;
    uint64_t deadline = sg_now_ns() + PROBE_TIMEOUT_MS * 1000000ull;
    while (got + 1 < cap) {
        uint64_t now = sg_now_ns();
        if (now >= deadline)
            break;
        struct pollfd pfd = {fd, POLLIN, 0};
        int r = poll(&pfd, 1, (int)((deadline - now) / 1000000 + 1));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        ssize_t n = read(fd, buf + got, cap - 1 - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    buf[got] = '\0';
}

/* Ask interp what it is: runs `interp -c PROBE` with no stdin and its
 * output unseen. Fills impl and the version; false when it did not answer
 * as a Python does. */
static bool
pylaunch_probe(const char *interp, char *impl, size_t impl_cap, int *major,
               int *minor)
{
    int fds[2];
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null < 0 || pipe2(fds, O_CLOEXEC) != 0) {
        if (null >= 0)
            close(null);
        return false;
    }
    char *argv[] = {(char *)interp, "-c", (char *)probe, NULL};
    proc_spec ps = {argv, null, fds[1], null};
    pid_t pid;
    int err = proc_spawn(&ps, &pid);
    close(fds[1]);
    close(null);
    char answer[128] = "";
    if (!err) {
        pylaunch_read_answer(fds[0], answer, sizeof answer);
        kill(pid, SIGKILL); /* ours, and done: one that hangs ends here */
        proc_exit ex;
        proc_wait(pid, &ex);
    }
    close(fds[0]);
    char fmt[32];
    snprintf(fmt, sizeof fmt, PROBE_TAG "%%%zus %%d.%%d", impl_cap - 1);
    return sscanf(answer, fmt, impl, major, minor) == 3;
}

/* Whether interp is a CPython 3.8+ executable, told from its file alone:
 * Py_BytesMain is what Programs/python.c calls since 3.8, defined in a
 * static build and named as an import in one linked to libpython. */
static bool
pylaunch_looks_like_python(const char *interp)
{
    elf_image img;
    if (elf_open_file(&img, interp) != 0)
        return false;
    bool yes = elf_names_symbol(&img, "Py_BytesMain");
    elf_close(&img);
    return yes;
}

int
pylaunch_pick(const char *cmd, const char *python, char *out, size_t cap)
{
    char def[PATH_MAX];
    const char *name = python ? python : pylaunch_default(def, sizeof def);
    int err = pylaunch_resolve(name, out, cap);
    if (err == ENOENT || err == ENOTDIR) {
        sg_error("%s: Python interpreter '%s' not found", cmd, name);
        return SG_EXIT_NOEXEC;
    }
    if (err) {
        sg_error("%s: cannot run Python interpreter '%s': %s", cmd, name,
                 strerror(err));
        return SG_EXIT_NOEXEC;
    }
    /* The usual case costs a look at the file; anything else (a wrapper
     * script, an older Python, not a Python) is asked. The agent's glue
     * checks the rest: the version's upper end, spyglass installed. */
    if (pylaunch_looks_like_python(out))
        return -1;
    char impl[32];
    int major, minor;
    if (!pylaunch_probe(out, impl, sizeof impl, &major, &minor)) {
        sg_error("%s: '%s' is not a Python interpreter (it did not answer "
                 "as one); spyglass runs under CPython 3.8-3.13",
                 cmd, name);
        return SG_EXIT_USAGE;
    }
    if (strcmp(impl, "cpython") != 0 || major != 3 || minor < 8 ||
        minor > 13) {
        sg_error("%s: '%s' is %s %d.%d; spyglass runs under CPython "
                 "3.8-3.13",
                 cmd, name, strcmp(impl, "cpython") ? impl : "Python", major,
                 minor);
        return SG_EXIT_USAGE;
    }
    return -1;
}

int
pylaunch_bad_option(const char *cmd, int c, char *const argv[])
{
    if (c == '?' && optopt == 'p')
        sg_error("%s: -p is not an option here; the interpreter is --python "
                 "PYTHON (see 'spyglass %s --help')",
                 cmd, cmd);
    else
        opts_report(cmd, c, argv);
    return SG_EXIT_USAGE;
}

/* Whether the tree this executable was built from is still there at the
 * same release (1), there at another (0), or gone (-1): then `pip install`
 * of it installs a matching agent. */
static int
pylaunch_source_matches(void)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/meson.build", SG_SOURCE_DIR);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char line[256];
    int found = 0;
    while (!found && fgets(line, sizeof line, f))
        found = strstr(line, "version: '" SG_VERSION "'") != NULL;
    fclose(f);
    return found;
}

/* What `python -m pip install` takes to install this release: the tree it
 * was built from, else the placeholder of a path with what it must hold
 * (spyglass is not published on an index, so no name would do). */
static const char *
pylaunch_install_source(void)
{
    static char hint[PATH_MAX + 160];
    int m = pylaunch_source_matches();
    if (m == 1)
        return SG_SOURCE_DIR;
    snprintf(hint, sizeof hint,
             "PATH (a checkout or sdist of spyglass " SG_VERSION "; %s, "
             "which this spyglass was built from, %s)",
             SG_SOURCE_DIR, m < 0 ? "is gone" : "holds another release");
    return hint;
}

int
pylaunch_run(const char *python, const rq_spec *spec, const void *r)
{
    char interp[PATH_MAX];
    int rc = pylaunch_pick(spec->command, python, interp, sizeof interp);
    if (rc >= 0)
        return rc;
    char **request = rq_encode(spec, r, pylaunch_install_source());
    if (!request) {
        sg_error("%s: out of memory", spec->command);
        return SG_EXIT_FAIL;
    }
    size_t n = 0;
    while (request[n])
        n++;
    char **args = sg_xcalloc(n + 4, sizeof *args);
    args[0] = interp;
    args[1] = "-c";
    args[2] = (char *)glue;
    memcpy(args + 3, request, n * sizeof *args);
    fflush(NULL);
    execv(interp, args);
    int err = errno;
    if (err == E2BIG)
        sg_error("%s: the command line is too long for the kernel",
                 spec->command);
    else
        sg_error("%s: cannot run Python interpreter '%s': %s", spec->command,
                 interp, strerror(err));
    free(args);
    rq_free_argv(request);
    return SG_EXIT_NOEXEC;
}

int
pylaunch_command(const char *cmd, const char *python, int kind,
                 const char *target, int argc, char **args, char *interp,
                 size_t cap, char ***argv)
{
    if (!kind && !opts_script_readable(cmd, target))
        return SG_EXIT_USAGE;
    int rc = pylaunch_pick(cmd, python, interp, cap);
    if (rc >= 0)
        return rc;
    char **v = sg_xcalloc((size_t)argc + 4, sizeof *v);
    size_t n = 0;
    v[n++] = interp;
    if (kind)
        v[n++] = kind == 'm' ? "-m" : "-c";
    v[n++] = (char *)target;
    memcpy(v + n, args, (size_t)argc * sizeof *v);
    *argv = v;
    return -1;
}
