/* report.c -- formats of `spyglass time`. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "common/json.h"
#include "common/units.h"
#include "proc/proc.h"
#include "timing/report.h"

static double
field_value(const run_result *r, bench_field f)
{
    switch (f) {
    case BF_WALL:
        return r->wall;
    case BF_USER:
        return r->user;
    case BF_SYS:
        return r->sys;
    case BF_OFFCPU: {
        /* Time neither on a CPU for the program nor for the kernel on its
         * behalf: sleeps, waiting for I/O, a lock or a child, or for a CPU
         * on a busy machine. Not I/O wait alone, which only the kernel's
         * delay accounting could tell. A program on several CPUs at once
         * has more CPU time than wall time: 0 then. */
        double w = r->wall - r->user - r->sys;
        return w > 0 ? w : 0;
    }
    case BF_RSS:
        return (double)r->max_rss_kb;
    case BF_MAJFLT:
        return (double)r->major_faults;
    case BF_MINFLT:
        return (double)r->minor_faults;
    case BF_VCS:
        return (double)r->vol_cs;
    case BF_IVCS:
        return (double)r->invol_cs;
    }
    return 0;
}

sg_summary
bench_summary(const bench_cmd *c, bench_field f)
{
    double *v = sg_xmalloc((c->n_runs ? c->n_runs : 1) * sizeof *v);
    for (size_t i = 0; i < c->n_runs; i++)
        v[i] = field_value(&c->runs[i], f);
    sg_summary s = sg_summarize(v, c->n_runs);
    free(v);
    return s;
}

static size_t
fastest(const bench_cmd *cmds, size_t n)
{
    size_t best = 0;
    for (size_t i = 1; i < n; i++)
        if (bench_summary(&cmds[i], BF_WALL).mean <
            bench_summary(&cmds[best], BF_WALL).mean)
            best = i;
    return best;
}

void
report_text(strbuf *sb, const bench_cmd *cmds, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const bench_cmd *c = &cmds[i];
        sg_summary w = bench_summary(c, BF_WALL);
        sg_summary u = bench_summary(c, BF_USER);
        sg_summary s = bench_summary(c, BF_SYS);
        sg_summary off = bench_summary(c, BF_OFFCPU);
        sg_summary rss = bench_summary(c, BF_RSS);
        sg_summary maj = bench_summary(c, BF_MAJFLT);
        sg_summary min = bench_summary(c, BF_MINFLT);
        sg_summary vcs = bench_summary(c, BF_VCS);
        sg_summary ivcs = bench_summary(c, BF_IVCS);
        char a[32], b[32], d[32], e[32];
        if (i)
            sb_putc(sb, '\n');
        sb_printf(sb, "Benchmark %zu: %s\n", i + 1, c->display);
        sb_printf(
            sb, "  Time (mean ± σ):   %10s ± %9s    [User: %s, System: %s]\n",
            sg_fmt_duration(a, sizeof a, w.mean),
            sg_fmt_duration_as(b, sizeof b, w.stddev, w.mean),
            sg_fmt_duration_as(d, sizeof d, u.mean, w.mean),
            sg_fmt_duration_as(e, sizeof e, s.mean, w.mean));
        sb_printf(sb, "  Range (min … max): %10s … %9s    %zu run%s\n",
                  sg_fmt_duration_as(a, sizeof a, w.min, w.mean),
                  sg_fmt_duration_as(b, sizeof b, w.max, w.mean), w.n,
                  w.n == 1 ? "" : "s");
        sb_printf(sb,
                  "  Median:            %10s      Off-CPU: %s (wall - user - "
                  "sys)\n",
                  sg_fmt_duration_as(a, sizeof a, w.median, w.mean),
                  sg_fmt_duration(b, sizeof b, off.mean));
        sb_printf(sb,
                  "  Max RSS:           %10s      Page faults: %.0f major, "
                  "%.0f minor (mean)\n",
                  sg_fmt_bytes(a, sizeof a, rss.max * 1024.0), maj.mean,
                  min.mean);
        sb_printf(
            sb,
            "  Context switches:  %.0f voluntary, %.0f involuntary (mean)\n",
            vcs.mean, ivcs.mean);
    }
    if (n < 2)
        return;
    size_t f = fastest(cmds, n);
    sg_summary fw = bench_summary(&cmds[f], BF_WALL);
    sb_printf(sb, "\nSummary\n  %s ran\n", cmds[f].display);
    for (size_t i = 0; i < n; i++) {
        if (i == f)
            continue;
        sg_summary w = bench_summary(&cmds[i], BF_WALL);
        double r, sd;
        sg_ratio(&w, &fw, &r, &sd);
        sb_printf(sb, "    %.2f ± %.2f times faster than %s\n", r, sd,
                  cmds[i].display);
    }
}

static void
json_runs(json_writer *j, const char *key, const bench_cmd *c, bench_field f,
          int as_int)
{
    json_key(j, key);
    json_begin_array(j);
    for (size_t k = 0; k < c->n_runs; k++) {
        double v = field_value(&c->runs[k], f);
        if (as_int)
            json_int(j, (int64_t)v);
        else
            json_double(j, v);
    }
    json_end_array(j);
}

void
report_json(strbuf *sb, const bench_cmd *cmds, size_t n)
{
    json_writer j;
    json_init(&j, sb, true);
    json_begin_object(&j);
    json_key(&j, "results");
    json_begin_array(&j);
    for (size_t i = 0; i < n; i++) {
        const bench_cmd *c = &cmds[i];
        sg_summary w = bench_summary(c, BF_WALL);
        json_begin_object(&j);
        json_key(&j, "command");
        json_string(&j, c->display);
        /* hyperfine's fields first, with its meanings (seconds). */
        json_key(&j, "mean");
        json_double(&j, w.mean);
        json_key(&j, "stddev");
        json_double(&j, w.stddev);
        json_key(&j, "median");
        json_double(&j, w.median);
        json_key(&j, "user");
        json_double(&j, bench_summary(c, BF_USER).mean);
        json_key(&j, "system");
        json_double(&j, bench_summary(c, BF_SYS).mean);
        json_key(&j, "min");
        json_double(&j, w.min);
        json_key(&j, "max");
        json_double(&j, w.max);
        json_runs(&j, "times", c, BF_WALL, 0);
        json_key(&j, "exit_codes");
        json_begin_array(&j);
        for (size_t k = 0; k < c->n_runs; k++)
            json_int(&j, c->runs[k].exit_code);
        json_end_array(&j);
        json_key(&j, "memory_usage_byte");
        json_begin_array(&j);
        for (size_t k = 0; k < c->n_runs; k++)
            json_int(&j, (int64_t)c->runs[k].max_rss_kb * 1024);
        json_end_array(&j);
        /* spyglass's per-run kernel figures. */
        json_runs(&j, "user_times", c, BF_USER, 0);
        json_runs(&j, "system_times", c, BF_SYS, 0);
        json_runs(&j, "off_cpu_times", c, BF_OFFCPU, 0);
        json_runs(&j, "max_rss_kb", c, BF_RSS, 1);
        json_runs(&j, "major_page_faults", c, BF_MAJFLT, 1);
        json_runs(&j, "minor_page_faults", c, BF_MINFLT, 1);
        json_runs(&j, "voluntary_context_switches", c, BF_VCS, 1);
        json_runs(&j, "involuntary_context_switches", c, BF_IVCS, 1);
        json_key(&j, "shell");
        json_bool(&j, c->uses_shell != 0);
        json_end_object(&j);
    }
    json_end_array(&j);
    json_end_object(&j);
    sb_putc(sb, '\n');
}

/* CSV field: quoted when it holds a separator, quote or newline. */
static void
csv_field(strbuf *sb, const char *s)
{
    if (!strpbrk(s, ",\"\n\r")) {
        sb_puts(sb, s);
        return;
    }
    sb_putc(sb, '"');
    for (; *s; s++) {
        if (*s == '"')
            sb_putc(sb, '"');
        sb_putc(sb, *s);
    }
    sb_putc(sb, '"');
}

void
report_csv(strbuf *sb, const bench_cmd *cmds, size_t n)
{
    sb_puts(sb, "command,mean,stddev,median,user,system,min,max,runs,"
                "off_cpu,max_rss_kb,major_page_faults,minor_page_faults,"
                "voluntary_context_switches,involuntary_context_switches\n");
    for (size_t i = 0; i < n; i++) {
        const bench_cmd *c = &cmds[i];
        sg_summary w = bench_summary(c, BF_WALL);
        csv_field(sb, c->display);
        sb_printf(
            sb,
            ",%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%zu,%.9g,%.0f,"
            "%.9g,%.9g,%.9g,%.9g\n",
            w.mean, w.stddev, w.median, bench_summary(c, BF_USER).mean,
            bench_summary(c, BF_SYS).mean, w.min, w.max, w.n,
            bench_summary(c, BF_OFFCPU).mean, bench_summary(c, BF_RSS).max,
            bench_summary(c, BF_MAJFLT).mean, bench_summary(c, BF_MINFLT).mean,
            bench_summary(c, BF_VCS).mean, bench_summary(c, BF_IVCS).mean);
    }
}

static void
md_escape(strbuf *sb, const char *s)
{
    for (; *s; s++) {
        if (*s == '|')
            sb_puts(sb, "\\|");
        else
            sb_putc(sb, *s);
    }
}

void
report_markdown(strbuf *sb, const bench_cmd *cmds, size_t n)
{
    sb_puts(sb, "| Command | Mean [ms] | Min [ms] | Max [ms] | Relative | "
                "Max RSS [MiB] |\n|:---|---:|---:|---:|---:|---:|\n");
    size_t f = n ? fastest(cmds, n) : 0;
    sg_summary fw = n ? bench_summary(&cmds[f], BF_WALL) : (sg_summary){0};
    for (size_t i = 0; i < n; i++) {
        sg_summary w = bench_summary(&cmds[i], BF_WALL);
        double r, sd;
        sg_ratio(&w, &fw, &r, &sd);
        sb_puts(sb, "| `");
        md_escape(sb, cmds[i].display);
        sb_printf(sb, "` | %.1f ± %.1f | %.1f | %.1f | ", w.mean * 1e3,
                  w.stddev * 1e3, w.min * 1e3, w.max * 1e3);
        if (i == f)
            sb_puts(sb, "1.00 |");
        else
            sb_printf(sb, "%.2f ± %.2f |", r, sd);
        sb_printf(sb, " %.1f |\n",
                  bench_summary(&cmds[i], BF_RSS).max / 1024.0);
    }
}

void
report_gnu_verbose(strbuf *sb, const bench_cmd *c, const run_result *r)
{
    if (r->term_signal) {
        /* GNU time's line, then the signal's name. */
        char sig[48];
        proc_signal_text(r->term_signal, r->core_dumped, sig, sizeof sig);
        sb_printf(sb, "Command terminated by signal %d (%s)\n", r->term_signal,
                  sig);
    } else if (r->exit_code)
        sb_printf(sb, "Command exited with non-zero status %d\n",
                  r->exit_code);
    sb_puts(sb, "\tCommand being timed: \"");
    for (size_t i = 0; c->argv[i]; i++) {
        if (i)
            sb_putc(sb, ' ');
        sb_puts(sb, c->argv[i]);
    }
    sb_puts(sb, "\"\n");
    sb_printf(sb, "\tUser time (seconds): %.2f\n", r->user);
    sb_printf(sb, "\tSystem time (seconds): %.2f\n", r->sys);
    if (r->wall > 0)
        sb_printf(sb, "\tPercent of CPU this job got: %.0f%%\n",
                  floor((r->user + r->sys) / r->wall * 100.0));
    else
        sb_puts(sb, "\tPercent of CPU this job got: ?%\n");
    long cs = (long)(r->wall * 100.0); /* centiseconds, truncated as GNU */
    if (cs >= 360000)
        sb_printf(sb,
                  "\tElapsed (wall clock) time (h:mm:ss or m:ss): "
                  "%ld:%02ld:%02ld\n",
                  cs / 360000, (cs / 6000) % 60, (cs / 100) % 60);
    else
        sb_printf(sb,
                  "\tElapsed (wall clock) time (h:mm:ss or m:ss): "
                  "%ld:%02ld.%02ld\n",
                  cs / 6000, (cs / 100) % 60, cs % 100);
    /* Linux does not account these four; GNU time prints 0 too. */
    sb_puts(sb, "\tAverage shared text size (kbytes): 0\n"
                "\tAverage unshared data size (kbytes): 0\n"
                "\tAverage stack size (kbytes): 0\n"
                "\tAverage total size (kbytes): 0\n");
    sb_printf(sb, "\tMaximum resident set size (kbytes): %ld\n",
              r->max_rss_kb);
    sb_puts(sb, "\tAverage resident set size (kbytes): 0\n");
    sb_printf(sb, "\tMajor (requiring I/O) page faults: %ld\n",
              r->major_faults);
    sb_printf(sb, "\tMinor (reclaiming a frame) page faults: %ld\n",
              r->minor_faults);
    sb_printf(sb, "\tVoluntary context switches: %ld\n", r->vol_cs);
    sb_printf(sb, "\tInvoluntary context switches: %ld\n", r->invol_cs);
    sb_printf(sb, "\tSwaps: %ld\n", r->swaps);
    sb_printf(sb, "\tFile system inputs: %ld\n", r->fs_in);
    sb_printf(sb, "\tFile system outputs: %ld\n", r->fs_out);
    sb_printf(sb, "\tSocket messages sent: %ld\n", r->msg_sent);
    sb_printf(sb, "\tSocket messages received: %ld\n", r->msg_recv);
    sb_printf(sb, "\tSignals delivered: %ld\n", r->signals);
    sb_printf(sb, "\tPage size (bytes): %ld\n", sysconf(_SC_PAGESIZE));
    sb_printf(sb, "\tExit status: %d\n", r->exit_code);
}
