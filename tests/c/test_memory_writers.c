/* Unit tests for the writers of a memory profile (src/writers/memtext.c,
 * and the stack formats and the registry on memory profiles). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "common/err.h"
#include "model/memory.h"
#include "writers/writers.h"

/* The source the tables re-read; make() is the selected function. */
static const char src_text[] = "import x\n"                   /* 1 */
                               "@profile\n"                   /* 2 */
                               "def make(n):\n"               /* 3 */
                               "    a = [1] * n\n"            /* 4 */
                               "    b = [2] * (2 * n)\n"      /* 5 */
                               "    del b\n"                  /* 6 */
                               "    return a\n"               /* 7 */
                               "\n"                           /* 8 */
                               "\n"                           /* 9 */
                               "def never():\n"               /* 10 */
                               "    pass\n"                   /* 11 */
                               "\n"                           /* 12 */
                               "def rec(k):\n"                /* 13 */
                               "    if k == 0:\n"             /* 14 */
                               "        return bytes(2048)\n" /* 15 */
                               "    return rec(k - 1)\n";     /* 16 */

static void
set_line(sg_profile *p, sg_func_id f, int line, uint64_t hits, uint64_t usage,
         int64_t inc, uint64_t alloc, uint64_t freed, uint64_t peak)
{
    sg_line *l = sg_profile_line(p, f, line);
    l->hits = hits;
    l->m[SG_MEM_USAGE] = usage;
    l->m[SG_MEM_INC] = (uint64_t)inc;
    l->m[SG_MEM_ALLOC] = alloc;
    l->m[SG_MEM_FREE] = freed;
    l->m[SG_MEM_LEAK] = alloc - freed;
    l->m[SG_MEM_LINE_PEAK] = peak;
    l->m[SG_MEM_RSS] = usage + 10 * 1048576;
}

/* The site of frames (outermost first) under a thread root, with its
 * bytes live at the peak, allocated, freed and left at the end. */
static void
add_site(sg_profile *p, sg_node_id thread, const sg_frame_id *frames, size_t n,
         uint64_t peak, uint64_t alloc, uint64_t freed)
{
    sg_node_id leaf =
        sg_profile_add_stack(p, thread, frames, n, SG_MEM_PEAK, peak);
    p->nodes[leaf].self[SG_MEM_ALLOC] += alloc;
    p->nodes[leaf].self[SG_MEM_ALLOCS] += 1;
    p->nodes[leaf].self[SG_MEM_FREE] += freed;
    p->nodes[leaf].self[SG_MEM_LEAK] += alloc - freed;
}

static sg_profile *
memory_profile(const char *file)
{
    const char *names[] = SG_MEM_METRIC_NAMES;
    sg_profile *p = sg_profile_new(SG_PROFILE_MEMORY, SG_MEM_N_METRICS, names);
    sg_func_id make = sg_profile_func(p, SG_FUNC_PYTHON, "make", file, 2, 0);
    sg_func_id never =
        sg_profile_func(p, SG_FUNC_PYTHON, "never", file, 10, 0);
    sg_func_id mod =
        sg_profile_func(p, SG_FUNC_PYTHON, "<module>", file, 1, 0);
    sg_func_id rec = sg_profile_func(p, SG_FUNC_PYTHON, "rec", file, 13, 0);
    sg_func_id helper =
        sg_profile_func(p, SG_FUNC_PYTHON, "helper", "/lib/pkg/util.py", 5, 0);
    /* make() ran; the figures are those given to memory_profiler's own
     * show_results for the layout the test compares with. */
    set_line(p, make, 2, 0, 0, 0, 0, 0, 0);
    set_line(p, make, 4, 1, 22754099, 8000000, 8000056, 0, 22754099);
    set_line(p, make, 5, 1, 182766387, 160012345, 160012345, 0, 182766387);
    set_line(p, make, 6, 1, 1575802470, -163577856, 0, 160012345, 1575802470);
    set_line(p, make, 7, 12345678901ULL, 1294555086438ULL, -10, 1000, 24,
             1294555086438ULL);
    /* never() was selected and never ran: its first line, no hits. */
    sg_profile_line(p, never, 10);

    sg_node_id t1 = sg_profile_thread_root(p, SG_ROOT_NODE, 1, "MainThread");
    sg_node_id t2 = sg_profile_thread_root(p, SG_ROOT_NODE, 2, "worker");
    sg_frame_id at4[] = {sg_profile_frame(p, mod, 20),
                         sg_profile_frame(p, make, 4)};
    sg_frame_id at5[] = {sg_profile_frame(p, mod, 20),
                         sg_profile_frame(p, make, 5)};
    sg_frame_id helped[] = {sg_profile_frame(p, mod, 21),
                            sg_profile_frame(p, helper, 7)};
    add_site(p, t1, at4, 2, 8000056, 8000056, 0);
    add_site(p, t1, at5, 2, 160012345, 160012345, 160012345);
    add_site(p, t2, at4, 2, 1000, 1000, 0); /* merges with t1's */
    add_site(p, t1, helped, 2, 0, 500, 0);
    /* 50 MiB allocated and freed before the peak. */
    helped[1] = sg_profile_frame(p, helper, 8);
    add_site(p, t1, helped, 2, 0, 52428800, 52428800);
    /* rec(7) recursing down to its allocation: a stack too long to show
     * whole. */
    sg_frame_id deep[10];
    deep[0] = sg_profile_frame(p, mod, 22);
    for (int i = 1; i < 9; i++)
        deep[i] = sg_profile_frame(p, rec, 16);
    deep[9] = sg_profile_frame(p, rec, 15);
    add_site(p, t1, deep, 10, 2048, 2048, 2048);

    sg_profile_set_meta(p, SG_MEM_META_PEAK_BYTES, "168015497");
    sg_profile_set_meta(p, SG_MEM_META_PEAK_NS, "1234000000");
    char where[512];
    snprintf(where, sizeof where, "%s:5 (make)", file);
    sg_profile_set_meta(p, SG_MEM_META_PEAK_WHERE, where);
    sg_profile_set_meta(p, SG_MEM_META_END_BYTES, "8001556");
    sg_profile_set_meta(p, SG_MEM_META_TOTAL_NS, "2000000000");
    sg_profile_set_meta(p, SG_MEM_META_SAMPLE_BYTES, "0");
    sg_profile_set_meta(p, SG_MEM_META_NATIVE, "0");
    sg_profile_set_meta(p, SG_MEM_META_RSS, "0");
    CHECK(!p->failed);
    return p;
}

/* A temporary copy of src_text, for the tables to read. */
static void
write_source(char *path)
{
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    CHECK(write(fd, src_text, strlen(src_text)) == (ssize_t)strlen(src_text));
    close(fd);
}

static const char *
render(const char *format, const sg_profile *p, const writer_opts *o,
       strbuf *sb)
{
    sb_clear(sb);
    CHECK(sg_writer_render(sg_writer_by_name(format), p, o, sb) == 0);
    return sb_str(sb);
}

/* memory_profiler's table, then our columns. The header and the first
 * four columns of each row (up to Occurrences), the rule's length and the
 * source text after three spaces are byte for byte what memory_profiler
 * 0.61's own show_results prints for the same figures on this source, at
 * the precision of `python -m memory_profiler` (MiB with three decimals,
 * '-0.000' for a tiny decrease, a cell wider than its column pushing the
 * rest right); our columns sit between Occurrences and the source text. */
static void
test_table(void)
{
    char path[] = "/tmp/sg_memtext_XXXXXX";
    write_source(path);
    sg_profile *p = memory_profile(path);
    strbuf sb = STRBUF_INIT, want = STRBUF_INIT;
    writer_opts o = {0};
    const char *head =
        "Line #    Mem usage    Increment  Occurrences    Allocated        "
        "Freed          Net  Peak inside   Line Contents\n"
        "==================================================================="
        "==============================================\n";
    sb_printf(&want, "Filename: %s\n\n%s", path, head);
    sb_puts(&want,
            "     2                                                        "
            "                                     @profile\n"
            "     3                                                        "
            "                                     def make(n):\n"
            "     4   21.700 MiB    7.629 MiB           1"
            "      7.6 MiB          0 B      7.6 MiB   21.700 MiB"
            "       a = [1] * n\n"
            "     5  174.300 MiB  152.600 MiB           1"
            "    152.6 MiB          0 B    152.6 MiB  174.300 MiB"
            "       b = [2] * (2 * n)\n"
            "     6 1502.802 MiB -156.000 MiB           1"
            "          0 B    152.6 MiB   -152.6 MiB 1502.802 MiB"
            "       del b\n"
            "     7 1234583.937 MiB   -0.000 MiB  12345678901"
            "       1000 B         24 B        976 B 1234583.937 MiB"
            "       return a\n"
            "\n\n");
    /* A selected function that never ran: its lines, no figures. */
    sb_printf(&want, "Filename: %s\n\n%s", path, head);
    sb_puts(&want,
            "    10                                                        "
            "                                     def never():\n"
            "    11                                                        "
            "                                         pass\n"
            "\n\n");
    const char *got = render("text", p, &o, &sb);
    CHECK(strncmp(got, sb_str(&want), want.len) == 0);
    if (strncmp(got, sb_str(&want), want.len) != 0)
        fprintf(stderr, "got:\n%s\nwant:\n%s\n", got, sb_str(&want));
    /* The rule is as long as the header, as memory_profiler draws it. */
    const char *rule = strchr(head, '\n') + 1;
    CHECK(strchr(rule, '\n') - rule == rule - 1 - head);

    /* The file gone: the lines that have entries, no text, and a note. */
    unlink(path);
    got = render("text", p, &o, &sb);
    CHECK(strstr(got, "     7 1234583.937 MiB   -0.000 MiB  12345678901"
                      "       1000 B         24 B        976 B "
                      "1234583.937 MiB   \n(") != NULL);
    CHECK(strstr(got, "     3                                            "
                      "                                                 "
                      "\n") != NULL);
    CHECK(strstr(got, " could not be read: no line contents)\n\n\n") != NULL);
    sb_free(&want);
    sb_free(&sb);
    sg_profile_free(p);
}

/* The summary after the tables: the peak, then the stacks live at it and
 * those left at the end, the largest first, threads merged; recursion is
 * shown once with its count. */
static void
test_summary(void)
{
    sg_profile *p = memory_profile("/src/app/x.py");
    strbuf sb = STRBUF_INIT;
    writer_opts o = {0};
    const char *got = render("text", p, &o, &sb);
    const char *summary = strstr(got, "Peak of the traced heap");
    CHECK(summary != NULL);
    CHECK_STR(summary ? summary : "",
              "Peak of the traced heap: 160.2 MiB, 1.234 s after tracing "
              "started, reached at /src/app/x.py:5 (make)\n"
              "Traced heap when tracing ended: 7.6 MiB, after 2.000 s\n"
              "Traced: Python's allocators (--native adds malloc and "
              "friends, which C extensions call).\n"
              "\n"
              "Live at the peak: 160.2 MiB in 3 stacks, the largest first:\n"
              "   152.6 MiB  95.2%  make (x.py:5) <- <module> (x.py:20)\n"
              "     7.6 MiB   4.8%  make (x.py:4) <- <module> (x.py:20)\n"
              "     2.0 KiB   0.0%  rec (x.py:15) <- rec (x.py:16) x8 <- "
              "<module> (x.py:22)\n"
              "\n"
              "Still allocated when tracing ended: 7.6 MiB in 2 stacks, the "
              "largest first:\n"
              "     7.6 MiB 100.0%  make (x.py:4) <- <module> (x.py:20)\n"
              "       500 B   0.0%  helper (util.py:7) <- <module> "
              "(x.py:21)\n");
    sb_free(&sb);
    sg_profile_free(p);
}

/* --rss adds memory_profiler's own Mem usage as a column; sampling says
 * the figures are estimates; limit cuts the lists; --native is named. */
static void
test_options(void)
{
    sg_profile *p = memory_profile("/src/app/x.py");
    sg_profile_set_meta(p, SG_MEM_META_RSS, "1");
    sg_profile_set_meta(p, SG_MEM_META_SAMPLE_BYTES, "524288");
    sg_profile_set_meta(p, SG_MEM_META_NATIVE, "1");
    strbuf sb = STRBUF_INIT;
    writer_opts o = {.limit = 1};
    const char *got = render("text", p, &o, &sb);
    CHECK(strstr(got, "Occurrences    Allocated        Freed          Net  "
                      "Peak inside          RSS   Line Contents\n") != NULL);
    CHECK(strstr(got, "     4   21.700 MiB    7.629 MiB           1"
                      "      7.6 MiB          0 B      7.6 MiB   21.700 MiB"
                      "   31.700 MiB   \n") != NULL);
    CHECK(strstr(got, "Sampled (one block per 512.0 KiB allocated on "
                      "average): every figure is an estimate.\n") != NULL);
    CHECK(strstr(got, "Traced: Python's allocators and malloc and friends "
                      "(--native).\n") != NULL);
    CHECK(strstr(got, "   152.6 MiB  95.2%  make (x.py:5) <- <module> "
                      "(x.py:20)\n"
                      "  ... 2 more stacks holding 7.6 MiB\n") != NULL);
    CHECK(strstr(got, "  ... 1 more stack holding 500 B\n") != NULL);
    sb_free(&sb);
    sg_profile_free(p);
}

/* Nothing traced at all: no tables, and lists that say so. */
static void
test_empty(void)
{
    const char *names[] = SG_MEM_METRIC_NAMES;
    sg_profile *p = sg_profile_new(SG_PROFILE_MEMORY, SG_MEM_N_METRICS, names);
    strbuf sb = STRBUF_INIT;
    writer_opts o = {0};
    CHECK_STR(render("text", p, &o, &sb),
              "Peak of the traced heap: 0 B\n"
              "Traced heap when tracing ended: 0 B\n"
              "Traced: Python's allocators (--native adds malloc and "
              "friends, which C extensions call).\n"
              "\n"
              "Live at the peak: nothing.\n"
              "\n"
              "Still allocated when tracing ended: nothing.\n");
    sg_profile_free(p);
    sb_free(&sb);
}

/* The stack formats weigh by the bytes live at the peak, or allocated
 * when writer_opts.metric asks, in bytes. */
static void
test_stack_formats(void)
{
    sg_profile *p = memory_profile("/src/app/x.py");
    strbuf sb = STRBUF_INIT;
    writer_opts o = {0};
    CHECK_STR(render("collapsed", p, &o, &sb),
              "<module> (/src/app/x.py:20);make (/src/app/x.py:4) 8001056\n"
              "<module> (/src/app/x.py:20);make (/src/app/x.py:5) 160012345\n"
              "<module> (/src/app/x.py:22);rec (/src/app/x.py:16);rec "
              "(/src/app/x.py:16);rec (/src/app/x.py:16);rec "
              "(/src/app/x.py:16);rec (/src/app/x.py:16);rec "
              "(/src/app/x.py:16);rec (/src/app/x.py:16);rec "
              "(/src/app/x.py:16);rec (/src/app/x.py:15) 2048\n");
    o.metric = SG_MEM_ALLOC;
    const char *got = render("collapsed", p, &o, &sb);
    CHECK(strstr(got, "(/src/app/x.py:4) 8001056\n") != NULL);
    CHECK(strstr(got, "<module> (/src/app/x.py:21);helper "
                      "(/lib/pkg/util.py:7) 500\n") != NULL);

    o.metric = 0;
    got = render("speedscope", p, &o, &sb);
    CHECK(strstr(got, "\"unit\":\"bytes\"") != NULL);
    CHECK(strstr(got, "\"name\":\"spyglass memory\"") != NULL);
    CHECK(strstr(got, "\"weights\":[8000056,160012345,2048]") != NULL);
    CHECK(strstr(got, "\"weights\":[1000]") != NULL); /* the worker */
    CHECK(strstr(got, "\"endValue\":168014449") != NULL);
    CHECK_STR(render("json", p, &o, &sb), got);

    got = render("flamegraph", p, &o, &sb);
    CHECK(strstr(got, "<title>spyglass memory</title>") != NULL);
    /* make:5's frame, hovered: its bytes and share. */
    CHECK(strstr(got, "make (/src/app/x.py:5)\n152.6 MiB, 95.24%</title>") !=
          NULL);
    CHECK(strstr(got, "sample") == NULL);
    o.metric = SG_MEM_ALLOC;
    got = render("flamegraph", p, &o, &sb);
    CHECK(
        strstr(got, "helper (/lib/pkg/util.py:8)\n50.0 MiB, 23.78%</title>") !=
        NULL);
    sb_free(&sb);
    sg_profile_free(p);
}

static char pick_msg[768];

static const char *
picked(const char *format, const char *path)
{
    const sg_writer *w = NULL;
    pick_msg[0] = '\0';
    if (sg_writer_pick_msg(format, path, &sg_output_memory, &w, pick_msg,
                           sizeof pick_msg) != 0) {
        CHECK(w == NULL && pick_msg[0]);
        return "refused";
    }
    return w->name;
}

/* What holds a memory profile, and what is refused before any run. */
static void
test_registry(void)
{
    CHECK_STR(picked(NULL, NULL), "text");
    CHECK_STR(picked(NULL, "m.txt"), "text");
    CHECK_STR(picked(NULL, "m.out"), "text"); /* unknown: text, as lines */
    CHECK_STR(picked(NULL, "m.svg"), "flamegraph");
    CHECK_STR(picked(NULL, "m.json"), "json");
    CHECK_STR(picked(NULL, "m.speedscope.json"), "speedscope");
    CHECK_STR(picked(NULL, "m.collapsed"), "collapsed");
    const char *refused[] = {"pstats",      "lprof", "kernprof",
                             "chrometrace", "csv",   "markdown"};
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++)
        CHECK_STR(picked(refused[i], NULL), "refused");
    CHECK_STR(picked(NULL, "m.trace.json"), "refused");
    CHECK_STR(picked(NULL, "m.pstats"), "refused");
    CHECK_STR(pick_msg, "the pstats format of 'm.pstats' cannot hold a "
                        "memory profile (it holds a function profile or a "
                        "sampled profile); formats for a memory profile: "
                        "text, json, flamegraph, speedscope, collapsed, "
                        "html");
    /* Rendering refuses them too, and the table refuses other kinds. */
    sg_profile *p = memory_profile("/src/app/x.py");
    strbuf sb = STRBUF_INIT;
    writer_opts o = {0};
    fprintf(stderr, "(two error lines are expected here)\n");
    CHECK(sg_writer_render(sg_writer_by_name("pstats"), p, &o, &sb) == -1);
    const char *ns[] = {"ns"};
    sg_profile *lines = sg_profile_new(SG_PROFILE_LINES, 1, ns);
    CHECK(sg_write_memtext(lines, &o, &sb) == -1);
    CHECK(sb.len == 0);
    sg_profile_free(lines);
    sg_profile_free(p);
    sb_free(&sb);
}

typedef struct oom_case {
    const sg_profile *p;
    const char *want;
} oom_case;

static int
oom_op(void *ctx)
{
    oom_case *c = ctx;
    strbuf sb = STRBUF_INIT;
    writer_opts o = {0};
    int r = sg_write_memtext(c->p, &o, &sb);
    if (r == 0 && sb_failed(&sb))
        r = SG_WRITE_NOMEM;
    if (r == 0)
        CHECK_STR(sb_str(&sb), c->want);
    sb_free(&sb);
    return r;
}

/* Out of memory anywhere: reported, nothing leaked (ASan), and the run
 * that completes writes the whole report. */
static void
test_out_of_memory(void)
{
    char path[] = "/tmp/sg_memtext_XXXXXX";
    write_source(path);
    sg_profile *p = memory_profile(path);
    strbuf sb = STRBUF_INIT;
    writer_opts o = {0};
    oom_case c = {p, render("text", p, &o, &sb)};
    CHECK(check_oom(oom_op, &c) > 10);
    unlink(path);
    sb_free(&sb);
    sg_profile_free(p);
}

TESTS(test_table, test_summary, test_options, test_empty, test_stack_formats,
      test_registry, test_out_of_memory)
