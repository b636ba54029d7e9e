/* pylaunch.c -- hand an in-process command over to the agent. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/pylaunch.h"
#include "common/alloc.h"
#include "common/err.h"

/* Thin glue: import the agent without letting the current directory shadow
 * the installed package (sys.path[0] is '' under -c), restore sys.path, and
 * give a clear line when this interpreter has no spyglass. */
static const char glue[] =
    "import sys\n"
    "p0 = sys.path.pop(0)\n"
    "try:\n"
    "    from spyglass import _agent\n"
    "except ImportError as e:\n"
    "    sys.stderr.write('spyglass: error: %s (Python %d.%d) cannot import "
    "spyglass._agent (%s); install spyglass for it: %s -m pip install "
    "spyglass\\n' % (sys.executable, sys.version_info[0], "
    "sys.version_info[1], e, sys.executable))\n"
    "    sys.exit(2)\n"
    "sys.path.insert(0, p0)\n"
    "del p0\n"
    "sys.exit(_agent.main(sys.argv[1:]))\n";

static int
is_executable(const char *path)
{
    return access(path, X_OK) == 0;
}

const char *
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

int
pylaunch_exec(const char *python, const char *cmd, int argc,
              char *const argv[])
{
    const char *interp = pylaunch_interpreter(python);
    char **args = sg_calloc((size_t)argc + 5, sizeof *args);
    if (!args) {
        sg_error("%s: out of memory", cmd);
        return SG_EXIT_FAIL;
    }
    int k = 0;
    args[k++] = (char *)interp;
    args[k++] = "-c";
    args[k++] = (char *)glue;
    args[k++] = (char *)cmd;
    for (int i = 1; i < argc; i++)
        args[k++] = argv[i];
    args[k] = NULL;
    fflush(NULL);
    execvp(interp, args);
    int err = errno;
    if (err == ENOENT)
        sg_error("%s: Python interpreter '%s' not found", cmd, interp);
    else
        sg_error("%s: cannot run Python interpreter '%s': %s", cmd, interp,
                 strerror(err));
    free(args);
    return SG_EXIT_NOEXEC;
}
