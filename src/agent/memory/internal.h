/* internal.h -- what the memory profiler's own parts share beyond the
 * engine's interface (memory.h): the sites the engine records, read by
 * results.c once tracing stopped, and the memory columns lines.c adds
 * to the line profiler's selected lines.
 */
#ifndef SG_AGENT_MEMORY_INTERNAL_H
#define SG_AGENT_MEMORY_INTERNAL_H

#include "agent/lines/lines.h"
#include "agent/memory/memory.h"
#include "model/memory.h"

#define MEM_NO_SITE UINT32_MAX

/* An allocation site: a node of a per-thread calling-context tree whose
 * nodes are (code, line) of each frame, outermost first. A thread's root
 * has no code and holds the thread's ident; a site with no code under a
 * root stands for allocations made when the thread ran no Python frame. */
typedef struct mem_site {
    PyObject *code;  /* strong reference; NULL for roots and frameless */
    uint32_t parent; /* MEM_NO_SITE for a root */
    int32_t line;
    uint64_t tid;     /* a root's thread ident, else 0 */
    uint64_t alloc;   /* bytes allocated (scaled when sampling) */
    uint64_t allocs;  /* blocks allocated */
    uint64_t freed;   /* bytes of those freed */
    uint64_t live;    /* bytes live now */
    uint64_t at_peak; /* live at the peak, valid when stamp > peak stamp */
    uint64_t stamp;   /* operation count of the last change */
} mem_site;

/* What tracing recorded, read with tracing stopped (and the GIL held). */
typedef struct mem_summary {
    const mem_site *sites; /* parents before children */
    uint32_t n_sites;
    uint64_t peak_bytes, peak_ns, end_bytes, total_ns;
    uint32_t peak_site; /* the site whose allocation reached the peak */
    uint64_t sample_bytes;
    bool native, failed;
} mem_summary;

/* The recorded sites and figures (valid until the next mem_start or
 * mem_clear). */
void mem_summarize(mem_summary *out);
/* A site's bytes live at the peak. */
uint64_t mem_site_at_peak(const mem_site *s);
/* Forget everything recorded (code references released). */
void mem_clear(void);

/* The highest traced total this thread's allocations reached since
 * lines.c last set it (to the total, at a line event of the thread's
 * innermost selected frame): the engine raises it on each allocation,
 * lines.c hands it to the line that was running. One compare per
 * allocation, and no look-up of which frame runs. */
extern AGENT_TLS uint64_t mem_hw;

/* Nonzero while this thread's allocations are the profilers' own (the
 * line profiler's tables and selection): not recorded. Unlike mem_busy,
 * frees still are, so that a traced block freed meanwhile is not kept. */
extern AGENT_TLS int mem_quiet;

/* ---- command.c ---- */

/* The command's selected functions while it runs, else NULL. */
extern lines_prof *mem_cmd_lines;

/* ---- lines.c ---- */

/* Watch the line events of the line profiler's selected functions and
 * keep memory_profiler's columns for them; with rss, also read the
 * resident set size at the end of each line. */
void mem_lines_start(bool rss);
void mem_lines_stop(void);
/* The columns of (lc, line) into l (SG_MEM_INC..SG_MEM_RSS). */
void mem_lines_fill(const lines_code *lc, int32_t line, sg_line *l);
void mem_lines_clear(void);
/* A line profiler for the memory table: hits, no time (NULL with an
 * exception set). */
lines_prof *mem_lines_new(bool rss);

/* ---- results.c ---- */

/* What was recorded, into a memory profile; prof (may be NULL) gives the
 * selected functions' line table. NULL with an exception set. */
sg_profile *mem_to_model(lines_prof *prof, const char *command, bool rss);

#endif
