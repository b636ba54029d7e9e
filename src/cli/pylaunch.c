/* pylaunch.c -- exec the agent with a request. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/pylaunch.h"
#include "cli/config.h" /* generated: SG_SOURCE_DIR */
#include "common/err.h"

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
static const char glue[] = "import sys\n"
                           "p0 = sys.path.pop(0)\n"
                           "try:\n"
                           "    from spyglass._agent import run_request\n"
                           "except ImportError as e:\n"
                           "    exec(\"" GLUE_FAIL "\")\n"
                           "sys.path.insert(0, p0)\n"
                           "del p0\n"
                           "sys.exit(run_request(sys.argv[1:]))\n";

static int
is_executable(const char *path)
{
    return access(path, X_OK) == 0;
}

static const char *
pylaunch_interpreter(const char *python)
{
    static char buf[PATH_MAX + 16];
    if (python)
        return python;
    ssize_t n = readlink("/proc/self/exe", buf, PATH_MAX);
    if (n > 0) {
        buf[n] = '\0';
        char *slash = strrchr(buf, '/');
        if (slash) {
            static const char *names[] = {"python3", "python"};
            for (size_t i = 0; i < 2; i++) {
                snprintf(slash + 1, sizeof buf - (size_t)(slash + 1 - buf),
                         "%s", names[i]);
                if (is_executable(buf))
                    return buf;
            }
        }
    }
    return "python3";
}

/* Whether the tree this executable was built from is still there at the
 * same release: then `pip install` of it installs a matching agent. */
static int
pylaunch_source_matches(void)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/meson.build", SG_SOURCE_DIR);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    char line[256];
    int found = 0;
    while (!found && fgets(line, sizeof line, f))
        found = strstr(line, "version: '" SG_VERSION "'") != NULL;
    fclose(f);
    return found;
}

/* What `python -m pip install` takes to install this release. */
static const char *
pylaunch_install_source(void)
{
    if (pylaunch_source_matches())
        return SG_SOURCE_DIR;
    return "<a checkout or sdist of spyglass " SG_VERSION ">";
}

int
pylaunch_run(const char *python, const rq_spec *spec, const void *r)
{
    const char *interp = pylaunch_interpreter(python);
    char **request = rq_encode(spec, r, pylaunch_install_source());
    if (!request) {
        sg_error("%s: out of memory", spec->command);
        return SG_EXIT_FAIL;
    }
    size_t n = 0;
    while (request[n])
        n++;
    char **args = sg_xcalloc(n + 4, sizeof *args);
    args[0] = (char *)interp;
    args[1] = "-c";
    args[2] = (char *)glue;
    memcpy(args + 3, request, n * sizeof *args);
    fflush(NULL);
    execvp(interp, args);
    int err = errno;
    if (err == ENOENT)
        sg_error("%s: Python interpreter '%s' not found", spec->command,
                 interp);
    else if (err == E2BIG)
        sg_error("%s: the command line is too long for the kernel",
                 spec->command);
    else
        sg_error("%s: cannot run Python interpreter '%s': %s", spec->command,
                 interp, strerror(err));
    free(args);
    rq_free_argv(request);
    return SG_EXIT_NOEXEC;
}
