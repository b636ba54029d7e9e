/* screen.c -- render one frame of top; see screen.h. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "top/screen.h"

#define SGR_RESET "\033[0m"
#define SGR_BOLD "\033[1m"
#define SGR_REVERSE "\033[7m"
#define SGR_RED "\033[31m"
#define SGR_GREEN "\033[32m"
#define SGR_YELLOW "\033[33m"

/* The frame being written: lines left, cells left on the line. */
typedef struct frame {
    strbuf *sb;
    const top_screen *scr;
    int line;  /* lines written */
    int left;  /* cells left on this line; -1: no limit (plain) */
    bool open; /* a line is being written */
} frame;

/* Cells a code point takes: East Asian wide ranges 2, others 1. */
static int
cell_width(uint32_t cp)
{
    return (cp >= 0x1100 && cp <= 0x115f) || (cp >= 0x2e80 && cp <= 0xa4cf) ||
                   (cp >= 0xac00 && cp <= 0xd7a3) ||
                   (cp >= 0xf900 && cp <= 0xfaff) ||
                   (cp >= 0xfe30 && cp <= 0xfe4f) ||
                   (cp >= 0xff00 && cp <= 0xff60) ||
                   (cp >= 0xffe0 && cp <= 0xffe6) ||
                   (cp >= 0x1f300 && cp <= 0x1f64f) ||
                   (cp >= 0x20000 && cp <= 0x3fffd)
               ? 2
               : 1;
}

/* Decode one UTF-8 sequence at s: its length, or 0 when malformed. */
static size_t
utf8_decode(const unsigned char *s, uint32_t *cp)
{
    size_t n = s[0] >= 0xf0 && s[0] <= 0xf4   ? 4
               : s[0] >= 0xe0                 ? 3
               : s[0] >= 0xc2 && s[0] <= 0xdf ? 2
                                              : 0;
    if (n == 0)
        return 0;
    uint32_t c = s[0] & (0x7f >> n);
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        c = c << 6 | (s[i] & 0x3f);
    }
    /* Overlong forms, surrogates and beyond U+10FFFF are malformed. */
    if ((n == 3 && c < 0x800) || (n == 4 && (c < 0x10000 || c > 0x10ffff)) ||
        (c >= 0xd800 && c <= 0xdfff))
        return 0;
    *cp = c;
    return n;
}

int
top_put_cells(strbuf *sb, const char *s, int max, bool utf8)
{
    int cells = 0;
    const unsigned char *u = (const unsigned char *)s;
    while (*u && (max < 0 || cells < max)) {
        if (*u < 0x80) {
            sb_putc(sb, *u >= 0x20 && *u != 0x7f ? (char)*u : '?');
            u++;
            cells++;
            continue;
        }
        uint32_t cp = 0;
        size_t n = utf8_decode(u, &cp);
        if (n == 0) {
            sb_putc(sb, '?');
            u++;
            cells++;
            continue;
        }
        int w = cell_width(cp);
        if (max >= 0 && cells + w > max)
            break;
        if (utf8 && cp >= 0xa0)
            sb_append(sb, u, n);
        else
            for (int i = 0; i < w; i++)
                sb_putc(sb, '?');
        u += n;
        cells += w;
    }
    return cells;
}

static bool
line_begin(frame *f, const char *sgr)
{
    if (f->line >= f->scr->rows && !f->scr->plain)
        return false;
    if (f->line > 0)
        sb_puts(f->sb, f->scr->plain ? "\n" : "\r\n");
    f->left = f->scr->plain ? -1 : f->scr->cols;
    f->open = true;
    if (sgr && !f->scr->plain)
        sb_puts(f->sb, sgr);
    return true;
}

static void
put(frame *f, const char *s)
{
    if (!f->open)
        return;
    int n = top_put_cells(f->sb, s, f->left, f->scr->utf8);
    if (f->left >= 0)
        f->left -= n;
}

static void putf(frame *f, const char *fmt, ...) SG_PRINTF(2, 3);

static void
putf(frame *f, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    put(f, buf);
}

/* An attribute for the next cells (not in a plain frame). */
static void
attr(frame *f, const char *sgr)
{
    if (f->open && !f->scr->plain)
        sb_puts(f->sb, sgr);
}

static void
colour(frame *f, const char *sgr)
{
    if (f->scr->colour)
        attr(f, sgr);
}

static void
line_end(frame *f)
{
    if (!f->open)
        return;
    if (!f->scr->plain) {
        sb_puts(f->sb, SGR_RESET);
        /* A full line needs no clearing; clearing there would erase its
         * last cell on terminals that keep the cursor on it. */
        if (f->left > 0)
            sb_puts(f->sb, "\033[K");
    }
    f->open = false;
    f->line++;
}

static void
fmt_time(char *buf, size_t n, double s)
{
    /* py-spy's: fewer decimals as the figure grows. */
    if (s > 1000)
        snprintf(buf, n, "%.0fs", s);
    else if (s >= 100)
        snprintf(buf, n, "%.1fs", s);
    else if (s >= 1)
        snprintf(buf, n, "%.2fs", s);
    else
        snprintf(buf, n, "%.3fs", s);
}

static void
fmt_size(char *buf, size_t n, double bytes)
{
    static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (bytes >= 1024 && u < 4) {
        bytes /= 1024;
        u++;
    }
    snprintf(buf, n, u ? "%.1f %s" : "%.0f %s", bytes, units[u]);
}

/* A small bar chart of v (oldest first), scaled to [lo, hi]. */
static void
trend(frame *f, const double *v, size_t n, double lo, double hi)
{
    static const char *bars[] = {"▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
    static const char ascii[] = "_.-~=+*#";
    char buf[TOP_TREND * 3 + 1];
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        int level =
            hi > lo ? (int)((v[i] - lo) / (hi - lo) * 7 + 0.5) : (v[i] > 0);
        level = level < 0 ? 0 : level > 7 ? 7 : level;
        if (f->scr->utf8) {
            memcpy(buf + k, bars[level], 3);
            k += 3;
        } else {
            buf[k++] = ascii[level];
        }
    }
    buf[k] = '\0';
    put(f, buf);
}

static void
header_process(frame *f, const top_header *h)
{
    if (!line_begin(f, NULL))
        return;
    put(f, "Collecting samples from '");
    colour(f, SGR_GREEN);
    put(f, h->command && h->command[0] ? h->command : "?");
    attr(f, SGR_RESET);
    putf(f, "' (python v%s), pid %d", h->version ? h->version : "?",
         (int)h->pid);
    line_end(f);
}

static void
header_samples(frame *f, const top_header *h)
{
    if (!line_begin(f, NULL))
        return;
    putf(f, "Total Samples %llu (%llu in the last %.1f s)",
         (unsigned long long)h->samples, (unsigned long long)h->win_samples,
         h->win_s);
    double rate = h->samples + h->errors ? 100.0 * (double)h->errors /
                                               (double)(h->samples + h->errors)
                                         : 0;
    putf(f, ", Errors %llu (%.2f%%)", (unsigned long long)h->errors, rate);
    putf(f, ", %g Hz, %.1f s", h->rate_hz, h->elapsed_s);
    if (h->paused) {
        put(f, "  ");
        attr(f, SGR_REVERSE);
        put(f, "[paused]");
        attr(f, SGR_RESET);
    }
    line_end(f);
    if (!line_begin(f, NULL))
        return;
    if (h->gil_pct >= 0)
        putf(f, "GIL: %.2f%%, Active: %.2f%%, ", h->gil_pct, h->active_pct);
    putf(f, "Threads: %u", h->threads);
    if (h->subprocesses)
        putf(f, ", Processes: %u", h->processes);
    line_end(f);
}

static void
header_resources(frame *f, const top_header *h)
{
    if (!line_begin(f, NULL))
        return;
    if (h->cpu_pct >= 0) {
        char rss[32];
        fmt_size(rss, sizeof rss, (double)h->rss);
        double hi = 100;
        double rlo = h->rss_trend[0], rhi = h->rss_trend[0];
        for (size_t i = 0; i < h->n_trend; i++) {
            hi = h->cpu_trend[i] > hi ? h->cpu_trend[i] : hi;
            rlo = h->rss_trend[i] < rlo ? h->rss_trend[i] : rlo;
            rhi = h->rss_trend[i] > rhi ? h->rss_trend[i] : rhi;
        }
        /* Memory's bars show changes of a quarter of its peak or more:
         * a steady RSS is not drawn as a jump. */
        if (rhi - rlo < rhi / 4)
            rlo = rhi - rhi / 4;
        putf(f, "CPU: %5.1f%% ", h->cpu_pct);
        trend(f, h->cpu_trend, h->n_trend, 0, hi);
        putf(f, "  RSS: %s ", rss);
        trend(f, h->rss_trend, h->n_trend, rlo, rhi);
    } else {
        put(f, "CPU: -  RSS: -");
    }
    line_end(f);
}

/* Start an item of the state line, two spaces after the one before. */
static void
state_item(frame *f, bool *first)
{
    if (!*first)
        put(f, "  ");
    *first = false;
}

/* What the view is: the program's end, what a key did, a late sampler,
 * the thread and filter shown. Empty when there is nothing to say. */
static void
header_state(frame *f, const top_header *h)
{
    bool first = true;
    if (!line_begin(f, NULL))
        return;
    if (h->status) {
        state_item(f, &first);
        colour(f, SGR_YELLOW);
        attr(f, SGR_BOLD);
        put(f, h->status);
        attr(f, SGR_RESET);
    }
    if (h->note) {
        state_item(f, &first);
        attr(f, SGR_BOLD);
        put(f, h->note);
        attr(f, SGR_RESET);
    }
    if (h->late_pct > 10) {
        state_item(f, &first);
        colour(f, SGR_RED);
        putf(f,
             "%.0f%% of samples late by a whole interval: the machine is "
             "busy (lower -r)",
             h->late_pct);
        attr(f, SGR_RESET);
    }
    if (h->thread) {
        state_item(f, &first);
        put(f, "Thread: ");
        put(f, h->thread);
    }
    if (h->filter) {
        state_item(f, &first);
        put(f, "Filter: ");
        put(f, h->filter);
    }
    line_end(f);
}

static void
column_header(frame *f, const top_screen *scr)
{
    static const char *names[] = {"%Own", "%Total", "OwnTime", "TotalTime"};
    static const int widths[] = {7, 8, 9, 11};
    if (!line_begin(f, SGR_REVERSE))
        return;
    for (int c = 0; c < 4; c++) {
        char label[32];
        bool sorted = scr->sort == c + 1;
        snprintf(label, sizeof label, "%s%s",
                 sorted ? (scr->utf8 ? "▼" : "*") : "", names[c]);
        int len = (int)strlen(names[c]) + sorted;
        for (int i = len; i < widths[c]; i++)
            put(f, " ");
        if (sorted)
            attr(f, SGR_BOLD);
        put(f, label);
        if (sorted) {
            attr(f, SGR_RESET);
            attr(f, SGR_REVERSE);
        }
    }
    put(f,
        scr->lines ? "  Function (file:line)" : "  Function (file:def line)");
    if (f->left > 0 && !scr->plain) /* the bar spans the line */
        for (int i = f->left; i > 0; i--)
            put(f, " ");
    line_end(f);
}

static void
table_row(frame *f, const top_view_row *r, const top_view *v,
          const top_screen *scr, const sg_profile *p,
          const char *const *short_files)
{
    double unit = top_table_seconds(p);
    char own[32], total[32];
    fmt_time(own, sizeof own, (double)r->c.cum_own * unit);
    fmt_time(total, sizeof total, (double)r->c.cum_total * unit);
    double win = v->win_samples ? (double)v->win_samples : 1;
    if (!line_begin(f, NULL))
        return;
    putf(f, "%6.2f%% %6.2f%% %8s %10s  ", 100.0 * (double)r->c.win_own / win,
         100.0 * (double)r->c.win_total / win, own, total);
    sg_func_id fid = scr->lines ? p->frames[r->id].func : r->id;
    const sg_func *fn = &p->funcs[fid];
    if (r->thread) {
        put(f, r->thread);
        put(f, ": ");
    }
    put(f, fn->name);
    if (fn->kind == SG_FUNC_PYTHON && fn->file && fn->file[0]) {
        put(f, " (");
        put(f, short_files && short_files[fid] ? short_files[fid] : fn->file);
        int line = scr->lines ? p->frames[r->id].line : fn->first_line;
        if (line > 0)
            putf(f, ":%d", line);
        put(f, ")");
    }
    line_end(f);
}

static const char *help_lines[] = {
    "Keys",
    "",
    "  1 2 3 4     sort by %Own, %Total, OwnTime, TotalTime",
    "  L           one row per line / per function",
    "  R           reset the counts",
    "  P, space    pause / resume the display (sampling goes on)",
    "  t           next thread: all threads, then each in turn",
    "  /           filter by function, file or thread name",
    "              (Enter applies, Esc cancels, an empty filter clears)",
    "  w           write everything sampled so far to a file (-o's,",
    "              or type one; its extension names the format)",
    "  ?           this help; any key closes it",
    "  q, Ctrl-C   quit",
    "",
    "%Own and %Total: share of the samples of the last refresh window in",
    "the function itself, and in it or what it called. OwnTime and",
    "TotalTime: the same since the start (or R), in seconds of samples.",
};

void
top_render(strbuf *out, const top_screen *scr, const top_header *h,
           const top_view *v, const sg_profile *p,
           const char *const *short_files)
{
    frame f = {out, scr, 0, 0, false};
    if (!scr->plain)
        sb_puts(out, "\033[H");
    header_process(&f, h);
    header_samples(&f, h);
    header_resources(&f, h);
    header_state(&f, h);
    /* What the table may take: all but the footer. */
    int room = scr->rows - f.line - 1;
    if (scr->help) {
        size_t n = sizeof help_lines / sizeof *help_lines;
        for (size_t i = 0; i < n && (int)i < room; i++) {
            if (line_begin(&f, i == 0 ? SGR_BOLD : NULL))
                put(&f, help_lines[i]);
            line_end(&f);
        }
    } else if (room > 0) {
        column_header(&f, scr);
        room--;
        for (size_t i = 0; i < v->n && (int)i < room; i++)
            table_row(&f, &v->rows[i], v, scr, p, short_files);
    }
    if (!scr->plain) {
        /* Blank lines down to the footer, on the last row. */
        while (f.line < scr->rows - 1) {
            line_begin(&f, NULL);
            line_end(&f);
        }
        if (line_begin(&f, NULL)) {
            if (scr->input) {
                put(&f, scr->prompt ? scr->prompt : "");
                put(&f, scr->input);
                put(&f, "_   (Enter applies, Esc cancels)");
            } else if (scr->no_keys) {
                put(&f, "Press Ctrl-C to quit (no keys: stdin is not the "
                        "terminal).");
            } else {
                put(&f, "Press q to quit, ? for help.");
            }
            line_end(&f);
        }
        sb_puts(out, "\033[J");
    } else {
        sb_puts(out, "\n");
    }
}
