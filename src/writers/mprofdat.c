/* mprofdat.c -- mprof's .dat: written as `mprof run` writes it, read back
 * as mprof's read_mprofile_file reads it.
 *
 *   CMDLINE python3 script.py
 *   MEM 12.500000 1795476171.2658          MiB (2^20 bytes), Unix time
 *   CHLD 10374 10.546875 1795476171.2898   a child's own (with -M)
 *   FUNC mod.f 21.7422 1795476170.4773 44.6250 1795476170.6186 0
 *
 * The writer puts MEM and CHLD lines in time order, as mprof samples them,
 * then the FUNC lines (mprof's reader takes any order). A run's RSS is
 * what the file holds: other kinds (PSS, the traced heap) have no field.
 * The reader is datread.c.
 */
#include <stdio.h>
#include <stdlib.h>

#include "writers/mprofdat.h"
#include "writers/writers.h"

#define MIB 1048576.0

/* A name as one field: mprof splits lines on single spaces, so blanks and
 * control characters become '_'. */
static void
dat_put_field(strbuf *out, const char *s)
{
    if (!*s)
        sb_putc(out, '?');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        sb_putc(out, c <= 0x20 || c == 0x7f ? '_' : (char)c);
    }
}

/* The next sample in time order among the RSS series of run 0: the index
 * of the series whose next point (pos[i]) is earliest, or -1. */
static long
dat_next(const sg_timeline *tl, const size_t *pos)
{
    long best = -1;
    for (size_t i = 0; i < tl->n_series; i++) {
        const sg_tl_series *s = &tl->series[i];
        if (s->run != 0 || s->kind != SG_TL_RSS || pos[i] >= s->n)
            continue;
        if (best < 0 || s->v[pos[i]].t < tl->series[best].v[pos[best]].t)
            best = (long)i;
    }
    return best;
}

int
sg_write_dat(const sg_profile *p, const writer_opts *o, strbuf *out)
{
    const sg_timeline *tl = p->timeline;
    (void)o;
    if (!tl || tl->n_runs == 0)
        return 0;
    if (tl->runs[0].cmdline) {
        sb_puts(out, "CMDLINE ");
        sg_writer_put_name(out, tl->runs[0].cmdline);
        sb_putc(out, '\n');
    }
    size_t *pos = calloc(tl->n_series ? tl->n_series : 1, sizeof *pos);
    if (!pos)
        return SG_WRITE_NOMEM;
    for (long i; (i = dat_next(tl, pos)) >= 0; pos[i]++) {
        const sg_tl_series *s = &tl->series[i];
        const sg_tl_point *pt = &s->v[pos[i]];
        if (s->pid)
            sb_printf(out, "CHLD %lld %.6f %.4f\n", (long long)s->pid,
                      (double)pt->bytes / MIB, pt->t);
        else
            sb_printf(out, "MEM %.6f %.4f\n", (double)pt->bytes / MIB, pt->t);
    }
    free(pos);
    for (size_t i = 0; i < tl->n_funcs; i++) {
        const sg_tl_func *f = &tl->funcs[i];
        if (f->run != 0)
            continue;
        sb_puts(out, "FUNC ");
        dat_put_field(out, f->name);
        sb_printf(out, " %.4f %.4f %.4f %.4f %d\n", (double)f->m0 / MIB, f->t0,
                  (double)f->m1 / MIB, f->t1, f->level);
    }
    return 0;
}
