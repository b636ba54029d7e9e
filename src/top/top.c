/* top.c -- `spyglass top`'s viewer: keys, refreshes, frames; see top.h.
 *
 * Everything runs on the sampling thread, between ticks: the sampler calls
 * the viewer about every WATCH_NS, which reads the keys without waiting
 * and draws only when something changed. Nothing it does can delay the
 * target, which is read, never stopped; a slow frame only makes the
 * sampler's own deadlines late, which the header reports.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/output.h"
#include "proc/proc.h"
#include "sampler/launch.h"
#include "top/procstat.h"
#include "top/screen.h"
#include "top/table.h"
#include "top/term.h"
#include "top/top.h"

#define WATCH_NS 20000000u          /* keys are read this often */
#define FIRST_REFRESH_NS 250000000u /* the first frame comes sooner */
#define PLAIN_ROWS 30               /* table rows of a plain snapshot */
#define QUIT_GRACE_MS 2000          /* a program told to stop has this long */

const sg_output top_output = {"top", SG_DATA_SAMPLED, "flamegraph", false,
                              false};

/* The sampler's counters at the last refresh, for the window's figures. */
typedef struct marks {
    uint64_t ticks, gil, active, late, deadlines; /* late: missed */
    uint64_t stacks;
    uint64_t elapsed_ns;
    uint64_t cpu_ns, at_ns;
} marks;

typedef struct viewer {
    const top_options *o;
    sampler_run *run;
    top_table table;
    top_view view;
    top_view_spec spec;
    top_screen scr;
    top_header h;
    char filter[1024];
    char input[1024]; /* the filter or file name being typed */
    enum { EDIT_NONE, EDIT_FILTER, EDIT_WRITE } editing;
    bool quit, dirty, ended;
    bool skip_seq;         /* in the middle of an escape sequence */
    uint64_t next_refresh; /* sg_now_ns() of the next refresh */
    marks last;
    record_counts base; /* at the last reset (R) */
    const char **short_files;
    char status[160];
    char note[1200]; /* what the last `w` did, until the next key */
    char thread_label[300];
    strbuf frame;
} viewer;

static uint64_t
ticks_of(const record_counts *c)
{
    return c->loop.on_time + c->loop.late;
}

static double
pct(uint64_t part, uint64_t whole)
{
    return whole ? 100.0 * (double)part / (double)whole : 0;
}

/* Push a point on a trend, the oldest dropped when full. */
static void
push_trend(double *v, size_t *n, double x, bool shift)
{
    if (shift && *n == TOP_TREND)
        memmove(v, v + 1, (TOP_TREND - 1) * sizeof *v);
    else if (shift)
        (*n)++;
    v[*n - 1] = x;
}

/* The process's CPU and memory over the window. */
static void
read_resources(viewer *v, uint64_t now)
{
    top_procstat ps;
    if (top_procstat_read(v->run->pid, v->o->cfg.subprocesses, &ps) != 0)
        return; /* ended: the last figures stay */
    if (v->last.at_ns && now > v->last.at_ns && ps.cpu_ns >= v->last.cpu_ns) {
        v->h.cpu_pct = 100.0 * (double)(ps.cpu_ns - v->last.cpu_ns) /
                       (double)(now - v->last.at_ns);
        size_t n = v->h.n_trend;
        push_trend(v->h.cpu_trend, &n, v->h.cpu_pct, true);
        n = v->h.n_trend;
        push_trend(v->h.rss_trend, &n, (double)ps.rss, true);
        v->h.n_trend = n;
    }
    v->h.rss = ps.rss;
    v->last.cpu_ns = ps.cpu_ns;
    v->last.at_ns = now;
}

/* The header's figures from the sampler's counters. */
static void
read_counts(viewer *v)
{
    record_counts c;
    record_get_counts(v->run->s, &c);
    uint64_t ticks = ticks_of(&c), deadlines = ticks + c.loop.missed;
    uint64_t late = c.loop.missed;
    uint64_t dt = ticks - v->last.ticks;
    if (dt) {
        v->h.gil_pct = pct(c.gil_ticks - v->last.gil, dt);
        v->h.active_pct = pct(c.active_ticks - v->last.active, dt);
    }
    v->h.late_pct = pct(late - v->last.late, deadlines - v->last.deadlines);
    v->last.ticks = ticks;
    v->last.gil = c.gil_ticks;
    v->last.active = c.active_ticks;
    v->last.late = late;
    v->last.deadlines = deadlines;
    v->h.samples = c.stacks - v->base.stacks;
    /* The table counts time: the window's samples are the sampler's. */
    v->h.win_samples = c.stacks - v->last.stacks;
    v->last.stacks = c.stacks;
    v->h.errors = c.failed_samples + c.thread_errors -
                  (v->base.failed_samples + v->base.thread_errors);
    v->h.win_s = (double)(c.loop.elapsed_ns - v->last.elapsed_ns) / 1e9;
    v->last.elapsed_ns = c.loop.elapsed_ns;
    v->h.elapsed_s = (double)c.loop.elapsed_ns / 1e9;
    v->h.threads = c.threads ? c.threads : v->h.threads;
    v->h.processes = c.live ? c.live : v->h.processes;
}

/* A new window: the samples since the last refresh. */
static void
refresh(viewer *v, bool resources)
{
    top_table_update(&v->table, v->run->p);
    read_counts(v);
    if (resources) /* not of a program that ended: nothing left to read */
        read_resources(v, sg_now_ns());
    free(v->short_files);
    v->short_files = sg_writer_short_files(v->run->p); /* NULL: full paths */
    v->dirty = true;
}

/* The thread shown, as the header names it. */
static const char *
thread_label(viewer *v)
{
    if (v->spec.thread < 0 || (size_t)v->spec.thread >= v->table.n_threads)
        return NULL;
    const top_thread *th = &v->table.threads[v->spec.thread];
    if (th->pid)
        snprintf(v->thread_label, sizeof v->thread_label, "%s (pid %llu)",
                 th->name, (unsigned long long)th->pid);
    else
        snprintf(v->thread_label, sizeof v->thread_label, "%s", th->name);
    return v->thread_label;
}

/* Draw the current frame; false when the terminal (or pipe) is gone. */
static bool
draw(viewer *v)
{
    v->dirty = false;
    v->spec.filter = v->filter;
    top_table_view(&v->table, v->run->p, &v->spec, &v->view);
    v->h.thread = thread_label(v);
    v->h.filter = v->filter[0] ? v->filter : NULL;
    v->h.status = v->status[0] ? v->status : NULL;
    v->h.note = v->note[0] ? v->note : NULL;
    v->scr.input = v->editing ? v->input : NULL;
    v->scr.prompt = v->editing == EDIT_WRITE ? "Write to: " : "Filter: ";
    v->scr.sort = v->spec.sort;
    v->scr.lines = v->spec.lines;
    if (!v->scr.plain)
        top_term_size(&v->scr.rows, &v->scr.cols);
    sb_clear(&v->frame);
    top_render(&v->frame, &v->scr, &v->h, &v->view, v->run->p, v->short_files);
    if (sb_failed(&v->frame))
        sg_die(SG_EXIT_FAIL, "top: out of memory");
    return top_term_write(&v->frame) == 0;
}

/* Drop the last character (a whole UTF-8 sequence) of s. */
static void
drop_last_char(char *s)
{
    size_t n = strlen(s);
    while (n > 0 && ((unsigned char)s[n - 1] & 0xc0) == 0x80)
        n--;
    if (n > 0)
        n--;
    s[n] = '\0';
}

/* Set the profile's metadata as record's end does, for a writer. */
static void
set_meta(viewer *v)
{
    const rm_info *in = record_root_info(v->run->s);
    if (in) {
        sg_profile_set_meta(v->run->p, "python", in->version);
        sg_profile_set_meta(v->run->p, "command", in->cmdline);
    }
    record_counts c;
    record_get_counts(v->run->s, &c);
    char n[32];
    snprintf(n, sizeof n, "%llu", (unsigned long long)ticks_of(&c));
    sg_profile_set_meta(v->run->p, SG_META_TICKS, n);
    snprintf(n, sizeof n, "%.2f", (double)c.loop.elapsed_ns / 1e9);
    sg_profile_set_meta(v->run->p, SG_META_DURATION, n);
}

/* Everything sampled since the start (not since R), through the writer
 * registry as record writes it. */
static sg_out_result
write_profile(viewer *v, const sg_writer *w, const char *path)
{
    set_meta(v);
    writer_opts wo = {0};
    wo.per_thread = v->o->threads;
    wo.title = "spyglass top";
    return sg_writer_write_file(&top_output, w, v->run->p, &wo, path);
}

/* `w`: everything sampled so far, written to path while the view goes
 * on, in the format its extension names (-o's own -f for -o's path). The
 * note says what happened; a failed delivery's message is held with
 * stderr until the terminal is back. */
static void
write_now(viewer *v, const char *path)
{
    char msg[768];
    const sg_writer *w = NULL;
    const char *fmt = NULL;
    if (v->o->output && strcmp(path, v->o->output) == 0)
        fmt = v->o->writer->name;
    if (!path[0] || strcmp(path, "-") == 0)
        snprintf(msg, sizeof msg, "give a file name (stdout is the view)");
    else if (sg_output_check(path, msg, sizeof msg) == 0)
        sg_writer_pick_msg(fmt, path, &top_output, &w, msg, sizeof msg);
    if (!w) {
        snprintf(v->note, sizeof v->note, "not written: %s", msg);
        return;
    }
    record_counts c;
    record_get_counts(v->run->s, &c);
    if (write_profile(v, w, path) == SG_OUT_WRITTEN)
        snprintf(v->note, sizeof v->note, "wrote %s (%s, %llu samples)", path,
                 w->name, (unsigned long long)c.stacks);
    else
        snprintf(v->note, sizeof v->note,
                 "%s not written: the reason is printed after q", path);
}

/* A key while the filter or a file name is typed. */
static void
edit_key(viewer *v, unsigned char k)
{
    size_t n = strlen(v->input);
    if (k == '\r' || k == '\n') {
        if (v->editing == EDIT_WRITE)
            write_now(v, v->input);
        else
            snprintf(v->filter, sizeof v->filter, "%s", v->input);
        v->editing = EDIT_NONE;
    } else if (k == 0x7f || k == '\b') {
        drop_last_char(v->input);
    } else if (k == 0x15) { /* Ctrl-U */
        v->input[0] = '\0';
    } else if (k >= 0x20 && k != 0x7f && n + 1 < sizeof v->input) {
        v->input[n] = (char)k;
        v->input[n + 1] = '\0';
    }
}

static void
reset(viewer *v)
{
    top_table_reset(&v->table);
    record_get_counts(v->run->s, &v->base);
    v->h.samples = v->h.errors = 0;
}

/* A key in the table view. */
static void
view_key(viewer *v, unsigned char k)
{
    v->note[0] = '\0';
    switch (k) {
    case '1':
    case '2':
    case '3':
    case '4':
        v->spec.sort = k - '0';
        break;
    case 'L':
    case 'l':
        v->spec.lines = !v->spec.lines;
        break;
    case 'R':
    case 'r':
        reset(v);
        break;
    case 'P':
    case 'p':
    case ' ':
        v->h.paused = !v->h.paused;
        break;
    case 't':
    case 'T':
        v->spec.thread = v->spec.thread + 1 >= (int)v->table.n_threads
                             ? -1
                             : v->spec.thread + 1;
        break;
    case '/':
        v->editing = EDIT_FILTER;
        snprintf(v->input, sizeof v->input, "%s", v->filter);
        break;
    case 'w':
    case 'W':
        v->editing = EDIT_WRITE;
        if (v->o->output)
            snprintf(v->input, sizeof v->input, "%s", v->o->output);
        else
            snprintf(v->input, sizeof v->input, "spyglass-top-%d.svg",
                     (int)v->run->pid);
        break;
    case '?':
    case 'h':
        v->scr.help = true;
        break;
    case 'q':
    case 'Q':
        v->quit = true;
        break;
    default:
        return;
    }
}

static void
keys(viewer *v)
{
    char buf[64];
    size_t n;
    while ((n = top_term_keys(buf, sizeof buf)) > 0) {
        for (size_t i = 0; i < n; i++) {
            unsigned char k = (unsigned char)buf[i];
            /* An escape sequence (arrows, function keys) ends at its
             * final byte; a lone Esc cancels the filter being typed. */
            if (v->skip_seq) {
                v->skip_seq = !(k >= 0x40 && k <= 0x7e && k != '[');
                continue;
            }
            if (k == 0x1b) {
                if (i + 1 < n && (buf[i + 1] == '[' || buf[i + 1] == 'O')) {
                    v->skip_seq = true;
                    i++;
                } else {
                    v->editing = EDIT_NONE;
                }
                v->dirty = true;
                continue;
            }
            v->dirty = true;
            if (v->editing)
                edit_key(v, k);
            else if (v->scr.help) /* any key closes the help; q quits */
                v->scr.help = false, v->quit |= k == 'q' || k == 'Q';
            else
                view_key(v, k);
        }
    }
}

/* Called by the sampler between ticks (record_config.watch). */
static void
watch(void *ctx, bool ended)
{
    viewer *v = ctx;
    if (ended) { /* the last samples, before the profile's ids change */
        refresh(v, false);
        return;
    }
    if (!v->scr.plain) {
        keys(v);
        v->dirty |= top_term_resized();
    }
    uint64_t now = sg_now_ns();
    if (now >= v->next_refresh) {
        v->next_refresh = now + (uint64_t)(v->o->delay_s * 1e9);
        if (!v->h.paused)
            refresh(v, true);
    }
    if ((v->dirty && !draw(v)) || v->quit) {
        v->quit = true;
        *v->run->stop = 1;
    }
}

/* The program's end, as the header says it. */
static void
ended_status(viewer *v, int code)
{
    /* A log has no q: its last snapshot only says what happened. */
    const char *stays = v->scr.plain ? "" : "; the last data stays until q";
    if (!v->run->launched)
        snprintf(v->status, sizeof v->status, "process %d ended%s",
                 (int)v->run->pid, stays);
    else if (code > 128)
        snprintf(v->status, sizeof v->status,
                 "the program was ended by signal %d%s", code - 128, stays);
    else
        snprintf(v->status, sizeof v->status,
                 "the program exited with status %d%s", code, stays);
}

/* Tell a launched program that still runs to stop (as Ctrl-C would), kill
 * it if it does not within the grace period, and reap it. */
static int
stop_program(pid_t pid)
{
    if (!proc_exited(pid)) {
        kill(pid, SIGINT);
        for (int ms = 0; ms < QUIT_GRACE_MS && !proc_exited(pid); ms += 10) {
            struct timespec ts = {0, 10000000};
            nanosleep(&ts, NULL);
        }
        if (!proc_exited(pid))
            kill(pid, SIGKILL);
    }
    return sampler_wait_child(pid);
}

/* After the program ended: the last frame stays, keys still work, until q
 * or a stop signal. */
static void
linger(viewer *v)
{
    v->dirty = true;
    while (!v->quit && !*v->run->stop) {
        keys(v);
        v->dirty |= top_term_resized();
        if (v->dirty && !draw(v))
            break;
        top_term_wait(200);
    }
}

static void
viewer_init(viewer *v, const top_options *o, sampler_run *run)
{
    memset(v, 0, sizeof *v);
    v->o = o;
    v->run = run;
    top_table_init(&v->table);
    v->spec.sort = 3; /* OwnTime, as py-spy */
    v->spec.thread = -1;
    v->spec.split_threads = o->threads;
    v->scr.plain = !top_term_usable();
    v->scr.colour = !v->scr.plain && top_term_colour();
    v->scr.utf8 = top_term_utf8();
    v->scr.rows = PLAIN_ROWS + 6;
    v->h.cpu_pct = v->h.gil_pct = -1;
    v->h.rate_hz = o->cfg.rate_hz;
    v->h.subprocesses = o->cfg.subprocesses;
    v->h.pid = run->pid;
    v->frame = (strbuf)STRBUF_INIT;
    /* On a terminal the first frame comes sooner; a log gets one per
     * delay. */
    uint64_t first = (uint64_t)(o->delay_s * 1e9);
    if (!v->scr.plain && first > FIRST_REFRESH_NS)
        first = FIRST_REFRESH_NS;
    v->next_refresh = sg_now_ns() + first;
}

static void
viewer_free(viewer *v)
{
    top_table_free(&v->table);
    top_view_free(&v->view);
    free(v->short_files);
    sb_free(&v->frame);
}

int
top_main(const top_options *o)
{
    sampler_run run;
    viewer v;
    record_config cfg = o->cfg;
    cfg.status = true; /* the header's Active share, even with --idle */
    cfg.watch = watch;
    cfg.watch_ctx = &v;
    cfg.watch_ns = WATCH_NS;
    int status = sampler_start("top", o->cmd, o->pid, &cfg, &run);
    if (status >= 0)
        return status;
    viewer_init(&v, o, &run);
    const rm_info *in = record_root_info(run.s);
    v.h.command = in ? in->cmdline : (o->cmd ? o->cmd[0] : "");
    v.h.version = in ? in->version : "?";
    if (!v.scr.plain && top_term_open() != 0)
        v.scr.plain = true;
    v.scr.no_keys = !top_term_has_keys();
    record_run(run.s, run.stop);
    status = SG_EXIT_OK;
    /* q sets the stop flag too: a signal is a stop that q did not ask. */
    bool signalled = !v.quit && proc_stop_signal() != 0;
    if (!v.quit && !signalled) { /* the program ended on its own */
        status = run.launched ? sampler_wait_child(run.pid) : SG_EXIT_OK;
        ended_status(&v, status);
        run.launched = false; /* reaped */
        if (v.scr.plain)
            draw(&v);
        else
            linger(&v);
    } else if (v.scr.plain && !v.quit) {
        draw(&v); /* the last snapshot, for the log */
    }
    if (run.launched)
        status = v.quit ? (stop_program(run.pid), SG_EXIT_OK)
                        : sampler_wait_child(run.pid);
    top_term_close();
    /* Said once the screen is given back, where it stays readable. */
    record_counts rc;
    record_get_counts(run.s, &rc);
    loop_say_priority("top", &rc.loop);
    sg_out_result written = SG_OUT_WRITTEN;
    if (o->writer) {
        written = write_profile(&v, o->writer, o->output);
        if (written == SG_OUT_WRITTEN)
            fprintf(stderr, "spyglass top: wrote %s (%s)\n", o->output,
                    o->writer->name);
    }
    viewer_free(&v);
    sampler_free(&run);
    return sg_output_status(status, written);
}
