/* tltext.c -- a timeline as text (the peak of each series, as `mprof
 * peak` prints the peak of each file, per child too) and as JSON (every
 * sample, for other tools and the HTML report).
 */
#include <stdio.h>

#include "common/json.h"
#include "model/timeline.h"
#include "writers/writers.h"

#define MIB 1048576.0

/* "RSS", "RSS of child 1234". */
static void
tl_series_name(const sg_tl_series *s, char *buf, size_t n)
{
    if (s->pid)
        snprintf(buf, n, "%s of child %lld", sg_tl_kind_name(s->kind),
                 (long long)s->pid);
    else
        snprintf(buf, n, "%s", sg_tl_kind_name(s->kind));
}

/* The last sample time of run. */
static double
tl_run_end(const sg_timeline *tl, int run)
{
    double t1 = sg_timeline_run_start(tl, run);
    for (size_t i = 0; i < tl->n_series; i++)
        if (tl->series[i].run == run && tl->series[i].n &&
            tl->series[i].v[tl->series[i].n - 1].t > t1)
            t1 = tl->series[i].v[tl->series[i].n - 1].t;
    return t1;
}

int
sg_write_tltext(const sg_profile *p, const writer_opts *o, strbuf *out)
{
    const sg_timeline *tl = p->timeline;
    (void)o;
    for (size_t r = 0; tl && r < tl->n_runs; r++) {
        const sg_tl_run *run = &tl->runs[r];
        double t0 = sg_timeline_run_start(tl, (int)r);
        if (r)
            sb_putc(out, '\n');
        sg_writer_put_name(out, run->label ? run->label : "run");
        if (run->cmdline) {
            sb_puts(out, "  (");
            sg_writer_put_name(out, run->cmdline);
            sb_putc(out, ')');
        }
        sb_printf(out, "\n  %-26s %12s %10s %9s\n", "series", "peak MiB",
                  "at s", "samples");
        for (size_t i = 0; i < tl->n_series; i++) {
            const sg_tl_series *s = &tl->series[i];
            long k = sg_tl_series_peak(s);
            if (s->run != (int)r || k < 0)
                continue;
            char name[64];
            tl_series_name(s, name, sizeof name);
            sb_printf(out, "  %-26s %12.3f %10.3f %9zu\n", name,
                      (double)s->v[k].bytes / MIB, s->v[k].t - t0, s->n);
        }
        sb_printf(out, "  duration %.3f s", tl_run_end(tl, (int)r) - t0);
        if (tl->interval_s > 0)
            sb_printf(out, ", sampled every %g ms", tl->interval_s * 1e3);
        sb_putc(out, '\n');
    }
    return 0;
}

static void
tl_json_series(json_writer *j, const sg_tl_series *s)
{
    json_begin_object(j);
    json_key(j, "pid");
    json_int(j, s->pid);
    json_key(j, "kind");
    json_string(j, sg_tl_kind_name(s->kind));
    long k = sg_tl_series_peak(s);
    json_key(j, "peak_bytes");
    json_uint(j, k < 0 ? 0 : s->v[k].bytes);
    json_key(j, "peak_time");
    json_double(j, k < 0 ? 0 : s->v[k].t);
    json_key(j, "time");
    json_begin_array(j);
    for (size_t i = 0; i < s->n; i++)
        json_double(j, s->v[i].t);
    json_end_array(j);
    json_key(j, "bytes");
    json_begin_array(j);
    for (size_t i = 0; i < s->n; i++)
        json_uint(j, s->v[i].bytes);
    json_end_array(j);
    json_end_object(j);
}

static void
tl_json_func(json_writer *j, const sg_tl_func *f)
{
    json_begin_object(j);
    json_key(j, "name");
    json_string(j, f->name);
    json_key(j, "start");
    json_double(j, f->t0);
    json_key(j, "end");
    json_double(j, f->t1);
    json_key(j, "start_rss");
    json_uint(j, f->m0);
    json_key(j, "end_rss");
    json_uint(j, f->m1);
    if (f->has_heap) {
        json_key(j, "start_heap");
        json_uint(j, f->h0);
        json_key(j, "end_heap");
        json_uint(j, f->h1);
    }
    json_key(j, "level");
    json_int(j, f->level);
    json_end_object(j);
}

/* {"interval": s, "metadata": {...}, "runs": [{"label", "cmdline",
 * "start", "series": [...], "functions": [...]}]}: times are Unix times in
 * seconds; "metadata" (the profile's, such as the sampler's deadlines kept
 * and missed) only when there is some. */
int
sg_write_tljson(const sg_profile *p, const writer_opts *o, strbuf *out)
{
    const sg_timeline *tl = p->timeline;
    json_writer j;
    (void)o;
    json_init(&j, out, false);
    json_begin_object(&j);
    json_key(&j, "interval");
    json_double(&j, tl ? tl->interval_s : 0);
    if (p->n_meta) {
        json_key(&j, "metadata");
        json_begin_object(&j);
        for (size_t i = 0; i < p->n_meta; i++) {
            json_key(&j, p->meta[i].key);
            json_string(&j, p->meta[i].value);
        }
        json_end_object(&j);
    }
    json_key(&j, "runs");
    json_begin_array(&j);
    for (size_t r = 0; tl && r < tl->n_runs; r++) {
        json_begin_object(&j);
        json_key(&j, "label");
        json_string(&j, tl->runs[r].label ? tl->runs[r].label : "");
        json_key(&j, "cmdline");
        json_string(&j, tl->runs[r].cmdline ? tl->runs[r].cmdline : "");
        json_key(&j, "start");
        json_double(&j, sg_timeline_run_start(tl, (int)r));
        json_key(&j, "series");
        json_begin_array(&j);
        for (size_t i = 0; i < tl->n_series; i++)
            if (tl->series[i].run == (int)r)
                tl_json_series(&j, &tl->series[i]);
        json_end_array(&j);
        json_key(&j, "functions");
        json_begin_array(&j);
        for (size_t i = 0; i < tl->n_funcs; i++)
            if (tl->funcs[i].run == (int)r)
                tl_json_func(&j, &tl->funcs[i]);
        json_end_array(&j);
        json_end_object(&j);
    }
    json_end_array(&j);
    json_end_object(&j);
    sb_putc(out, '\n');
    return 0;
}
