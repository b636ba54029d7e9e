/* Unit tests for src/model/profile.c. */
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "model/profile.h"

static void
test_interning(void)
{
    const char *metrics[] = {"samples"};
    sg_profile *p = sg_profile_new(SG_PROFILE_SAMPLED, 1, metrics);
    char a[] = "main", b[] = "main";
    CHECK(sg_profile_intern(p, a) == sg_profile_intern(p, b));
    sg_func_id f1 = sg_profile_func(p, SG_FUNC_PYTHON, "f", "/a.py", 3, 0);
    sg_func_id f2 = sg_profile_func(p, SG_FUNC_PYTHON, "f", "/a.py", 3, 0);
    sg_func_id f3 = sg_profile_func(p, SG_FUNC_PYTHON, "f", "/b.py", 3, 0);
    CHECK(f1 == f2 && f1 != f3);
    CHECK(sg_profile_frame(p, f1, 10) == sg_profile_frame(p, f1, 10));
    CHECK(sg_profile_frame(p, f1, 10) != sg_profile_frame(p, f1, 11));
    CHECK(sg_profile_metric(p, "samples") == 0);
    CHECK(sg_profile_metric(p, "bytes") == -1);
    sg_profile_free(p);
}

static void
test_stacks_and_totals(void)
{
    const char *metrics[] = {"samples", "ns"};
    sg_profile *p = sg_profile_new(SG_PROFILE_SAMPLED, 2, metrics);
    sg_func_id fm = sg_profile_func(p, SG_FUNC_PYTHON, "main", "/m.py", 1, 0);
    sg_func_id fa = sg_profile_func(p, SG_FUNC_PYTHON, "a", "/m.py", 5, 0);
    sg_func_id fb = sg_profile_func(p, SG_FUNC_PYTHON, "b", "/m.py", 9, 0);
    sg_frame_id m = sg_profile_frame(p, fm, 2);
    sg_frame_id a = sg_profile_frame(p, fa, 6);
    sg_frame_id b = sg_profile_frame(p, fb, 10);
    sg_node_id t = sg_profile_thread_root(p, SG_ROOT_NODE, 0x10, "Main");
    sg_frame_id s1[] = {m, a, b};
    sg_frame_id s2[] = {m, a};
    sg_frame_id s3[] = {m, b};
    sg_node_id leaf = sg_profile_add_stack(p, t, s1, 3, 0, 1);
    CHECK(sg_profile_add_stack(p, t, s1, 3, 0, 2) == leaf);
    sg_profile_add_stack(p, t, s2, 2, 0, 4);
    sg_profile_add_stack(p, t, s3, 2, 1, 100);
    CHECK(p->nodes[leaf].self[0] == 3);
    CHECK(p->nodes[leaf].depth == 4); /* thread, main, a, b */
    uint64_t *tot = calloc(p->n_nodes * 2, sizeof *tot);
    sg_profile_totals(p, tot);
    CHECK(tot[SG_ROOT_NODE * 2 + 0] == 7);
    CHECK(tot[SG_ROOT_NODE * 2 + 1] == 100);
    CHECK(tot[t * 2 + 0] == 7);
    /* Every node's parent precedes it: the invariant totals relies on. */
    int ordered = 1;
    for (size_t i = 1; i < p->n_nodes; i++)
        ordered &= p->nodes[i].parent < i;
    CHECK(ordered);
    /* Children of the thread root: only main. */
    CHECK(p->nodes[p->nodes[t].first_child].next_sibling == SG_NO_ID);
    CHECK(sg_func_is_synthetic(sg_profile_frame_func(p, p->nodes[t].frame)));
    free(tot);
    sg_profile_free(p);
}

static void
test_lines_and_meta(void)
{
    const char *metrics[] = {"ns"};
    sg_profile *p = sg_profile_new(SG_PROFILE_LINES, 1, metrics);
    sg_func_id f = sg_profile_func(p, SG_FUNC_PYTHON, "f", "/x.py", 1, 0);
    sg_line *l = sg_profile_line(p, f, 3);
    l->hits += 2;
    l->m[0] += 50;
    for (int i = 0; i < 500; i++) /* force growth: old pointers go stale */
        sg_profile_line(p, f, 100 + i);
    l = sg_profile_line(p, f, 3);
    CHECK(l->hits == 2 && l->m[0] == 50);
    CHECK(p->n_lines == 501);
    sg_profile_set_meta(p, "python", "3.12.1");
    sg_profile_set_meta(p, "python", "3.13.0");
    CHECK_STR(sg_profile_get_meta(p, "python"), "3.13.0");
    CHECK(p->n_meta == 1);
    CHECK(sg_profile_get_meta(p, "nope") == NULL);
    sg_profile_free(p);
}

/* A collector's calls chained without checks, as the sampler makes them:
 * on out of memory nothing crashes, p->failed says so, and what was added
 * before is intact. */
static int
model_op(void *ctx)
{
    const char *metrics[] = {"samples"};
    sg_profile *p = sg_profile_new(SG_PROFILE_SAMPLED, 1, metrics);
    if (!p)
        return -1;
    uint64_t kept = 0;
    for (int i = 0; i < 300; i++) {
        char name[32];
        snprintf(name, sizeof name, "f%d", i % 120);
        sg_node_id t = sg_profile_thread_root(p, SG_ROOT_NODE, 1, "Main");
        sg_frame_id st[3];
        for (int k = 0; k < 3; k++)
            st[k] = sg_profile_frame(
                p, sg_profile_func(p, SG_FUNC_PYTHON, name, "/m.py", k, 0),
                i + k);
        if (sg_profile_add_stack(p, t, st, 3, 0, 1) != SG_NO_ID)
            kept++;
        sg_line *l = sg_profile_line(
            p, sg_profile_func(p, SG_FUNC_PYTHON, name, "/m.py", 0, 0), i);
        if (l)
            l->hits++;
        sg_profile_set_meta(p, "k", name);
    }
    /* Renaming the thread: done, or (out of memory) the tree unchanged. */
    sg_node_id t = sg_profile_thread_root(p, SG_ROOT_NODE, 1, "Main");
    sg_frame_id w = sg_profile_frame(p, sg_profile_thread_func(p, 1, "W"), 0);
    if (t != SG_NO_ID && w != SG_NO_ID)
        sg_profile_reframe(p, &t, &w, 1);
    /* Every kept sample is in the tree, every node well formed. */
    uint64_t total = 0;
    for (size_t i = 0; i < p->n_nodes; i++) {
        total += p->nodes[i].self[0];
        CHECK(i == 0 ||
              (p->nodes[i].parent < i && p->nodes[i].frame < p->n_frames));
    }
    CHECK(total == kept);
    CHECK(kept == 300 || p->failed); /* a lost sample is reported */
    int rc = p->failed ? -1 : 0;
    CHECK(rc || (kept == 300 && p->n_lines == 300));
    sg_profile_free(p);
    (void)ctx;
    return rc;
}

/* A thread root first made under a frame of its own (its thread had no
 * name yet) is given the named root's frame: the two trees become one,
 * weights summed, every node still interned and after its parent. */
static void
test_reframe_merges_roots(void)
{
    const char *metrics[] = {"samples"};
    sg_profile *p = sg_profile_new(SG_PROFILE_SAMPLED, 1, metrics);
    sg_frame_id m = sg_profile_frame(
        p, sg_profile_func(p, SG_FUNC_PYTHON, "main", "/m.py", 1, 0), 2);
    sg_frame_id a = sg_profile_frame(
        p, sg_profile_func(p, SG_FUNC_PYTHON, "a", "/m.py", 5, 0), 6);
    sg_frame_id b = sg_profile_frame(
        p, sg_profile_func(p, SG_FUNC_PYTHON, "b", "/m.py", 9, 0), 10);
    sg_func_id fallback = sg_profile_thread_func(p, 0x20, NULL);
    CHECK_STR(p->funcs[fallback].name, "thread 0x20");
    sg_node_id pending =
        sg_profile_child(p, SG_ROOT_NODE, sg_profile_frame(p, fallback, 1));
    sg_frame_id s1[] = {m, a};
    sg_frame_id s2[] = {m, b};
    sg_profile_add_stack(p, pending, s1, 2, 0, 3);
    sg_profile_add_stack(p, pending, s2, 2, 0, 1);
    sg_node_id named = sg_profile_thread_root(p, SG_ROOT_NODE, 0x20, "w");
    sg_profile_add_stack(p, named, s1, 2, 0, 5);
    sg_node_id other = sg_profile_thread_root(p, SG_ROOT_NODE, 0x30, "x");
    sg_node_id x_leaf = sg_profile_add_stack(p, other, s1, 2, 0, 7);
    /* Stamps (a timeline's samples) name nodes: they follow the rebuild. */
    sg_node_id pend_leaf = sg_profile_add_stack(p, pending, s2, 2, 0, 0);
    sg_profile_stamp(p, pend_leaf, 10);
    sg_profile_stamp(p, x_leaf, 20);
    size_t before = p->n_nodes;
    sg_frame_id to = p->nodes[named].frame;
    CHECK(sg_profile_reframe(p, &pending, &to, 1) == 0);
    CHECK(p->n_stamps == 2);
    CHECK(p->stamps[0].node < p->n_nodes && p->stamps[1].node < p->n_nodes);
    CHECK(p->nodes[p->stamps[0].node].frame == b);
    CHECK(p->nodes[p->nodes[p->stamps[0].node].parent].frame == m);
    CHECK(p->nodes[p->stamps[1].node].frame == a);
    sg_node_id x_root = p->nodes[p->nodes[p->stamps[1].node].parent].parent;
    CHECK_STR(sg_profile_frame_func(p, p->nodes[x_root].frame)->name, "x");
    CHECK(p->n_nodes == before - 3); /* pending, its main and its a */
    /* The thread roots: "w" and "x" only, once each. */
    int roots = 0;
    sg_node_id w = SG_NO_ID;
    for (sg_node_id c = p->nodes[SG_ROOT_NODE].first_child; c != SG_NO_ID;
         c = p->nodes[c].next_sibling) {
        roots++;
        if (p->nodes[c].frame == to)
            w = c;
    }
    CHECK(roots == 2 && w != SG_NO_ID);
    /* Interned again: adding the same stacks finds the merged nodes. */
    sg_node_id wa = sg_profile_add_stack(p, w, s1, 2, 0, 0);
    sg_node_id wb = sg_profile_add_stack(p, w, s2, 2, 0, 0);
    CHECK(wa != SG_NO_ID && p->nodes[wa].self[0] == 8);
    CHECK(wb != SG_NO_ID && p->nodes[wb].self[0] == 1);
    CHECK(p->n_nodes == before - 3);
    int ordered = 1;
    for (size_t i = 1; i < p->n_nodes; i++)
        ordered &= p->nodes[i].parent < i &&
                   p->nodes[i].depth == p->nodes[p->nodes[i].parent].depth + 1;
    CHECK(ordered);
    uint64_t *tot = calloc(p->n_nodes, sizeof *tot);
    sg_profile_totals(p, tot);
    CHECK(tot[SG_ROOT_NODE] == 16 && tot[w] == 9);
    free(tot);
    CHECK(!p->failed);
    sg_profile_free(p);
}

static void
test_out_of_memory(void)
{
    CHECK(check_oom(model_op, NULL) > 10);
}

TESTS(test_interning, test_stacks_and_totals, test_lines_and_meta,
      test_reframe_merges_roots, test_out_of_memory)
