/* lines_mon.c -- the line profiler's 3.12+ backend: sys.monitoring.
 *
 * Only the selected code objects get LINE, PY_START, PY_RESUME, PY_RETURN
 * and PY_YIELD, through set_local_events, so all other code runs at full
 * speed. PY_UNWIND and PY_THROW cannot be local: they are global, and cost
 * a callback per frame an exception leaves (a quick reject for unselected
 * code). When a file or name selection must see new code objects (the
 * command line's), PY_START is also global, and its callback answers
 * DISABLE for every code object that is not selected, so that each one
 * pays once. Callbacks are METH_FASTCALL C functions. Events reach the
 * tool from every thread.
 */
#include "agent/lines/lines.h"

#if PY_VERSION_HEX >= 0x030C0000

#include "common/err.h"

int lines_running;
lines_prof *lines_lazy;

static int mon_tool = -1;
static PyObject *mon;         /* sys.monitoring */
static PyObject *mon_disable; /* sys.monitoring.DISABLE */
static long ev_line, ev_start, ev_resume, ev_return, ev_yield, ev_unwind,
    ev_throw;

static PyObject *
mon_on_line(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    uint64_t now = sg_now_ns();
    PyObject *code = args[0];
    lines_frame *fr = lines_top();
    if (!fr || fr->lc->code != code) {
        /* A frame whose start we did not see (profiling began inside it,
         * or its PY_START was disabled before it was selected). */
        lines_code *lc = lines_lookup(code);
        fr = lc ? lines_push(lc, NULL, now) : NULL;
        if (!fr)
            Py_RETURN_NONE;
    }
    long line = PyLong_AsLong(args[1]);
    if (line < 0) {
        PyErr_Clear();
        Py_RETURN_NONE;
    }
    lines_on_line(fr, (int32_t)line, now);
    PyErr_Clear(); /* a failed table growth only loses this hit */
    Py_RETURN_NONE;
}

/* A frame of code starts or continues: push it when profiled. With
 * may_disable (PY_START under a file/name selection), a code object met
 * for the first time is classified, and DISABLE'd when not selected. */
static PyObject *
mon_enter(PyObject *code, int may_disable)
{
    uint64_t now = sg_now_ns();
    lines_code *lc = lines_lookup(code);
    if (!lc && may_disable && lines_lazy) {
        lc = lines_select(lines_lazy, code);
        if (!lc) {
            /* Never selected: stop hearing about this code object. */
            Py_INCREF(mon_disable);
            return mon_disable;
        }
    }
    if (lc && !lines_push(lc, NULL, now))
        PyErr_Clear();
    Py_RETURN_NONE;
}

static PyObject *
mon_on_start(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    return mon_enter(args[0], 1);
}

/* PY_RESUME and PY_THROW: a generator or coroutine frame continues. */
static PyObject *
mon_on_resume(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    return mon_enter(args[0], 0);
}

/* PY_RETURN, PY_YIELD and PY_UNWIND: the frame stops running. */
static PyObject *
mon_on_exit(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    uint64_t now = sg_now_ns();
    PyObject *code = args[0];
    lines_frame *fr = lines_top();
    if (fr && fr->lc->code == code) {
        lines_close(fr, now);
        lines_tls.depth--;
    } else if (lines_lookup(code)) {
        lines_pop(code, now);
    }
    Py_RETURN_NONE;
}

static PyMethodDef mon_defs[] = {
    {"_line", (PyCFunction)(void (*)(void))mon_on_line, METH_FASTCALL, NULL},
    {"_start", (PyCFunction)(void (*)(void))mon_on_start, METH_FASTCALL, NULL},
    {"_resume", (PyCFunction)(void (*)(void))mon_on_resume, METH_FASTCALL,
     NULL},
    {"_exit", (PyCFunction)(void (*)(void))mon_on_exit, METH_FASTCALL, NULL},
};

static long
event_bit(PyObject *events, const char *name)
{
    PyObject *v = PyObject_GetAttrString(events, name);
    long r = v ? PyLong_AsLong(v) : -1;
    Py_XDECREF(v);
    return r;
}

static int
mon_register(long event, PyMethodDef *def)
{
    PyObject *fn = def ? PyCFunction_New(def, NULL) : Py_None;
    if (!fn)
        return -1;
    if (!def)
        Py_INCREF(fn);
    PyObject *r = PyObject_CallMethod(mon, "register_callback", "ilO",
                                      mon_tool, event, fn);
    Py_DECREF(fn);
    Py_XDECREF(r);
    return r ? 0 : -1;
}

static int
mon_set_events(long mask)
{
    PyObject *r = PyObject_CallMethod(mon, "set_events", "il", mon_tool, mask);
    Py_XDECREF(r);
    return r ? 0 : -1;
}

int
lines_backend_start(void)
{
    if (!mon) {
        PyObject *sys = PyImport_ImportModule("sys");
        mon = sys ? PyObject_GetAttrString(sys, "monitoring") : NULL;
        Py_XDECREF(sys);
        if (!mon)
            return -1;
        mon_disable = PyObject_GetAttrString(mon, "DISABLE");
        PyObject *events = PyObject_GetAttrString(mon, "events");
        if (!mon_disable || !events) {
            Py_XDECREF(events);
            return -1;
        }
        ev_line = event_bit(events, "LINE");
        ev_start = event_bit(events, "PY_START");
        ev_resume = event_bit(events, "PY_RESUME");
        ev_return = event_bit(events, "PY_RETURN");
        ev_yield = event_bit(events, "PY_YIELD");
        ev_unwind = event_bit(events, "PY_UNWIND");
        ev_throw = event_bit(events, "PY_THROW");
        Py_DECREF(events);
        if (PyErr_Occurred())
            return -1;
    }
    /* The profiler id first; debuggers and coverage own 0 and 1. */
    static const int ids[] = {2, 4, 3, 5};
    mon_tool = -1;
    for (size_t i = 0; i < sizeof ids / sizeof *ids && mon_tool < 0; i++) {
        PyObject *t = PyObject_CallMethod(mon, "get_tool", "i", ids[i]);
        if (!t)
            return -1;
        if (t == Py_None) {
            PyObject *r = PyObject_CallMethod(mon, "use_tool_id", "is", ids[i],
                                              "spyglass lines");
            if (!r) {
                Py_DECREF(t);
                return -1;
            }
            Py_DECREF(r);
            mon_tool = ids[i];
        }
        Py_DECREF(t);
    }
    if (mon_tool < 0) {
        PyErr_SetString(PyExc_RuntimeError,
                        "spyglass lines: every sys.monitoring tool id (2-5) "
                        "is in use by other tools");
        return -1;
    }
    if (mon_register(ev_line, &mon_defs[0]) < 0 ||
        mon_register(ev_start, &mon_defs[1]) < 0 ||
        mon_register(ev_resume, &mon_defs[2]) < 0 ||
        mon_register(ev_throw, &mon_defs[2]) < 0 ||
        mon_register(ev_return, &mon_defs[3]) < 0 ||
        mon_register(ev_yield, &mon_defs[3]) < 0 ||
        mon_register(ev_unwind, &mon_defs[3]) < 0)
        goto fail;
    long global = ev_unwind | ev_throw | (lines_lazy ? ev_start : 0);
    if (mon_set_events(global) < 0)
        goto fail;
    lines_running = 1;
    return 0;
fail:
    lines_running = 1;
    lines_backend_stop();
    return -1;
}

void
lines_backend_stop(void)
{
    if (!lines_running)
        return;
    lines_running = 0;
    PyObject *t, *v, *tb;
    PyErr_Fetch(&t, &v, &tb);
    mon_set_events(0);
    long evs[] = {ev_line,   ev_start, ev_resume, ev_throw,
                  ev_return, ev_yield, ev_unwind};
    for (size_t i = 0; i < sizeof evs / sizeof *evs; i++)
        mon_register(evs[i], NULL);
    PyObject *r = PyObject_CallMethod(mon, "free_tool_id", "i", mon_tool);
    Py_XDECREF(r);
    PyErr_Clear();
    PyErr_Restore(t, v, tb);
    mon_tool = -1;
}

static int
mon_local(lines_code *lc, long mask)
{
    PyObject *r = PyObject_CallMethod(mon, "set_local_events", "iOl", mon_tool,
                                      lc->code, mask);
    Py_XDECREF(r);
    return r ? 0 : -1;
}

int
lines_backend_watch(lines_code *lc)
{
    if (!lines_running)
        return 0;
    return mon_local(lc,
                     ev_line | ev_start | ev_resume | ev_return | ev_yield);
}

void
lines_backend_unwatch(lines_code *lc)
{
    if (!lines_running)
        return;
    PyObject *t, *v, *tb;
    PyErr_Fetch(&t, &v, &tb);
    if (mon_local(lc, 0) < 0)
        PyErr_Clear();
    PyErr_Restore(t, v, tb);
}

#endif /* 3.12+ */
