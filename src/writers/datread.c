/* datread.c -- mprof's .dat read back, as mprof's read_mprofile_file
 * reads it (see mprofdat.h): split on single spaces, MEM, CHLD, FUNC and
 * CMDLINE taken, other fields ignored. Unlike mprof, every number is
 * checked (finite, in range), so that a damaged file is refused with the
 * line that is wrong instead of drawing nonsense.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "writers/mprofdat.h"

#define MIB 1048576.0

typedef struct dat_reader {
    sg_timeline *tl;
    int run;
    long line;    /* 1-based, for messages */
    bool cmdline; /* a CMDLINE line was read */
    char *err;
    size_t errn;
} dat_reader;

static int
dat_bad(dat_reader *r, const char *what)
{
    snprintf(r->err, r->errn, "line %ld: %s", r->line, what);
    return -1;
}

/* The space-separated field at *s (advanced past it and one space), as a
 * NUL-terminated string in place; NULL when none is left. */
static char *
dat_field(char **s)
{
    char *f = *s;
    if (!*f)
        return NULL;
    char *sp = strchr(f, ' ');
    if (sp) {
        *sp = '\0';
        *s = sp + 1;
    } else {
        *s = f + strlen(f);
    }
    return f;
}

/* A decimal number, all of field f, finite and in [lo, hi]. */
static bool
dat_number(const char *f, double lo, double hi, double *out)
{
    if (!f || !*f)
        return false;
    char *end;
    errno = 0;
    double v = strtod(f, &end);
    if (*end || errno == ERANGE || !isfinite(v) || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

/* Memory in MiB (mprof writes no more than 2^40 MiB: a petabyte) and a
 * Unix time (before year 5000). */
#define DAT_MAX_MIB 1099511627776.0
#define DAT_MAX_T 95617584000.0

static bool
dat_mem(const char *f, uint64_t *bytes)
{
    double mib;
    if (!dat_number(f, 0, DAT_MAX_MIB, &mib))
        return false;
    *bytes = (uint64_t)(mib * MIB + 0.5); /* mib >= 0: rounded */
    return true;
}

static bool
dat_time(const char *f, double *t)
{
    return dat_number(f, 0, DAT_MAX_T, t);
}

static int
dat_sample(dat_reader *r, int64_t pid, char *rest)
{
    uint64_t bytes;
    double t;
    if (!dat_mem(dat_field(&rest), &bytes))
        return dat_bad(r, "bad memory value (MiB)");
    if (!dat_time(dat_field(&rest), &t))
        return dat_bad(r, "bad timestamp");
    int s = sg_timeline_series(r->tl, r->run, pid, SG_TL_RSS);
    return s < 0 ? -1 : sg_timeline_add(r->tl, s, t, bytes);
}

static int
dat_child(dat_reader *r, char *rest)
{
    double pid;
    /* mprof keys children by the field's text; a pid is what it writes. */
    if (!dat_number(dat_field(&rest), 1, 4194304, &pid) ||
        pid != (double)(int64_t)pid)
        return dat_bad(r, "bad child pid");
    return dat_sample(r, (int64_t)pid, rest);
}

static int
dat_func(dat_reader *r, char *rest)
{
    sg_tl_func f = {.run = r->run};
    f.name = dat_field(&rest);
    if (!f.name || !*f.name)
        return dat_bad(r, "FUNC without a name");
    if (!dat_mem(dat_field(&rest), &f.m0) ||
        !dat_time(dat_field(&rest), &f.t0) ||
        !dat_mem(dat_field(&rest), &f.m1) ||
        !dat_time(dat_field(&rest), &f.t1))
        return dat_bad(r, "FUNC needs name start_MiB start_time end_MiB "
                          "end_time");
    char *level = dat_field(&rest);
    double lv = 0;
    if (level &&
        (!dat_number(level, 0, 1e6, &lv) || lv != (double)(int64_t)lv))
        return dat_bad(r, "bad FUNC stack level");
    f.level = (int)lv;
    return sg_timeline_add_func(r->tl, &f);
}

static int
dat_line(dat_reader *r, char *line)
{
    char *sp = strchr(line, ' ');
    if (!sp)
        return 0; /* no value: not a field mprof reads */
    *sp = '\0';
    char *rest = sp + 1;
    if (strcmp(line, "MEM") == 0)
        return dat_sample(r, 0, rest);
    if (strcmp(line, "CHLD") == 0)
        return dat_child(r, rest);
    if (strcmp(line, "FUNC") == 0)
        return dat_func(r, rest);
    if (strcmp(line, "CMDLINE") == 0) {
        sg_tl_run *run = &r->tl->runs[r->run];
        r->cmdline = true;
        free(run->cmdline);
        run->cmdline = sg_strdup(rest);
        return run->cmdline ? 0 : -1;
    }
    return 0; /* mprof ignores other fields */
}

/* Undo everything added since a failure's run began. */
static void
dat_rollback(sg_timeline *tl, size_t runs, size_t series, size_t funcs)
{
    while (tl->n_series > series)
        free(tl->series[--tl->n_series].v);
    while (tl->n_funcs > funcs)
        free(tl->funcs[--tl->n_funcs].name);
    while (tl->n_runs > runs) {
        sg_tl_run *run = &tl->runs[--tl->n_runs];
        free(run->cmdline);
        free(run->label);
    }
}

int
sg_dat_parse(sg_timeline *tl, const char *buf, size_t n, const char *label,
             char *err, size_t errn)
{
    size_t runs = tl->n_runs, series = tl->n_series, funcs = tl->n_funcs;
    dat_reader r = {.tl = tl,
                    .run = sg_timeline_add_run(tl, NULL, label),
                    .err = err,
                    .errn = errn};
    char *line = sg_malloc(SG_DAT_MAX_LINE + 1);
    int rc = r.run < 0 || !line ? -1 : 0;
    err[0] = '\0';
    for (size_t i = 0; rc == 0 && i < n;) {
        const char *nl = memchr(buf + i, '\n', n - i);
        size_t end = nl ? (size_t)(nl - buf) : n, len = end - i;
        r.line++;
        if (len > 0 && buf[end - 1] == '\r')
            len--;
        if (len > SG_DAT_MAX_LINE)
            rc = dat_bad(&r, "line too long");
        else if (memchr(buf + i, '\0', len))
            rc = dat_bad(&r, "a NUL byte: not a text file");
        if (rc < 0)
            break;
        memcpy(line, buf + i, len);
        line[len] = '\0';
        rc = dat_line(&r, line);
        i = nl ? end + 1 : n;
    }
    free(line);
    if (rc < 0 && !err[0])
        snprintf(err, errn, "out of memory");
    /* A run with its CMDLINE alone is one whose program ended before it
     * could be sampled: mprof's, and an empty run here. */
    bool any = r.cmdline || tl->n_funcs > funcs;
    for (size_t k = series; k < tl->n_series; k++)
        any = any || tl->series[k].n > 0;
    if (rc == 0 && !any) {
        snprintf(err, errn,
                 "no CMDLINE, MEM, CHLD or FUNC line: not mprof data");
        rc = -1;
    }
    if (rc < 0)
        dat_rollback(tl, runs, series, funcs);
    return rc;
}
