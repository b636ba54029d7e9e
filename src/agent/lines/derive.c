/* derive.c -- counting lines whose events follow from others (flow.c)
 * from where the frame is, with those events switched off (3.12-3.13).
 *
 * A frame keeps the line event it last passed (fr->seg) and, when the
 * next one is derived, that event's address (fr->seg_next). Its lines
 * between there and its position are counted -- hit, and told to the
 * watcher as a line event -- whenever something needs them:
 *   - its next line event (everything up to the chain's end ran: only an
 *     exception leaves straight-line code early, and RAISE said so);
 *     when the profiler has a level (the memory table's traced total),
 *     in bulk (derive_rest);
 *   - a RAISE event in the frame (counted up to the instruction that
 *     raised; the chain ends there);
 *   - its return or yield (counted up to the instruction that left);
 *   - a call of a selected function, and an allocation or a free (the
 *     memory table), which must know the line running;
 *   - the profiler stopping.
 * A derived event that is delivered anyway (its first time, or after
 * another tool's restart_events) is counted only when the frame did not
 * come to it through its chain (profiling began inside the chain), and
 * answered with DISABLE.
 *
 * Frames are interpreter frames of this thread, compared by address and
 * read only when found by walking out from a live one, so a frame that
 * left without an event is never read.
 */
#include <assert.h>

#include "agent/lines/lines.h"

#if PY_VERSION_HEX >= 0x030C0000

#include "agent/core/frames.h"

int lines_deriving;

/* Up while lines are counted here: a free made meanwhile (a table that
 * grows) does not count them again. */
static AGENT_TLS int derive_busy;

/* The address of line event k + 1 of fw when it is derived, else 0. */
static inline uintptr_t
derive_next(const lines_flow *fw, int32_t k)
{
    if (k + 1 >= fw->n_seg || !fw->seg[k + 1].derived)
        return 0;
    return fw->code0 + 2 * (uintptr_t)fw->seg[k + 1].start;
}

/* Count fr's derived lines that begin at or before position pos, the
 * first of which does. */
static SG_NOINLINE void
derive_run(lines_frame *fr, uintptr_t pos)
{
    const lines_flow *fw = fr->lc->flow;
    derive_busy++;
    do {
        int32_t k = ++fr->seg;
        assert(k < fw->n_seg && fw->seg[k].derived);
        fr->seg_next = derive_next(fw, k);
        fr->lc->prof->derived_hits++;
        lines_on_line(fr, fw->seg[k].line, lines_now(fr->lc));
    } while (fr->seg_next && pos >= fr->seg_next);
    derive_busy--;
}

/* Count fr's derived lines that begin at or before position pos. */
static inline void
derive_to(lines_frame *fr, uintptr_t pos)
{
    if (fr->seg_next && pos >= fr->seg_next)
        derive_run(fr, pos);
}

/* At fr's next line event, the lines it still had to count (those after
 * line event fr->seg, to the chain's end) all ran. Nothing the profiler's
 * level measures changed in them: an allocation or a free there would
 * have counted the lines up to it first. So each began and ended at the
 * level as it is now, which is also what counting them one by one would
 * tell the watcher. With a level they are counted in bulk instead, as
 * one more run of the chain after fr->seg, with the highest level such a
 * run ended at, and added to the hits when those are read
 * (lines_derive_fold): a loop whose head has an event and whose other
 * lines are derived pays one increment per turn for them. */
static inline void
derive_rest(lines_frame *fr, lines_flow *fw)
{
    const lines_prof *prof = fr->lc->prof;
    if (!fr->seg_next)
        return;
    if (!prof->level) {
        derive_run(fr, UINTPTR_MAX);
        return;
    }
    assert(fr->seg >= 0 && fr->seg < fw->n_seg);
    lines_seg *s = &fw->seg[fr->seg];
    uint64_t v = *prof->level;
    s->bulk_n++;
    if (v > s->bulk_hi)
        s->bulk_hi = v;
    fr->seg_next = 0;
}

/* The running frame of this thread, or NULL. In a callback of the
 * frame's own event (a line event, RAISE), it is the frame as it is:
 * real. */
static inline frames_frame *
derive_current(void)
{
    PyThreadState *ts = frames_tstate();
    return ts ? frames_running(ts) : NULL;
}

/* The line event of fw at position pos (its index in fw->seg), or -1.
 * The last one found is kept: a loop's events are mostly at its head. */
static inline int32_t
derive_index(lines_flow *fw, uintptr_t pos)
{
    if (pos == fw->last_pos)
        return fw->last_j;
    uintptr_t u = (pos - fw->code0) / 2;
    int32_t j =
        pos >= fw->code0 && u < (uintptr_t)fw->n_units ? fw->at[u] - 1 : -1;
    fw->last_pos = pos;
    fw->last_j = j;
    return j;
}

void
lines_derive_sync(lines_frame *fr, const void *from)
{
    if (derive_busy || !fr->seg_next)
        return;
    int limit = 256;
    for (frames_frame *g = (frames_frame *)from; g && limit-- > 0;
         g = frames_back(g))
        if (g == fr->key) {
            derive_to(fr, frames_pos(g));
            return;
        }
}

void
lines_derive_raise(PyObject *code)
{
    lines_frame *fr = lines_derive_pending();
    if (!fr || fr->lc->code != code)
        return;
    frames_frame *cur = derive_current();
    if (cur != fr->key)
        return;
    derive_to(fr, frames_pos(cur));
    fr->seg_next = 0;
}

void
lines_derive_flush(void)
{
    lines_stack *st = &lines_tls;
    if (st->gen != lines_gen)
        return;
    frames_frame *cur = derive_current();
    for (int i = st->depth - 1; i >= 0; i--)
        if (st->v[i].seg_next)
            lines_derive_sync(&st->v[i], cur);
}

/* lc's flow, looked for on its first line event (CPython has marked its
 * line events by then). */
static lines_flow *
derive_flow(lines_code *lc)
{
    if (!lc->flow_done) {
        lines_quiet(1);
        lc->flow = lines_flow_make(lc->code);
        lines_quiet(-1);
        lc->flow_done = 1;
    }
    return lc->flow;
}

int
lines_derive_line(lines_frame *fr, int32_t line, uint64_t now)
{
    lines_flow *fw = derive_flow(fr->lc);
    if (!fw) {
        lines_on_line(fr, line, now);
        return 0;
    }
    /* fr's event: its frame runs, in its thread state. */
    frames_frame *cur = fr->ts ? frames_running(fr->ts) : derive_current();
    uintptr_t pos = cur ? frames_pos(cur) : 0;
    int32_t j = derive_index(fw, pos);
    int derived = j >= 0 && fw->seg[j].derived;
    if (derived) {
        /* The frame came here through its chain: counted now, or already
         * (by what ran before the callback: CPython allocates the line
         * number it passes when it is above 256, and the memory table
         * then asks). */
        derive_to(fr, pos);
        if (fr->seg == j)
            return 1;
    }
    /* Anything the frame still had to count ran to its chain's end. */
    derive_rest(fr, fw);
    lines_on_line(fr, line, now);
    fr->seg = j;
    /* A frame with lines pending keeps its thread state (lines.h): one
     * without (never, from a callback) has each line counted by its
     * event. */
    fr->seg_next = j >= 0 && fr->ts ? derive_next(fw, j) : 0;
    return derived;
}

void
lines_derive_fold(lines_prof *prof)
{
    for (Py_ssize_t i = 0; i < prof->n_codes; i++) {
        lines_code *lc = prof->codes[i];
        lines_flow *fw = lc->flow;
        for (int32_t k = 0; fw && k < fw->n_seg; k++) {
            lines_seg *s = &fw->seg[k];
            uint64_t n = s->bulk_n, hi = s->bulk_hi;
            if (!n)
                continue;
            s->bulk_n = s->bulk_hi = 0;
            for (int32_t d = k + 1; d < fw->n_seg && fw->seg[d].derived; d++) {
                int32_t line = fw->seg[d].line;
                if (lines_hits(lc, line, n) < 0)
                    return;
                prof->derived_hits += n;
                if (prof->flat)
                    prof->flat(lc, line, n, hi);
            }
        }
    }
}

#else

int lines_deriving;

int
lines_derive_line(lines_frame *fr, int32_t line, uint64_t now)
{
    lines_on_line(fr, line, now);
    return 0;
}

void
lines_derive_sync(lines_frame *fr, const void *from)
{
    (void)fr;
    (void)from;
}

void
lines_derive_raise(PyObject *code)
{
    (void)code;
}

void
lines_derive_flush(void)
{
}

void
lines_derive_fold(lines_prof *prof)
{
    (void)prof;
}

#endif
