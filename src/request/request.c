/* request.c -- encoding and decoding requests (the format is in request.h).
 *
 * Runs on both sides: in the executable, where running out of memory may
 * end the process, and in the agent, inside the user's interpreter, where
 * nothing may. So nothing here exits: every allocation failure is
 * returned.
 */
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "request/commands.h"
#include "request/request.h"

#if defined(__GNUC__)
#define RQ_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define RQ_PRINTF(a, b)
#endif

/* Fields of the largest command, with room to grow. */
#define RQ_MAX_FIELDS 32

#define RQ_AT(r, off, type) ((type *)((char *)(r) + (off)))
/* "type const", not "const type": type may itself start with const. */
#define RQ_CAT(r, off, type) ((type const *)((const char *)(r) + (off)))

static const char *const rq_run_names[] = {"script", "module", "code"};

/* ---- encoding ----------------------------------------------------------- */

typedef struct rq_vec {
    char **v;
    size_t n, cap;
    bool oom;
} rq_vec;

static void
rq_vec_add(rq_vec *a, const char *key, const char *value)
{
    if (a->oom)
        return;
    if (a->n + 2 > a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 16;
        char **v = realloc(a->v, cap * sizeof *v);
        if (!v) {
            a->oom = true;
            return;
        }
        a->v = v;
        a->cap = cap;
    }
    size_t kl = strlen(key), vl = strlen(value);
    char *s = malloc(kl + vl + 2);
    if (!s) {
        a->oom = true;
        return;
    }
    memcpy(s, key, kl);
    s[kl] = '=';
    memcpy(s + kl + 1, value, vl + 1);
    a->v[a->n++] = s;
    a->v[a->n] = NULL;
}

static void
rq_encode_field(rq_vec *a, const rq_field *f, const void *r)
{
    char num[64];
    switch (f->type) {
    case RQ_BOOL:
        rq_vec_add(a, f->key, *RQ_CAT(r, f->off, bool) ? "1" : "0");
        break;
    case RQ_LONG:
        snprintf(num, sizeof num, "%ld", *RQ_CAT(r, f->off, long));
        rq_vec_add(a, f->key, num);
        break;
    case RQ_DOUBLE:
        /* 17 significant digits: strtod gives back the same double. */
        snprintf(num, sizeof num, "%.17g", *RQ_CAT(r, f->off, double));
        rq_vec_add(a, f->key, num);
        break;
    case RQ_STR:
    case RQ_OPTSTR: {
        const char *s = *RQ_CAT(r, f->off, const char *);
        assert(s || f->type == RQ_OPTSTR);
        if (s)
            rq_vec_add(a, f->key, s);
        break;
    }
    case RQ_LIST: {
        const char *const *items = *RQ_CAT(r, f->off, const char **);
        int count = *RQ_CAT(r, f->count_off, int);
        for (int i = 0; i < count; i++)
            rq_vec_add(a, f->key, items[i]);
        break;
    }
    case RQ_RUN: {
        rq_run kind = *RQ_CAT(r, f->off, rq_run);
        assert((size_t)kind < sizeof rq_run_names / sizeof *rq_run_names);
        rq_vec_add(a, f->key, rq_run_names[kind]);
        break;
    }
    }
}

char **
rq_encode(const rq_spec *spec, const void *r, const char *install)
{
    rq_vec a = {0};
    char version[32];
    snprintf(version, sizeof version, "%d", RQ_VERSION);
    rq_vec_add(&a, RQ_MAGIC, version);
    rq_vec_add(&a, "release", SG_VERSION);
    rq_vec_add(&a, "install", install);
    rq_vec_add(&a, "command", spec->command);
    for (size_t i = 0; i < spec->n_fields; i++)
        rq_encode_field(&a, &spec->fields[i], r);
    if (a.oom) {
        if (a.v)
            a.v[a.n] = NULL;
        rq_free_argv(a.v);
        return NULL;
    }
    return a.v;
}

void
rq_free_argv(char **argv)
{
    for (char **p = argv; p && *p; p++)
        free(*p);
    free(argv);
}

/* ---- the header ------------------------------------------------------- */

/* The value of argv[i] when it is "key=...", else NULL. */
static const char *
rq_header_value(int argc, char *const argv[], int i, const char *key)
{
    size_t kl = strlen(key);
    if (i >= argc || strncmp(argv[i], key, kl) != 0 || argv[i][kl] != '=')
        return NULL;
    return argv[i] + kl + 1;
}

/* A whole decimal number in s, into *out; -1 when s is not one. */
static int
rq_parse_long(const char *s, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end != '\0')
        return -1;
    *out = v;
    return 0;
}

int
rq_read_header(int argc, char *const argv[], rq_header *h)
{
    memset(h, 0, sizeof *h);
    h->version = -1;
    const char *v = rq_header_value(argc, argv, 0, RQ_MAGIC);
    if (!v || rq_parse_long(v, &h->version) < 0 || h->version < 1)
        return -1;
    h->release = rq_header_value(argc, argv, 1, "release");
    h->install = rq_header_value(argc, argv, 2, "install");
    h->command = rq_header_value(argc, argv, 3, "command");
    return h->release && h->install && h->command ? 0 : -1;
}

bool
rq_header_ours(const rq_header *h)
{
    return h->version == RQ_VERSION && h->release &&
           strcmp(h->release, SG_VERSION) == 0;
}

void
rq_refusal(char *buf, size_t n, const rq_header *h, const char *python)
{
    /* A release names its format; only builds of one release from
     * different trees need the format versions to tell them apart. */
    if (strcmp(h->release, SG_VERSION) != 0)
        snprintf(buf, n,
                 "spyglass %s cannot drive the agent of %s (spyglass %s): "
                 "reinstall it with %s -m pip install %s",
                 h->release, python, SG_VERSION, python, h->install);
    else
        snprintf(buf, n,
                 "spyglass %s (request format %ld) cannot drive the agent "
                 "of %s (spyglass %s, request format %d): reinstall it with "
                 "%s -m pip install %s",
                 h->release, h->version, python, SG_VERSION, RQ_VERSION,
                 python, h->install);
}

/* ---- decoding ----------------------------------------------------------- */

RQ_PRINTF(3, 4) static int rq_fail(char *err, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, n, fmt, ap);
    va_end(ap);
    return -1;
}

/* The field of spec named by s up to its '=', or NULL. */
static const rq_field *
rq_find(const rq_spec *spec, const char *s, size_t len)
{
    for (size_t i = 0; i < spec->n_fields; i++) {
        const char *key = spec->fields[i].key;
        if (strlen(key) == len && memcmp(key, s, len) == 0)
            return &spec->fields[i];
    }
    return NULL;
}

static int
rq_set_scalar(const rq_field *f, const char *v, void *r, char *err, size_t n)
{
    char *end;
    switch (f->type) {
    case RQ_BOOL:
        if (strcmp(v, "0") != 0 && strcmp(v, "1") != 0)
            return rq_fail(err, n, "field '%s' is not 0 or 1", f->key);
        *RQ_AT(r, f->off, bool) = v[0] == '1';
        return 0;
    case RQ_LONG:
        if (rq_parse_long(v, RQ_AT(r, f->off, long)) < 0)
            return rq_fail(err, n, "field '%s' is not a whole number", f->key);
        return 0;
    case RQ_DOUBLE:
        errno = 0;
        *RQ_AT(r, f->off, double) = strtod(v, &end);
        if (errno || end == v || *end != '\0')
            return rq_fail(err, n, "field '%s' is not a number", f->key);
        return 0;
    case RQ_STR:
    case RQ_OPTSTR:
        *RQ_AT(r, f->off, const char *) = v;
        return 0;
    case RQ_RUN:
        for (size_t i = 0; i < sizeof rq_run_names / sizeof *rq_run_names;
             i++) {
            if (strcmp(v, rq_run_names[i]) == 0) {
                *RQ_AT(r, f->off, rq_run) = (rq_run)i;
                return 0;
            }
        }
        return rq_fail(err, n, "field '%s' is not script, module or code",
                       f->key);
    case RQ_LIST:
        break;
    }
    assert(!"not a scalar");
    return -1;
}

int
rq_decode(const rq_spec *spec, int argc, char *const argv[], void *r,
          char *err, size_t n)
{
    assert(spec->n_fields <= RQ_MAX_FIELDS);
    int seen[RQ_MAX_FIELDS] = {0};
    memset(r, 0, spec->size);
    /* Scalars now; lists once their lengths are known. */
    for (int i = 0; i < argc; i++) {
        const char *eq = strchr(argv[i], '=');
        const rq_field *f =
            eq ? rq_find(spec, argv[i], (size_t)(eq - argv[i])) : NULL;
        if (!f)
            return rq_fail(err, n, "no field '%.*s' in a %s request",
                           eq ? (int)(eq - argv[i]) : 40, argv[i],
                           spec->command);
        size_t k = (size_t)(f - spec->fields);
        if (f->type != RQ_LIST && seen[k])
            return rq_fail(err, n, "field '%s' given twice", f->key);
        seen[k]++;
        if (f->type != RQ_LIST && rq_set_scalar(f, eq + 1, r, err, n) < 0)
            return -1;
    }
    for (size_t k = 0; k < spec->n_fields; k++) {
        const rq_field *f = &spec->fields[k];
        if (f->type == RQ_LIST) {
            const char **items = calloc((size_t)seen[k] + 1, sizeof *items);
            if (!items)
                return rq_fail(err, n, "out of memory");
            *RQ_AT(r, f->off, const char **) = items;
        } else if (!seen[k] && f->type != RQ_OPTSTR) {
            return rq_fail(err, n, "field '%s' missing", f->key);
        }
    }
    for (int i = 0; i < argc; i++) {
        const char *eq = strchr(argv[i], '=');
        const rq_field *f = rq_find(spec, argv[i], (size_t)(eq - argv[i]));
        if (f->type != RQ_LIST)
            continue;
        int *count = RQ_AT(r, f->count_off, int);
        (*RQ_AT(r, f->off, const char **))[(*count)++] = eq + 1;
    }
    return 0;
}

void
rq_release(const rq_spec *spec, void *r)
{
    for (size_t k = 0; k < spec->n_fields; k++) {
        const rq_field *f = &spec->fields[k];
        if (f->type == RQ_LIST) {
            free(*RQ_AT(r, f->off, const char **));
            *RQ_AT(r, f->off, const char **) = NULL;
            *RQ_AT(r, f->count_off, int) = 0;
        }
    }
}
