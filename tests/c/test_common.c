/* Unit tests for src/common: strbuf, json, stats, units, hashmap. */
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
    CHECK_STR(sg_fmt_timeit(b, sizeof b, 30.2e-6, NULL), "30.2 usec");
    CHECK_STR(sg_fmt_timeit(b, sizeof b, 6.27e-6, NULL), "6.27 usec");
    CHECK_STR(sg_fmt_timeit(b, sizeof b, 1.5, NULL), "1.5 sec");
    CHECK_STR(sg_fmt_timeit(b, sizeof b, 4e-10, NULL), "0.4 nsec");
    CHECK_STR(sg_fmt_timeit(b, sizeof b, 0.0123, NULL), "12.3 msec");
    CHECK_STR(sg_fmt_timeit(b, sizeof b, 0.0123, sg_time_unit_by_name("usec")),
              "1.23e+04 usec");
    CHECK(sg_time_unit_by_name("psec") == NULL);
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

TESTS(test_strbuf_grows_and_formats, test_xml_escaping,
      test_json_nesting_and_escapes, test_stats_summary,
      test_units_like_timeit, test_hm64_many_keys)
