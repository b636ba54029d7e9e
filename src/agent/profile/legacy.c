/* legacy.c -- the profiler's events on 3.8-3.11: the C profile function
 * (PyEval_SetProfile), installed on every thread, existing and new, by
 * core/legacy.h. Python calls and returns come as PyTrace_CALL/RETURN
 * (also for each resume and yield of a generator or coroutine), C functions
 * as PyTrace_C_CALL/C_RETURN/C_EXCEPTION: the events cProfile uses on these
 * versions, so the counts agree.
 */
#include "agent/profile/profiler.h"

#if PY_VERSION_HEX < 0x030C0000

#if PY_VERSION_HEX < 0x030B0000
#include <frameobject.h>
#endif

static PyObject *
prof_frame_code(PyFrameObject *frame)
{
#if PY_VERSION_HEX >= 0x030B0000
    /* A new reference, but the frame keeps the code alive meanwhile. */
    PyCodeObject *co = PyFrame_GetCode(frame);
    Py_DECREF(co);
    return (PyObject *)co;
#else
    return (PyObject *)frame->f_code;
#endif
}

static int
prof_legacy_cb(PyObject *obj, PyFrameObject *frame, int what, PyObject *arg)
{
    profiler *P = prof_active;
    if (!P)
        return 0;
    uint64_t now = ticks_now();
    const void *key;
    switch (what) {
    case PyTrace_CALL: {
        PyObject *co = prof_frame_code(frame);
        if (!prof_enter_fast(P, co, now))
            prof_event_enter(P, co, co, PROF_PYTHON, now);
        break;
    }
    case PyTrace_RETURN:
        key = prof_frame_code(frame);
        if (!prof_leave_fast(P, key, now))
            prof_event_leave(P, key, now);
        break;
    case PyTrace_C_CALL:
        if (P->builtins && PyCFunction_Check(arg)) {
            key = ((PyCFunctionObject *)arg)->m_ml;
            if (!prof_enter_fast(P, key, now))
                prof_event_enter(P, key, arg, PROF_BUILTIN, now);
        }
        break;
    case PyTrace_C_RETURN:
    case PyTrace_C_EXCEPTION:
        if (P->builtins && PyCFunction_Check(arg)) {
            key = ((PyCFunctionObject *)arg)->m_ml;
            if (!prof_leave_fast(P, key, now))
                prof_event_leave(P, key, now);
        }
        break;
    default:
        break;
    }
    return 0;
}

int
prof_hooks_install(profiler *P)
{
    return legacy_install_all(LEGACY_PROFILE, prof_legacy_cb, (PyObject *)P);
}

int
prof_hooks_remove(profiler *P)
{
    return legacy_remove_all(LEGACY_PROFILE);
}

#endif /* before 3.12 */
