/* record.c -- `spyglass record`: the sampling profiler's command line.
 *
 * Parses options, launches the program (or attaches to --pid), runs the
 * sampling session (src/sampler/record.c), writes the profile through the
 * writer registry, and prints the end report on stderr. In launch mode the
 * program's exit status is spyglass's.
 */
#include <errno.h>
#include <float.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/dis_sampled.h"
#include "cli/opts.h"
#include "cli/sampled.h"
#include "common/err.h"
#include "model/instr.h"
#include "proc/proc.h"
#include "sampler/launch.h"
#include "sampler/record.h"
#include "writers/writers.h"

typedef struct record_opts {
    record_config cfg;
    sampled_target t; /* -p PID, or the program and its interpreter */
    bool threads;
    bool flame;
    bool no_source; /* html: embed no source lines */
    const char *output;
    const char *format;
    const sg_writer *writer; /* picked from -f / -o before anything runs */
    const char *dis;         /* --dis NAME: the listing of NAME instead */
    long dis_top;            /* --top N of that listing (0: all) */
} record_opts;

static void
record_usage(void)
{
    printf(
        "usage: spyglass record [-r RATE] [-d SECONDS] [-o FILE] "
        "[-f FORMAT] [--idle]\n"
        "                       [--gil] [--threads] [--subprocesses] "
        "[--function]\n"
        "                       [--flame] [--dis NAME [--top N]] [--python "
        "PYTHON]\n"
        "                       (-p PID | SCRIPT [ARGS...] | -m MODULE "
        "[ARGS...]\n"
        "                        | -c CODE [ARGS...] | -- CMD "
        "[ARGS...])\n\n"
        "Sample a running program's Python stacks from outside at a fixed "
        "rate, with\nno instrumentation, and write a profile.\n\n"
        "  -r, --rate HZ       ticks per second, each sampling every thread "
        "(default 100)\n"
        "  -d, --duration S    stop after S seconds (default: until the "
        "program ends)\n"
        "  -o, --output FILE   where to write (default: "
        "spyglass-PID-TIME.svg)\n"
        "  -f, --format F      %s\n"
        "                      (default: from -o's extension, else "
        "flamegraph)\n"
        "      --idle          keep threads that are not running on a CPU\n"
        "      --gil           keep only the thread holding the GIL\n"
        "      --threads       a root frame per thread\n"
        "      --subprocesses  follow child Python processes, a root frame "
        "per process\n"
        "      --function      one frame per function (no line numbers)\n"
        "      --dis NAME      instead of a profile, the dis listing of "
        "function NAME\n"
        "                      (qualified, or its last part) with the "
        "samples of each\n"
        "                      instruction; text or json, to stdout unless "
        "-o\n"
        "      --top N         with --dis, only the N most sampled "
        "instructions of each\n"
        "                      function\n"
        "      --flame         flame graph with the root at the bottom "
        "(default: at the\n"
        "                      top; --inverted, flamegraph.pl's name for "
        "that, too)\n"
        "  -p, --pid PID       attach to a running process\n"
        "      --no-source     html: embed no source lines (confidential "
        "code)\n"
        "      --python P      run SCRIPT, -m and -c under interpreter P "
        "(default: the\n"
        "                      python next to spyglass, else python3)\n"
        "  -m MODULE           run a library module as a script "
        "(python -m)\n"
        "  -c CODE             run CODE (python -c)\n"
        "  -- CMD              launch any command (e.g. a script's own "
        "shebang, a\n"
        "                      shell that starts Python)\n"
        "  -h, --help          show this help\n\n"
        "A launched program keeps its stdin, stdout and "
        "stderr, and\nits exit status is spyglass's. Ctrl-C or SIGTERM "
        "stops sampling and the\nprofile is still written.\n",
        sg_writer_names(SG_DATA_SAMPLED));
}

static const struct option long_opts[] = {
    {"rate", required_argument, NULL, 'r'},
    {"duration", required_argument, NULL, 'd'},
    {"output", required_argument, NULL, 'o'},
    {"format", required_argument, NULL, 'f'},
    {"idle", no_argument, NULL, 'I'},
    {"gil", no_argument, NULL, 'G'},
    {"threads", no_argument, NULL, 'T'},
    {"subprocesses", no_argument, NULL, 'S'},
    {"function", no_argument, NULL, 'F'},
    {"flame", no_argument, NULL, 'L'},
    {"no-source", no_argument, NULL, 'Q'},
    {"inverted", no_argument, NULL, 'V'},
    {"pid", required_argument, NULL, 'p'},
    {"python", required_argument, NULL, 'P'},
    {"dis", required_argument, NULL, 'D'},
    {"top", required_argument, NULL, 'N'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* Parse argv into o. Returns -1 when the caller should go on, else an exit
 * status (errors print their line). */
static int
parse(int argc, char **argv, record_opts *o)
{
    memset(o, 0, sizeof *o);
    o->cfg.rate_hz = 100;
    opts_reset();
    int c;
    long pid;
    const char *last_value = NULL; /* tells `-o --` from a `--` of its own */
    while (!o->t.target && (c = getopt_long(argc, argv, "+:r:d:o:f:p:m:c:h",
                                            long_opts, NULL)) != -1) {
        last_value = optarg;
        switch (c) {
        case 'r':
            if (!opts_double("record", "-r/--rate", optarg, 0.01, 100000,
                             &o->cfg.rate_hz))
                return SG_EXIT_USAGE;
            break;
        case 'd':
            if (!opts_double("record", "-d/--duration", optarg, 0.001, 1e9,
                             &o->cfg.duration_s))
                return SG_EXIT_USAGE;
            break;
        case 'o':
            o->output = optarg;
            break;
        case 'f':
            o->format = optarg;
            break;
        case 'I':
            o->cfg.idle = true;
            break;
        case 'G':
            o->cfg.gil = true;
            break;
        case 'T':
            o->threads = true;
            break;
        case 'S':
            o->cfg.subprocesses = true;
            break;
        case 'F':
            o->cfg.function = true;
            break;
        case 'L':
        case 'V':
            o->flame = c == 'L'; /* the last one given wins */
            break;
        case 'Q':
            o->no_source = true;
            break;
        case 'p':
            if (!opts_long("record", "-p/--pid", optarg, 1, INT_MAX, &pid))
                return SG_EXIT_USAGE;
            o->t.pid = (pid_t)pid;
            break;
        case 'P':
            o->t.python = optarg;
            break;
        case 'D':
            o->dis = optarg;
            break;
        case 'N':
            if (!opts_long("record", "--top", optarg, 1, 1000000, &o->dis_top))
                return SG_EXIT_USAGE;
            break;
        case 'm':
        case 'c':
            /* Like python: what follows belongs to the program. */
            o->t.kind = c;
            o->t.target = optarg;
            break;
        case 'h':
            record_usage();
            return SG_EXIT_OK;
        default:
            opts_report("record", c, argv);
            return SG_EXIT_USAGE;
        }
    }
    int rc =
        sampled_operands("record", "record", &o->t, argc, argv, last_value);
    if (rc >= 0)
        return rc;
    if (o->dis_top && !o->dis) {
        sg_error("record: --top N is for --dis NAME's listing");
        return SG_EXIT_USAGE;
    }
    if (sg_writer_pick(o->format, o->output,
                       o->dis ? &sg_output_dis : &sg_output_record,
                       &o->writer))
        return SG_EXIT_USAGE;
    /* Only the trace draws samples in time: other formats need no stamps. */
    o->cfg.timeline = o->writer->id == SG_FMT_CHROMETRACE;
    return sampled_command("record", &o->t, argc, argv);
}

static void
default_output(char *buf, size_t n, const sg_writer *w, pid_t pid)
{
    char stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
    snprintf(buf, n, "spyglass-%d-%s.%s", (int)pid, stamp,
             w->extensions ? w->extensions[0] : "out");
}

static void
print_report(const record_session *s, const sg_profile *p)
{
    record_counts c;
    record_get_counts(s, &c);
    uint64_t taken = c.loop.on_time + c.loop.late;
    fprintf(stderr,
            "spyglass record: %llu ticks in %.2f s (%llu on time, %llu "
            "late, %llu missed), %llu samples from %u process%s; %llu "
            "process reads and %llu thread walks dropped as errors; %llu "
            "memory reads\n",
            (unsigned long long)taken, (double)c.loop.elapsed_ns / 1e9,
            (unsigned long long)c.loop.on_time,
            (unsigned long long)c.loop.late, (unsigned long long)c.loop.missed,
            (unsigned long long)c.stacks, c.processes,
            c.processes == 1 ? "" : "es", (unsigned long long)c.failed_samples,
            (unsigned long long)c.thread_errors, (unsigned long long)c.reads);
    uint64_t due = taken + c.loop.missed;
    fprintf(stderr,
            "spyglass record: %.1f%% of %llu deadlines delivered (%.1f%% on "
            "time) at %s priority; the samples stand for %.3f s of thread "
            "time\n",
            due ? 100.0 * (double)taken / (double)due : 100.0,
            (unsigned long long)due,
            due ? 100.0 * (double)c.loop.on_time / (double)due : 100.0,
            loop_priority_name(&c.loop), (double)c.weight_ns / 1e9);
    loop_say_priority("record", &c.loop);
    strbuf un = STRBUF_INIT;
    record_unfollowed(s, &un);
    for (const char *line = sb_str(&un); *line;) {
        size_t len = strcspn(line, "\n");
        fprintf(stderr, "spyglass record: %.*s\n", (int)len, line);
        line += len + (line[len] == '\n');
    }
    sb_free(&un);
    /* The report is the text writer's, cut to the top ten. */
    writer_opts wo = {0};
    wo.limit = 10;
    strbuf sb = STRBUF_INIT;
    sg_write_sample_report(p, &wo, &sb);
    fputs("\n", stderr);
    fputs(sb_str(&sb), stderr);
    sb_free(&sb);
}

static sg_out_result
write_profile(const record_opts *o, const record_session *s, sg_profile *p,
              pid_t pid)
{
    const sg_writer *w = o->writer;
    char path[256];
    const char *out = o->output;
    if (!out) {
        default_output(path, sizeof path, w, pid);
        out = path;
    }
    const rm_info *in = record_root_info(s);
    if (in) {
        sg_profile_set_meta(p, "python", in->version);
        sg_profile_set_meta(p, "command", in->cmdline);
    }
    record_counts c;
    char num[32];
    record_get_counts(s, &c);
    snprintf(num, sizeof num, "%llu",
             (unsigned long long)(c.failed_samples + c.thread_errors));
    sg_profile_set_meta(p, SG_META_ERRORS, num); /* deadlines: the session */
    writer_opts wo = {0};
    wo.per_thread = o->threads;
    wo.title = "spyglass record";
    wo.flame = o->flame;
    wo.no_source = o->no_source;
    /* The profile first: the report only goes to a stream that may be gone
     * (a closed pipe), and must never cost the data. */
    sg_out_result r = sg_writer_write_file(&sg_output_record, w, p, &wo, out);
    print_report(s, p);
    if (r == SG_OUT_WRITTEN && strcmp(out, "-") != 0)
        fprintf(stderr, "\nspyglass record: wrote %s (%s)\n", out, w->name);
    return r;
}

/* --dis NAME: the listing of NAME's samples per instruction where -o says
 * (default stdout), then the report. Returns an exit status. */
static int
write_dis(const record_opts *o, const record_session *s, sg_profile *p)
{
    const rm_info *in = record_root_info(s);
    strbuf sb = STRBUF_INIT;
    int rc = in ? dis_sampled(p, o->dis, o->dis_top, in, o->writer, &sb)
                : SG_EXIT_FAIL;
    const char *out = o->output ? o->output : "-";
    if (rc == 0) {
        sg_out_result r =
            sg_writer_deliver(&sg_output_dis, o->writer, out, &sb);
        rc = sg_output_status(SG_EXIT_OK, r);
        if (r == SG_OUT_WRITTEN && strcmp(out, "-") != 0)
            fprintf(stderr, "\nspyglass record: wrote %s (%s)\n", out,
                    o->writer->name);
    }
    sb_free(&sb);
    print_report(s, p);
    return rc;
}

/* Nothing was read as Python: with --subprocesses, a launcher whose
 * descendants were none of them Python (or none came), or a stop before
 * the first was read. No profile is written, and it is never a success:
 * one line says what was seen. Returns the exit status. */
static int
record_nothing(sampler_run *r)
{
    record_counts c;
    record_get_counts(r->s, &c);
    int status = r->launched ? sampler_end_child("record", r->pid) : 0;
    if (proc_stop_signal()) {
        fprintf(stderr,
                "spyglass record: stopped by %s before a Python process "
                "was read: nothing was sampled\n",
                proc_signal_name(proc_stop_signal()));
    } else {
        strbuf un = STRBUF_INIT;
        record_unfollowed(r->s, &un);
        size_t len = strcspn(sb_str(&un), "\n");
        sg_error("record: no Python process seen in %u process%s (the "
                 "program and its subprocesses)%s%.*s: nothing was sampled",
                 c.seen, c.seen == 1 ? "" : "es", len ? "; " : "", (int)len,
                 sb_str(&un));
        sb_free(&un);
    }
    sg_instr_table_free(r->p->instr);
    r->p->instr = NULL;
    sampler_free(r);
    return status ? status : SG_EXIT_FAIL;
}

/* Record what o says once the command line is checked: the exit status. */
static int
record_run_opts(record_opts *o)
{
    o->cfg.progress = isatty(2);
    sampler_run r;
    int status = sampler_start("record", o->t.cmd, o->t.pid, &o->cfg, &r);
    if (status >= 0)
        return status;
    /* Before the first sample, which record_run takes. */
    if (o->dis && !(r.p->instr = sg_instr_table_new()))
        sg_die(SG_EXIT_FAIL, "record: out of memory");
    record_run(r.s, r.stop);
    record_counts c;
    record_get_counts(r.s, &c);
    if (c.processes == 0 && !c.ended_early)
        return record_nothing(&r);
    if (o->dis) {
        /* The program's status first; then the listing's. */
        status = r.launched ? sampler_end_child("record", r.pid) : SG_EXIT_OK;
        int rc = write_dis(o, r.s, r.p);
        status = status ? status : rc;
    } else {
        sg_out_result written = write_profile(o, r.s, r.p, r.pid);
        /* The program's status, or (for an attached recording, which the
         * user may stop) success; then whether the profile reached -o. */
        status = sg_output_status(
            r.launched ? sampler_end_child("record", r.pid) : SG_EXIT_OK,
            written);
    }
    sg_instr_table_free(r.p->instr);
    r.p->instr = NULL;
    sampler_free(&r);
    return status;
}

int
cmd_record(int argc, char **argv)
{
    record_opts o;
    proc_hold_stop_signals(); /* before the launch, via its probe */
    int rc = parse(argc, argv, &o);
    if (rc < 0)
        rc = record_run_opts(&o);
    free(o.t.python_cmd);
    return rc;
}
