/* lines.c -- memory_profiler's columns for the selected functions, on the
 * line profiler's selection and line events (lines/lines.h's watcher).
 *
 * Around each run of a line (from its line event to the next line event,
 * return or yield of its frame) the traced total is read at both ends:
 * Increment sums end - start, Mem usage keeps the highest end. The peak
 * inside the line is the highest total while it ran: the engine keeps
 * each thread's high-water mark since its last line event (mem_hw),
 * which the line that ends takes; a selected frame that returns hands
 * the highest total of its call to the line of the selected frame that
 * called it, so a line's peak includes the calls it makes. On 3.12-3.13
 * the line layer tells the runs of lines whose events it derives
 * (lines/derive.c) when it counts them: before the traced total changes,
 * the engine has it count the lines the frame passed, so each run still
 * begins and ends at the total of its own bounds. With --rss, the resident set
 * size is read from /proc/self/statm at the end of each run (one pread per
 * line event).
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/memory/internal.h"

/* One line's columns. */
typedef struct mem_lcol {
    uint64_t inc; /* int64_t sums, stored as uint64_t */
    uint64_t usage, peak, rss;
} mem_lcol;

/* One selected code object's columns, slot i for line base + i. */
typedef struct mem_lcode {
    const lines_code *lc;
    int32_t base, n;
    mem_lcol *col;
} mem_lcode;

static struct {
    mem_lcode *v;
    uint32_t n, cap;
    hm64 index; /* lines_code address -> index in v */
    bool index_ready, rss;
    int statm; /* -1 when unread */
    long page;
    mem_lcode *last; /* the last one looked up */
} ml = {.statm = -1};

static int
mem_lcode_reserve(mem_lcode *m, int32_t line)
{
    int32_t lo = m->base, hi = m->base + m->n;
    if (m->n && line >= lo && line < hi)
        return 0;
    if (!m->n)
        lo = hi = line;
    if (line < lo)
        lo = line;
    if (line >= hi)
        hi = line + 1 + (hi - lo);
    size_t n = (size_t)(hi - lo);
    mem_lcol *v = calloc(n, sizeof *v);
    if (!v)
        return -1;
    if (m->n)
        memcpy(v + (m->base - lo), m->col, (size_t)m->n * sizeof *v);
    free(m->col);
    m->col = v;
    m->base = lo;
    m->n = (int32_t)n;
    return 0;
}

/* The columns of lc, created when create; NULL when missing or out of
 * memory. */
static mem_lcode *
mem_lcode_get(const lines_code *lc, bool create)
{
    if (ml.last && ml.last->lc == lc)
        return ml.last;
    if (!ml.index_ready)
        return NULL;
    uint32_t i = hm64_get(&ml.index, (uint64_t)(uintptr_t)lc);
    if (i != HM_NONE)
        return ml.last = &ml.v[i];
    if (!create)
        return NULL;
    if (ml.n == ml.cap) {
        uint32_t cap = ml.cap ? ml.cap * 2 : 16;
        mem_lcode *v = realloc(ml.v, cap * sizeof *v);
        if (!v)
            return NULL;
        ml.v = v;
        ml.cap = cap;
    }
    if (hm64_put(&ml.index, (uint64_t)(uintptr_t)lc, ml.n) < 0)
        return NULL;
    mem_lcode *m = &ml.v[ml.n++];
    memset(m, 0, sizeof *m);
    m->lc = lc;
    return ml.last = m;
}

/* The columns of (lc, line), made when missing (outside the fast path,
 * which the line events of one function take, and kept out of line so
 * that the fast path saves no registers); NULL when out of memory. */
static SG_NOINLINE mem_lcol *
mem_lcol_slow(const lines_code *lc, int32_t line)
{
    mem_busy++;
    mem_lcode *m = mem_lcode_get(lc, true);
    if (m && mem_lcode_reserve(m, line) < 0)
        m = NULL;
    mem_busy--;
    return m ? &m->col[line - m->base] : NULL;
}

static uint64_t
mem_rss_now(void)
{
    char buf[128];
    if (ml.statm < 0)
        return 0;
    ssize_t n = pread(ml.statm, buf, sizeof buf - 1, 0);
    if (n <= 0)
        return 0;
    buf[n] = 0;
    const char *p = strchr(buf, ' ');
    return p ? strtoull(p + 1, NULL, 10) * (uint64_t)ml.page : 0;
}

/* The selected frame that called fr (fr is in this thread's stack: the
 * line layer tells only of those), when it runs a line, saw the total
 * reach hi in it. */
static inline void
mem_hand_up(lines_frame *fr, uint64_t hi)
{
    if (fr != lines_tls.v) {
        lines_frame *up = fr - 1;
        if (up->line >= 0 && hi > up->mem_hi)
            up->mem_hi = hi;
    }
}

/* The first line of fr begins at total now. What this thread allocated
 * since its last line event happened in the line of fr's caller, which
 * is still running: the caller's mark takes it before it is reset. */
static inline void
mem_line_open(lines_frame *fr, uint64_t now)
{
    mem_hand_up(fr, mem_hw);
    fr->mem_call_hi = now;
    fr->mem0 = fr->mem_hi = mem_hw = now;
}

/* A run of a line that began at total mem0, ended at now and reached hi,
 * into its columns c. */
static inline void
mem_line_account(mem_lcol *c, uint64_t mem0, uint64_t now, uint64_t hi)
{
    c->inc += now - mem0; /* wraps as int64_t arithmetic does */
    if (now > c->usage)
        c->usage = now;
    if (hi > c->peak)
        c->peak = hi;
}

/* The same, for a line whose columns are not at hand (another function's,
 * or not made yet), or with --rss. Out of line, so that the line event's
 * usual path makes no call and saves no registers. */
static SG_NOINLINE void
mem_line_account_slow(const lines_code *lc, int32_t line, uint64_t mem0,
                      uint64_t now, uint64_t hi)
{
    mem_lcol *c = mem_lcol_slow(lc, line);
    if (!c) {
        lines_fail(lc->prof);
        return;
    }
    mem_line_account(c, mem0, now, hi);
    if (ml.rss) {
        uint64_t r = mem_rss_now();
        if (r > c->rss)
            c->rss = r;
    }
}

/* The highest total while fr's line ran, which ends at total now: its
 * mark, the thread's high-water mark since its last line event (calls it
 * made hand theirs up to the mark), or the total now, which other
 * threads may have raised. The frame's own highest follows it. */
static inline uint64_t
mem_line_hi(lines_frame *fr, uint64_t now)
{
    uint64_t hi = fr->mem_hi;
    if (mem_hw > hi)
        hi = mem_hw;
    if (now > hi)
        hi = now;
    if (hi > fr->mem_call_hi)
        fr->mem_call_hi = hi;
    return hi;
}

/* The columns of (lc, line) when they are the last looked up, else
 * NULL; NULL with --rss too, whose reading is the slow path's. */
static inline mem_lcol *
mem_lcol_at_hand(const lines_code *lc, int32_t line)
{
    mem_lcode *m = ml.last;
    if (m && m->lc == lc && (uint32_t)(line - m->base) < (uint32_t)m->n &&
        !ml.rss)
        return &m->col[line - m->base];
    return NULL;
}

/* A run of line `line` of lc into its columns, at hand or not. */
static inline void
mem_line_put(const lines_code *lc, int32_t line, uint64_t mem0, uint64_t now,
             uint64_t hi)
{
    mem_lcol *c = mem_lcol_at_hand(lc, line);
    if (c)
        mem_line_account(c, mem0, now, hi);
    else
        mem_line_account_slow(lc, line, mem0, now, hi);
}

static void
mem_line_begin(lines_frame *fr)
{
    mem_line_open(fr, mem_total());
}

/* fr's frame returns or yields: its last line ends, and the selected
 * frame that called it takes the highest total of the whole call into
 * the line it is running. */
static void
mem_line_end(lines_frame *fr)
{
    uint64_t now = mem_total();
    mem_line_put(fr->lc, fr->line, fr->mem0, now, mem_line_hi(fr, now));
    mem_hand_up(fr, fr->mem_call_hi);
}

/* A line event: the end of fr's line (if any) and the start of the next,
 * both at the same traced total. The hottest path of the memory table:
 * the frame is reset before the columns are written, so that the slow
 * path is a tail call. */
static void
mem_line_step(lines_frame *fr, int32_t line)
{
    (void)line;
    int32_t ended = fr->line;
    uint64_t now = mem_total();
    if (ended < 0) {
        mem_line_open(fr, now);
        return;
    }
    uint64_t hi = mem_line_hi(fr, now), mem0 = fr->mem0;
    fr->mem0 = fr->mem_hi = mem_hw = now;
    mem_line_put(fr->lc, ended, mem0, now, hi);
}

/* n runs of a derived line counted in bulk (lines/derive.c), each
 * beginning and ending at a total of at most hi. */
static void
mem_line_flat(const lines_code *lc, int32_t line, uint64_t n, uint64_t hi)
{
    (void)n;
    mem_lcol *c = mem_lcol_slow(lc, line);
    if (!c) {
        lines_fail(lc->prof);
        return;
    }
    mem_line_account(c, hi, hi, hi);
}

static void
mem_line_quiet(int delta)
{
    mem_quiet += delta;
}

static const lines_watcher mem_watcher = {
    mem_line_begin, mem_line_end, mem_line_quiet, NULL, NULL, mem_line_step};

void
mem_lines_start(bool rss)
{
    if (!ml.index_ready) {
        hm64_init(&ml.index);
        ml.index_ready = true;
    }
    ml.rss = rss;
    if (rss && ml.statm < 0) {
        ml.statm = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
        ml.page = sysconf(_SC_PAGESIZE);
    }
    lines_watch = &mem_watcher;
}

void
mem_lines_stop(void)
{
    lines_watch = NULL;
    if (ml.statm >= 0) {
        close(ml.statm);
        ml.statm = -1;
    }
}

void
mem_lines_fill(const lines_code *lc, int32_t line, sg_line *l)
{
    mem_lcode *m = mem_lcode_get(lc, false);
    if (!m || line < m->base || line >= m->base + m->n)
        return;
    const mem_lcol *c = &m->col[line - m->base];
    l->m[SG_MEM_INC] += c->inc;
    if (c->usage > l->m[SG_MEM_USAGE])
        l->m[SG_MEM_USAGE] = c->usage;
    if (c->peak > l->m[SG_MEM_LINE_PEAK])
        l->m[SG_MEM_LINE_PEAK] = c->peak;
    if (c->rss > l->m[SG_MEM_RSS])
        l->m[SG_MEM_RSS] = c->rss;
}

void
mem_lines_clear(void)
{
    for (uint32_t k = 0; k < ml.n; k++)
        free(ml.v[k].col);
    free(ml.v);
    ml.v = NULL;
    ml.n = ml.cap = 0;
    ml.last = NULL;
    if (ml.index_ready)
        hm64_free(&ml.index);
    ml.index_ready = false;
}

lines_prof *
mem_lines_new(bool rss)
{
    lines_prof *prof = lines_prof_new(1e-6);
    if (prof) {
        prof->untimed = 1;
        prof->derive = LINES_CAN_DERIVE;
        /* With --rss each run of a line reads the resident set at its
         * end: derived lines are then told one by one. */
        if (!rss) {
            prof->level = &mem_traced;
            prof->flat = mem_line_flat;
        }
    }
    return prof;
}
