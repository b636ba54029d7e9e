/* Unit tests for src/writers/: the registry, pstats marshal bytes, the
 * text table, collapsed stacks, the flame graph (escaping, layout, labels),
 * short paths and the Chrome trace (call tree and timeline). */
#include <stdlib.h>

#include "check.h"
#include "writers/writers.h"

static const char *const metrics[] = {"ns", "calls"};

static sg_profile *
small_profile(const char *evil)
{
    sg_profile *p = sg_profile_new(SG_PROFILE_DETERMINISTIC, 2, metrics);
    sg_func_id m = sg_profile_func(p, SG_FUNC_PYTHON, "main", "/d/m.py", 3, 0);
    sg_func_id e = sg_profile_func(p, SG_FUNC_PYTHON, evil, "/d/a&b.py", 7, 0);
    sg_func_id l = sg_profile_func(
        p, SG_FUNC_BUILTIN, "<built-in method builtins.len>", "~", 0, 0);
    sg_node_id t = sg_profile_thread_root(p, SG_ROOT_NODE, 42, "MainThread");
    sg_node_id nm = sg_profile_child(p, t, sg_profile_frame(p, m, 0));
    p->nodes[nm].self[0] = 2000000;
    p->nodes[nm].self[1] = 1;
    sg_node_id ne = sg_profile_child(p, nm, sg_profile_frame(p, e, 0));
    p->nodes[ne].self[0] = 6000000;
    p->nodes[ne].self[1] = 3;
    sg_node_id nl = sg_profile_child(p, ne, sg_profile_frame(p, l, 0));
    p->nodes[nl].self[0] = 1000000;
    p->nodes[nl].self[1] = 3;
    return p;
}

static void
test_registry(void)
{
    CHECK_STR(sg_writer_for_path("out.pstats")->name, "pstats");
    CHECK_STR(sg_writer_for_path("a/b.prof")->name, "pstats");
    CHECK_STR(sg_writer_for_path("x.svg")->name, "flamegraph");
    CHECK_STR(sg_writer_for_path("X.SVG")->name, "flamegraph");
    CHECK_STR(sg_writer_for_path("x.json")->name, "json");
    CHECK_STR(sg_writer_for_path("x.speedscope.json")->name, "speedscope");
    CHECK_STR(sg_writer_for_path("x.Trace.JSON")->name, "chrometrace");
    CHECK_STR(sg_writer_for_path("x.trace.json")->name, "chrometrace");
    CHECK_STR(sg_writer_for_path("x.folded")->name, "collapsed");
    CHECK_STR(sg_writer_for_path("x.collapsed")->name, "collapsed");
    CHECK_STR(sg_writer_for_path("x.txt")->name, "text");
    CHECK_STR(sg_writer_for_path("x.csv")->name, "csv");
    CHECK_STR(sg_writer_for_path("x.md")->name, "markdown");
    CHECK(sg_writer_for_path("x") == NULL);
    CHECK(sg_writer_for_path(".json") == NULL);
    CHECK(sg_writer_for_path("dir.svg/x") == NULL);
    CHECK(sg_writer_by_name("nope") == NULL);
    CHECK_STR(sg_writer_names(SG_DATA_SAMPLED),
              "pstats, text, json, flamegraph, speedscope, collapsed, "
              "chrometrace, html");
    CHECK_STR(sg_writer_names(SG_DATA_LINES), "text, lprof, kernprof, html");
    CHECK_STR(sg_writer_names(SG_DATA_TIMINGS), "text, json, csv, markdown");
    CHECK_STR(sg_writer_names(SG_DATA_STACKS), "text, json");
    CHECK_STR(sg_writer_names(SG_DATA_TIMEIT), "text, json");
    int n = 0;
    for (const sg_writer *const *w = sg_writers(); *w; w++, n++) {
        CHECK(sg_writer_by_name((*w)->name) == *w);
        /* A format that holds a profile kind can render it. */
        bool profiles =
            (*w)->holds &
            (SG_HOLDS(SG_DATA_DETERMINISTIC) | SG_HOLDS(SG_DATA_SAMPLED) |
             SG_HOLDS(SG_DATA_LINES) | SG_HOLDS(SG_DATA_TIMELINE));
        CHECK(profiles == ((*w)->write != NULL));
        CHECK((*w)->holds != 0);
    }
    CHECK(n == 13); /* + lprof, kernprof (lines), csv, markdown (time),
                       dat (timeline), html */
}

static char pick_msg[768];

/* The name of the format picked, or "refused" with pick_msg set. */
static const char *
picked(const char *format, const char *path, const sg_output *what)
{
    const sg_writer *w = NULL;
    pick_msg[0] = '\0';
    int rc =
        sg_writer_pick_msg(format, path, what, &w, pick_msg, sizeof pick_msg);
    if (rc) {
        CHECK(rc == SG_EXIT_USAGE && w == NULL && pick_msg[0]);
        return "refused";
    }
    return w->name;
}

/* One answer for every command: -f, else -o's extension, else the
 * command's default; a format that cannot hold the data is refused with
 * the list of those that can. */
static void
test_pick(void)
{
    CHECK_STR(picked(NULL, NULL, &sg_output_record), "flamegraph");
    CHECK_STR(picked(NULL, "-", &sg_output_record), "flamegraph");
    CHECK_STR(picked(NULL, "r.JSON", &sg_output_record), "json");
    CHECK_STR(picked("pstats", "r.svg", &sg_output_record), "pstats");
    CHECK_STR(picked(NULL, NULL, &sg_output_profile), "text");

    CHECK_STR(picked(NULL, "x.lprof", &sg_output_record), "refused");
    CHECK_STR(pick_msg, "the lprof format of 'x.lprof' cannot hold a sampled "
                        "profile (it holds a line profile); formats for a "
                        "sampled profile: pstats, text, json, flamegraph, "
                        "speedscope, collapsed, chrometrace, html");
    CHECK_STR(picked("kernprof", NULL, &sg_output_profile), "refused");
    CHECK_STR(pick_msg,
              "the kernprof format cannot hold a function profile (it "
              "holds a line profile); formats for a function profile: "
              "pstats, text, json, flamegraph, speedscope, collapsed, "
              "chrometrace, html");
    CHECK_STR(picked(NULL, "out.svg", &sg_output_lines), "refused");
    CHECK(strstr(pick_msg,
                 "(it holds a function profile, a sampled profile, a "
                 "memory profile or a memory timeline); formats for a line "
                 "profile: text, lprof, kernprof") != NULL);
    CHECK_STR(picked(NULL, "t.svg", &sg_output_time), "refused");
    CHECK(strstr(pick_msg, "formats for timing results: text, json, csv, "
                           "markdown") != NULL);
    CHECK_STR(picked("csv", NULL, &sg_output_dump), "refused");
    CHECK_STR(pick_msg,
              "the csv format cannot hold a stack dump (it holds timing "
              "results); formats for a stack dump: text, json");
    /* timeit's results: text or pyperf's JSON, nothing else. */
    CHECK_STR(picked(NULL, NULL, &sg_output_timeit), "text");
    CHECK_STR(picked(NULL, "r.JSON", &sg_output_timeit), "json");
    CHECK_STR(picked(NULL, "x.svg", &sg_output_timeit), "refused");
    CHECK_STR(pick_msg, "the flamegraph format of 'x.svg' cannot hold timeit "
                        "results (it holds a function profile, a sampled "
                        "profile, a memory profile or a memory timeline); "
                        "formats for timeit results: text, json");
    CHECK_STR(picked(NULL, "x.pstats", &sg_output_timeit), "refused");
    CHECK_STR(picked("csv", NULL, &sg_output_timeit), "refused");
    CHECK(strstr(pick_msg, "(it holds timing results)") != NULL);
    CHECK_STR(picked("bogus", NULL, &sg_output_time), "refused");
    CHECK_STR(pick_msg, "unknown format 'bogus' (formats for timing results: "
                        "text, json, csv, markdown)");

    /* An extension that names no format: the command's default for time,
     * dump and lines (they write text there), refused for profile and
     * record (they ask for -f). */
    CHECK_STR(picked(NULL, "/tmp/results", &sg_output_dump), "text");
    CHECK_STR(picked(NULL, "out.dat", &sg_output_lines), "text");
    CHECK_STR(picked(NULL, "results", &sg_output_timeit), "text");
    CHECK_STR(picked(NULL, "x.unknown", &sg_output_profile), "refused");
    CHECK(strstr(pick_msg, "give -f FORMAT") != NULL);

    /* The same extension is the same format in every command. */
    const sg_output *all[] = {&sg_output_profile, &sg_output_record,
                              &sg_output_lines,   &sg_output_time,
                              &sg_output_dump,    &sg_output_timeit};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) {
        const char *names[] = {"a.txt", "a.TXT", "a.json"};
        for (size_t k = 0; k < 2 + (all[i] != &sg_output_lines); k++)
            CHECK_STR(picked(NULL, names[k], all[i]),
                      sg_writer_for_path(names[k])->name);
    }
}

static uint32_t
u32_at(const char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    return u[0] | (uint32_t)u[1] << 8 | (uint32_t)u[2] << 16 |
           (uint32_t)u[3] << 24;
}

static void
test_pstats_bytes(void)
{
    /* One function, called 2**40 times: the big-int form. */
    sg_profile *p = sg_profile_new(SG_PROFILE_DETERMINISTIC, 2, metrics);
    sg_func_id f = sg_profile_func(p, SG_FUNC_PYTHON, "f", "x.py", 1, 0);
    sg_node_id n =
        sg_profile_child(p, SG_ROOT_NODE, sg_profile_frame(p, f, 0));
    p->nodes[n].self[1] = 1ull << 40;
    strbuf sb = STRBUF_INIT;
    writer_opts o = {0};
    CHECK(sg_write_pstats(p, &o, &sb) == 0);
    const char *s = sb_str(&sb);
    CHECK(s[0] == '{' && s[1] == '(' && u32_at(s + 2) == 3);
    CHECK(s[6] == 'u' && u32_at(s + 7) == 4 && memcmp(s + 11, "x.py", 4) == 0);
    CHECK(s[15] == 'i' && u32_at(s + 16) == 1);
    CHECK(s[20] == 'u' && u32_at(s + 21) == 1 && s[25] == 'f');
    CHECK(s[26] == '(' && u32_at(s + 27) == 5);
    /* cc: 6c 03000000 0000 0000 0004 */
    static const unsigned char big[] = {'l', 3, 0, 0, 0, 0, 0, 0, 0, 0, 4};
    CHECK(memcmp(s + 31, big, sizeof big) == 0);
    CHECK(memcmp(s + 42, big, sizeof big) == 0);
    CHECK(s[53] == 'g' && s[62] == 'g');
    CHECK(s[71] == '{' && s[72] == '0' && s[73] == '0');
    CHECK(sb.len == 74);
    sb_free(&sb);
    sg_profile_free(p);
}

static void
test_text_table(void)
{
    sg_profile *p = small_profile("work");
    strbuf sb = STRBUF_INIT;
    writer_opts o = {0};
    o.sort = "tottime";
    o.strip_dirs = true;
    CHECK(sg_write_text(p, &o, &sb) == 0);
    CHECK_STR(sb_str(&sb),
              "         7 function calls in 0.009 seconds\n\n"
              "   Ordered by: internal time\n\n"
              "   ncalls  tottime  percall  cumtime  percall "
              "filename:lineno(function)\n"
              "        3    0.006    0.002    0.007    0.002 a&b.py:7(work)\n"
              "        1    0.002    0.002    0.009    0.009 m.py:3(main)\n"
              "        3    0.001    0.000    0.001    0.000 "
              "{built-in method builtins.len}\n\n\n");
    sb_clear(&sb);
    o.sort = "bogus";
    CHECK(sg_write_text(p, &o, &sb) < 0);
    sb_free(&sb);
    sg_profile_free(p);
}

static void
test_collapsed(void)
{
    sg_profile *p = small_profile("a;b");
    strbuf sb = STRBUF_INIT;
    writer_opts o = {0};
    CHECK(sg_write_collapsed(p, &o, &sb) == 0);
    CHECK_STR(sb_str(&sb), "main (/d/m.py:3) 2000000\n"
                           "main (/d/m.py:3);a:b (/d/a&b.py:7) 6000000\n"
                           "main (/d/m.py:3);a:b (/d/a&b.py:7);"
                           "<built-in method builtins.len> 1000000\n");
    sb_clear(&sb);
    o.per_thread = true;
    CHECK(sg_write_collapsed(p, &o, &sb) == 0);
    CHECK(strncmp(sb_str(&sb), "thread (0x2A): MainThread;main", 30) == 0);
    sb_free(&sb);
    sg_profile_free(p);
}

static void
test_flamegraph_escapes(void)
{
    sg_profile *p = small_profile("<script>alert(1)</script>");
    strbuf sb = STRBUF_INIT;
    writer_opts o = {0};
    CHECK(sg_write_flamegraph(p, &o, &sb) == 0);
    const char *s = sb_str(&sb);
    CHECK(strstr(s, "<script>alert") == NULL);
    CHECK(strstr(s, "&lt;script&gt;alert(1)&lt;/script&gt;") != NULL);
    CHECK(strstr(s, "a&amp;b.py") != NULL);
    /* Exactly one script element: ours. */
    const char *first = strstr(s, "<script");
    CHECK(first && strstr(first + 1, "<script") == NULL);
    sb_free(&sb);
    sg_profile_free(p);
}

static void
test_speedscope_and_chrome(void)
{
    sg_profile *p = small_profile("work");
    strbuf sb = STRBUF_INIT;
    writer_opts o = {0};
    CHECK(sg_write_speedscope(p, &o, &sb) == 0);
    CHECK(strstr(sb_str(&sb), "\"samples\":[[0],[0,1],[0,1,2]]") != NULL);
    CHECK(strstr(sb_str(&sb), "\"weights\":[2000000,6000000,1000000]") !=
          NULL);
    CHECK(strstr(sb_str(&sb), "\"name\":\"Thread 42 \\\"MainThread\\\"\""));
    sb_clear(&sb);
    CHECK(sg_write_chrometrace(p, &o, &sb) == 0);
    /* main covers 9 ms from 0; work starts with it; len with work. */
    CHECK(strstr(sb_str(&sb), "\"name\":\"main\",\"cat\":\"python\","
                              "\"ph\":\"X\",\"ts\":0,\"dur\":9000") != NULL);
    CHECK(strstr(sb_str(&sb), "\"name\":\"work\",\"cat\":\"python\","
                              "\"ph\":\"X\",\"ts\":0,\"dur\":7000") != NULL);
    sb_free(&sb);
    sg_profile_free(p);
}

static void
test_sampled_profile_through_every_writer(void)
{
    /* What the sampler hands over: metric 0 = samples, line
     * numbers on frames, no "calls". */
    const char *m[] = {"samples"};
    sg_profile *p = sg_profile_new(SG_PROFILE_SAMPLED, 1, m);
    p->sample_interval_ns = 10000000;
    sg_func_id f = sg_profile_func(p, SG_FUNC_PYTHON, "main", "/m.py", 1, 0);
    sg_func_id g = sg_profile_func(p, SG_FUNC_PYTHON, "hot", "/m.py", 9, 0);
    sg_node_id t = sg_profile_thread_root(p, SG_ROOT_NODE, 7, "MainThread");
    sg_frame_id st[] = {sg_profile_frame(p, f, 3), sg_profile_frame(p, g, 11)};
    sg_profile_add_stack(p, t, st, 2, 0, 70);
    sg_profile_add_stack(p, t, st, 1, 0, 30);
    writer_opts o = {0};
    static const char *const mine[] = {"pstats",     "text",
                                       "flamegraph", "speedscope",
                                       "collapsed",  "chrometrace"};
    for (size_t i = 0; i < sizeof mine / sizeof *mine; i++) {
        strbuf sb = STRBUF_INIT;
        CHECK(sg_writer_by_name(mine[i])->write(p, &o, &sb) == 0);
        CHECK(sb.len > 0);
        sb_free(&sb);
    }
    strbuf sb = STRBUF_INIT;
    CHECK(sg_write_collapsed(p, &o, &sb) == 0);
    CHECK_STR(sb_str(&sb),
              "main (/m.py:3) 30\nmain (/m.py:3);hot (/m.py:11) 70\n");
    sb_clear(&sb);
    o.sort = "tottime";
    CHECK(sg_write_text(p, &o, &sb) == 0);
    /* Sampled data has no call counts: the text format is the sample
     * report: 70 samples of 10 ms in hot, 100 in main
     * cumulatively, and the lines they ran. */
    const char *head = "100 samples (thread stacks) at 10 ms intervals\n\n";
    CHECK(strncmp(sb_str(&sb), head, strlen(head)) == 0);
    CHECK(strstr(sb_str(&sb), "   70.0%    0.700s   70.0%    0.700s       "
                              "     70     70  hot (/m.py:9)\n") != NULL);
    CHECK(strstr(sb_str(&sb), "   30.0%    0.300s  100.0%    1.000s       "
                              "     30    100  main (/m.py:1)\n") != NULL);
    CHECK(strstr(sb_str(&sb),
                 "   70.0%    0.700s       70  /m.py:11 (hot)\n") != NULL);
    CHECK(strstr(sb_str(&sb),
                 "   30.0%    0.300s       30  /m.py:3 (main)\n") != NULL);
    /* With the sampler's ticks and duration: two threads sampled 50 times
     * in 0.5 s are 100 samples, never "1 s". */
    sb_clear(&sb);
    sg_profile_set_meta(p, SG_META_TICKS, "50");
    sg_profile_set_meta(p, SG_META_DURATION, "0.50");
    CHECK(sg_write_text(p, &o, &sb) == 0);
    head = "100 samples (thread stacks) in 50 ticks at 10 ms intervals over "
           "0.50 s\n\n";
    CHECK(strncmp(sb_str(&sb), head, strlen(head)) == 0);
    sb_clear(&sb);
    CHECK(sg_write_speedscope(p, &o, &sb) == 0);
    CHECK(strstr(sb_str(&sb), "\"unit\":\"seconds\"") != NULL);
    sb_free(&sb);
    sg_profile_free(p);
}

/* A recording's samples weighed by the time each stands for ("ns"): the
 * 70 samples in hot were on time (400 ms), the 30 in main came after a
 * stall (600 ms). Shares and times follow the weights, counts stay beside
 * them; the flame graph's widths are the weights and its tooltips count
 * samples; speedscope has the weights in ns; collapsed keeps counts. */
static void
test_weighted_samples(void)
{
    const char *m[] = {"samples", "ns"};
    sg_profile *p = sg_profile_new(SG_PROFILE_SAMPLED, 2, m);
    p->sample_interval_ns = 10000000;
    sg_func_id f = sg_profile_func(p, SG_FUNC_PYTHON, "main", "/m.py", 1, 0);
    sg_func_id g = sg_profile_func(p, SG_FUNC_PYTHON, "hot", "/m.py", 9, 0);
    sg_node_id t = sg_profile_thread_root(p, SG_ROOT_NODE, 7, "MainThread");
    sg_frame_id st[] = {sg_profile_frame(p, f, 3), sg_profile_frame(p, g, 11)};
    sg_node_id hot = sg_profile_add_stack(p, t, st, 2, 0, 70);
    sg_node_id top = sg_profile_add_stack(p, t, st, 1, 0, 30);
    p->nodes[hot].self[1] = 400000000;
    p->nodes[top].self[1] = 600000000;
    writer_opts o = {0};
    strbuf sb = STRBUF_INIT;
    CHECK(sg_write_sample_report(p, &o, &sb) == 0);
    CHECK(strstr(sb_str(&sb), "100 samples (thread stacks) at 10 ms "
                              "intervals\nThey stand for 1.000 s of thread "
                              "time") == sb_str(&sb));
    CHECK(strstr(sb_str(&sb), "   40.0%    0.400s   40.0%    0.400s       "
                              "     70     70  hot (/m.py:9)\n") != NULL);
    CHECK(strstr(sb_str(&sb), "   60.0%    0.600s  100.0%    1.000s       "
                              "     30    100  main (/m.py:1)\n") != NULL);
    CHECK(strstr(sb_str(&sb),
                 "   60.0%    0.600s       30  /m.py:3 (main)\n") != NULL);
    sb_clear(&sb);
    CHECK(sg_write_flamegraph(p, &o, &sb) == 0);
    CHECK(strstr(sb_str(&sb), "70 samples, 400") != NULL);
    CHECK(strstr(sb_str(&sb), "40.00%") != NULL);
    sb_clear(&sb);
    CHECK(sg_write_speedscope(p, &o, &sb) == 0);
    CHECK(strstr(sb_str(&sb), "\"unit\":\"nanoseconds\"") != NULL);
    CHECK(strstr(sb_str(&sb), "\"endValue\":1000000000") != NULL);
    sb_clear(&sb);
    CHECK(sg_write_collapsed(p, &o, &sb) == 0);
    CHECK_STR(sb_str(&sb),
              "main (/m.py:3) 30\nmain (/m.py:3);hot (/m.py:11) 70\n");
    sb_free(&sb);
    sg_profile_free(p);
}

/* An empty profile (a program that ran no sampled code) through every
 * writer: no undefined behaviour (qsort of a NULL table was), valid
 * output, or a refusal for the formats that need line timings. */
static void
test_empty_profile_through_every_writer(void)
{
    const char *ms[][2] = {{"samples", NULL}, {"ns", "calls"}, {"ns", NULL}};
    const sg_profile_kind kinds[] = {
        SG_PROFILE_SAMPLED, SG_PROFILE_DETERMINISTIC, SG_PROFILE_LINES};
    for (int k = 0; k < 3; k++) {
        sg_profile *p = sg_profile_new(kinds[k], ms[k][1] ? 2 : 1, ms[k]);
        writer_opts o = {0};
        for (const sg_writer *const *w = sg_writers(); *w; w++) {
            if (!sg_writer_holds(*w, (sg_data_kind)kinds[k]))
                continue;
            strbuf sb = STRBUF_INIT;
            CHECK(sg_writer_render(*w, p, &o, &sb) == 0);
            sb_free(&sb);
        }
        sg_profile_free(p);
    }
}

static void
test_short_paths(void)
{
    const char *paths[] = {"/usr/lib/python3.12/json/__init__.py",
                           "/home/u/app/__init__.py",
                           "/home/u/app/main.py",
                           "/usr/lib/python3.12/json/decoder.py",
                           "/home/u/other/json/decoder.py",
                           "<frozen importlib._bootstrap>",
                           "rel.py",
                           "/x/rel.py",
                           "/only/unique.py"};
    const char *out[9];
    CHECK(sg_short_paths(paths, 9, out) == 0);
    CHECK_STR(out[0], "json/__init__.py");
    CHECK_STR(out[1], "app/__init__.py");
    CHECK_STR(out[2], "main.py");
    CHECK_STR(out[3], "python3.12/json/decoder.py");
    CHECK_STR(out[4], "other/json/decoder.py");
    CHECK_STR(out[5], "<frozen importlib._bootstrap>");
    CHECK_STR(out[6], "rel.py"); /* nothing shorter: the whole path */
    CHECK_STR(out[7], "x/rel.py");
    CHECK_STR(out[8], "unique.py");
    CHECK(sg_short_paths(paths, 0, out) == 0);
}

/* The value of attribute name of the first element that has it after s,
 * as a number. */
static double
attr_after(const char *s, const char *name)
{
    char key[64];
    snprintf(key, sizeof key, " %s=\"", name);
    const char *a = s ? strstr(s, key) : NULL;
    return a ? atof(a + strlen(key)) : -1;
}

/* A chain 50 frames deep of one unit under a frame of 10^6: the chain is
 * far narrower than 0.1 px, never drawn, and takes no height. */
static sg_profile *
narrow_deep_profile(void)
{
    sg_profile *p = sg_profile_new(SG_PROFILE_DETERMINISTIC, 2, metrics);
    sg_func_id m =
        sg_profile_func(p, SG_FUNC_PYTHON, "main", "/a/x/util.py", 1, 0);
    sg_func_id w =
        sg_profile_func(p, SG_FUNC_PYTHON, "work", "/a/y/util.py", 5, 0);
    sg_node_id top =
        sg_profile_child(p, SG_ROOT_NODE, sg_profile_frame(p, m, 0));
    p->nodes[top].self[1] = 1;
    sg_node_id hot = sg_profile_child(p, top, sg_profile_frame(p, w, 0));
    p->nodes[hot].self[0] = 7000000;
    p->nodes[hot].self[1] = 3;
    sg_node_id n = top;
    for (int i = 0; i < 50; i++) {
        n = sg_profile_child(p, n, sg_profile_frame(p, i ? w : m, 9));
        p->nodes[n].self[0] = i == 49;
        p->nodes[n].self[1] = 1;
    }
    return p;
}

static void
test_flamegraph_layout_and_labels(void)
{
    sg_profile *p = narrow_deep_profile();
    sg_profile_set_meta(p, "command", "app.py --fast");
    strbuf sb = STRBUF_INIT;
    writer_opts o = {0};
    CHECK(sg_write_flamegraph(p, &o, &sb) == 0);
    const char *s = sb_str(&sb);
    /* Two rows drawn: the bar (60), 10 px, 2 x 16, 10 px. */
    CHECK(attr_after(s, "height") == 60 + 10 + 2 * 16 + 10);
    CHECK(strstr(s, "data-root=\"top\"") != NULL);
    /* The root's frame first, at the top under the bar. */
    const char *g = strstr(s, "<g class=\"f\"");
    CHECK(attr_after(g, "y") == 70);
    CHECK(strstr(s, "<title>main (/a/x/util.py:1)\n1 call, 7.000 ms, "
                    "100.00%</title>") != NULL);
    CHECK(strstr(s, ">main (x/util.py:1)</text>") != NULL);
    CHECK(strstr(s, "<title>work (/a/y/util.py:5)\n3 calls, 7.000 ms, "
                    "100.00%</title>") != NULL);
    CHECK(strstr(s, ">work (y/util.py:5)</text>") != NULL);
    /* The heading and the document's title name the command. */
    CHECK(strstr(s, "<title>spyglass profile: app.py --fast</title>") != NULL);
    CHECK(strstr(s, ">spyglass profile: app.py --fast</text>") != NULL);
    CHECK(strstr(s, "id=\"term\"") != NULL);
    sb_clear(&sb);
    /* Root at the bottom: the same height, main on the last row. */
    o.flame = true;
    o.title = "spyglass record";
    CHECK(sg_write_flamegraph(p, &o, &sb) == 0);
    s = sb_str(&sb);
    CHECK(attr_after(s, "height") == 112);
    CHECK(strstr(s, "data-root=\"bottom\"") != NULL);
    CHECK(attr_after(strstr(s, "<g class=\"f\""), "y") == 112 - 10 - 16);
    CHECK(strstr(s, "<title>spyglass record: app.py --fast</title>") != NULL);
    sb_free(&sb);
    sg_profile_free(p);
}

static void
test_control_characters_are_escaped(void)
{
    sg_profile *p = small_profile("bell\a;tab\tnl\nesc\x1b del\x7f");
    strbuf sb = STRBUF_INIT;
    writer_opts o = {0};
    CHECK(sg_write_collapsed(p, &o, &sb) == 0);
    CHECK(strstr(sb_str(&sb),
                 "main (/d/m.py:3);bell\\x07:tab\\tnl\\nesc"
                 "\\x1b del\\x7f (/d/a&b.py:7) 6000000\n") != NULL);
    for (const char *c = sb_str(&sb); *c; c++)
        CHECK(*c == '\n' || ((unsigned char)*c >= 0x20 && *c != 0x7f));
    sb_clear(&sb);
    CHECK(sg_write_flamegraph(p, &o, &sb) == 0);
    CHECK(strstr(sb_str(&sb), "<title>bell\\x07;tab\\tnl\\nesc\\x1b "
                              "del\\x7f (/d/a&amp;b.py:7)\n") != NULL);
    sb_free(&sb);
    sg_profile_free(p);
}

/* A recording's stamps: two threads, the second starting later; a gap in
 * the first (not sampled for 5 intervals) and a change of line inside the
 * same function (one event). */
static void
test_chrome_timeline(void)
{
    const char *m[] = {"samples"};
    sg_profile *p = sg_profile_new(SG_PROFILE_SAMPLED, 1, m);
    p->sample_interval_ns = 10000000; /* 10 ms */
    sg_func_id f = sg_profile_func(p, SG_FUNC_PYTHON, "main", "/m.py", 1, 0);
    sg_func_id g = sg_profile_func(p, SG_FUNC_PYTHON, "work", "/m.py", 9, 0);
    sg_node_id t1 = sg_profile_thread_root(p, SG_ROOT_NODE, 1, "MainThread");
    sg_node_id t2 = sg_profile_thread_root(p, SG_ROOT_NODE, 2, "worker");
    sg_frame_id a[] = {sg_profile_frame(p, f, 3), sg_profile_frame(p, g, 10)};
    sg_frame_id b[] = {sg_profile_frame(p, f, 3), sg_profile_frame(p, g, 11)};
    struct {
        sg_node_id root;
        sg_frame_id *st;
        size_t n;
        uint64_t ms;
    } samples[] = {
        {t1, a, 1, 0},  {t1, a, 2, 10}, {t1, b, 2, 20}, {t1, a, 1, 30},
        {t2, a, 2, 40}, {t2, a, 2, 50}, {t1, a, 1, 90},
    };
    for (size_t i = 0; i < sizeof samples / sizeof *samples; i++)
        sg_profile_stamp(p,
                         sg_profile_add_stack(p, samples[i].root,
                                              samples[i].st, samples[i].n, 0,
                                              1),
                         samples[i].ms * 1000000);
    strbuf sb = STRBUF_INIT;
    writer_opts o = {0};
    CHECK(sg_write_chrometrace(p, &o, &sb) == 0);
    const char *s = sb_str(&sb);
    /* MainThread: main from 0 to 40 ms (its last sample at 30 ms stands
     * for the next 10), work from 10 to 30 across its change of line,
     * then main again at 90 after the gap. */
    CHECK(strstr(s, "\"name\":\"work\",\"cat\":\"python\",\"ph\":\"X\","
                    "\"ts\":10000,\"dur\":20000,\"pid\":1,\"tid\":1") != NULL);
    CHECK(strstr(s, "\"name\":\"main\",\"cat\":\"python\",\"ph\":\"X\","
                    "\"ts\":0,\"dur\":40000,\"pid\":1,\"tid\":1") != NULL);
    CHECK(strstr(s, "\"name\":\"main\",\"cat\":\"python\",\"ph\":\"X\","
                    "\"ts\":90000,\"dur\":10000,\"pid\":1,\"tid\":1") != NULL);
    /* The worker at the time it ran, not from 0. */
    CHECK(strstr(s, "\"name\":\"work\",\"cat\":\"python\",\"ph\":\"X\","
                    "\"ts\":40000,\"dur\":20000,\"pid\":1,\"tid\":2") != NULL);
    CHECK(strstr(s, "\"tid\":2,\"args\":{\"name\":\"worker (2)\"}") != NULL);
    CHECK(strstr(s, "\"layout\":\"timeline of samples") != NULL);
    /* Cut for depth, the stamps follow their samples. */
    sg_profile *c = sg_profile_cut(p, 1);
    CHECK(c && c->n_stamps == p->n_stamps);
    for (size_t i = 0; c && i < c->n_stamps; i++)
        CHECK(c->stamps[i].t_ns == p->stamps[i].t_ns &&
              c->nodes[c->stamps[i].node].depth <= 2);
    sg_profile_free(c);
    sb_free(&sb);
    sg_profile_free(p);
}

TESTS(test_empty_profile_through_every_writer,
      test_sampled_profile_through_every_writer, test_weighted_samples,
      test_registry, test_pick, test_pstats_bytes, test_text_table,
      test_collapsed, test_flamegraph_escapes, test_speedscope_and_chrome,
      test_short_paths, test_flamegraph_layout_and_labels,
      test_control_characters_are_escaped, test_chrome_timeline)
