/* timeline.c -- memory over time; see timeline.h. */
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "model/timeline.h"

sg_timeline *
sg_timeline_new(void)
{
    return sg_calloc(1, sizeof(sg_timeline));
}

void
sg_timeline_free(sg_timeline *tl)
{
    if (!tl)
        return;
    for (size_t i = 0; i < tl->n_runs; i++) {
        free(tl->runs[i].cmdline);
        free(tl->runs[i].label);
    }
    for (size_t i = 0; i < tl->n_series; i++)
        free(tl->series[i].v);
    for (size_t i = 0; i < tl->n_funcs; i++)
        free(tl->funcs[i].name);
    free(tl->runs);
    free(tl->series);
    free(tl->funcs);
    free(tl);
}

/* A copy of s, or NULL for NULL; false when the copy failed. */
static bool
tl_copy(const char *s, char **out)
{
    *out = s ? sg_strdup(s) : NULL;
    return !s || *out;
}

static int
tl_fail(sg_timeline *tl)
{
    tl->failed = true;
    return -1;
}

int
sg_timeline_add_run(sg_timeline *tl, const char *cmdline, const char *label)
{
    char *c, *l = NULL;
    if (SG_GROW(tl->runs, tl->cap_runs, tl->n_runs + 1) < 0 ||
        !tl_copy(cmdline, &c))
        return tl_fail(tl);
    if (!tl_copy(label, &l)) {
        free(c);
        return tl_fail(tl);
    }
    tl->runs[tl->n_runs] = (sg_tl_run){c, l};
    return (int)tl->n_runs++;
}

int
sg_timeline_series(sg_timeline *tl, int run, int64_t pid, sg_tl_kind kind)
{
    /* Few series (one per process and kind): a scan is enough. The last
     * ones are the likeliest, so look from the end. */
    for (size_t i = tl->n_series; i-- > 0;) {
        const sg_tl_series *s = &tl->series[i];
        if (s->run == run && s->pid == pid && s->kind == kind)
            return (int)i;
    }
    if (SG_GROW(tl->series, tl->cap_series, tl->n_series + 1) < 0)
        return tl_fail(tl);
    tl->series[tl->n_series] =
        (sg_tl_series){.run = run, .pid = pid, .kind = kind};
    return (int)tl->n_series++;
}

int
sg_timeline_add(sg_timeline *tl, int s, double t, uint64_t bytes)
{
    if (s < 0)
        return -1;
    sg_tl_series *se = &tl->series[s];
    if (SG_GROW(se->v, se->cap, se->n + 1) < 0)
        return tl_fail(tl);
    se->v[se->n++] = (sg_tl_point){t, bytes};
    return 0;
}

int
sg_timeline_add_func(sg_timeline *tl, const sg_tl_func *f)
{
    char *n;
    if (SG_GROW(tl->funcs, tl->cap_funcs, tl->n_funcs + 1) < 0 ||
        !tl_copy(f->name ? f->name : "?", &n))
        return tl_fail(tl);
    sg_tl_func *c = &tl->funcs[tl->n_funcs++];
    *c = *f;
    c->name = n;
    return 0;
}

const char *
sg_tl_kind_name(sg_tl_kind kind)
{
    static const char *const names[SG_TL_N_KINDS] = {
        [SG_TL_RSS] = "RSS",
        [SG_TL_PSS] = "PSS",
        [SG_TL_SWAP] = "swap",
        [SG_TL_HEAP] = "heap",
    };
    return (unsigned)kind < SG_TL_N_KINDS ? names[kind] : "?";
}

long
sg_tl_series_peak(const sg_tl_series *s)
{
    long best = -1;
    for (size_t i = 0; i < s->n; i++)
        if (best < 0 || s->v[i].bytes > s->v[best].bytes)
            best = (long)i;
    return best;
}

double
sg_timeline_run_start(const sg_timeline *tl, int run)
{
    bool any = false;
    double t0 = 0;
    for (size_t i = 0; i < tl->n_series; i++) {
        const sg_tl_series *s = &tl->series[i];
        if (s->run == run && s->n && (!any || s->v[0].t < t0)) {
            t0 = s->v[0].t;
            any = true;
        }
    }
    for (size_t i = 0; i < tl->n_funcs; i++) {
        const sg_tl_func *f = &tl->funcs[i];
        if (f->run == run && (!any || f->t0 < t0)) {
            t0 = f->t0;
            any = true;
        }
    }
    return t0;
}
