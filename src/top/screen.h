/* screen.h -- one frame of `spyglass top`, rendered into a buffer.
 *
 * The frame is the header (the process, the sampler's figures, the
 * process's CPU and memory), py-spy's table and a footer, cut to the
 * terminal's size and written by the caller in one write: on a terminal
 * each line overwrites the last frame's in place (cursor home, each line
 * cleared to its end, the rest of the screen cleared), so nothing flickers.
 * A plain frame (stdout is not a terminal) is the same text without escape
 * sequences nor cut, for a log.
 *
 * Everything read from the target (names, files, the command line) goes
 * through one cell writer that replaces control characters, so a name
 * cannot move the cursor or change the terminal's state.
 */
#ifndef SG_TOP_SCREEN_H
#define SG_TOP_SCREEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/strbuf.h"
#include "model/profile.h"
#include "top/table.h"

#define TOP_TREND 12 /* points of the CPU and RSS trends */

/* The header's figures; a negative percentage is unknown (not shown). */
typedef struct top_header {
    pid_t pid;
    const char *command, *version;
    uint64_t samples, errors; /* thread stacks, failed reads */
    uint64_t win_samples;     /* of them, in the last window */
    double win_s;             /* that window's length */
    double rate_hz, elapsed_s;
    double gil_pct, active_pct; /* of the window's ticks */
    uint32_t threads, processes;
    bool subprocesses;
    double cpu_pct; /* of one CPU, over the window */
    uint64_t rss;   /* bytes */
    double cpu_trend[TOP_TREND], rss_trend[TOP_TREND];
    size_t n_trend;     /* oldest first */
    double late_pct;    /* deadlines late or missed in the window */
    const char *status; /* the program ended: what it did, or NULL */
    bool paused;
    const char *thread; /* the one thread shown, or NULL for all */
    const char *filter; /* the filter applied, or NULL */
} top_header;

/* How to draw. */
typedef struct top_screen {
    int rows, cols;    /* the terminal's size; a plain frame: table rows at
                          most rows, lines not cut */
    bool plain;        /* no escape sequences */
    bool colour;       /* the terminal has colours */
    bool utf8;         /* the terminal takes UTF-8 (trend bars, markers) */
    bool help;         /* the keys instead of the table */
    bool lines;        /* rows per line */
    int sort;          /* 1-4 */
    const char *input; /* the filter being typed, or NULL */
} top_screen;

/* Append one frame to out. short_files: per function of p, its file
 * shortened (sg_writer_short_files), or NULL for full paths. */
void top_render(strbuf *out, const top_screen *scr, const top_header *h,
                const top_view *v, const sg_profile *p,
                const char *const *short_files);

/* Append s to sb as terminal cells, at most max of them (-1: no limit):
 * control characters (C0, DEL, C1) and malformed UTF-8 become '?', and
 * non-ASCII is kept only when utf8. Returns the cells written. Exposed for
 * the unit tests. */
int top_put_cells(strbuf *sb, const char *s, int max, bool utf8);

#endif
