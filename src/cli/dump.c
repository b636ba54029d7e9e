/* dump.c -- `spyglass dump`: print every thread's Python stack once.
 *
 * A thin user of the remote reader (src/remote/remote.h): open, one sample,
 * print, close. The text form follows py-spy dump; the JSON form carries
 * the same data. Hidden options for tests and benchmarks: --repeat N takes
 * N samples (the last one is printed), --interval-us N sleeps between them,
 * --no-status skips the /proc thread states, and --stats reports reads,
 * cache use, time per sample and why thread walks were dropped on stderr.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/opts.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/json.h"
#include "common/strbuf.h"
#include "proc/tree.h"
#include "remote/remote.h"
#include "writers/writers.h"

/* How long to keep trying a process whose Python is still starting. */
#define OPEN_WAIT_MS 2000

typedef struct dump_opts {
    long pid;
    const char *format;
    const char *output;
    long repeat;
    long interval_us;
    bool stats;
    bool no_status;
} dump_opts;

static void
dump_usage(void)
{
    printf("usage: spyglass dump -p PID [-f text|json] [-o FILE]\n\n"
           "Print the Python stack of every thread of a running CPython "
           "3.8-3.13\nprocess, innermost frame first, without stopping or "
           "changing it.\n\n"
           "  -p, --pid PID       the process to read\n"
           "  -f, --format F      text or json (default: json for -o "
           "*.json, else text)\n"
           "  -o, --output FILE   write to FILE instead of stdout\n"
           "  -h, --help          show this help\n\n"
           "Each thread shows its id, native id, name where known, and "
           "whether it is\nactive (on CPU) or idle and holds the GIL "
           "(+gil). Reading another process\nneeds ptrace permission: the "
           "same user with kernel.yama.ptrace_scope=0,\nor root / "
           "CAP_SYS_PTRACE.\n");
}

static const struct option long_opts[] = {
    {"pid", required_argument, NULL, 'p'},
    {"format", required_argument, NULL, 'f'},
    {"output", required_argument, NULL, 'o'},
    {"repeat", required_argument, NULL, 'R'},
    {"stats", no_argument, NULL, 'S'},
    {"interval-us", required_argument, NULL, 'I'},
    {"no-status", no_argument, NULL, 'N'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* What a thread's walk error means, in the user's terms. */
static const char *
torn_reason(int e)
{
    switch (e) {
    case ELOOP:
        return "torn read: the frame chain loops (frames freed "
               "and reused while read)";
    case EILSEQ:
        return "torn read: an object changed type while read";
    case EFAULT:
        return "torn read: memory unmapped while read";
    case ESTALE:
        return "torn read: a frame returned while read";
    case EAGAIN:
        return "torn read: the stack kept changing while read (never "
               "read in one piece)";
    case ESRCH:
        return "the process exited";
    default:
        return strerror(e);
    }
}

static const char *
status_of(const rm_thread *t)
{
    if (t->holds_gil)
        return t->active ? "active+gil" : "idle+gil";
    return t->active ? "active" : "idle";
}

static void
print_text(strbuf *sb, remote *r, const rm_sample *s, const rm_stats *st)
{
    const rm_info *in = remote_info(r);
    sb_printf(sb, "Process %d: ", (int)in->pid);
    sg_writer_put_name(sb, in->cmdline);
    sb_printf(sb, "\nPython v%s (", in->version);
    sg_writer_put_name(sb, in->exe);
    sb_puts(sb, ")\n");
    for (size_t i = 0; i < s->n_threads; i++) {
        const rm_thread *t = &s->threads[i];
        sb_printf(sb, "\nThread 0x%llX", (unsigned long long)t->thread_id);
        if (t->native_id)
            sb_printf(sb, " (tid %llu)", (unsigned long long)t->native_id);
        sb_printf(sb, " (%s)", status_of(t));
        if (t->name) {
            sb_puts(sb, ": \"");
            sg_writer_put_name(sb, t->name);
            sb_putc(sb, '"');
        } else if (t->is_main)
            sb_puts(sb, ": main thread");
        if (!t->main_interp)
            sb_printf(sb, " [subinterpreter 0x%llx]",
                      (unsigned long long)t->interp);
        sb_putc(sb, '\n');
        for (size_t k = 0; k < t->n_frames; k++) {
            const rm_frame *f = &s->frames[t->first_frame + k];
            const sg_func *fn = remote_func(r, f->func);
            if (!fn) {
                sb_puts(sb, "    <unreadable frame>\n");
                continue;
            }
            /* Names are the target's: any character, escapes too. */
            sb_puts(sb, "    ");
            sg_writer_put_name(sb, fn->name);
            if (fn->file[0]) {
                sb_puts(sb, " (");
                sg_writer_put_name(sb, fn->file);
                if (f->line >= 0)
                    sb_printf(sb, ":%d", f->line);
                sb_putc(sb, ')');
            }
            sb_putc(sb, '\n');
        }
        if (t->truncated && !t->elided)
            sb_printf(sb, "    ... (stack cut: no root within %u frames)\n",
                      RM_MAX_WALK);
        if (t->error)
            sb_printf(sb, "    <stack incomplete: %s>\n",
                      torn_reason(t->error));
    }
    if (st->thread_errors || st->samples_failed)
        sb_printf(sb, "\n%llu thread read error(s), %llu dropped sample(s)\n",
                  (unsigned long long)st->thread_errors,
                  (unsigned long long)st->samples_failed);
}

static void
print_json(strbuf *sb, remote *r, const rm_sample *s, const rm_stats *st)
{
    const rm_info *in = remote_info(r);
    json_writer j;
    json_init(&j, sb, true);
    json_begin_object(&j);
    json_key(&j, "pid");
    json_int(&j, in->pid);
    json_key(&j, "command_line");
    json_string(&j, in->cmdline);
    json_key(&j, "python_version");
    json_string(&j, in->version);
    json_key(&j, "executable");
    json_string(&j, in->exe);
    json_key(&j, "libpython");
    json_string(&j, in->elf_path);
    json_key(&j, "threads");
    json_begin_array(&j);
    for (size_t i = 0; i < s->n_threads; i++) {
        const rm_thread *t = &s->threads[i];
        json_begin_object(&j);
        json_key(&j, "thread_id");
        json_uint(&j, t->thread_id);
        json_key(&j, "native_id");
        if (t->native_id)
            json_uint(&j, t->native_id);
        else
            json_null(&j);
        json_key(&j, "name");
        if (t->name)
            json_string(&j, t->name);
        else
            json_null(&j);
        json_key(&j, "is_main");
        json_bool(&j, t->is_main);
        json_key(&j, "interpreter");
        json_uint(&j, t->interp);
        json_key(&j, "main_interpreter");
        json_bool(&j, t->main_interp);
        json_key(&j, "status");
        json_string(&j, status_of(t));
        json_key(&j, "active");
        json_bool(&j, t->active);
        json_key(&j, "holds_gil");
        json_bool(&j, t->holds_gil);
        json_key(&j, "truncated");
        json_bool(&j, t->truncated);
        json_key(&j, "elided");
        json_uint(&j, t->elided);
        json_key(&j, "error");
        if (t->error)
            json_string(&j, torn_reason(t->error));
        else
            json_null(&j);
        json_key(&j, "frames");
        json_begin_array(&j);
        for (size_t k = 0; k < t->n_frames; k++) {
            const rm_frame *f = &s->frames[t->first_frame + k];
            const sg_func *fn = remote_func(r, f->func);
            json_begin_object(&j);
            json_key(&j, "name");
            if (fn)
                json_string(&j, fn->name);
            else
                json_null(&j);
            json_key(&j, "filename");
            if (fn)
                json_string(&j, fn->file);
            else
                json_null(&j);
            json_key(&j, "line");
            if (f->line >= 0)
                json_int(&j, f->line);
            else
                json_null(&j);
            json_key(&j, "first_line");
            if (fn)
                json_int(&j, fn->first_line);
            else
                json_null(&j);
            json_end_object(&j);
        }
        json_end_array(&j);
        json_end_object(&j);
    }
    json_end_array(&j);
    json_key(&j, "errors");
    json_uint(&j, st->thread_errors + st->samples_failed);
    json_end_object(&j);
    sb_putc(sb, '\n');
}

/* A launcher (shell, uv, a wrapper) is not Python, but the process the
 * user meant may be below it: the first descendant that is. */
static pid_t
python_child(pid_t pid)
{
    proc_list kids = {0};
    pid_t found = 0;
    if (proc_descendants(pid, &kids) == 0) {
        for (size_t i = 0; i < kids.n && !found; i++) {
            rm_error e;
            remote *r = remote_open(kids.v[i].pid, &e);
            if (r) {
                remote_close(r);
                found = kids.v[i].pid;
            }
        }
    }
    proc_list_free(&kids);
    return found;
}

static int
parse(int argc, char **argv, dump_opts *o)
{
    int c;
    opts_reset();
    while ((c = getopt_long(argc, argv, "+:p:f:o:h", long_opts, NULL)) != -1) {
        switch (c) {
        case 'p':
            if (!opts_long("dump", "--pid", optarg, 1, INT_MAX, &o->pid))
                return SG_EXIT_USAGE;
            break;
        case 'f':
            o->format = optarg;
            break;
        case 'o':
            o->output = optarg;
            break;
        case 'R':
            if (!opts_long("dump", "--repeat", optarg, 1, 100000000,
                           &o->repeat))
                return SG_EXIT_USAGE;
            break;
        case 'S':
            o->stats = true;
            break;
        case 'N':
            o->no_status = true;
            break;
        case 'I':
            if (!opts_long("dump", "--interval-us", optarg, 0, 10000000,
                           &o->interval_us))
                return SG_EXIT_USAGE;
            break;
        case 'h':
            dump_usage();
            return -1;
        default:
            opts_report("dump", c, argv);
            return SG_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        sg_error("dump: unexpected argument '%s' (see 'spyglass dump "
                 "--help')",
                 argv[optind]);
        return SG_EXIT_USAGE;
    }
    const sg_writer *w;
    if (sg_writer_pick(o->format, o->output, &sg_output_dump, &w))
        return SG_EXIT_USAGE;
    o->format = w->name; /* "text" or "json" */
    if (!o->pid) {
        sg_error("dump: --pid PID is required (see 'spyglass dump --help')");
        return SG_EXIT_USAGE;
    }
    return 0;
}

int
cmd_dump(int argc, char **argv)
{
    dump_opts o = {0, NULL, "-", 1, 0, false, false};
    int rc = parse(argc, argv, &o);
    if (rc)
        return rc < 0 ? SG_EXIT_OK : rc;
    rm_error err;
    remote *r = remote_open_wait((pid_t)o.pid, OPEN_WAIT_MS, &err);
    if (!r) {
        pid_t child = err.code == RM_ENOTPY ? python_child((pid_t)o.pid) : 0;
        if (child)
            sg_error("%s; its child %d runs Python: spyglass dump --pid %d",
                     err.msg, (int)child, (int)child);
        else
            sg_error("%s", err.msg);
        return SG_EXIT_FAIL;
    }
    if (o.no_status)
        remote_set_thread_status(r, false);
    rm_sample s = {0};
    int ok = 0;
    rm_stats st0 = {0};
    if (o.repeat == 1 && !o.stats) {
        /* A warm-up sample: a cold walk makes many reads one after the
         * other, which a thread calling and returning fast can tear; the
         * sample printed then replays the blocks it found in one read,
         * nearly atomic. Its errors are not the printed sample's. */
        remote_sample(r, &s, NULL);
        remote_stats(r, &st0);
    }
    uint64_t t0 = sg_now_ns();
    uint64_t slept = 0;
    for (long i = 0; i < o.repeat; i++) {
        if (remote_sample(r, &s, &err) == 0)
            ok++;
        else if (err.code == RM_ENOPROC)
            break;
        if (o.interval_us && i + 1 < o.repeat) {
            uint64_t z = sg_now_ns();
            struct timespec ts = {o.interval_us / 1000000,
                                  (o.interval_us % 1000000) * 1000};
            nanosleep(&ts, NULL);
            slept += sg_now_ns() - z;
        }
    }
    uint64_t t1 = sg_now_ns() - slept;
    rm_stats st;
    remote_stats(r, &st);
    st.thread_errors -= st0.thread_errors;
    st.samples_failed -= st0.samples_failed;
    if (o.stats) {
        size_t frames = s.n_frames;
        fprintf(stderr,
                "stats: samples=%llu failed=%llu thread_errors=%llu "
                "dropped_moving=%llu dropped_invalid=%llu "
                "dropped_unreadable=%llu retries=%llu small_proofs=%llu "
                "list_retries=%llu lists_cut=%llu "
                "threads=%zu frames=%zu reads=%llu bytes=%llu "
                "read_failures=%llu cache_hits=%llu proc_reads=%llu "
                "code_hits=%llu code_misses=%llu code_invalidated=%llu "
                "us_per_sample=%.2f reads_per_sample=%.2f "
                "syscalls_per_sample=%.2f\n",
                (unsigned long long)st.samples,
                (unsigned long long)st.samples_failed,
                (unsigned long long)st.thread_errors,
                (unsigned long long)st.dropped_moving,
                (unsigned long long)st.dropped_invalid,
                (unsigned long long)st.dropped_unreadable,
                (unsigned long long)st.retries,
                (unsigned long long)st.small_proofs,
                (unsigned long long)st.list_retries,
                (unsigned long long)st.lists_cut, s.n_threads, frames,
                (unsigned long long)st.reads, (unsigned long long)st.bytes,
                (unsigned long long)st.read_failures,
                (unsigned long long)st.cache_hits,
                (unsigned long long)st.proc_reads,
                (unsigned long long)st.code_hits,
                (unsigned long long)st.code_misses,
                (unsigned long long)st.code_invalidated,
                (double)(t1 - t0) / 1e3 / (double)st.samples,
                (double)st.reads / (double)st.samples,
                (double)(st.reads + st.proc_reads) / (double)st.samples);
    }
    if (ok)
        remote_thread_names(r, &s);
    if (!ok) {
        sg_error("%s", err.msg);
        rm_sample_free(&s);
        remote_close(r);
        return SG_EXIT_FAIL;
    }
    strbuf sb = STRBUF_INIT;
    if (!strcmp(o.format, "json"))
        print_json(&sb, r, &s, &st);
    else
        print_text(&sb, r, &s, &st);
    rc = sg_output_status(SG_EXIT_OK,
                          sg_writer_deliver(&sg_output_dump,
                                            sg_writer_by_name(o.format),
                                            o.output, &sb));
    sb_free(&sb);
    rm_sample_free(&s);
    remote_close(r);
    return rc;
}
