/* timeline.c -- `spyglass timeline`: memory over time, as `mprof run`.
 *
 * Launches the program (SCRIPT, -m, -c under the checked python, or --
 * CMD) or attaches to -p PID, samples its memory from outside at a fixed
 * interval (sampler/memtrack.c), children summed (-C) or each its own
 * series (-M), and writes the timeline through the writer registry:
 * mprof's .dat by default (mprofile_STAMP.dat, the name `mprof plot`
 * looks for), an SVG plot, the peaks as text, or JSON. A launched program
 * keeps its stdio and its exit status is spyglass's; Ctrl-C or SIGTERM
 * ends the sampling and the file is still written.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/opts.h"
#include "cli/pylaunch.h"
#include "common/err.h"
#include "proc/proc.h"
#include "sampler/memtrack.h"
#include "model/timeline.h"
#include "writers/writers.h"

typedef struct tl_opts {
    memtrack_config cfg;
    pid_t pid;
    const char *python;
    const char *output;
    const char *format;
    const sg_writer *writer;
    char **cmd;
    char **python_cmd;
    char interp[PATH_MAX];
    char default_path[64];
} tl_opts;

static void
tl_usage(void)
{
    printf(
        "usage: spyglass timeline [-i SECONDS] [-C] [-M] [--pss] "
        "[-d SECONDS]\n"
        "                         [-o FILE] [-f FORMAT] [--python PYTHON]\n"
        "                         (-p PID | SCRIPT [ARGS...] | -m MODULE "
        "[ARGS...]\n"
        "                          | -c CODE [ARGS...] | -- CMD "
        "[ARGS...])\n\n"
        "Sample a program's memory from outside at a fixed interval, as "
        "mprof run does,\nand write it as mprof's .dat (for mprof plot, "
        "mprof peak and spyglass plot),\nan SVG plot, or the peaks.\n\n"
        "  -i, --interval S      seconds between samples, or with a unit: "
        "5ms, 0.5s\n"
        "                        (default 10ms; at least 1ms; -T too, as "
        "mprof)\n"
        "  -C, --include-children  add the children's memory to the "
        "program's\n"
        "  -M, --multiprocess    a series for each child too (CHLD lines)\n"
        "      --pss             also PSS and swap (smaps_rollup; costs "
        "more per sample)\n"
        "  -d, --duration S      stop after S seconds (default: until the "
        "program ends)\n"
        "  -o, --output FILE     where to write (default: "
        "mprofile_YYYYmmddHHMMSS.dat)\n"
        "  -f, --format F        %s\n"
        "                        (default: from -o's extension, else dat; "
        ".svg is a plot)\n"
        "  -p, --pid PID         attach to a running process\n"
        "      --python P        run SCRIPT, -m and -c under interpreter P\n"
        "  -m MODULE             run a library module as a script "
        "(python -m)\n"
        "  -c CODE               run CODE (python -c)\n"
        "  -- CMD                launch any command\n"
        "  -h, --help            show this help\n\n"
        "A launched program keeps its stdin, stdout and stderr, and its "
        "exit status is\nspyglass's. Ctrl-C or SIGTERM stops sampling and "
        "the file is still written.\n'spyglass plot FILE.dat...' draws or "
        "overlays runs; '-f text' prints the peaks.\n",
        sg_writer_names(SG_DATA_TIMELINE));
}

static const struct option long_opts[] = {
    {"interval", required_argument, NULL, 'i'},
    {"include-children", no_argument, NULL, 'C'},
    {"multiprocess", no_argument, NULL, 'M'},
    {"pss", no_argument, NULL, 'S'},
    {"duration", required_argument, NULL, 'd'},
    {"output", required_argument, NULL, 'o'},
    {"format", required_argument, NULL, 'f'},
    {"pid", required_argument, NULL, 'p'},
    {"python", required_argument, NULL, 'P'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static int
tl_parse(int argc, char **argv, tl_opts *o)
{
    memset(o, 0, sizeof *o);
    o->cfg.interval_s = 0.01;
    opts_reset();
    int c, kind = 0;
    long pid;
    const char *target = NULL, *last_value = NULL;
    while (!target && (c = getopt_long(argc, argv, "+:i:T:CMd:o:f:p:m:c:h",
                                       long_opts, NULL)) != -1) {
        last_value = optarg;
        switch (c) {
        case 'i':
        case 'T':
            if (!opts_interval("timeline", "-i/--interval", optarg,
                               &o->cfg.interval_s))
                return SG_EXIT_USAGE;
            break;
        case 'C':
            o->cfg.children = true;
            break;
        case 'M':
            o->cfg.multiprocess = true;
            break;
        case 'S':
            o->cfg.pss = true;
            break;
        case 'd':
            if (!opts_double("timeline", "-d/--duration", optarg, 0.001, 1e9,
                             &o->cfg.duration_s))
                return SG_EXIT_USAGE;
            break;
        case 'o':
            o->output = optarg;
            break;
        case 'f':
            o->format = optarg;
            break;
        case 'p':
            if (!opts_long("timeline", "-p/--pid", optarg, 1, INT_MAX, &pid))
                return SG_EXIT_USAGE;
            o->pid = (pid_t)pid;
            break;
        case 'P':
            o->python = optarg;
            break;
        case 'm':
        case 'c':
            kind = c;
            target = optarg;
            break;
        case 'h':
            tl_usage();
            return SG_EXIT_OK;
        default:
            opts_report("timeline", c, argv);
            return SG_EXIT_USAGE;
        }
    }
    int rc =
        opts_outside_target("timeline", "sample", argc, argv, last_value,
                            o->pid != 0, o->python != NULL, &target, &o->cmd);
    if (rc >= 0)
        return rc;
    if (sg_writer_pick(o->format, o->output, &sg_output_timeline, &o->writer))
        return SG_EXIT_USAGE;
    if (o->pid && kill(o->pid, 0) < 0 && errno == ESRCH) {
        sg_error("timeline: no process %d", (int)o->pid);
        return SG_EXIT_USAGE;
    }
    if (!target)
        return -1;
    rc = pylaunch_command("timeline", o->python, kind, target, argc - optind,
                          argv + optind, o->interp, sizeof o->interp,
                          &o->python_cmd);
    if (rc < 0)
        o->cmd = o->python_cmd;
    return rc;
}

/* mprof's default name, mprofile_YYYYmmddHHMMSS.EXT, in the current
 * directory. */
static const char *
tl_output(tl_opts *o)
{
    if (o->output)
        return o->output;
    char stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%d%H%M%S", &tm);
    snprintf(o->default_path, sizeof o->default_path, "mprofile_%s.%s", stamp,
             o->writer->extensions[0]);
    return o->default_path;
}

/* The command line of what runs, for CMDLINE (or "pid N"). */
static void
tl_cmdline(const tl_opts *o, strbuf *sb)
{
    if (!o->cmd) {
        char path[64], buf[4096];
        snprintf(path, sizeof path, "/proc/%d/cmdline", (int)o->pid);
        FILE *f = fopen(path, "r");
        size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
        if (f)
            fclose(f);
        for (size_t i = 0; i + 1 < n; i++)
            if (!buf[i])
                buf[i] = ' ';
        buf[n] = '\0';
        sb_puts(sb, n ? buf : "?");
        return;
    }
    for (char **a = o->cmd; *a; a++) {
        if (a != o->cmd)
            sb_putc(sb, ' ');
        sb_puts(sb, *a);
    }
}

static void
tl_report(const tl_opts *o, const memtrack *m, const sg_profile *p,
          const char *path, sg_out_result r)
{
    memtrack_counts c;
    memtrack_get_counts(m, &c);
    /* spyglass's own CPU time: what sampling cost (the program's is its
     * own, in RUSAGE_CHILDREN). */
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                 (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
    double n = c.samples ? (double)c.samples : 1;
    fprintf(stderr,
            "spyglass timeline: %llu samples in %.2f s, every %g ms (%llu "
            "on time, %llu late, %llu missed), %llu children seen; "
            "%.1f us of CPU and %.2f /proc reads per sample\n",
            (unsigned long long)c.samples, (double)c.loop.elapsed_ns / 1e9,
            o->cfg.interval_s * 1e3, (unsigned long long)c.loop.on_time,
            (unsigned long long)c.loop.late, (unsigned long long)c.loop.missed,
            (unsigned long long)c.children, cpu * 1e6 / n,
            (double)c.reads / n);
    loop_say_priority("timeline", &c.loop);
    strbuf sb = STRBUF_INIT;
    sg_write_tltext(p, NULL, &sb);
    fputs(sb_str(&sb), stderr);
    sb_free(&sb);
    if (r == SG_OUT_WRITTEN && strcmp(path, "-") != 0)
        fprintf(stderr, "spyglass timeline: wrote %s (%s)\n", path,
                o->writer->name);
}

static int
tl_run(tl_opts *o)
{
    proc_forward_signals();
    proc_ignore(SIGPIPE);
    volatile sig_atomic_t *stop = proc_stop_flag();
    pid_t pid = o->pid;
    bool launched = o->cmd != NULL;
    if (launched) {
        proc_spec ps = {o->cmd, PROC_INHERIT, PROC_INHERIT, PROC_INHERIT};
        int err = proc_spawn(&ps, &pid);
        if (err) {
            sg_error("timeline: cannot run '%s': %s", o->cmd[0],
                     strerror(err));
            return SG_EXIT_NOEXEC;
        }
    }
    const char *metrics[] = {"bytes"};
    sg_profile *p = sg_profile_new(SG_PROFILE_TIMELINE, 1, metrics);
    sg_timeline *tl = sg_timeline_new();
    if (!p || !tl)
        sg_die(SG_EXIT_FAIL, "timeline: out of memory");
    p->timeline = tl;
    strbuf cmdline = STRBUF_INIT;
    tl_cmdline(o, &cmdline);
    const char *path = tl_output(o);
    int run = sg_timeline_add_run(tl, sb_str(&cmdline), path);
    sb_free(&cmdline);
    memtrack *m = memtrack_new(&o->cfg, tl, run);
    if (run < 0 || !m)
        sg_die(SG_EXIT_FAIL, "timeline: out of memory");
    int err = memtrack_attach(m, pid);
    if (err && !launched)
        sg_error("timeline: cannot read the memory of process %d: %s",
                 (int)pid, strerror(err));
    if (!err) {
        memtrack_run(m, stop);
        memtrack_counts mc;
        memtrack_get_counts(m, &mc);
        loop_set_meta(&mc.loop, p); /* the JSON's "metadata" */
    }
    /* The file first, then the wait: after -d the program may run on. */
    sg_out_result r = SG_OUT_LOST;
    if (!err || launched) {
        r = sg_writer_write_file(&sg_output_timeline, o->writer, p, NULL,
                                 path);
        tl_report(o, m, p, path, r);
    }
    int status = err && !launched ? SG_EXIT_FAIL : SG_EXIT_OK;
    if (launched) {
        proc_exit ex;
        status = proc_wait(pid, &ex) == 0 ? ex.code : SG_EXIT_FAIL;
    }
    if (!err || launched)
        status = sg_output_status(status, r);
    memtrack_free(m);
    sg_timeline_free(tl);
    p->timeline = NULL;
    sg_profile_free(p);
    return status;
}

int
cmd_timeline(int argc, char **argv)
{
    tl_opts o;
    int rc = tl_parse(argc, argv, &o);
    if (rc < 0)
        rc = tl_run(&o);
    free(o.python_cmd);
    return rc;
}
