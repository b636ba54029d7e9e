/* term.h -- the terminal `spyglass top` draws on, with plain escape
 * sequences (no curses: a pip-installed spyglass must run where no curses
 * library is, and top needs only a handful of sequences every VT100
 * descendant knows; docs/top.md).
 *
 * Opening switches to the alternate screen, hides the cursor, turns off
 * the terminal's echo and line editing (keys arrive one by one; the
 * terminal still turns Ctrl-C into SIGINT, which the caller's stop handler
 * takes), catches SIGWINCH, and holds spyglass's own stderr until the
 * terminal is back: a message (a warning, an out-of-memory error) would
 * be drawn over by the next frame and lost with the alternate screen, so
 * it is shown once the terminal is restored. The restore runs on every way
 * out: top_term_close, exit() (sg_die included) through atexit.
 */
#ifndef SG_TOP_TERM_H
#define SG_TOP_TERM_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/strbuf.h"

/* Whether stdout is a terminal top can draw on (a tty whose TERM is set
 * and not "dumb"). */
bool top_term_usable(void);
/* Whether the terminal has colours (TERM names a colour terminal or
 * COLORTERM is set; NO_COLOR turns them off), and takes UTF-8 (the
 * locale's variables say so). */
bool top_term_colour(void);
bool top_term_utf8(void);

/* Take the terminal (see above). Returns 0, or -1 with errno when stdout
 * cannot be set up (nothing changed then). Keys are read from stdin when
 * it is the terminal; else only signals stop top. */
int top_term_open(void);
/* Give it back as it was (idempotent); then show what was held of
 * stderr. */
void top_term_close(void);

/* The terminal's size (24x80 when it cannot say). */
void top_term_size(int *rows, int *cols);
/* Whether the window was resized since the last call. */
bool top_term_resized(void);
/* Keys typed since the last call, without waiting: the bytes read (0 when
 * none). */
size_t top_term_keys(char *buf, size_t n);
/* Wait up to ms for a key (or a signal). */
void top_term_wait(int ms);
/* Write a frame in one write (as far as the kernel allows). Returns 0, or
 * -1 when the terminal is gone. */
int top_term_write(const strbuf *sb);

#endif
