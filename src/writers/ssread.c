/* ssread.c -- speedscope JSON into the profile model (see ssread.h).
 *
 * The document is parsed whole by the bounded reader, then walked with
 * index loops: frames first (each becomes a model frame), then every
 * profile under a thread root of its own. Sampled profiles add each stack
 * with its weight; evented ones replay their open/close events on a stack
 * of tree nodes, giving each interval to the innermost open frame.
 * Absolute times are converted before they are subtracted, so the
 * intervals of a profile add up to its span exactly.
 */
#include "writers/ssread.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/jsonread.h"

#define SS_NOMEM (-2)

typedef struct ss_reader {
    const jr_doc *d;
    sg_profile *p;
    const char *why;     /* the error, NULL while none */
    sg_frame_id *frames; /* the model frame of each shared frame */
    size_t n_frames;
    sg_frame_id *path; /* scratch: one sample's stack */
    sg_node_id *open;  /* scratch: an evented profile's open nodes */
    size_t cap_path, cap_open;
    double scale; /* the file's unit in the metric's units */
    int thread;   /* profiles read so far */
} ss_reader;

static int
ss_fail(ss_reader *r, const char *why)
{
    if (!r->why)
        r->why = why;
    return -1;
}

static size_t
ss_blank(const char *buf, size_t n, size_t i)
{
    while (i < n && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\n' ||
                     buf[i] == '\r'))
        i++;
    return i;
}

/* A marshal'ed dict (a pstats file) starts with '{' too, but its first
 * key is a tuple or its end a '0': never a quote, a '}' or a blank. */
int
sg_speedscope_sniff(const char *buf, size_t n)
{
    size_t i = ss_blank(buf, n, 0);
    if (i >= n || buf[i] != '{')
        return 0;
    size_t k = ss_blank(buf, n, i + 1);
    return k > i + 1 || k >= n || buf[k] == '"' || buf[k] == '}';
}

/* The number at i as an integer in [0, max], or -1. */
static int64_t
ss_index(const jr_doc *d, size_t i, int64_t max)
{
    if (i == JR_NONE || d->v[i].type != JR_NUMBER)
        return -1;
    double v = d->v[i].num;
    if (!(v >= 0 && v <= (double)max) || v != floor(v))
        return -1;
    return (int64_t)v;
}

/* A value in the file's unit as the metric's integer, rounded. */
static int
ss_amount(ss_reader *r, double v, uint64_t *out)
{
    double x = v * r->scale;
    if (!(x >= 0 && x < 1.8e19))
        return ss_fail(r, "a weight or time out of range");
    *out = (uint64_t)(x + 0.5);
    return 0;
}

/* The metric and scale of a unit; NULL for an unknown unit. */
static const char *
ss_unit(const char *unit, double *scale)
{
    static const struct {
        const char *unit, *metric;
        double scale;
    } units[] = {
        {"nanoseconds", "ns", 1},    {"microseconds", "ns", 1e3},
        {"milliseconds", "ns", 1e6}, {"seconds", "ns", 1e9},
        {"bytes", "bytes", 1},       {"none", "samples", 1},
    };
    for (size_t i = 0; unit && i < sizeof units / sizeof *units; i++)
        if (strcmp(unit, units[i].unit) == 0) {
            *scale = units[i].scale;
            return units[i].metric;
        }
    return NULL;
}

/* An optional member that may be absent or null. */
static bool
ss_absent(const jr_doc *d, size_t i)
{
    return i == JR_NONE || d->v[i].type == JR_NULL;
}

/* One shared frame: name, optional file and line. */
static int
ss_frame(ss_reader *r, size_t i, sg_frame_id *out)
{
    const jr_doc *d = r->d;
    const char *name = jr_str(d, jr_member(d, i, "name"));
    size_t fi = jr_member(d, i, "file"), li = jr_member(d, i, "line");
    const char *file = jr_str(d, fi);
    int64_t line = ss_absent(d, li) ? 0 : ss_index(d, li, INT32_MAX);
    if (!name || (!file && !ss_absent(d, fi)) || line < 0)
        return ss_fail(r, "a frame without a name, or with a bad file or "
                          "line");
    if (file && !file[0])
        file = NULL;
    const char *iname = sg_profile_intern(r->p, name);
    const char *ifile = sg_profile_intern(r->p, file ? file : "~");
    if (!iname || !ifile)
        return SS_NOMEM;
    sg_func_id f = sg_profile_func(r->p, file ? SG_FUNC_PYTHON : SG_FUNC_OTHER,
                                   iname, ifile, 0, 0);
    *out = f == SG_NO_ID ? SG_NO_ID : sg_profile_frame(r->p, f, (int32_t)line);
    return *out == SG_NO_ID ? SS_NOMEM : 0;
}

static int
ss_frames(ss_reader *r, size_t root)
{
    const jr_doc *d = r->d;
    size_t fr = jr_member(d, jr_member(d, root, "shared"), "frames");
    if (fr == JR_NONE || d->v[fr].type != JR_ARRAY)
        return ss_fail(r, "no shared.frames array");
    r->n_frames = d->v[fr].len;
    r->frames = sg_calloc(r->n_frames + 1, sizeof *r->frames);
    if (!r->frames)
        return SS_NOMEM;
    size_t k = 0;
    for (size_t i = fr + 1; i < d->v[fr].end; i = jr_next(d, i)) {
        int rc = ss_frame(r, i, &r->frames[k++]);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* The thread root of a profile: spyglass names its profiles
 * `Thread TID "NAME"`, which gives the thread back; any other name is the
 * thread's name, numbered by its place in the file. */
static sg_node_id
ss_thread(ss_reader *r, const char *name)
{
    unsigned long long tid = (unsigned long long)r->thread;
    const char *shown = name;
    char buf[256];
    int used = 0;
    if (sscanf(name, "Thread %llu \"%n", &tid, &used) == 1 && used > 0) {
        size_t len = strlen(name + used);
        if (len > 0 && len < sizeof buf && name[used + len - 1] == '"') {
            memcpy(buf, name + used, len - 1);
            buf[len - 1] = '\0';
            shown = buf;
        } else {
            tid = (unsigned long long)r->thread;
        }
    }
    r->thread++;
    return sg_profile_thread_root(r->p, SG_ROOT_NODE, tid, shown);
}

static int
ss_sampled(ss_reader *r, size_t prof, sg_node_id root)
{
    const jr_doc *d = r->d;
    size_t s = jr_member(d, prof, "samples"),
           w = jr_member(d, prof, "weights");
    if (s == JR_NONE || w == JR_NONE || d->v[s].type != JR_ARRAY ||
        d->v[w].type != JR_ARRAY || d->v[s].len != d->v[w].len)
        return ss_fail(r, "a sampled profile needs samples and as many "
                          "weights");
    for (size_t i = s + 1, k = w + 1; i < d->v[s].end;
         i = jr_next(d, i), k = jr_next(d, k)) {
        uint64_t value;
        if (d->v[i].type != JR_ARRAY || d->v[k].type != JR_NUMBER)
            return ss_fail(r, "a sample is not an array of frame indices");
        if (ss_amount(r, d->v[k].num, &value) < 0)
            return -1;
        if (SG_GROW(r->path, r->cap_path, (size_t)d->v[i].len + 1) < 0)
            return SS_NOMEM;
        size_t depth = 0;
        for (size_t f = i + 1; f < d->v[i].end; f = jr_next(d, f)) {
            int64_t x = ss_index(d, f, (int64_t)r->n_frames - 1);
            if (x < 0)
                return ss_fail(r, "a sample names a frame that is not in "
                                  "shared.frames");
            r->path[depth++] = r->frames[x];
        }
        if (sg_profile_add_stack(r->p, root, r->path, depth, 0, value) ==
            SG_NO_ID)
            return SS_NOMEM;
    }
    return 0;
}

/* Give the time from *last to t (absolute, in the metric) to node. */
static int
ss_span(ss_reader *r, sg_node_id node, uint64_t *last, uint64_t t,
        size_t depth)
{
    if (t < *last)
        return ss_fail(r, "events go back in time");
    sg_node *nd = &r->p->nodes[node];
    if (depth > 0 && nd->self[0] > UINT64_MAX - (t - *last))
        return ss_fail(r, "a weight or time out of range");
    if (depth > 0)
        nd->self[0] += t - *last;
    *last = t;
    return 0;
}

/* One event {type: "O"|"C", at, frame} of an evented profile. */
static int
ss_event(ss_reader *r, size_t e, size_t *depth, uint64_t *last, double start)
{
    const jr_doc *d = r->d;
    const char *type = jr_str(d, jr_member(d, e, "type"));
    size_t at = jr_member(d, e, "at");
    int64_t f =
        ss_index(d, jr_member(d, e, "frame"), (int64_t)r->n_frames - 1);
    uint64_t t;
    if (!type || (strcmp(type, "O") != 0 && strcmp(type, "C") != 0) ||
        at == JR_NONE || d->v[at].type != JR_NUMBER || f < 0)
        return ss_fail(r, "an event is not {type: O or C, at, frame}");
    if (ss_amount(r, d->v[at].num - start, &t) < 0 ||
        ss_span(r, r->open[*depth], last, t, *depth) < 0)
        return -1;
    if (type[0] == 'C') {
        if (*depth == 0 || r->p->nodes[r->open[*depth]].frame != r->frames[f])
            return ss_fail(r, "an event closes a frame that is not the "
                              "innermost open one");
        (*depth)--;
        return 0;
    }
    sg_node_id n = sg_profile_child(r->p, r->open[*depth], r->frames[f]);
    if (n == SG_NO_ID || SG_GROW(r->open, r->cap_open, *depth + 2) < 0)
        return SS_NOMEM;
    r->open[++*depth] = n;
    return 0;
}

static int
ss_evented(ss_reader *r, size_t prof, sg_node_id root)
{
    const jr_doc *d = r->d;
    size_t ev = jr_member(d, prof, "events");
    size_t sv = jr_member(d, prof, "startValue");
    size_t endv = jr_member(d, prof, "endValue");
    if (ev == JR_NONE || d->v[ev].type != JR_ARRAY || sv == JR_NONE ||
        d->v[sv].type != JR_NUMBER || endv == JR_NONE ||
        d->v[endv].type != JR_NUMBER)
        return ss_fail(r, "an evented profile needs events, startValue "
                          "and endValue");
    double start = d->v[sv].num;
    if (SG_GROW(r->open, r->cap_open, 1) < 0)
        return SS_NOMEM;
    r->open[0] = root;
    size_t depth = 0;
    uint64_t last = 0, end;
    for (size_t e = ev + 1; e < d->v[ev].end; e = jr_next(d, e)) {
        int rc = ss_event(r, e, &depth, &last, start);
        if (rc < 0)
            return rc;
    }
    /* Frames still open run to the end of the profile. */
    if (depth > 0 && (ss_amount(r, d->v[endv].num - start, &end) < 0 ||
                      ss_span(r, r->open[depth], &last, end, depth) < 0))
        return -1;
    return 0;
}

static int
ss_profile(ss_reader *r, size_t prof, const char *metric)
{
    const jr_doc *d = r->d;
    const char *type = jr_str(d, jr_member(d, prof, "type"));
    const char *name = jr_str(d, jr_member(d, prof, "name"));
    const char *m = ss_unit(jr_str(d, jr_member(d, prof, "unit")), &r->scale);
    if (!type || !name || !m)
        return ss_fail(r, "a profile without a type, name or known unit");
    if (strcmp(m, metric) != 0)
        return ss_fail(r, "profiles of different units (time, bytes, "
                          "none) in one report");
    sg_node_id root = ss_thread(r, name);
    if (root == SG_NO_ID)
        return SS_NOMEM;
    if (strcmp(type, "sampled") == 0)
        return ss_sampled(r, prof, root);
    if (strcmp(type, "evented") == 0)
        return ss_evented(r, prof, root);
    return ss_fail(r, "a profile neither sampled nor evented");
}

/* The metric of the file: that of its first profile's unit. */
static const char *
ss_metric(const jr_doc *d, size_t profs)
{
    double scale;
    if (profs == JR_NONE || d->v[profs].type != JR_ARRAY ||
        d->v[profs].len == 0)
        return NULL;
    return ss_unit(jr_str(d, jr_member(d, profs + 1, "unit")), &scale);
}

static int
ss_read(ss_reader *r, sg_profile **out)
{
    const jr_doc *d = r->d;
    size_t profs = jr_member(d, 0, "profiles");
    const char *metric = ss_metric(d, profs);
    if (!metric)
        return ss_fail(r, "not speedscope JSON: no profiles with a known "
                          "unit");
    if (*out && strcmp((*out)->metric_names[0], metric) != 0)
        return ss_fail(r, "its unit differs from the first file's");
    const char *names[] = {metric};
    r->p = *out ? *out : sg_profile_new(SG_PROFILE_SAMPLED, 1, names);
    if (!r->p)
        return SS_NOMEM;
    int rc = ss_frames(r, 0);
    for (size_t i = profs + 1; rc == 0 && i < d->v[profs].end;
         i = jr_next(d, i))
        rc = ss_profile(r, i, metric);
    const char *cmd = jr_str(d, jr_member(d, 0, "name"));
    if (rc == 0 && cmd && !sg_profile_get_meta(r->p, "command") &&
        sg_profile_set_meta(r->p, "command", cmd) < 0)
        rc = SS_NOMEM;
    if (rc == 0 && r->p->failed)
        rc = SS_NOMEM;
    return rc;
}

int
sg_speedscope_parse(const char *buf, size_t n, sg_profile **out, char *err,
                    size_t errn)
{
    jr_doc d;
    if (jr_parse(&d, buf, n, err, errn) < 0)
        return -1;
    ss_reader r;
    memset(&r, 0, sizeof r);
    r.d = &d;
    int rc = ss_read(&r, out);
    if (rc == SS_NOMEM)
        snprintf(err, errn, "out of memory");
    else if (rc < 0)
        snprintf(err, errn, "%s", r.why);
    free(r.frames);
    free(r.path);
    free(r.open);
    jr_free(&d);
    if (rc < 0) {
        if (r.p != *out)
            sg_profile_free(r.p);
        return -1;
    }
    *out = r.p;
    return 0;
}
