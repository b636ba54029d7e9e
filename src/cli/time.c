/* time.c -- `spyglass time`: /usr/bin/time -v and hyperfine in one.
 *
 * `spyglass time [opts] -- CMD ARGS` times one command, run directly;
 * `spyglass time [opts] 'CMD 1' 'CMD 2'` compares command lines. A command
 * line with no shell syntax is split on blanks and run directly, so its
 * figures carry no shell start-up; anything else runs under /bin/sh -c.
 */
#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/opts.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/strbuf.h"
#include "proc/proc.h"
#include "timing/report.h"
#include "timing/runner.h"
#include "writers/writers.h"

#define MIN_RUNS 10
#define MIN_SECONDS 3.0

typedef struct time_opts {
    long runs; /* 0: automatic */
    long warmup;
    bool verbose;
    bool show_output;
    bool ignore_failure;
    const char *output;
    const char *format;
    const sg_writer *writer; /* from -f / -o, picked before any run */
} time_opts;

static void
time_usage(void)
{
    printf(
        "usage: spyglass time [OPTIONS] -- CMD [ARGS...]\n"
        "       spyglass time [OPTIONS] 'CMD LINE' ['CMD LINE'...]\n\n"
        "Run commands repeatedly and report wall, user and system time "
        "(mean ± σ,\nmedian, range), off-CPU time, maximum RSS, page faults "
        "and context\nswitches, from the kernel's accounting of each run. "
        "Several commands are compared.\n\n"
        "  -n, --runs N        runs per command (default: at least %d runs "
        "and %.0f s)\n"
        "  -w, --warmup N      untimed runs first (default 0)\n"
        "  -v, --verbose       one run, GNU /usr/bin/time -v's report (on "
        "stderr)\n"
        "  -o, --output FILE   write the report to FILE\n"
        "  -f, --format F      text, json, csv or markdown (default: from "
        "-o's\n"
        "                      extension, else text)\n"
        "      --show-output   let repeated runs print (discarded by "
        "default)\n"
        "      --ignore-failure  keep going when a command exits non-zero\n"
        "  -h, --help          show this help\n\n"
        "A command line without shell syntax (quotes, $, |, &, ;, <, >, "
        "globs, ...)\nruns directly; others run under /bin/sh -c. "
        "Exit status: the command's\nfor a single run, else 0, or the "
        "failing command's status.\n",
        MIN_RUNS, MIN_SECONDS);
}

static const struct option long_opts[] = {
    {"runs", required_argument, NULL, 'n'},
    {"warmup", required_argument, NULL, 'w'},
    {"verbose", no_argument, NULL, 'v'},
    {"output", required_argument, NULL, 'o'},
    {"format", required_argument, NULL, 'f'},
    {"show-output", no_argument, NULL, 'S'},
    {"ignore-failure", no_argument, NULL, 'I'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static bool
has_shell_syntax(const char *s)
{
    return strpbrk(s, "|&;<>()$`\\\"'*?[]#~=%{}!\n") != NULL;
}

/* Split a plain command line on blanks (no shell syntax present). */
static char **
split_words(const char *s)
{
    size_t cap = 8, n = 0;
    char **v = sg_xmalloc(cap * sizeof *v);
    const char *p = s;
    while (*p) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p)
            break;
        const char *start = p;
        while (*p && *p != ' ' && *p != '\t')
            p++;
        if (n + 2 > cap)
            v = sg_xrealloc(v, (cap *= 2) * sizeof *v);
        v[n] = sg_xmalloc((size_t)(p - start) + 1);
        memcpy(v[n], start, (size_t)(p - start));
        v[n][p - start] = '\0';
        n++;
    }
    v[n] = NULL;
    return v;
}

static void
add_run(bench_cmd *c, const run_result *r)
{
    if (c->n_runs == c->cap_runs) {
        c->cap_runs = c->cap_runs ? c->cap_runs * 2 : 16;
        c->runs = sg_xrealloc(c->runs, c->cap_runs * sizeof *c->runs);
    }
    c->runs[c->n_runs++] = *r;
}

static void
progress(const bench_cmd *c, size_t idx, size_t done, size_t total,
         double elapsed)
{
    double eta = done ? elapsed / (double)done * (double)(total - done) : 0;
    fprintf(stderr, "\r\033[KBenchmark %zu: %s  run %zu/%zu, ETA %.1f s",
            idx + 1, c->display, done, total, eta);
    fflush(stderr);
}

/* Returns -1 to go on, else the exit status to stop with. */
static int
check_run(const bench_cmd *c, const run_result *r, int err, const time_opts *o)
{
    if (proc_stop_signal())
        return -1; /* the user stopped us: not the command's failure */
    if (err) {
        sg_error("time: cannot run '%s': %s", c->argv[0], strerror(err));
        return SG_EXIT_NOEXEC;
    }
    if (r->exit_code != 0 && !o->ignore_failure) {
        if (r->term_signal) {
            char sig[48];
            proc_signal_text(r->term_signal, r->core_dumped, sig, sizeof sig);
            sg_error("time: command '%s' was killed by %s (use "
                     "--ignore-failure to keep going)",
                     c->display, sig);
        } else {
            sg_error("time: command '%s' failed with exit status %d%s "
                     "(use --ignore-failure to keep going)",
                     c->display, r->exit_code,
                     o->show_output ? "" : "; --show-output shows its output");
        }
        return r->exit_code;
    }
    return -1;
}

static int
bench_one(bench_cmd *c, size_t idx, const time_opts *o, bool single, bool tty)
{
    run_result r;
    /* Runs after the first would find stdin read: all get /dev/null,
     * unless there is just the one, which keeps the terminal's. */
    run_spec spec = {c->argv, o->show_output, !single};
    for (long i = 0; i < o->warmup && !proc_stop_signal(); i++) {
        int err = runner_run(&spec, &r);
        int rc = check_run(c, &r, err, o);
        if (rc >= 0)
            return rc;
    }
    uint64_t t0 = sg_now_ns();
    size_t total = o->runs ? (size_t)o->runs : MIN_RUNS;
    for (size_t i = 0; i < total && !proc_stop_signal(); i++) {
        if (tty)
            progress(c, idx, i, total, (double)(sg_now_ns() - t0) / 1e9);
        int err = runner_run(&spec, &r);
        int rc = check_run(c, &r, err, o);
        if (rc >= 0)
            return rc;
        if (proc_stop_signal())
            break; /* the run was cut short: not a measurement */
        add_run(c, &r);
        if (i == 0 && o->runs == 0 && r.wall > 0) {
            /* hyperfine's rule: at least MIN_RUNS runs and MIN_SECONDS. */
            double need = ceil(MIN_SECONDS / r.wall);
            if (need > (double)total)
                total = need > 1e7 ? 10000000 : (size_t)need;
        }
    }
    if (tty)
        fprintf(stderr, "\r\033[K");
    return -1;
}

static int
write_report(const time_opts *o, const bench_cmd *cmds, size_t n)
{
    strbuf sb = STRBUF_INIT;
    switch (o->writer->id) {
    case SG_FMT_JSON:
        report_json(&sb, cmds, n);
        break;
    case SG_FMT_CSV:
        report_csv(&sb, cmds, n);
        break;
    case SG_FMT_MARKDOWN:
        report_markdown(&sb, cmds, n);
        break;
    default:
        assert(o->writer->id == SG_FMT_TEXT);
        report_text(&sb, cmds, n);
    }
    sg_out_result r = sg_writer_deliver(&sg_output_time, o->writer,
                                        o->output ? o->output : "-", &sb);
    if (r == SG_OUT_WRITTEN && o->output && strcmp(o->output, "-") != 0)
        fprintf(stderr, "spyglass: wrote %s\n", o->output);
    sb_free(&sb);
    return sg_output_status(0, r);
}

/* -v: one run each, output shown, GNU time's report on stderr (or -o). */
static int
run_verbose(const time_opts *o, bench_cmd *cmds, size_t n)
{
    int status = 0;
    strbuf sb = STRBUF_INIT;
    for (size_t i = 0; i < n; i++) {
        run_result r;
        run_spec spec = {cmds[i].argv, true, false};
        int err = runner_run(&spec, &r);
        if (err && proc_stop_signal()) {
            sb_free(&sb); /* stopped before it ran: nothing to report */
            return 128 + proc_stop_signal();
        }
        if (err) {
            sg_error("time: cannot run '%s': %s", cmds[i].argv[0],
                     strerror(err));
            sb_free(&sb);
            return SG_EXIT_NOEXEC;
        }
        add_run(&cmds[i], &r);
        report_gnu_verbose(&sb, &cmds[i], &r);
        status = r.exit_code;
    }
    if (o->output && o->writer->id != SG_FMT_TEXT) {
        sb_free(&sb);
        return sg_output_status(status, write_report(o, cmds, n));
    }
    if (o->output) {
        status = sg_output_status(
            status,
            sg_writer_deliver(&sg_output_time, o->writer, o->output, &sb));
    } else if (fputs(sb_str(&sb), stderr) == EOF || fflush(stderr) != 0) {
        /* stderr is where GNU time reports, and here the report is the
         * result: full or closed, it is delivered elsewhere and said so,
         * like any result that cannot go where asked. */
        clearerr(stderr);
        status = sg_output_status(
            status,
            sg_writer_deliver(&sg_output_time, o->writer, "/dev/stderr", &sb));
    }
    sb_free(&sb);
    return status;
}

static int
parse(int argc, char **argv, time_opts *o)
{
    memset(o, 0, sizeof *o);
    opts_reset();
    int c;
    while ((c = getopt_long(argc, argv, "+:n:w:vo:f:h", long_opts, NULL)) !=
           -1) {
        switch (c) {
        case 'n':
            if (!opts_long("time", "-n/--runs", optarg, 1, 10000000, &o->runs))
                return SG_EXIT_USAGE;
            break;
        case 'w':
            if (!opts_long("time", "-w/--warmup", optarg, 0, 10000000,
                           &o->warmup))
                return SG_EXIT_USAGE;
            break;
        case 'v':
            o->verbose = true;
            break;
        case 'o':
            o->output = optarg;
            break;
        case 'f':
            o->format = optarg;
            break;
        case 'S':
            o->show_output = true;
            break;
        case 'I':
            o->ignore_failure = true;
            break;
        case 'h':
            time_usage();
            return SG_EXIT_OK;
        default:
            opts_report("time", c, argv);
            return SG_EXIT_USAGE;
        }
    }
    if (sg_writer_pick(o->format, o->output, &sg_output_time, &o->writer))
        return SG_EXIT_USAGE;
    return -1;
}

static void
free_cmds(bench_cmd *cmds, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(cmds[i].runs);
        if (cmds[i].uses_shell) {
            free(cmds[i].argv);
        } else if (cmds[i].owns_argv) {
            for (size_t k = 0; cmds[i].argv[k]; k++)
                free(cmds[i].argv[k]);
            free(cmds[i].argv);
        }
    }
    free(cmds);
}

/* Build the commands from the operands: one argv after `--`, else one
 * command line per operand. Returns NULL after an error line. */
static bench_cmd *
make_cmds(int argc, char **argv, bool dashdash, size_t *n_out, strbuf *disp)
{
    size_t n = dashdash ? 1 : (size_t)(argc - optind);
    bench_cmd *cmds = sg_xcalloc(n, sizeof *cmds);
    *n_out = n;
    if (dashdash) {
        cmds[0].argv = argv + optind;
        for (int i = optind; i < argc; i++) {
            if (i > optind)
                sb_putc(disp, ' ');
            sb_puts(disp, argv[i]);
        }
        cmds[0].display = sb_str(disp);
        return cmds;
    }
    for (size_t i = 0; i < n; i++) {
        const char *line = argv[optind + (int)i];
        cmds[i].display = line;
        if (has_shell_syntax(line)) {
            char **v = sg_xcalloc(4, sizeof *v);
            v[0] = "/bin/sh";
            v[1] = "-c";
            v[2] = (char *)line;
            cmds[i].argv = v;
            cmds[i].uses_shell = 1;
        } else {
            cmds[i].argv = split_words(line);
            cmds[i].owns_argv = 1;
            if (!cmds[i].argv[0]) {
                sg_error("time: empty command");
                free_cmds(cmds, i + 1);
                return NULL;
            }
        }
    }
    return cmds;
}

static int
run_benchmarks(const time_opts *o_in, bench_cmd *cmds, size_t n)
{
    time_opts o = *o_in;
    if (o.runs == 1)
        o.show_output = true; /* a single run shows its output */
    bool single = n == 1 && o.runs == 1 && o.warmup == 0;
    bool tty = isatty(2) && !o.show_output;
    int status = -1;
    for (size_t i = 0; i < n && status < 0 && !proc_stop_signal(); i++)
        status = bench_one(&cmds[i], i, &o, single, tty);
    /* Whatever was measured is reported, even after a failure or Ctrl-C. */
    size_t measured = 0;
    while (measured < n && cmds[measured].n_runs > 0)
        measured++;
    int written = measured > 0 ? write_report(&o, cmds, measured) : 0;
    if (written != 0 && status < 0)
        status = written;
    if (proc_stop_signal())
        return 128 + proc_stop_signal();
    if (status >= 0)
        return status;
    if (o.runs == 1 && n == 1)
        return cmds[0].runs[0].exit_code;
    return SG_EXIT_OK;
}

int
cmd_time(int argc, char **argv)
{
    time_opts o;
    proc_hold_stop_signals();
    int rc = parse(argc, argv, &o);
    if (rc >= 0)
        return rc;
    bool dashdash =
        optind > 0 && optind <= argc && strcmp(argv[optind - 1], "--") == 0;
    if (argc - optind == 0) {
        sg_error("time: no command to time (e.g. spyglass time -- sleep "
                 "0.1, or spyglass time 'cmd 1' 'cmd 2')");
        return SG_EXIT_USAGE;
    }
    strbuf disp = STRBUF_INIT;
    size_t n;
    bench_cmd *cmds = make_cmds(argc, argv, dashdash, &n, &disp);
    if (!cmds) {
        sb_free(&disp);
        return SG_EXIT_USAGE;
    }
    proc_forward_signals();
    rc = o.verbose ? run_verbose(&o, cmds, n) : run_benchmarks(&o, cmds, n);
    free_cmds(cmds, n);
    sb_free(&disp);
    return rc;
}
