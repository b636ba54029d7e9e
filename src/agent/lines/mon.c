/* mon.c -- the line profiler's 3.12+ backend: sys.monitoring.
 *
 * Only the selected code objects get LINE, PY_START, PY_RESUME, PY_RETURN
 * and PY_YIELD, through set_local_events, so all other code runs at full
 * speed. PY_UNWIND and PY_THROW cannot be local: they are global, and cost
 * a callback per frame an exception leaves (a quick reject for unselected
 * code). When a file or name selection must see new code objects (the
 * command line's), PY_START is also global, and its callback answers
 * DISABLE for every code object that is not selected, so that each one
 * pays once. Callbacks are C functions of the layer's callback type
 * (core/mon.h). Events reach the tool from every thread.
 *
 * A profiler that derives (derive.c) keeps each frame's interpreter frame
 * as its key, switches off the line events that follow from others, and
 * needs RAISE, which is global too, while it is enabled.
 */
#include "agent/lines/lines.h"

#if PY_VERSION_HEX >= 0x030C0000

#include "agent/core/frames.h"

int lines_running;
lines_prof *lines_lazy;

static int lines_tool = -1;

/* The thread state a deriving profiler's frames of lc keep (NULL for
 * the others, which need none). */
static inline PyThreadState *
lines_mon_ts(const lines_code *lc)
{
    return lc->prof->derive ? frames_tstate() : NULL;
}

/* Push a frame of lc run by thread state ts (lines_mon_ts), keyed by its
 * running interpreter frame when deriving. */
static inline lines_frame *
lines_mon_push(lines_code *lc, PyThreadState *ts)
{
    lines_frame *fr =
        lines_push(lc, ts ? frames_current(ts) : NULL, lines_now(lc));
    if (fr)
        fr->ts = ts;
    return fr;
}

static PyObject *
lines_mon_disable(void)
{
    Py_INCREF(mon_DISABLE);
    return mon_DISABLE;
}

/* LINE(code, line) */
static PyObject *
lines_mon_line(PyObject *self, PyObject *const *args, size_t nargsf,
               PyObject *kwnames)
{
    PyObject *code = args[0];
    lines_frame *fr = lines_top();
    if (!fr || fr->lc->code != code) {
        /* A frame whose start we did not see (profiling began inside it,
         * or its PY_START was disabled before it was selected). */
        lines_code *lc = lines_lookup(code);
        fr = lc ? lines_mon_push(lc, lines_mon_ts(lc)) : NULL;
        if (!fr)
            Py_RETURN_NONE;
    }
    uint64_t now = lines_now(fr->lc);
    /* Line numbers are small ints: read them without a call. */
    PyObject *a = args[1];
    long line =
        PyLong_CheckExact(a) && PyUnstable_Long_IsCompact((PyLongObject *)a)
            ? (long)PyUnstable_Long_CompactValue((PyLongObject *)a)
            : PyLong_AsLong(a);
    if (line < 0) {
        PyErr_Clear();
        Py_RETURN_NONE;
    }
    if (fr->lc->prof->derive) {
        if (lines_derive_line(fr, (int32_t)line, now))
            return lines_mon_disable();
        Py_RETURN_NONE;
    }
    lines_on_line(fr, (int32_t)line, now);
    Py_RETURN_NONE;
}

/* A frame of code starts or continues: push it when profiled. With
 * may_disable (PY_START under a file/name selection), a code object met
 * for the first time is classified, and DISABLE'd when not selected. */
static PyObject *
lines_mon_enter(PyObject *code, int may_disable)
{
    lines_code *lc = lines_lookup(code);
    if (!lc && may_disable && lines_lazy) {
        lines_quiet(1);
        lc = lines_select(lines_lazy, code);
        lines_quiet(-1);
        if (!lc) {
            /* Never selected: stop hearing about this code object. */
            return lines_mon_disable();
        }
    }
    if (!lc)
        Py_RETURN_NONE;
    PyThreadState *ts = lines_mon_ts(lc);
    lines_frame *up = lines_deriving ? lines_derive_pending() : NULL;
    if (up && ts) /* the line that calls is the one running */
        lines_derive_sync(up, frames_current(ts));
    lines_mon_push(lc, ts);
    Py_RETURN_NONE;
}

/* PY_START(code, offset) */
static PyObject *
lines_mon_start(PyObject *self, PyObject *const *args, size_t nargsf,
                PyObject *kwnames)
{
    return lines_mon_enter(args[0], 1);
}

/* PY_RESUME and PY_THROW: a generator or coroutine frame continues. */
static PyObject *
lines_mon_resume(PyObject *self, PyObject *const *args, size_t nargsf,
                 PyObject *kwnames)
{
    return lines_mon_enter(args[0], 0);
}

/* PY_RETURN, PY_YIELD and PY_UNWIND: the frame stops running. */
static PyObject *
lines_mon_exit(PyObject *self, PyObject *const *args, size_t nargsf,
               PyObject *kwnames)
{
    PyObject *code = args[0];
    lines_frame *fr = lines_top();
    if (fr && fr->lc->code == code) {
        if (fr->seg_next) /* pending: it has its thread state */
            lines_derive_sync(fr, frames_running(fr->ts));
        lines_return_top(fr, lines_now(fr->lc));
    } else if (lines_lookup(code))
        lines_pop(code, ticks_now());
    Py_RETURN_NONE;
}

/* RAISE(code, offset, exception), while a profiler derives. */
static PyObject *
lines_mon_raise(PyObject *self, PyObject *const *args, size_t nargsf,
                PyObject *kwnames)
{
    lines_derive_raise(args[0]);
    Py_RETURN_NONE;
}

static const struct {
    mon_event event;
    vectorcallfunc fn;
} lines_mon_table[] = {
    {MON_LINE, lines_mon_line},        {MON_PY_START, lines_mon_start},
    {MON_PY_RESUME, lines_mon_resume}, {MON_PY_THROW, lines_mon_resume},
    {MON_PY_RETURN, lines_mon_exit},   {MON_PY_YIELD, lines_mon_exit},
    {MON_PY_UNWIND, lines_mon_exit},   {MON_RAISE, lines_mon_raise},
};
#define LINES_N_MON (sizeof lines_mon_table / sizeof lines_mon_table[0])

int
lines_backend_global(void)
{
    if (!lines_running)
        return 0;
    long global = mon_bit[MON_PY_UNWIND] | mon_bit[MON_PY_THROW] |
                  (lines_lazy ? mon_bit[MON_PY_START] : 0) |
                  (lines_deriving ? mon_bit[MON_RAISE] : 0);
    return mon_set_events(lines_tool, global);
}

int
lines_backend_start(void)
{
    int tool = mon_acquire("spyglass lines");
    if (tool < 0)
        return -1;
    for (size_t i = 0; i < LINES_N_MON; i++)
        if (mon_register(tool, lines_mon_table[i].event,
                         lines_mon_table[i].fn) < 0)
            goto fail;
    lines_tool = tool;
    lines_running = 1;
    if (lines_backend_global() < 0) {
        lines_running = 0;
        lines_tool = -1;
        goto fail;
    }
    return 0;
fail:
    mon_release(tool);
    return -1;
}

void
lines_backend_stop(void)
{
    if (!lines_running)
        return;
    lines_running = 0;
    mon_release(lines_tool);
    lines_tool = -1;
}

int
lines_backend_watch(lines_code *lc)
{
    if (!lines_running)
        return 0;
    long mask = mon_bit[MON_LINE] | mon_bit[MON_PY_START] |
                mon_bit[MON_PY_RESUME] | mon_bit[MON_PY_RETURN] |
                mon_bit[MON_PY_YIELD];
    return mon_set_local_events(lines_tool, lc->code, mask);
}

void
lines_backend_unwatch(lines_code *lc)
{
    if (!lines_running)
        return;
    PyObject *t, *v, *tb;
    PyErr_Fetch(&t, &v, &tb);
    if (mon_set_local_events(lines_tool, lc->code, 0) < 0)
        PyErr_Clear();
    PyErr_Restore(t, v, tb);
}

#endif /* 3.12+ */
