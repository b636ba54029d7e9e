/* test_top.c -- top's table (windows, recursion, reset, filter, threads)
 * and its cell writer (what a name from the target may put on a
 * terminal). */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "model/profile.h"
#include "top/screen.h"
#include "top/table.h"

/* A profile with thread "main" and "worker" roots; add stacks by name. */
typedef struct fixture {
    sg_profile *p;
    sg_node_id main, worker;
} fixture;

static fixture
fixture_new(void)
{
    const char *m[] = {"samples"};
    fixture fx;
    fx.p = sg_profile_new(SG_PROFILE_SAMPLED, 1, m);
    fx.p->sample_interval_ns = 10000000;
    fx.main = sg_profile_thread_root(fx.p, SG_ROOT_NODE, 1, "MainThread");
    fx.worker = sg_profile_thread_root(fx.p, SG_ROOT_NODE, 2, "worker-1");
    return fx;
}

/* Add n samples of the stack names[0] (outermost) .. names[k-1], each
 * function in a.py, at line 10 + its depth. */
static void
add(fixture *fx, sg_node_id thread, const char *const *names, size_t k,
    uint64_t n)
{
    sg_frame_id fr[16];
    for (size_t i = 0; i < k; i++) {
        sg_func_id f =
            sg_profile_func(fx->p, SG_FUNC_PYTHON, names[i], "/x/a.py", 1, 0);
        fr[i] = sg_profile_frame(fx->p, f, (int32_t)(10 + i));
    }
    sg_profile_add_stack(fx->p, thread, fr, k, 0, n);
}

static const top_view_row *
row(const top_view *v, const sg_profile *p, bool lines, const char *name)
{
    for (size_t i = 0; i < v->n; i++) {
        sg_func_id f = lines ? p->frames[v->rows[i].id].func : v->rows[i].id;
        if (strcmp(p->funcs[f].name, name) == 0)
            return &v->rows[i];
    }
    return NULL;
}

static void
test_windows_recursion_and_reset(void)
{
    fixture fx = fixture_new();
    top_table t;
    top_view v = {0};
    top_table_init(&t);
    const char *rec[] = {"main", "fib", "fib", "fib"};
    const char *other[] = {"main", "g"};
    add(&fx, fx.main, rec, 4, 3);
    add(&fx, fx.main, other, 2, 1);
    top_table_update(&t, fx.p);
    top_view_spec spec = {false, -1, NULL, 3, false};
    top_table_view(&t, fx.p, &spec, &v);
    CHECK(v.win_samples == 4 && v.cum_samples == 4);
    const top_view_row *fib = row(&v, fx.p, false, "fib");
    /* A recursion counts once per stack in total, its leaf in own. */
    CHECK(fib && fib->c.win_total == 3 && fib->c.win_own == 3);
    CHECK(v.rows[0].id == fib->id); /* sorted by own time */
    const top_view_row *m = row(&v, fx.p, false, "main");
    CHECK(m && m->c.win_total == 4 && m->c.win_own == 0);
    /* Per line: each fib frame is its own line, counted once each. */
    spec.lines = true;
    top_table_view(&t, fx.p, &spec, &v);
    CHECK(v.n == 5);
    /* A new window holds only what came since; the totals go on. */
    add(&fx, fx.main, other, 2, 2);
    top_table_update(&t, fx.p);
    spec.lines = false;
    top_table_view(&t, fx.p, &spec, &v);
    fib = row(&v, fx.p, false, "fib");
    const top_view_row *g = row(&v, fx.p, false, "g");
    CHECK(v.win_samples == 2 && v.cum_samples == 6);
    CHECK(fib->c.win_own == 0 && fib->c.cum_own == 3);
    CHECK(g->c.win_own == 2 && g->c.cum_own == 3);
    CHECK(v.rows[0].id == g->id); /* ties broken by %Own, then id */
    spec.sort = 1;
    top_table_view(&t, fx.p, &spec, &v);
    CHECK(v.rows[0].id == g->id);
    /* R: everything from zero; rows come back as samples do. */
    top_table_reset(&t);
    top_table_view(&t, fx.p, &spec, &v);
    CHECK(v.n == 0 && v.cum_samples == 0);
    add(&fx, fx.main, rec, 4, 1);
    top_table_update(&t, fx.p);
    top_table_view(&t, fx.p, &spec, &v);
    CHECK(v.n == 2 && v.cum_samples == 1);
    top_view_free(&v);
    top_table_free(&t);
    sg_profile_free(fx.p);
}

static void
test_threads_and_filter(void)
{
    fixture fx = fixture_new();
    top_table t;
    top_view v = {0};
    top_table_init(&t);
    const char *a[] = {"main", "parse"};
    const char *b[] = {"run", "parse"};
    const char *c[] = {"run", "crunch"};
    add(&fx, fx.main, a, 2, 2);
    add(&fx, fx.worker, b, 2, 3);
    add(&fx, fx.worker, c, 2, 5);
    top_table_update(&t, fx.p);
    CHECK(t.n_threads == 2);
    int worker = strcmp(t.threads[0].name, "worker-1") == 0 ? 0 : 1;
    top_view_spec spec = {false, -1, NULL, 3, false};
    top_table_view(&t, fx.p, &spec, &v);
    CHECK(row(&v, fx.p, false, "parse")->c.cum_own == 5); /* merged */
    /* One thread: its rows, its samples as the whole. */
    spec.thread = worker;
    top_table_view(&t, fx.p, &spec, &v);
    CHECK(v.cum_samples == 8 && row(&v, fx.p, false, "parse")->c.cum_own == 3);
    CHECK(row(&v, fx.p, false, "main") == NULL);
    /* A filter by function keeps matching rows, shares of all samples. */
    spec.thread = -1;
    spec.filter = "CRUN";
    top_table_view(&t, fx.p, &spec, &v);
    CHECK(v.n == 1 && v.cum_samples == 10);
    /* By thread name: all of that thread's rows. */
    spec.filter = "worker";
    top_table_view(&t, fx.p, &spec, &v);
    CHECK(v.n == 3 && row(&v, fx.p, false, "parse")->c.cum_own == 3);
    /* By file: everything here is in a.py. */
    spec.filter = "a.py";
    top_table_view(&t, fx.p, &spec, &v);
    CHECK(v.n == 4);
    /* Split: a row per thread and function. */
    spec.filter = NULL;
    spec.split_threads = true;
    top_table_view(&t, fx.p, &spec, &v);
    CHECK(v.n == 5);
    top_view_free(&v);
    top_table_free(&t);
    sg_profile_free(fx.p);
}

static void
test_cells(void)
{
    strbuf sb = STRBUF_INIT;
    /* Controls (C0, DEL, ESC, and C1 as UTF-8) never reach the terminal. */
    CHECK(top_put_cells(&sb, "a\033[2Jb\x7f\xc2\x9b", -1, true) == 8);
    CHECK_STR(sb_str(&sb), "a?[2Jb??");
    sb_clear(&sb);
    /* Malformed UTF-8 is one '?' per byte; non-ASCII only when UTF-8. */
    CHECK(top_put_cells(&sb, "\xff\xe2\x82", -1, true) == 3);
    CHECK_STR(sb_str(&sb), "???");
    sb_clear(&sb);
    CHECK(top_put_cells(&sb, "caf\xc3\xa9", -1, false) == 4);
    CHECK_STR(sb_str(&sb), "caf?");
    sb_clear(&sb);
    /* Cut at a width, wide characters counted as two cells. */
    CHECK(top_put_cells(&sb, "\xe5\x90\x8d\xe5\x90\x8d", 3, true) == 2);
    CHECK_STR(sb_str(&sb), "\xe5\x90\x8d");
    sb_clear(&sb);
    CHECK(top_put_cells(&sb, "abcdef", 4, true) == 4);
    CHECK_STR(sb_str(&sb), "abcd");
    sb_free(&sb);
}

/* Lines and the widest line (in cells) of a frame, escapes left out. */
static void
frame_size(const char *s, int *lines, int *widest)
{
    int cells = 0;
    *lines = 1;
    *widest = 0;
    for (; *s; s++) {
        if (*s == '\033') {
            while (*s &&
                   !((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z')))
                s++;
            continue;
        }
        if (*s == '\n') {
            (*lines)++;
            cells = 0;
        } else if (*s != '\r' && ++cells > *widest) {
            *widest = cells;
        }
    }
}

/* A frame fits its screen: as many lines as rows, none wider. */
static void
test_frame_fits(void)
{
    fixture fx = fixture_new();
    top_table t;
    top_view v = {0};
    top_table_init(&t);
    const char *a[] = {"main", "a_function_with_a_rather_long_name"};
    add(&fx, fx.main, a, 2, 3);
    top_table_update(&t, fx.p);
    top_view_spec spec = {false, -1, NULL, 3, false};
    top_table_view(&t, fx.p, &spec, &v);
    top_header h = {0};
    h.command = "python x.py";
    h.version = "3.12.1";
    h.cpu_pct = -1;
    top_screen scr = {.rows = 10, .cols = 40, .sort = 3};
    strbuf sb = STRBUF_INIT;
    top_render(&sb, &scr, &h, &v, fx.p, NULL);
    int lines, widest;
    frame_size(sb_str(&sb), &lines, &widest);
    CHECK(lines == 10);
    CHECK(widest == 40);
    CHECK(strstr(sb_str(&sb), "Press q to quit") != NULL);
    /* Without keys (stdin not the terminal), the footer says what quits. */
    scr.no_keys = true;
    sb_clear(&sb);
    top_render(&sb, &scr, &h, &v, fx.p, NULL);
    CHECK(strstr(sb_str(&sb), "Press q") == NULL);
    CHECK(strstr(sb_str(&sb), "Press Ctrl-C to quit") != NULL);
    scr.no_keys = false;
    /* Any size a window can be resized to, the help, a prompt and the
     * state line included: never more lines or cells than it has. */
    h.status = "the program exited with status 0";
    h.note = "wrote x.svg (flamegraph, 3 samples)";
    h.filter = "fun";
    for (int help = 0; help < 2; help++) {
        for (scr.rows = 1; scr.rows <= 24; scr.rows++) {
            for (scr.cols = 1; scr.cols <= 90; scr.cols += 7) {
                scr.help = help;
                scr.input = help ? NULL : "typed";
                scr.prompt = "Write to: ";
                sb_clear(&sb);
                top_render(&sb, &scr, &h, &v, fx.p, NULL);
                frame_size(sb_str(&sb), &lines, &widest);
                CHECK(lines == scr.rows && widest <= scr.cols);
            }
        }
    }
    sb_free(&sb);
    top_view_free(&v);
    top_table_free(&t);
    sg_profile_free(fx.p);
}

/* A recording's samples carry weights ("ns"): the rows count time, so a
 * sample taken after a stall weighs what it covered, and the seconds per
 * unit follow. */
static void
test_weights(void)
{
    const char *m[] = {"samples", "ns"};
    sg_profile *p = sg_profile_new(SG_PROFILE_SAMPLED, 2, m);
    p->sample_interval_ns = 10000000;
    sg_node_id th = sg_profile_thread_root(p, SG_ROOT_NODE, 1, "MainThread");
    sg_func_id f = sg_profile_func(p, SG_FUNC_PYTHON, "f", "/x/a.py", 1, 0);
    sg_func_id g = sg_profile_func(p, SG_FUNC_PYTHON, "g", "/x/a.py", 5, 0);
    sg_frame_id ff = sg_profile_frame(p, f, 2), fg = sg_profile_frame(p, g, 6);
    sg_node_id nf = sg_profile_add_stack(p, th, &ff, 1, 0, 3);
    sg_node_id ng = sg_profile_add_stack(p, th, &fg, 1, 0, 1);
    p->nodes[nf].self[1] = 30000000; /* 3 on time */
    p->nodes[ng].self[1] = 90000000; /* 1 after a stall */
    top_table t;
    top_view v = {0};
    top_table_init(&t);
    top_table_update(&t, p);
    top_view_spec spec = {false, -1, NULL, 3, false};
    top_table_view(&t, p, &spec, &v);
    CHECK(top_table_seconds(p) == 1e-9);
    CHECK(v.n == 2 && v.rows[0].id == g); /* g ran longer */
    CHECK(v.rows[0].c.win_own == 90000000 && v.win_samples == 120000000);
    top_view_free(&v);
    top_table_free(&t);
    sg_profile_free(p);
    fixture fx = fixture_new();
    CHECK(top_table_seconds(fx.p) == 0.01); /* samples: the interval */
    sg_profile_free(fx.p);
}

TESTS(test_windows_recursion_and_reset, test_threads_and_filter, test_cells,
      test_frame_fits, test_weights)
