/* Unit tests for src/model/funcstats.c: cProfile's numbers from a CCT. */
#include <stdlib.h>

#include "check.h"
#include "model/funcstats.h"

static const char *const metrics[] = {"ns", "calls"};

/* Add a node under parent for func with calls and self ns. */
static sg_node_id
add(sg_profile *p, sg_node_id parent, sg_func_id f, uint64_t calls,
    uint64_t ns)
{
    sg_node_id n = sg_profile_child(p, parent, sg_profile_frame(p, f, 0));
    p->nodes[n].self[0] += ns;
    p->nodes[n].self[1] += calls;
    return n;
}

static const sg_fstat *
find(const sg_funcstats *fs, const char *name)
{
    for (size_t i = 0; i < fs->n; i++)
        if (strcmp(fs->f[i].name, name) == 0)
            return &fs->f[i];
    return NULL;
}

static const sg_fedge *
edge(const sg_funcstats *fs, const char *caller, const char *callee)
{
    for (size_t i = 0; i < fs->n_edges; i++)
        if (strcmp(fs->f[fs->e[i].caller].name, caller) == 0 &&
            strcmp(fs->f[fs->e[i].callee].name, callee) == 0)
            return &fs->e[i];
    return NULL;
}

static void
test_recursion(void)
{
    sg_profile *p = sg_profile_new(SG_PROFILE_DETERMINISTIC, 2, metrics);
    sg_func_id m = sg_profile_func(p, SG_FUNC_PYTHON, "main", "/a/x.py", 1, 0);
    sg_func_id f = sg_profile_func(p, SG_FUNC_PYTHON, "fib", "/a/x.py", 5, 0);
    sg_node_id t = sg_profile_thread_root(p, SG_ROOT_NODE, 1, "MainThread");
    sg_node_id nm = add(p, t, m, 1, 10);
    sg_node_id f1 = add(p, nm, f, 1, 5);
    sg_node_id f2 = add(p, f1, f, 2, 6);
    add(p, f2, f, 4, 8);

    sg_funcstats fs;
    sg_funcstats_build(p, SG_ROOT_NODE, false, &fs);
    CHECK(fs.n == 2);
    const sg_fstat *fib = find(&fs, "fib"), *mn = find(&fs, "main");
    CHECK(fib && fib->nc == 7 && fib->cc == 1);
    CHECK_NEAR(fib->tt, 19e-9, 1e-15);
    CHECK_NEAR(fib->ct, 19e-9, 1e-15); /* outermost only: not 19+14+8 */
    CHECK(mn && mn->nc == 1 && mn->cc == 1 && mn->n_callers == 0);
    CHECK_NEAR(mn->ct, 29e-9, 1e-15);
    const sg_fedge *e = edge(&fs, "main", "fib");
    CHECK(e && e->nc == 1 && e->cc == 1);
    CHECK_NEAR(e->ct, 19e-9, 1e-15);
    e = edge(&fs, "fib", "fib");
    /* cProfile: fib's callers list "fib 6/2": the edge is already active
     * above the deepest node. */
    CHECK(e && e->nc == 6 && e->cc == 2);
    CHECK_NEAR(e->tt, 14e-9, 1e-15);
    CHECK_NEAR(e->ct, 14e-9, 1e-15);
    CHECK(fs.total_calls == 8 && fs.prim_calls == 2);
    CHECK_NEAR(fs.total_tt, 29e-9, 1e-15);
    CHECK(fib->n_callers == 2);
    sg_funcstats_free(&fs);
    sg_profile_free(p);
}

static void
test_mutual_recursion_and_threads(void)
{
    sg_profile *p = sg_profile_new(SG_PROFILE_DETERMINISTIC, 2, metrics);
    sg_func_id a = sg_profile_func(p, SG_FUNC_PYTHON, "a", "/x.py", 1, 0);
    sg_func_id b = sg_profile_func(p, SG_FUNC_PYTHON, "b", "/x.py", 4, 0);
    sg_func_id len = sg_profile_func(
        p, SG_FUNC_BUILTIN, "<built-in method builtins.len>", "~", 0, 0);
    /* Thread 1: a -> b -> a -> b -> len; thread 2: a -> len. */
    sg_node_id t1 = sg_profile_thread_root(p, SG_ROOT_NODE, 1, "T1");
    sg_node_id t2 = sg_profile_thread_root(p, SG_ROOT_NODE, 2, "T2");
    sg_node_id n = add(p, t1, a, 1, 1);
    n = add(p, n, b, 1, 1);
    n = add(p, n, a, 1, 1);
    n = add(p, n, b, 1, 1);
    add(p, n, len, 3, 3);
    n = add(p, t2, a, 1, 100);
    add(p, n, len, 1, 1);

    sg_funcstats fs;
    sg_funcstats_build(p, SG_ROOT_NODE, false, &fs);
    const sg_fstat *fa = find(&fs, "a"), *fb = find(&fs, "b");
    const sg_fstat *fl = find(&fs, "<built-in method builtins.len>");
    CHECK(fa->nc == 3 && fa->cc == 2); /* one outermost per thread */
    CHECK(fb->nc == 2 && fb->cc == 1);
    CHECK(fl->nc == 4 && fl->cc == 4);
    CHECK_NEAR(fa->ct, (4 + 3 + 101) * 1e-9, 1e-15);
    const sg_fedge *ab = edge(&fs, "a", "b");
    CHECK(ab->nc == 2 && ab->cc == 1);
    CHECK(edge(&fs, "b", "a")->nc == 1);
    CHECK(edge(&fs, "a", "<built-in method builtins.len>")->nc == 1);
    CHECK(edge(&fs, "b", "<built-in method builtins.len>")->nc == 3);
    /* Every caller is a function of its own (gprof2dot needs it). */
    for (size_t i = 0; i < fs.n_edges; i++)
        CHECK(fs.e[i].caller < fs.n && fs.e[i].callee < fs.n);
    sg_funcstats_free(&fs);

    /* One thread's subtree. */
    sg_funcstats_build(p, t2, false, &fs);
    CHECK(fs.n == 2 && find(&fs, "a")->nc == 1 && !find(&fs, "b"));
    sg_funcstats_free(&fs);
    sg_profile_free(p);
}

static void
test_variants_share_a_label(void)
{
    /* Two lambdas on one line (variants 0 and 1 of one label): the outer
     * calls the inner 3 times, twice in all, and the outer once calls
     * itself. Only that call is recursion; the table merges the two. */
    sg_profile *p = sg_profile_new(SG_PROFILE_DETERMINISTIC, 2, metrics);
    sg_func_id m = sg_profile_func(p, SG_FUNC_PYTHON, "main", "/x.py", 1, 0);
    sg_func_id l0 =
        sg_profile_func(p, SG_FUNC_PYTHON, "<lambda>", "/x.py", 3, 0);
    sg_func_id l1 = sg_profile_func_variant(p, SG_FUNC_PYTHON, "<lambda>",
                                            "/x.py", 3, 0, 1);
    CHECK(l0 != l1 && p->funcs[l1].variant == 1);
    CHECK(sg_profile_func(p, SG_FUNC_PYTHON, "<lambda>", "/x.py", 3, 0) == l0);
    sg_node_id nm = add(p, SG_ROOT_NODE, m, 1, 1);
    sg_node_id outer = add(p, nm, l0, 2, 2);
    add(p, outer, l1, 6, 6);
    sg_node_id again = add(p, outer, l0, 1, 1);
    add(p, again, l1, 3, 3);

    sg_funcstats fs;
    sg_funcstats_build(p, SG_ROOT_NODE, false, &fs);
    CHECK(fs.n == 2);
    const sg_fstat *l = find(&fs, "<lambda>");
    /* cProfile's entries: outer 3/2, inner 9/9; merged 12/11. */
    CHECK(l && l->nc == 12 && l->cc == 11);
    CHECK_NEAR(l->tt, 12e-9, 1e-15);
    /* outer's outermost (2+6+1+3) plus inner's (6, 3) */
    CHECK_NEAR(l->ct, 21e-9, 1e-15);
    const sg_fedge *e = edge(&fs, "<lambda>", "<lambda>");
    /* edges outer->inner 9/9 and outer->outer 1/1, merged */
    CHECK(e && e->nc == 10 && e->cc == 10);
    CHECK(fs.total_calls == 13 && fs.prim_calls == 12);
    sg_funcstats_free(&fs);
    sg_profile_free(p);
}

static void
test_waits_and_busy_order(void)
{
    /* main -> work (6 ns own) and main -> idle -> time.sleep (90 ns):
     * by cumulative time idle comes first; outside waits, work does. */
    sg_profile *p = sg_profile_new(SG_PROFILE_DETERMINISTIC, 2, metrics);
    sg_func_id m = sg_profile_func(p, SG_FUNC_PYTHON, "main", "/x.py", 1, 0);
    sg_func_id w = sg_profile_func(p, SG_FUNC_PYTHON, "work", "/x.py", 5, 0);
    sg_func_id i = sg_profile_func(p, SG_FUNC_PYTHON, "idle", "/x.py", 9, 0);
    sg_func_id z = sg_profile_func(p, SG_FUNC_BUILTIN,
                                   "<built-in method time.sleep>", "~", 0, 0);
    sg_node_id nm = add(p, SG_ROOT_NODE, m, 1, 1);
    add(p, nm, w, 1, 6);
    add(p, add(p, nm, i, 1, 2), z, 3, 90);
    sg_funcstats fs;
    sg_funcstats_build(p, SG_ROOT_NODE, false, &fs);
    const sg_fstat *fi = find(&fs, "idle"), *fm = find(&fs, "main");
    const sg_fstat *fz = find(&fs, "<built-in method time.sleep>");
    CHECK(sg_fstat_is_wait(fz) && !sg_fstat_is_wait(fi));
    CHECK_NEAR(fz->wt, 90e-9, 1e-15);
    CHECK_NEAR(fi->wt, 90e-9, 1e-15);
    CHECK_NEAR(fm->wt, 90e-9, 1e-15);
    CHECK_NEAR(find(&fs, "work")->wt, 0, 1e-15);
    CHECK_NEAR(fs.total_wait, 90e-9, 1e-15);
    uint32_t order[4];
    sg_sort_spec s;
    strbuf err = STRBUF_INIT;
    sg_sort_parse("cumtime", &s, &err);
    sg_funcstats_sort(&fs, &s, order);
    CHECK_STR(fs.f[order[1]].name, "idle");
    sg_sort_busy(&s);
    CHECK_STR(s.description, "cumulative time outside waits");
    sg_funcstats_sort(&fs, &s, order);
    CHECK_STR(fs.f[order[0]].name, "main");
    CHECK_STR(fs.f[order[1]].name, "work");
    sb_free(&err);
    sg_funcstats_free(&fs);

    /* Thread times are summed per thread function. */
    sg_func_id t = sg_profile_thread_func(p, 7, "T");
    CHECK(!sg_profile_thread_time(p, t));
    CHECK(sg_profile_add_thread_time(p, t, 5, 10, true) == 0);
    CHECK(sg_profile_add_thread_time(p, t, 1, 2, false) == 0);
    const sg_thread_time *tt = sg_profile_thread_time(p, t);
    CHECK(tt && tt->cpu_ns == 6 && tt->wall_ns == 12 && !tt->cpu_known);
    sg_profile_free(p);
}

static void
test_strip_dirs_merges(void)
{
    sg_profile *p = sg_profile_new(SG_PROFILE_DETERMINISTIC, 2, metrics);
    sg_func_id f1 = sg_profile_func(p, SG_FUNC_PYTHON, "f", "/x/a.py", 1, 0);
    sg_func_id f2 = sg_profile_func(p, SG_FUNC_PYTHON, "f", "/y/a.py", 1, 0);
    sg_func_id g = sg_profile_func(p, SG_FUNC_PYTHON, "g", "/y/b.py", 1, 0);
    sg_node_id n = add(p, SG_ROOT_NODE, g, 1, 1);
    add(p, n, f1, 2, 2);
    add(p, n, f2, 3, 3);
    sg_funcstats fs;
    sg_funcstats_build(p, SG_ROOT_NODE, true, &fs);
    CHECK(fs.n == 2);
    const sg_fstat *f = find(&fs, "f");
    CHECK(f && strcmp(f->file, "a.py") == 0 && f->nc == 5 && f->cc == 5);
    CHECK_NEAR(f->tt, 5e-9, 1e-15);
    const sg_fedge *e = edge(&fs, "g", "f");
    CHECK(e && e->nc == 5 && fs.n_edges == 1);
    CHECK_NEAR(e->ct, 5e-9, 1e-15);
    sg_funcstats_free(&fs);
    sg_profile_free(p);
}

static void
test_sampled_profile(void)
{
    /* No "calls" metric: counts are 0, time is samples x interval. */
    const char *m[] = {"samples"};
    sg_profile *p = sg_profile_new(SG_PROFILE_SAMPLED, 1, m);
    p->sample_interval_ns = 10000000;
    sg_func_id f = sg_profile_func(p, SG_FUNC_PYTHON, "f", "/x.py", 1, 0);
    sg_func_id g = sg_profile_func(p, SG_FUNC_PYTHON, "g", "/x.py", 5, 0);
    sg_frame_id st[] = {sg_profile_frame(p, f, 2), sg_profile_frame(p, g, 6)};
    sg_profile_add_stack(p, SG_ROOT_NODE, st, 2, 0, 3);
    sg_profile_add_stack(p, SG_ROOT_NODE, st, 1, 0, 1);
    sg_funcstats fs;
    sg_funcstats_build(p, SG_ROOT_NODE, false, &fs);
    const sg_fstat *ff = find(&fs, "f"), *fg = find(&fs, "g");
    CHECK(ff->nc == 0 && fg->nc == 0);
    CHECK_NEAR(ff->tt, 0.01, 1e-12);
    CHECK_NEAR(ff->ct, 0.04, 1e-12);
    CHECK_NEAR(fg->ct, 0.03, 1e-12);
    sg_funcstats_free(&fs);
    sg_profile_free(p);
}

static void
test_sort_keys(void)
{
    sg_sort_spec s;
    strbuf err = STRBUF_INIT;
    CHECK(sg_sort_parse("cumulative", &s, &err) == 0);
    CHECK(s.n_fields == 1 && s.fields[0].column == 3 &&
          s.fields[0].direction == -1);
    CHECK_STR(s.description, "cumulative time");
    CHECK(sg_sort_parse("tottime,ncalls", &s, &err) == 0);
    CHECK_STR(s.description, "internal time, call count");
    CHECK(sg_sort_parse("nfl", &s, &err) == 0 && s.n_fields == 3);
    CHECK(sg_sort_parse("cum", &s, &err) < 0);
    CHECK(strstr(sb_str(&err), "unknown sort key 'cum'") != NULL);
    CHECK(strstr(sb_str(&err), "cumulative") &&
          strstr(sb_str(&err), "pcalls"));
    sb_free(&err);

    /* Ordering: cumulative descending, ties in index order. */
    sg_profile *p = sg_profile_new(SG_PROFILE_DETERMINISTIC, 2, metrics);
    sg_func_id a = sg_profile_func(p, SG_FUNC_PYTHON, "a", "/x.py", 1, 0);
    sg_func_id b = sg_profile_func(p, SG_FUNC_PYTHON, "b", "/x.py", 9, 0);
    sg_func_id c =
        sg_profile_func(p, SG_FUNC_BUILTIN, "<built-in method x>", "~", 0, 0);
    sg_node_id n = add(p, SG_ROOT_NODE, a, 1, 1);
    add(p, n, b, 1, 5);
    add(p, n, c, 1, 7);
    sg_funcstats fs;
    sg_funcstats_build(p, SG_ROOT_NODE, false, &fs);
    uint32_t order[3];
    sg_sort_parse("tottime", &s, &err);
    sg_funcstats_sort(&fs, &s, order);
    CHECK_STR(fs.f[order[0]].name, "<built-in method x>");
    CHECK_STR(fs.f[order[2]].name, "a");
    sg_sort_parse("stdname", &s, &err);
    sg_funcstats_sort(&fs, &s, order);
    /* "/x.py:1(a)" < "/x.py:9(b)" < "{built-in method x}" */
    CHECK_STR(fs.f[order[0]].name, "a");
    CHECK_STR(fs.f[order[2]].name, "<built-in method x>");
    strbuf sb = STRBUF_INIT;
    sg_fstat_std_string(&fs.f[order[2]], &sb);
    CHECK_STR(sb_str(&sb), "{built-in method x}");
    sb_clear(&sb);
    sg_fstat_std_string(&fs.f[order[1]], &sb);
    CHECK_STR(sb_str(&sb), "/x.py:9(b)");
    sb_free(&sb);
    sb_free(&err);
    sg_funcstats_free(&fs);
    sg_profile_free(p);
}

TESTS(test_recursion, test_mutual_recursion_and_threads,
      test_variants_share_a_label, test_waits_and_busy_order,
      test_strip_dirs_merges, test_sampled_profile, test_sort_keys)
