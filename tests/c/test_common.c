/* Unit tests for src/common: strbuf, json, stats, units, hashmap. */
#include <errno.h>
#include <math.h>
#include <stdint.h>

#include "check.h"
#include "common/hashmap.h"
#include "common/json.h"
#include "common/stats.h"
#include "common/strbuf.h"
#include "common/units.h"

static void
test_strbuf_grows_and_formats(void)
{
    strbuf sb = STRBUF_INIT;
    CHECK_STR(sb_str(&sb), "");
    for (int i = 0; i < 1000; i++)
        sb_printf(&sb, "%d,", i);
    CHECK(sb.len == strlen(sb.data));
    CHECK(strncmp(sb.data, "0,1,2,", 6) == 0);
    sb_clear(&sb);
    char big[600];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    sb_printf(&sb, "<%s>", big); /* longer than the fast path's buffer */
    CHECK(sb.len == sizeof big + 1);
    sb_free(&sb);
}

static void
test_xml_escaping(void)
{
    strbuf sb = STRBUF_INIT;
    sb_put_xml(&sb, "<script>alert('&\"')</script>\x01");
    CHECK_STR(sb_str(&sb), "&lt;script&gt;alert(&#39;&amp;&quot;&#39;)"
                           "&lt;/script&gt;?");
    sb_free(&sb);
}

static void
test_json_nesting_and_escapes(void)
{
    strbuf sb = STRBUF_INIT;
    json_writer j;
    json_init(&j, &sb, false);
    json_begin_object(&j);
    json_key(&j, "a");
    json_begin_array(&j);
    json_int(&j, -1);
    json_double(&j, 0.5);
    json_double(&j, NAN);
    json_string(&j, "q\"\\\n\x01");
    json_end_array(&j);
    json_key(&j, "e");
    json_begin_object(&j);
    json_end_object(&j);
    json_key(&j, "u");
    json_string(&j, "caf\xc3\xa9 \xff"); /* valid é, invalid byte */
    json_end_object(&j);
    CHECK_STR(sb_str(&sb), "{\"a\":[-1,0.5,null,\"q\\\"\\\\\\n\\u0001\"],"
                           "\"e\":{},\"u\":\"caf\xc3\xa9 \\ufffd\"}");
    sb_free(&sb);
}

static void
test_stats_summary(void)
{
    double v[] = {5, 1, 4, 2, 3};
    sg_summary s = sg_summarize(v, 5);
    CHECK(s.n == 5);
    CHECK_NEAR(s.mean, 3.0, 1e-12);
    CHECK_NEAR(s.median, 3.0, 1e-12);
    CHECK_NEAR(s.stddev, sqrt(2.5), 1e-12);
    CHECK(s.min == 1 && s.max == 5);
    CHECK(v[0] == 5); /* input untouched */
    double e[] = {1, 2, 3, 4};
    CHECK_NEAR(sg_summarize(e, 4).median, 2.5, 1e-12);
    CHECK(sg_summarize(e, 0).n == 0);
    sg_summary a = {.n = 2, .mean = 2.0, .stddev = 0.2};
    sg_summary b = {.n = 2, .mean = 1.0, .stddev = 0.1};
    double r, sd;
    sg_ratio(&a, &b, &r, &sd);
    CHECK_NEAR(r, 2.0, 1e-12);
    CHECK_NEAR(sd, 2.0 * sqrt(0.01 + 0.01), 1e-12);
}

static void
test_units_like_timeit(void)
{
    char b[64];
    CHECK_STR(sg_fmt_timeit(b, sizeof b, 30.2e-6, NULL, 3), "30.2 usec");
    CHECK_STR(sg_fmt_timeit(b, sizeof b, 6.27e-6, NULL, 3), "6.27 usec");
    CHECK_STR(sg_fmt_timeit(b, sizeof b, 1.5, NULL, 3), "1.5 sec");
    CHECK_STR(sg_fmt_timeit(b, sizeof b, 4e-10, NULL, 3), "0.4 nsec");
    CHECK_STR(sg_fmt_timeit(b, sizeof b, 0.0123, NULL, 3), "12.3 msec");
    CHECK_STR(
        sg_fmt_timeit(b, sizeof b, 0.0123, sg_time_unit_by_name("usec"), 3),
        "1.23e+04 usec");
    CHECK(sg_time_unit_by_name("psec") == NULL);

    /* Without -u never an exponent: the unit is picked for the value as
     * it is shown (3 digits), so a value that rounds up to 1000 of one
     * unit is 1 of the next, where python -m timeit says "1e+03 nsec". */
    CHECK_STR(sg_fmt_timeit(b, sizeof b, 999.95e-9, NULL, 3), "1 usec");
    CHECK_STR(sg_fmt_timeit(b, sizeof b, 999.4e-9, NULL, 3), "999 nsec");
    CHECK_STR(sg_fmt_timeit(b, sizeof b, 999.51e-6, NULL, 3), "1 msec");
    CHECK_STR(sg_fmt_timeit(b, sizeof b, 999.49e-6, NULL, 3), "999 usec");
    CHECK_STR(sg_fmt_timeit(b, sizeof b, 0.99996, NULL, 3), "1 sec");
    CHECK_STR(sg_fmt_timeit(b, sizeof b, 9.9996e-6, NULL, 3), "10 usec");
    CHECK_STR(sg_fmt_timeit(b, sizeof b, 1e-6, NULL, 3), "1 usec");
    CHECK_STR(sg_fmt_timeit(b, sizeof b, 39.14e-6, NULL, 3), "39.1 usec");
    CHECK_STR(sg_fmt_timeit(b, sizeof b, 0.1005e-3, NULL, 3), "101 usec");
    CHECK_STR(sg_fmt_timeit(b, sizeof b, 1234.4, NULL, 3), "1234 sec");
    CHECK_STR(sg_fmt_timeit(b, sizeof b, 0, NULL, 3), "0 nsec");
    CHECK_STR(sg_fmt_timeit(b, sizeof b, 1.234e-14, NULL, 3),
              "0.0000123 nsec");
    CHECK_STR(sg_fmt_timeit(b, sizeof b, 1e-45, NULL, 3), "0 nsec");

    /* A spread in its mean's unit, whatever its own size. */
    CHECK_STR(sg_fmt_timeit_as(b, sizeof b, 67.7e-6, 39.1e-6, NULL, 3),
              "67.7 usec");
    CHECK_STR(sg_fmt_timeit_as(b, sizeof b, 2.0344e-3, 39.1e-6, NULL, 3),
              "2034 usec");
    CHECK_STR(sg_fmt_timeit_as(b, sizeof b, 1.234e-12, 39.1e-6, NULL, 3),
              "0.00000123 usec");
    CHECK_STR(sg_fmt_timeit_as(b, sizeof b, 0.5e-9, 999.95e-9, NULL, 3),
              "0.0005 usec");
    CHECK_STR(sg_fmt_timeit_as(b, sizeof b, 0, 1.5, NULL, 3), "0 sec");

    /* -u: python's own "%.3g" in that unit, exponent and all. */
    const sg_time_unit *nsec = sg_time_unit_by_name("nsec");
    CHECK_STR(sg_fmt_timeit(b, sizeof b, 1.00501e-2, nsec, 3),
              "1.01e+07 nsec");
    CHECK_STR(sg_fmt_timeit(b, sizeof b, 999.95e-9, nsec, 3), "1e+03 nsec");
    CHECK_STR(sg_fmt_timeit_as(b, sizeof b, 3e-6, 1.0, nsec, 3), "3e+03 nsec");
    CHECK_STR(
        sg_fmt_timeit(b, sizeof b, 0.0123, sg_time_unit_by_name("sec"), 3),
        "0.0123 sec");

    /* -vv: one more digit, by the same rules. */
    CHECK_STR(sg_fmt_timeit(b, sizeof b, 1.06312e-3, NULL, 4), "1.063 msec");
    CHECK_STR(sg_fmt_timeit(b, sizeof b, 999.96e-9, NULL, 4), "1 usec");
    CHECK_STR(sg_fmt_timeit(b, sizeof b, 999.94e-9, NULL, 4), "999.9 nsec");
    CHECK_STR(sg_fmt_timeit(b, sizeof b, 12345.6, NULL, 4), "12346 sec");
    CHECK_STR(sg_fmt_timeit(b, sizeof b, 1.00501e-2, nsec, 4),
              "1.005e+07 nsec");
    CHECK_STR(sg_fmt_timeit(b, sizeof b, 1.0 / 3, NULL, 99),
              "333.33333333333331 msec");
    CHECK_STR(sg_fmt_duration(b, sizeof b, 0.1012), "101.2 ms");
    CHECK_STR(sg_fmt_bytes(b, sizeof b, 1.5 * 1024 * 1024), "1.5 MiB");
}

static void
test_hm64_many_keys(void)
{
    hm64 m;
    hm64_init(&m);
    CHECK(hm64_get(&m, 42) == HM_NONE);
    for (uint32_t i = 0; i < 10000; i++)
        hm64_put(&m, (uint64_t)i * 7919u, i);
    int ok = 1;
    for (uint32_t i = 0; i < 10000; i++)
        ok &= hm64_get(&m, (uint64_t)i * 7919u) == i;
    CHECK(ok);
    CHECK(hm64_get(&m, 1) == HM_NONE);
    hm64_put(&m, 0, 5);
    hm64_put(&m, 0, 6); /* overwrite */
    CHECK(hm64_get(&m, 0) == 6);
    CHECK(m.len == 10000); /* key 0 was already present as i == 0 */
    hm64_free(&m);
}

/* ---- out of memory: every structure reports it, nothing exits ---- */

static int
strbuf_op(void *ctx)
{
    strbuf sb = STRBUF_INIT;
    for (int i = 0; i < 2000; i++)
        sb_printf(&sb, "%d,", i);
    sb_put_xml(&sb, "<&>");
    int failed = sb_failed(&sb);
    /* What was appended before the failure is intact; a failed buffer is
     * never written (ENOMEM), and stays failed after sb_clear. */
    CHECK(strncmp(sb_str(&sb), "0,1,2,", sb.len < 6 ? sb.len : 6) == 0);
    if (failed) {
        errno = 0;
        CHECK(sb_write_file(&sb, "/dev/null") == -1 && errno == ENOMEM);
        sb_clear(&sb);
        sb_putc(&sb, 'x');
        CHECK(sb_failed(&sb) && sb.len == 0);
    } else {
        CHECK(sb.len == strlen(sb.data));
        const char *end = "1998,1999,&lt;&amp;&gt;";
        CHECK(sb.len > strlen(end) &&
              strcmp(sb.data + sb.len - strlen(end), end) == 0);
    }
    sb_free(&sb);
    CHECK(!sb_failed(&sb));
    (void)ctx;
    return failed;
}

static void
test_strbuf_out_of_memory(void)
{
    CHECK(check_oom(strbuf_op, NULL) > 3);
}

static int
hm64_op(void *ctx)
{
    hm64 m;
    hm64_init(&m);
    uint32_t n = 0;
    int rc = 0;
    for (; n < 5000; n++) {
        if (hm64_put(&m, (uint64_t)n * 7919u, n) < 0) {
            rc = -1;
            break;
        }
    }
    /* Every key put before the failure is still found; the failed one is
     * absent; overwriting a present key always works. */
    int ok = 1;
    for (uint32_t i = 0; i < n; i++)
        ok &= hm64_get(&m, (uint64_t)i * 7919u) == i;
    CHECK(ok && m.len == n);
    CHECK(rc == 0 || hm64_get(&m, (uint64_t)n * 7919u) == HM_NONE);
    if (n)
        CHECK(hm64_put(&m, 0, 77) == 0 && hm64_get(&m, 0) == 77);
    hm64_free(&m);
    (void)ctx;
    return rc;
}

static bool
u32_eq(const void *ctx, uint32_t idx, const void *key)
{
    return ((const uint64_t *)ctx)[idx] == *(const uint64_t *)key;
}

static int
idxset_op(void *ctx)
{
    static uint64_t keys[3000];
    idxset s;
    idxset_init(&s);
    uint32_t n = 0;
    int rc = 0;
    for (; n < 3000; n++) {
        keys[n] = (uint64_t)n * 31337u;
        if (idxset_add(&s, sg_hash_u64(keys[n]), n) < 0) {
            rc = -1;
            break;
        }
    }
    int ok = 1;
    for (uint32_t i = 0; i < n; i++)
        ok &=
            idxset_find(&s, sg_hash_u64(keys[i]), u32_eq, keys, &keys[i]) == i;
    CHECK(ok && s.len == n);
    idxset_free(&s);
    (void)ctx;
    return rc;
}

static void
test_hash_tables_out_of_memory(void)
{
    CHECK(check_oom(hm64_op, NULL) > 3);
    CHECK(check_oom(idxset_op, NULL) > 3);
}

static int
stats_op(void *ctx)
{
    double v[] = {3, 1, 2};
    sg_summary s = sg_summarize(v, 3);
    CHECK(s.n == 3 && s.mean == 2 && s.min == 1 && s.max == 3);
    (void)ctx;
    return isnan(s.median) ? -1 : !(s.median == 2);
}

static void
test_stats_out_of_memory(void)
{
    CHECK(check_oom(stats_op, NULL) == 2);
}

static void
test_sizes_that_overflow(void)
{
    CHECK(sg_calloc(SIZE_MAX / 2, 4) == NULL);
    CHECK(sg_reallocarray(NULL, SIZE_MAX / 8 + 1, 16) == NULL);
    strbuf sb = STRBUF_INIT;
    sb_putc(&sb, 'a');
    CHECK(sb_reserve(&sb, SIZE_MAX - 1) == -1 && sb_failed(&sb));
    CHECK_STR(sb_str(&sb), "a");
    sb_free(&sb);
}

TESTS(test_strbuf_grows_and_formats, test_xml_escaping,
      test_json_nesting_and_escapes, test_stats_summary,
      test_units_like_timeit, test_hm64_many_keys, test_strbuf_out_of_memory,
      test_hash_tables_out_of_memory, test_stats_out_of_memory,
      test_sizes_that_overflow)
