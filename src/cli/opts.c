/* opts.c -- command-line conventions shared by all commands. */
#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

void
opts_program_option(int c, const char *value, rq_program *p)
{
    p->kind = c == 'm' ? RQ_RUN_MODULE : RQ_RUN_CODE;
    p->target = value;
}

bool
opts_program(const char *cmd, int argc, char **argv, bool have_target,
             rq_program *p)
{
    if (!have_target) {
        if (optind >= argc) {
            sg_error("%s: nothing to run: give SCRIPT, -m MODULE or -c CODE "
                     "(see 'spyglass %s --help')",
                     cmd, cmd);
            return false;
        }
        p->kind = RQ_RUN_SCRIPT;
        p->target = argv[optind++];
    }
    p->args = (const char **)(argv + optind);
    p->n_args = argc - optind;
    return true;
}

bool
opts_interval(const char *cmd, const char *opt, const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    double scale = strcmp(end, "ms") == 0           ? 1e-3
                   : strcmp(end, "us") == 0         ? 1e-6
                   : !*end || strcmp(end, "s") == 0 ? 1
                                                    : 0;
    if (end == s || errno || !scale || !(v * scale >= 0.001) ||
        !(v * scale <= 3600)) {
        sg_error("%s: %s: '%s' is not an interval from 1ms to 3600s "
                 "(seconds, or with a unit: 5ms, 0.5s)",
                 cmd, opt, s);
        return false;
    }
    *out = v * scale;
    return true;
}

int
opts_outside_target(const char *cmd, const char *verb, int argc, char **argv,
                    const char *last_value, bool have_pid, bool have_python,
                    const char **target, char ***launch)
{
    bool dashdash = optind > 1 && strcmp(argv[optind - 1], "--") == 0 &&
                    argv[optind - 1] != last_value;
    if (!*target && optind < argc && !dashdash)
        *target = argv[optind++];
    else if (!*target && optind < argc)
        *launch = argv + optind;
    if (have_pid && (*launch || *target)) {
        sg_error("%s: give either -p/--pid PID or a program to run "
                 "(SCRIPT, -m MODULE, -c CODE or -- CMD), not both",
                 cmd);
        return SG_EXIT_USAGE;
    }
    if (!have_pid && !*launch && !*target) {
        sg_error("%s: nothing to %s: give -p/--pid PID, SCRIPT, -m "
                 "MODULE, -c CODE or -- CMD [ARGS...]",
                 cmd, verb);
        return SG_EXIT_USAGE;
    }
    if (have_python && !*target) {
        sg_error("%s: --python is the interpreter of SCRIPT, -m and -c; %s",
                 cmd,
                 have_pid ? "-p/--pid reads the process's own"
                          : "-- CMD names its own");
        return SG_EXIT_USAGE;
    }
    return -1;
}

bool
opts_func(const char *cmd, const char *arg)
{
    const char *colon = strchr(arg, ':');
    if (!colon || colon == arg || !colon[1]) {
        sg_error("%s: --func takes MODULE:QUALNAME (e.g. __main__:main or "
                 "pkg.mod:Cls.meth), not '%s'",
                 cmd, arg);
        return false;
    }
    return true;
}

bool
opts_script_readable(const char *cmd, const char *script)
{
    if (access(script, R_OK) == 0)
        return true;
    int err = errno;
    sg_error("%s: can't open file '%s': [Errno %d] %s", cmd, script, err,
             strerror(err));
    return false;
}

int
opts_output(const char *format, const char **output, const char **format_out,
            const sg_output *what)
{
    if (format && !*output)
        *output = "-";
    *format_out = NULL;
    if (!*output)
        return -1;
    const sg_writer *w;
    if (sg_writer_pick(format, *output, what, &w))
        return SG_EXIT_USAGE;
    *format_out = w->name;
    return -1;
}

/* An input file larger than this is refused rather than read whole. */
#define OPTS_MAX_INPUT (1ull << 31)

int
opts_read_input(const char *cmd, const char *path, strbuf *sb)
{
    FILE *f = fopen(path, "rb");
    struct stat st;
    if (!f || fstat(fileno(f), &st) < 0 || S_ISDIR(st.st_mode)) {
        sg_error("%s: cannot read '%s': %s", cmd, path,
                 f ? "it is a directory" : strerror(errno));
        if (f)
            fclose(f);
        return -1;
    }
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0 &&
           sb->len + n <= OPTS_MAX_INPUT)
        sb_append(sb, buf, n);
    bool bad = ferror(f) || n > 0;
    fclose(f);
    if (bad) {
        sg_error("%s: cannot read '%s': %s", cmd, path,
                 n > 0 ? "larger than 2 GiB" : "read error");
        return -1;
    }
    return 0;
}
