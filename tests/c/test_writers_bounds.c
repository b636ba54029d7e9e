/* Unit tests for the writers' bounds: every writer on a 200,000-deep
 * recursion (no recursion in C, memory in proportion to the output, depth
 * cut with a visible "[N frames elided]" frame), and every writer and the
 * function statistics under injected out-of-memory (a failure reported,
 * never an exit). */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "model/funcstats.h"
#include "writers/writers.h"

#define DEEP 200000

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

static const char *const det_metrics[] = {"ns", "calls"};

/* main -> f -> g -> f -> ... DEEP frames under a thread root, every call
 * 1 us of its own, as a deterministic profiler records a recursion. */
static sg_profile *
deep_profile(void)
{
    sg_profile *p = sg_profile_new(SG_PROFILE_DETERMINISTIC, 2, det_metrics);
    sg_func_id m = sg_profile_func(p, SG_FUNC_PYTHON, "main", "/d.py", 1, 0);
    sg_func_id f = sg_profile_func(p, SG_FUNC_PYTHON, "f", "/d.py", 4, 0);
    sg_func_id g = sg_profile_func(p, SG_FUNC_PYTHON, "g", "/d.py", 8, 0);
    sg_node_id n = sg_profile_thread_root(p, SG_ROOT_NODE, 1, "MainThread");
    n = sg_profile_child(p, n, sg_profile_frame(p, m, 0));
    p->nodes[n].self[0] = 1000;
    p->nodes[n].self[1] = 1;
    for (int i = 0; i < DEEP; i++) {
        n = sg_profile_child(p, n, sg_profile_frame(p, i % 2 ? g : f, 0));
        p->nodes[n].self[0] = 1000;
        p->nodes[n].self[1] = 1;
    }
    CHECK(!p->failed && p->n_nodes == DEEP + 3);
    return p;
}

/* Resident set now, in KiB. */
static long
rss_kib(void)
{
    long pages = 0, rss = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
            rss = 0;
        fclose(f);
    }
    return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

/* Render p with w in a child process, so that its peak RSS is the
 * writer's alone: the growth over the RSS at fork must stay within four
 * times the output (a doubling buffer and its copy) plus 48 MiB (the walk
 * over 200,000 nodes, the cut copy). The child also bounds its address
 * space, so a writer that grows without bound fails fast instead of
 * eating the machine. Returns the child's check of out, or -1. */
static int
render_bounded(const sg_writer *w, const sg_profile *p, const char *needle)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        long base = rss_kib();
        if (!SANITIZED) {
            struct rlimit rl;
            getrlimit(RLIMIT_AS, &rl);
            rl.rlim_cur = (rlim_t)(base + 1024 * 1024) * 1024; /* +1 GiB */
            setrlimit(RLIMIT_AS, &rl);
        }
        strbuf sb = STRBUF_INIT;
        writer_opts o = {0};
        int rc = sg_writer_render(w, p, &o, &sb);
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        long grew = ru.ru_maxrss - base;
        long bound = 4 * (long)(sb.len / 1024) + 48 * 1024;
        int bad = rc != 0 || sb.len == 0;
        if (!SANITIZED && grew > bound) {
            fprintf(stderr, "%s: RSS grew by %ld KiB for %zu bytes out\n",
                    w->name, grew, sb.len);
            bad = 1;
        }
        if (needle && !memmem(sb.data, sb.len, needle, strlen(needle))) {
            fprintf(stderr, "%s: no '%s' in the output\n", w->name, needle);
            bad = 1;
        }
        _exit(bad);
    }
    int status;
    if (pid < 0 || waitpid(pid, &status, 0) != pid)
        return -1;
    if (!WIFEXITED(status))
        fprintf(stderr, "%s: the writer died (signal %d)\n", w->name,
                WTERMSIG(status));
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void
test_deep_recursion_in_every_format(void)
{
    sg_profile *p = deep_profile();
    /* 3 + DEEP nodes deep; the stack formats keep SG_WRITER_MAX_DEPTH
     * and fold the rest into one frame. */
    char elided[64];
    snprintf(elided, sizeof elided, "[%d frames elided]",
             DEEP + 2 - SG_WRITER_MAX_DEPTH);
    int n = 0;
    for (const sg_writer *const *w = sg_writers(); *w; w++) {
        if (!sg_writer_holds(*w, SG_DATA_DETERMINISTIC))
            continue;
        const char *needle = (*w)->stacks ? elided : NULL;
        if (strcmp((*w)->name, "text") == 0)
            needle = "100000/1"; /* f: every call counted, one primitive */
        CHECK(render_bounded(*w, p, needle) == 0);
        n++;
    }
    CHECK(n == 8); /* html too */
    sg_profile_free(p);
}

/* The writers walk with their own stacks: even uncut, a 200,000-deep tree
 * is no deeper in C (the flame graph recursed per frame, and crashed). */
static void
test_uncut_walks_are_iterative(void)
{
    sg_profile *p = deep_profile();
    writer_opts o = {0};
    strbuf sb = STRBUF_INIT;
    CHECK(sg_write_flamegraph(p, &o, &sb) == 0);
    CHECK(strstr(sb_str(&sb), "</svg>") != NULL);
    sb_clear(&sb);
    CHECK(sg_write_chrometrace(p, &o, &sb) == 0);
    CHECK(strstr(sb_str(&sb), "\"traceEvents\"") != NULL);
    sb_clear(&sb);
    sg_funcstats fs;
    CHECK(sg_funcstats_build(p, SG_ROOT_NODE, true, &fs) == 0);
    CHECK(fs.n == 3 && fs.total_calls == DEEP + 1);
    sg_funcstats_free(&fs);
    sb_free(&sb);
    sg_profile_free(p);
}

static void
test_cut_keeps_weights_and_depth(void)
{
    sg_profile *p = deep_profile();
    sg_profile *c = sg_profile_cut(p, 100);
    CHECK(c != NULL);
    uint32_t deepest = 0;
    uint64_t ns = 0, calls = 0;
    for (size_t i = 0; i < c->n_nodes; i++) {
        if (c->nodes[i].depth > deepest)
            deepest = c->nodes[i].depth;
        ns += c->nodes[i].self[0];
        calls += c->nodes[i].self[1];
    }
    CHECK(deepest == 101 && c->n_nodes == 102);
    CHECK(ns == (uint64_t)(DEEP + 1) * 1000 && calls == DEEP + 1);
    const sg_node *last = &c->nodes[c->n_nodes - 1];
    const sg_func *f = sg_profile_frame_func(c, last->frame);
    char name[64];
    snprintf(name, sizeof name, "[%d frames elided]", DEEP + 2 - 100);
    CHECK_STR(f->name, name);
    CHECK(f->kind == SG_FUNC_OTHER);
    CHECK(last->self[1] == (uint64_t)DEEP + 2 - 100);
    sg_profile_free(c);
    sg_profile_free(p);
}

/* ---- out of memory ----------------------------------------------------- */

typedef struct render_case {
    const sg_writer *w;
    const sg_profile *p;
    writer_opts o;
    const char *want; /* the output when nothing fails */
} render_case;

static int
render_op(void *ctx)
{
    render_case *rc = ctx;
    strbuf sb = STRBUF_INIT;
    int r = sg_writer_render(rc->w, rc->p, &rc->o, &sb);
    if (r == 0)
        CHECK(strcmp(sb_str(&sb), rc->want) == 0);
    sb_free(&sb);
    return r;
}

/* check_oom with stderr on /dev/null: each failed run prints its line. */
static long
quiet_oom(int (*op)(void *), void *ctx)
{
    fflush(stderr);
    int saved = dup(2), null = open("/dev/null", O_WRONLY);
    dup2(null, 2);
    long runs = check_oom(op, ctx);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    close(null);
    return runs;
}

static sg_profile *
mixed_profile(sg_profile_kind kind)
{
    const char *sampled[] = {"samples"};
    sg_profile *p = kind == SG_PROFILE_SAMPLED
                        ? sg_profile_new(kind, 1, sampled)
                        : sg_profile_new(kind, 2, det_metrics);
    p->sample_interval_ns = 1000000;
    for (int t = 0; t < 2; t++) {
        sg_node_id root = sg_profile_thread_root(p, SG_ROOT_NODE, 7 + t, "T");
        for (int i = 0; i < 40; i++) {
            char name[32];
            snprintf(name, sizeof name, "fn%d", i % 13);
            sg_frame_id st[4];
            for (int k = 0; k < 4; k++)
                st[k] =
                    sg_profile_frame(p,
                                     sg_profile_func(p, SG_FUNC_PYTHON, name,
                                                     "/dir/m.py", 10 * k, 0),
                                     10 * k + i % 3);
            sg_node_id leaf = sg_profile_add_stack(p, root, st, 1 + i % 4, 0,
                                                   (uint64_t)(i + 1) * 10);
            if (kind == SG_PROFILE_DETERMINISTIC)
                p->nodes[leaf].self[1] += 1;
            else /* the timeline of a recording (the Chrome trace's) */
                sg_profile_stamp(p, leaf, (uint64_t)(t * 40 + i) * 1000000);
        }
    }
    sg_profile_set_meta(p, "command", "x");
    return p;
}

static void
test_every_writer_out_of_memory(void)
{
    sg_profile_kind kinds[] = {SG_PROFILE_DETERMINISTIC, SG_PROFILE_SAMPLED};
    for (int k = 0; k < 2; k++) {
        sg_profile *p = mixed_profile(kinds[k]);
        CHECK(!p->failed);
        for (const sg_writer *const *w = sg_writers(); *w; w++) {
            if (!sg_writer_holds(*w, (sg_data_kind)kinds[k]))
                continue;
            for (int variant = 0; variant < 2; variant++) {
                render_case rc = {*w, p, {0}, NULL};
                rc.o.per_thread = variant;
                rc.o.strip_dirs = variant;
                rc.o.sort = variant ? "stdname" : NULL;
                rc.o.flame = variant;
                strbuf want = STRBUF_INIT;
                CHECK(sg_writer_render(*w, p, &rc.o, &want) == 0);
                rc.want = sb_str(&want);
                CHECK(quiet_oom(render_op, &rc) > 2);
                sb_free(&want);
            }
        }
        sg_profile_free(p);
    }
}

/* The cut copy itself under out of memory. */
static int
cut_op(void *ctx)
{
    sg_profile *c = sg_profile_cut(ctx, 3);
    if (!c)
        return -1;
    CHECK(!c->failed);
    sg_profile_free(c);
    return 0;
}

static void
test_cut_out_of_memory(void)
{
    sg_profile *p = mixed_profile(SG_PROFILE_DETERMINISTIC);
    CHECK(check_oom(cut_op, p) > 5);
    sg_profile_free(p);
}

TESTS(test_deep_recursion_in_every_format, test_uncut_walks_are_iterative,
      test_cut_keeps_weights_and_depth, test_every_writer_out_of_memory,
      test_cut_out_of_memory)
