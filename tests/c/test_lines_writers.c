/* Unit tests for the line profiler's writers (src/writers/linetext.c and
 * lprof.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "writers/lines.h"
#include "writers/writers.h"

static int
block_end(const char *src, int first)
{
    return sg_source_block_end(src, strlen(src), first);
}

static void
test_block_end(void)
{
    const char *src = "import x\n"               /* 1 */
                      "@deco(1,\n"               /* 2 */
                      "      2)\n"               /* 3 */
                      "@profile\n"               /* 4 */
                      "def f(a,\n"               /* 5 */
                      "      b):\n"              /* 6 */
                      "    '''doc\n"             /* 7 */
                      "not indented\n"           /* 8 */
                      "'''\n"                    /* 9 */
                      "    # comment\n"          /* 10 */
                      "\n"                       /* 11 */
                      "    return (a +\n"        /* 12 */
                      "  b)\n"                   /* 13 */
                      "    # trailing comment\n" /* 14 */
                      "\n"                       /* 15 */
                      "def g(): return 1\n"      /* 16 */
                      "class C:\n"               /* 17 */
                      "    def m(self):\n"       /* 18 */
                      "        s = \"a#b\" \\\n" /* 19 */
                      "            'c'\n"        /* 20 */
                      "    def n(self): pass\n"; /* 21 */
    CHECK(block_end(src, 2) == 13);
    CHECK(block_end(src, 16) == 16);
    CHECK(block_end(src, 18) == 20);
    CHECK(block_end(src, 21) == 21);
    CHECK(block_end(src, 17) == 21);
    CHECK(block_end(src, 99) == 99);
}

static sg_profile *
sample_profile(const char *file)
{
    const char *metrics[] = {"ns"};
    sg_profile *p = sg_profile_new(SG_PROFILE_LINES, 1, metrics);
    sg_func_id f = sg_profile_func(p, SG_FUNC_PYTHON, "A.work", file, 2, 0);
    sg_line *l = sg_profile_line(p, f, 4);
    l->hits = 3;
    l->m[0] = 11722;
    l = sg_profile_line(p, f, 5);
    l->hits = 60000;
    l->m[0] = 5566451;
    l = sg_profile_line(p, f, 6);
    l->hits = 12345678901ULL; /* wider than the column: '%g' */
    l->m[0] = 3000000000ULL;  /* beyond 32 bits in the pickle */
    sg_profile_func(p, SG_FUNC_PYTHON, "never", file, 9, 0);
    return p;
}

static void
test_linetext(void)
{
    char path[] = "/tmp/sg_test_linetext_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    const char *src = "import x\n"
                      "@profile\n"
                      "def work(n):\n"
                      "    total = 0\n"
                      "    for i in range(n):\n"
                      "        total += i * i\n"
                      "\n"
                      "\n"
                      "def never():\n"
                      "    pass\n";
    CHECK(write(fd, src, strlen(src)) == (ssize_t)strlen(src));
    close(fd);
    sg_profile *p = sample_profile(path);
    strbuf sb = STRBUF_INIT;
    sg_write_linetext(&sb, p, 0, 1e-6);
    strbuf want = STRBUF_INIT;
    sb_printf(
        &want,
        "Timer unit: 1e-06 s\n\n"
        "Total time: 3.00558 s\n"
        "File: %s\n"
        "Function: A.work at line 2\n\n"
        "Line #        Hits         Time  Per Hit   %% Time  Line Contents\n"
        "================================================================\n"
        "     2                                             @profile\n"
        "     3                                             def work(n):\n"
        "     4           3         11.7      3.9      0.0      total = 0\n"
        "     5       60000       5566.5      0.1      0.2      for i in "
        "range(n):\n"
        "     6 1.23457e+10    3000000.0      0.0     99.8          total "
        "+= i * i\n"
        "\n"
        "Total time: 0 s\n"
        "File: %s\n"
        "Function: never at line 9\n\n"
        "Line #      Hits         Time  Per Hit   %% Time  Line Contents\n"
        "==============================================================\n"
        "     9                                           def never():\n"
        "    10                                               pass\n"
        "\n",
        path, path);
    CHECK_STR(sb_str(&sb), sb_str(&want));
    unlink(path);

    /* A file that is gone: line_profiler's notice, blank contents. */
    sb_clear(&sb);
    sg_write_linetext(&sb, p, 0, 1e-3);
    CHECK(strstr(sb_str(&sb), "Timer unit: 0.001 s\n\nTotal time: 3.00558 "
                              "s\n\nCould not find file ") != NULL);
    CHECK(strstr(sb_str(&sb), "     6 1.23457e+10       3000.0      0.0 "
                              "    99.8  \n") != NULL);
    sb_free(&want);
    sb_free(&sb);
    sg_profile_free(p);
}

static void
test_lprof(void)
{
    sg_profile *p = sample_profile("ex.py");
    strbuf sb = STRBUF_INIT;
    sg_write_lprof(&sb, p, 0);
    const unsigned char *b = (const unsigned char *)sb.data;
    CHECK(b[0] == 0x80 && b[1] == 4);
    CHECK(memcmp(b + 2, "\x8c\x1cline_profiler._line_profiler", 30) == 0);
    CHECK(b[sb.len - 1] == '.' && b[sb.len - 2] == 'b');
    /* (4, 3, 11722): BININT1 4, BININT1 3, BININT2 11722, TUPLE3 */
    CHECK(memmem(sb.data, sb.len, "K\x04K\x03M\xca\x2d\x87", 8) != NULL);
    /* 3e9 ns: LONG1 with 5 bytes (top bit of 4 bytes is set) */
    CHECK(memmem(sb.data, sb.len, "\x8a\x05\x00\x5e\xd0\xb2\x00", 7) != NULL);
    /* the key holds the model's name as it is, which is line_profiler's
     * label: the qualified name (co_qualname) on 3.11+, as in the table */
    CHECK(memmem(sb.data, sb.len,
                 "\x8c\x06"
                 "A.work\x87",
                 9) != NULL);
    /* unit 1e-9 as a big-endian double */
    CHECK(memmem(sb.data, sb.len, "G\x3e\x11\x2e\x0b\xe8\x26\xd6\x95", 9) !=
          NULL);
    sb_free(&sb);
    sg_profile_free(p);
}

static void
test_registry(void)
{
    CHECK_STR(sg_writer_for_path("out.lprof")->name, "lprof");
    CHECK_STR(sg_writer_for_path("out.lprof.txt")->name, "kernprof");
    sg_profile *p = sample_profile("ex.py");
    strbuf sb = STRBUF_INIT;
    writer_opts o = {0};
    CHECK(sg_writer_by_name("lprof")->write(p, &o, &sb) == 0);
    CHECK(sb.len > 100 && sb.data[sb.len - 1] == '.');
    sg_profile_free(p);
    /* A line profile whose functions never ran is still a line profile. */
    const char *ns[] = {"ns"};
    p = sg_profile_new(SG_PROFILE_LINES, 1, ns);
    sb_clear(&sb);
    CHECK(sg_writer_render(sg_writer_by_name("lprof"), p, &o, &sb) == 0);
    CHECK(sb.len > 0 && sb.data[sb.len - 1] == '.');
    sg_profile_free(p);
    /* A function profile is refused, by the registry and by the writer. */
    const char *metrics[] = {"calls", "ns"};
    p = sg_profile_new(SG_PROFILE_DETERMINISTIC, 2, metrics);
    sb_clear(&sb);
    fprintf(stderr, "(two error lines are expected here)\n");
    CHECK(sg_writer_render(sg_writer_by_name("kernprof"), p, &o, &sb) == -1);
    CHECK(sg_writer_by_name("kernprof")->write(p, &o, &sb) == -1);
    CHECK(sb.len == 0);
    sg_profile_free(p);
    sb_free(&sb);
}

TESTS(test_block_end, test_linetext, test_lprof, test_registry)
