/* opts.c -- command-line conventions shared by all commands. */
#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli/opts.h"
#include "common/err.h"

void
opts_reset(void)
{
    assert(optind == 1); /* nothing parsed before */
    opterr = 0;
}

void
opts_report(const char *cmd, int c, char *const argv[])
{
    const char *arg = argv[optind - 1];
    if (c == ':') {
        sg_error("%s: option '%s' needs a value (see 'spyglass %s --help')",
                 cmd, arg, cmd);
    } else if (optopt && arg[0] == '-' && arg[1] != '-') {
        sg_error("%s: unknown option '-%c' (see 'spyglass %s --help')", cmd,
                 optopt, cmd);
    } else {
        sg_error("%s: unknown option '%s' (see 'spyglass %s --help')", cmd,
                 arg, cmd);
    }
}

bool
opts_long(const char *cmd, const char *opt, const char *s, long min, long max,
          long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end != '\0' || v < min || v > max) {
        if (max == LONG_MAX)
            sg_error("%s: %s takes a whole number of at least %ld, not '%s'",
                     cmd, opt, min, s);
        else
            sg_error("%s: %s takes a whole number from %ld to %ld, not '%s'",
                     cmd, opt, min, max, s);
        return false;
    }
    *out = v;
    return true;
}

bool
opts_double(const char *cmd, const char *opt, const char *s, double min,
            double max, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end != '\0' || !isfinite(v) || v < min ||
        v > max) {
        sg_error("%s: %s takes a number from %g to %g, not '%s'", cmd, opt,
                 min, max, s);
        return false;
    }
    *out = v;
    return true;
}

const char *
opts_extension(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(path, '.');
    if (!dot || (slash && dot < slash) || dot == path ||
        (slash && dot == slash + 1))
        return "";
    return dot + 1;
}
