/* Unit tests for the timeline model (src/model/timeline.c), mprof's .dat
 * written and read back (src/writers/mprofdat.c, datread.c), and the
 * plot's and the peak report's text (plot.c, tltext.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "model/timeline.h"
#include "writers/mprofdat.h"
#include "writers/writers.h"

#define MIB 1048576ull

static sg_profile *
timeline_profile(sg_timeline *tl)
{
    const char *m[] = {"bytes"};
    sg_profile *p = sg_profile_new(SG_PROFILE_TIMELINE, 1, m);
    p->timeline = tl;
    return p;
}

static void
free_profile(sg_profile *p)
{
    sg_timeline_free(p->timeline);
    p->timeline = NULL;
    sg_profile_free(p);
}

/* Parse text; the run's index, or -1 with err filled. */
static int
parse(sg_timeline *tl, const char *text, char *err)
{
    return sg_dat_parse(tl, text, strlen(text), "t.dat", err, 256);
}

static void
test_write_exactly_as_mprof(void)
{
    sg_timeline *tl = sg_timeline_new();
    int run = sg_timeline_add_run(tl, "python3 a b.py", "x.dat");
    int mem = sg_timeline_series(tl, run, 0, SG_TL_RSS);
    int kid = sg_timeline_series(tl, run, 4242, SG_TL_RSS);
    int pss = sg_timeline_series(tl, run, 0, SG_TL_PSS);
    sg_timeline_add(tl, mem, 1700000000.0, 12 * MIB + MIB / 2);
    sg_timeline_add(tl, kid, 1700000000.0, 3 * MIB);
    sg_timeline_add(tl, pss, 1700000000.0, 1 * MIB); /* no field: left out */
    sg_timeline_add(tl, mem, 1700000000.01, 13 * MIB);
    sg_tl_func f = {.run = run,
                    .name = "mod.my func",
                    .t0 = 1700000000.0,
                    .t1 = 1700000000.01,
                    .m0 = 12 * MIB,
                    .m1 = 13 * MIB};
    sg_timeline_add_func(tl, &f);
    sg_profile *p = timeline_profile(tl);
    strbuf sb = STRBUF_INIT;
    CHECK(sg_write_dat(p, NULL, &sb) == 0);
    CHECK_STR(sb_str(&sb), "CMDLINE python3 a b.py\n"
                           "MEM 12.500000 1700000000.0000\n"
                           "CHLD 4242 3.000000 1700000000.0000\n"
                           "MEM 13.000000 1700000000.0100\n"
                           "FUNC mod.my_func 12.0000 1700000000.0000 "
                           "13.0000 1700000000.0100 0\n");
    /* Read back: the same numbers. */
    sg_timeline *back = sg_timeline_new();
    char err[256];
    CHECK(parse(back, sb_str(&sb), err) == 0);
    CHECK(back->n_series == 2 && back->n_funcs == 1);
    CHECK(back->series[0].n == 2 && back->series[0].v[1].bytes == 13 * MIB);
    CHECK(back->series[1].pid == 4242);
    CHECK_STR(back->runs[0].cmdline, "python3 a b.py");
    CHECK(back->funcs[0].m1 == 13 * MIB);
    sg_timeline_free(back);
    sb_free(&sb);
    free_profile(p);
}

static void
test_bad_files_refused_with_the_line(void)
{
    static const struct {
        const char *text, *why;
    } bad[] = {
        {"", "no CMDLINE, MEM"},
        {"hello world\nCMDLINE\n", "no CMDLINE, MEM"},
        {"MEM 1 1700000000\nMEM abc 1700000000\n", "line 2: bad memory"},
        {"MEM 1 nan\n", "line 1: bad timestamp"},
        {"MEM -1 1700000000\n", "line 1: bad memory"},
        {"MEM 1e300 1700000000\n", "line 1: bad memory"},
        {"MEM 1\n", "line 1: bad timestamp"},
        {"CHLD x 1 1700000000\n", "bad child pid"},
        {"FUNC f 1 2 3\n", "FUNC needs"},
        {"FUNC f 1 2 3 4 1.5\n", "stack level"},
        {"MEM 1 1700000000\n\x01\x00MEM\n", "NUL"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        sg_timeline *tl = sg_timeline_new();
        char err[256];
        /* Explicit length: one case holds a NUL. */
        size_t n = strlen(bad[i].text);
        if (strstr(bad[i].why, "NUL"))
            n += 5;
        CHECK(sg_dat_parse(tl, bad[i].text, n, "t", err, sizeof err) < 0);
        if (!strstr(err, bad[i].why))
            fprintf(stderr, "case %zu: %s\n", i, err);
        CHECK(strstr(err, bad[i].why) != NULL);
        CHECK(tl->n_runs == 0 && tl->n_series == 0 && tl->n_funcs == 0);
        sg_timeline_free(tl);
    }
    /* A line too long for the reader. */
    size_t big = SG_DAT_MAX_LINE + 10;
    char *s = malloc(big + 1);
    memset(s, 'x', big);
    s[big] = '\0';
    sg_timeline *tl = sg_timeline_new();
    char err[256];
    CHECK(parse(tl, s, err) < 0 && strstr(err, "too long"));
    sg_timeline_free(tl);
    free(s);
}

static void
test_lenient_where_mprof_is(void)
{
    /* Unknown fields, CRLF, no final newline, the level left out. */
    sg_timeline *tl = sg_timeline_new();
    char err[256];
    CHECK(parse(tl,
                "FUNC f 1 1700000000 2 1700000001\r\nXYZ 1 2\r\n"
                "MEM 1.5 1700000000.5",
                err) == 0);
    CHECK(tl->n_funcs == 1 && tl->funcs[0].level == 0);
    CHECK(tl->n_series == 1 && tl->series[0].v[0].bytes == 3 * MIB / 2);
    CHECK(sg_timeline_run_start(tl, 0) == 1700000000.0);
    sg_timeline_free(tl);
    /* A program that ended before its first sample: CMDLINE alone is a
     * run with no samples, drawn and reported as such. */
    tl = sg_timeline_new();
    CHECK(parse(tl, "CMDLINE true\n", err) == 0);
    CHECK(tl->n_runs == 1 && tl->n_series == 0 && tl->n_funcs == 0);
    CHECK_STR(tl->runs[0].cmdline, "true");
    sg_profile *p = timeline_profile(tl);
    strbuf sb = STRBUF_INIT;
    CHECK(sg_write_plot(p, &(writer_opts){0}, &sb) == 0);
    CHECK(strstr(sb_str(&sb), ">no samples<") != NULL);
    sb_clear(&sb);
    CHECK(sg_write_tltext(p, NULL, &sb) == 0);
    CHECK(strstr(sb_str(&sb), "duration 0.000 s") != NULL);
    sb_free(&sb);
    free_profile(p);
}

static void
test_plot_and_peaks(void)
{
    sg_timeline *tl = sg_timeline_new();
    char err[256];
    CHECK(parse(tl,
                "CMDLINE python3 <&>\xff.py\nMEM 10 1700000000\n"
                "MEM 110 1700000000.5\nMEM 10 1700000001\n"
                "CHLD 7 50 1700000000.5\n"
                "FUNC m.f 10 1700000000.1 110 1700000000.6 0\n",
                err) == 0);
    sg_profile *p = timeline_profile(tl);
    strbuf sb = STRBUF_INIT;
    CHECK(sg_write_plot(p, &(writer_opts){0}, &sb) == 0);
    const char *svg = sb_str(&sb);
    CHECK(strstr(svg, "python3 &lt;&amp;&gt;?.py") != NULL);
    CHECK(strstr(svg, "peak 110.0 MiB at 0.5 s") != NULL);
    CHECK(strstr(svg, "class=\"bracket\"") != NULL);
    CHECK(strstr(svg, "RSS of child 7") != NULL);
    /* The peak is mid-plot: the legend stays at the top left. */
    CHECK(strstr(svg, "class=\"legend\" transform=\"translate(0.0 0)\"") !=
          NULL);
    sb_clear(&sb);
    CHECK(sg_write_tltext(p, NULL, &sb) == 0);
    CHECK(strstr(sb_str(&sb), "RSS                             110.000      "
                              "0.500         3") != NULL);
    CHECK(strstr(sb_str(&sb), "RSS of child 7") != NULL);
    sb_free(&sb);
    free_profile(p);
}

/* A peak at the top left, where the legend goes: the legend moves to the
 * top right, the peak's marker and label are drawn over everything. */
static void
test_legend_clears_the_peak(void)
{
    sg_timeline *tl = sg_timeline_new();
    char err[256];
    CHECK(parse(tl, "MEM 110 1700000000\nMEM 10 1700000001\n", err) == 0);
    sg_profile *p = timeline_profile(tl);
    strbuf sb = STRBUF_INIT;
    CHECK(sg_write_plot(p, &(writer_opts){0}, &sb) == 0);
    const char *svg = sb_str(&sb), *g = strstr(svg, "class=\"legend\"");
    double dx = 0;
    CHECK(g &&
          sscanf(g, "class=\"legend\" transform=\"translate(%lf", &dx) == 1);
    CHECK(dx > 400);
    const char *peak = strstr(svg, "class=\"peak\"");
    CHECK(peak && peak > g);
    sb_free(&sb);
    free_profile(p);
}

static void
test_registry(void)
{
    const sg_writer *w = sg_writer_for_path("x.dat");
    CHECK(w && w->id == SG_FMT_DAT);
    CHECK(sg_writer_holds(sg_writer_for_path("x.svg"), SG_DATA_TIMELINE));
    CHECK(!sg_writer_holds(sg_writer_by_name("pstats"), SG_DATA_TIMELINE));
    CHECK(!sg_writer_holds(w, SG_DATA_MEMORY));
    /* .dat is mprof's for a timeline only: a command that writes text to
     * an unknown extension still does to out.dat, and one that asks for
     * -f still asks. */
    const sg_writer *got;
    char msg[512];
    CHECK(sg_writer_pick_msg(NULL, "out.dat", &sg_output_lines, &got, msg,
                             sizeof msg) == 0);
    CHECK_STR(got->name, "text");
    CHECK(sg_writer_pick_msg(NULL, "out.dat", &sg_output_record, &got, msg,
                             sizeof msg) != 0);
    CHECK(strstr(msg, "give -f FORMAT") != NULL);
    CHECK(sg_writer_pick_msg(NULL, "out.dat", &sg_output_timeline, &got, msg,
                             sizeof msg) == 0);
    CHECK_STR(got->name, "dat");
}

TESTS(test_write_exactly_as_mprof, test_bad_files_refused_with_the_line,
      test_lenient_where_mprof_is, test_plot_and_peaks,
      test_legend_clears_the_peak, test_registry)
