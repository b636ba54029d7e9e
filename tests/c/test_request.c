/* Unit tests for src/request: the executable-to-agent request. */
#include <stdlib.h>

#include "check.h"
#include "request/commands.h"
#include "request/request.h"

static int
count(char **v)
{
    int n = 0;
    while (v[n])
        n++;
    return n;
}

/* Decode the fields of an encoded request (after checking its header). */
static int
decode(const rq_spec *spec, char **v, void *r, char *err, size_t n)
{
    rq_header h;
    CHECK(rq_read_header(count(v), v, &h) == 0);
    CHECK(rq_header_ours(&h));
    CHECK_STR(h.command, spec->command);
    return rq_decode(spec, count(v) - RQ_HEADER_LEN, v + RQ_HEADER_LEN, r, err,
                     n);
}

static void
test_header_is_first_and_stable(void)
{
    rq_timeit t = {.number = 3, .repeat = 5, .format = "text", .n_stmts = 0};
    const char *none[] = {NULL};
    t.stmts = t.setup = none;
    char **v = rq_encode(&rq_timeit_spec, &t, "/src/spyglass");
    CHECK(v != NULL);
    char version[32];
    snprintf(version, sizeof version, "spyglass-request=%d", RQ_VERSION);
    CHECK_STR(v[0], version);
    CHECK_STR(v[1], "release=" SG_VERSION);
    CHECK_STR(v[2], "install=/src/spyglass");
    CHECK_STR(v[3], "command=timeit");
    rq_header h;
    CHECK(rq_read_header(count(v), v, &h) == 0);
    CHECK(h.version == RQ_VERSION);
    CHECK_STR(h.release, SG_VERSION);
    CHECK_STR(h.install, "/src/spyglass");
    rq_free_argv(v);
}

/* Every byte but NUL survives, '=' and newlines included, and list order
 * is kept. */
static void
test_any_bytes_round_trip(void)
{
    char all[256];
    for (int i = 1; i < 256; i++)
        all[i - 1] = (char)i;
    all[255] = '\0';
    const char *setup[] = {"import os", "x = 'a=b'\n", all};
    const char *stmts[] = {"", "=", "stmt=spyglass-request=1"};
    rq_timeit t = {.number = 0,
                   .repeat = 1000000,
                   .setup = setup,
                   .n_setup = 3,
                   .unit = "usec",
                   .verbose = 2,
                   .process_time = false,
                   .output = "out.json",
                   .format = "json",
                   .stmts = stmts,
                   .n_stmts = 3};
    char **v = rq_encode(&rq_timeit_spec, &t, "x");
    rq_timeit d;
    char err[256] = "";
    CHECK(decode(&rq_timeit_spec, v, &d, err, sizeof err) == 0);
    CHECK_STR(err, "");
    CHECK(d.number == 0 && d.repeat == 1000000);
    CHECK(d.n_setup == 3 && d.n_stmts == 3);
    for (int i = 0; i < 3; i++) {
        CHECK_STR(d.setup[i], setup[i]);
        CHECK_STR(d.stmts[i], stmts[i]);
    }
    CHECK(d.setup[3] == NULL && d.stmts[3] == NULL);
    CHECK_STR(d.unit, "usec");
    CHECK(d.verbose == 2 && !d.process_time);
    CHECK_STR(d.output, "out.json");
    CHECK_STR(d.format, "json");
    rq_release(&rq_timeit_spec, &d);
    rq_free_argv(v);
}

static void
test_profile_round_trip(void)
{
    const char *args[] = {"-v", "--", "a b"};
    rq_profile p = {.sort = "tottime,name",
                    .output = NULL,
                    .format = "pstats",
                    .builtins = false,
                    .threads = true,
                    .limit = 7,
                    .program = {RQ_RUN_MODULE, "pkg.mod", args, 3}};
    char **v = rq_encode(&rq_profile_spec, &p, "x");
    rq_profile d;
    char err[256];
    CHECK(decode(&rq_profile_spec, v, &d, err, sizeof err) == 0);
    CHECK_STR(d.sort, "tottime,name");
    CHECK(d.output == NULL); /* absent stays NULL, not "" */
    CHECK_STR(d.format, "pstats");
    CHECK(!d.builtins && d.threads && d.limit == 7);
    CHECK(d.program.kind == RQ_RUN_MODULE);
    CHECK_STR(d.program.target, "pkg.mod");
    CHECK(d.program.n_args == 3);
    CHECK_STR(d.program.args[1], "--");
    CHECK_STR(d.program.args[2], "a b");
    rq_release(&rq_profile_spec, &d);
    rq_free_argv(v);
}

/* Every field of `spyglass memory`'s request survives, lists in order;
 * an absent output and format stay NULL (the table on stdout). */
static void
test_memory_round_trip(void)
{
    const char *funcs[] = {"__main__:main", "pkg.mod:Cls.meth"};
    const char *files[] = {"a.py"};
    const char *args[] = {"--", "x=1"};
    rq_memory m = {.output = "peak.svg",
                   .format = "flamegraph",
                   .funcs = funcs,
                   .n_funcs = 2,
                   .files = files,
                   .n_files = 1,
                   .native = true,
                   .rss = false,
                   .sample_bytes = 1L << 40,
                   .allocated = true,
                   .flame = true,
                   .program = {RQ_RUN_SCRIPT, "app.py", args, 2}};
    char **v = rq_encode(&rq_memory_spec, &m, "x");
    rq_memory d;
    char err[256] = "";
    CHECK(decode(&rq_memory_spec, v, &d, err, sizeof err) == 0);
    CHECK_STR(err, "");
    CHECK_STR(d.output, "peak.svg");
    CHECK_STR(d.format, "flamegraph");
    CHECK(d.n_funcs == 2 && d.n_files == 1);
    CHECK_STR(d.funcs[0], "__main__:main");
    CHECK_STR(d.funcs[1], "pkg.mod:Cls.meth");
    CHECK_STR(d.files[0], "a.py");
    CHECK(d.native && !d.rss && d.allocated && d.flame);
    CHECK(d.sample_bytes == 1L << 40);
    CHECK(d.program.kind == RQ_RUN_SCRIPT && d.program.n_args == 2);
    CHECK_STR(d.program.target, "app.py");
    CHECK_STR(d.program.args[1], "x=1");
    rq_release(&rq_memory_spec, &d);
    rq_free_argv(v);

    const char *none[] = {NULL};
    rq_memory e = {.funcs = none,
                   .files = none,
                   .rss = true,
                   .program = {RQ_RUN_CODE, "pass", none, 0}};
    v = rq_encode(&rq_memory_spec, &e, "x");
    CHECK(decode(&rq_memory_spec, v, &d, err, sizeof err) == 0);
    CHECK(d.output == NULL && d.format == NULL);
    CHECK(d.n_funcs == 0 && d.n_files == 0 && d.sample_bytes == 0);
    CHECK(!d.native && d.rss && !d.allocated && !d.flame);
    CHECK(d.program.kind == RQ_RUN_CODE);
    rq_release(&rq_memory_spec, &d);
    rq_free_argv(v);
}

static void
test_double_is_exact(void)
{
    rq_lines l = {.unit = 0.1,
                  .output = "x.lprof",
                  .format = "lprof",
                  .program = {RQ_RUN_CODE, "pass", NULL, 0}};
    const char *none[] = {NULL};
    l.funcs = l.files = l.program.args = none;
    double units[] = {0.1, 1e-6, 1.0 / 3.0, 1e-12, 123456.789};
    for (size_t i = 0; i < sizeof units / sizeof *units; i++) {
        l.unit = units[i];
        char **v = rq_encode(&rq_lines_spec, &l, "x");
        rq_lines d;
        char err[256];
        CHECK(decode(&rq_lines_spec, v, &d, err, sizeof err) == 0);
        CHECK(d.unit == units[i]);
        CHECK(d.program.kind == RQ_RUN_CODE && d.n_funcs == 0);
        CHECK_STR(d.format, "lprof");
        rq_release(&rq_lines_spec, &d);
        rq_free_argv(v);
    }
}

static void
test_not_a_request(void)
{
    rq_header h;
    char *empty[] = {NULL};
    CHECK(rq_read_header(0, empty, &h) < 0);
    char *old[] = {"timeit", "-n", "1", "pass", NULL};
    CHECK(rq_read_header(4, old, &h) < 0);
    char *bad[] = {"spyglass-request=x", "release=1", "install=x",
                   "command=timeit", NULL};
    CHECK(rq_read_header(4, bad, &h) < 0);
    char *cut[] = {"spyglass-request=1", "release=" SG_VERSION, NULL};
    CHECK(rq_read_header(2, cut, &h) < 0);
}

/* Another release, or another format of this release, is refused with
 * both versions and the way to install the executable's release. */
static void
test_skew_is_refused(void)
{
    char line[512];
    rq_header h;
    char *other[] = {"spyglass-request=1", "release=9.9.9", "install=/src/sg",
                     "command=timeit", NULL};
    CHECK(rq_read_header(4, other, &h) == 0);
    CHECK(!rq_header_ours(&h));
    rq_refusal(line, sizeof line, &h, "/usr/bin/python3.12");
    CHECK_STR(line, "spyglass 9.9.9 cannot drive the agent of "
                    "/usr/bin/python3.12 (spyglass " SG_VERSION
                    "): reinstall it with /usr/bin/python3.12 -m pip "
                    "install /src/sg");
    char *newer[] = {"spyglass-request=99", "release=" SG_VERSION,
                     "install=/src/sg", "command=timeit", NULL};
    CHECK(rq_read_header(4, newer, &h) == 0);
    CHECK(!rq_header_ours(&h));
    rq_refusal(line, sizeof line, &h, "py");
    CHECK(strstr(line, "(request format 99) cannot drive") != NULL);
    char ours[64];
    snprintf(ours, sizeof ours, "request format %d): reinstall it with py",
             RQ_VERSION);
    CHECK(strstr(line, ours) != NULL);
    CHECK(strstr(line, "-m pip install /src/sg") != NULL);
}

static void
test_malformed_fields_are_refused(void)
{
    char err[256];
    rq_timeit t;
    char *unknown[] = {"number=1",  "repeat=1", "verbose=0", "process-time=0",
                       "stmt=pass", "frob=1",   NULL};
    CHECK(rq_decode(&rq_timeit_spec, 6, unknown, &t, err, sizeof err) < 0);
    CHECK(strstr(err, "no field 'frob'") != NULL);
    rq_release(&rq_timeit_spec, &t);
    char *twice[] = {"number=1", "number=2", NULL};
    CHECK(rq_decode(&rq_timeit_spec, 2, twice, &t, err, sizeof err) < 0);
    CHECK(strstr(err, "'number' given twice") != NULL);
    rq_release(&rq_timeit_spec, &t);
    char *missing[] = {"number=1", "stmt=pass", NULL};
    CHECK(rq_decode(&rq_timeit_spec, 2, missing, &t, err, sizeof err) < 0);
    CHECK(strstr(err, "'repeat' missing") != NULL);
    rq_release(&rq_timeit_spec, &t);
    char *nan[] = {"number=1x", NULL};
    CHECK(rq_decode(&rq_timeit_spec, 1, nan, &t, err, sizeof err) < 0);
    CHECK(strstr(err, "'number' is not a whole number") != NULL);
    rq_release(&rq_timeit_spec, &t);
    char *flag[] = {"verbose=yes", NULL};
    CHECK(rq_decode(&rq_timeit_spec, 1, flag, &t, err, sizeof err) < 0);
    rq_release(&rq_timeit_spec, &t);
    char *noeq[] = {"number", NULL};
    CHECK(rq_decode(&rq_timeit_spec, 1, noeq, &t, err, sizeof err) < 0);
    rq_release(&rq_timeit_spec, &t);
    rq_profile p;
    char *run[] = {"run=eval", NULL};
    CHECK(rq_decode(&rq_profile_spec, 1, run, &p, err, sizeof err) < 0);
    CHECK(strstr(err, "'run' is not script, module or code") != NULL);
    rq_release(&rq_profile_spec, &p);
}

TESTS(test_header_is_first_and_stable, test_any_bytes_round_trip,
      test_profile_round_trip, test_memory_round_trip, test_double_is_exact,
      test_not_a_request, test_skew_is_refused,
      test_malformed_fields_are_refused)
