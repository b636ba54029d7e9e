/* frames.h -- the running Python frames of the current thread, read in
 * place, for collectors that must know where the program is without an
 * event telling them (an allocation hook).
 *
 * Every CPython difference is here, so that callers compare no version:
 *   3.8-3.10  PyFrameObject chain (tstate->frame, f_back), f_lasti in
 *             bytes (3.8, 3.9) or code units (3.10, -1 before the first
 *             instruction);
 *   3.11-3.12 _PyInterpreterFrame chain (tstate->cframe->current_frame,
 *             previous), prev_instr; 3.12 puts a shim frame owned by the C
 *             stack at each entry from C;
 *   3.13      tstate->current_frame, instr_ptr, f_executable (not always
 *             a code object: None in shim frames).
 * Frames that are not (yet) running the function's own code -- shims, and
 * frames still making cells before their first RESUME -- are skipped, as
 * tracemalloc and tracebacks skip them. Reading creates no frame object
 * and allocates nothing (PyFrame_GetLineNumber would, on 3.11+).
 *
 * The caller must hold the GIL: the chain belongs to the thread state
 * that holds it.
 */
#ifndef SG_AGENT_FRAMES_H
#define SG_AGENT_FRAMES_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#if PY_VERSION_HEX >= 0x030B0000
#define Py_BUILD_CORE 1
#include "internal/pycore_frame.h"
#undef Py_BUILD_CORE
typedef struct _PyInterpreterFrame frames_frame;
#else
#include <frameobject.h>
typedef PyFrameObject frames_frame;
#endif

/* The current thread's state, or NULL. Before 3.12 this is the state of
 * the thread that holds the GIL, whichever thread asks: check
 * PyGILState_Check() first where the GIL may not be held. */
static inline PyThreadState *
frames_tstate(void)
{
#if PY_VERSION_HEX >= 0x030D0000
    return PyThreadState_GetUnchecked();
#else
    return _PyThreadState_UncheckedGet();
#endif
}

/* Whether f runs its function's own code (not a shim, not incomplete). */
static inline int
frames_is_real(frames_frame *f)
{
#if PY_VERSION_HEX >= 0x030C0000
    if (f->owner == FRAME_OWNED_BY_CSTACK)
        return 0;
#endif
#if PY_VERSION_HEX >= 0x030B0000
    return !_PyFrame_IsIncomplete(f);
#else
    (void)f;
    return 1;
#endif
}

/* The first real frame from f outwards (f included), or NULL. */
static inline frames_frame *
frames_real(frames_frame *f)
{
    while (f && !frames_is_real(f)) {
#if PY_VERSION_HEX >= 0x030B0000
        f = f->previous;
#else
        f = f->f_back;
#endif
    }
    return f;
}

/* The frame thread state ts runs now, as it is (3.11+: possibly a shim
 * or incomplete frame): for a callback of an event of the running frame,
 * which is real. */
static inline frames_frame *
frames_running(PyThreadState *ts)
{
#if PY_VERSION_HEX >= 0x030D0000
    return ts->current_frame;
#elif PY_VERSION_HEX >= 0x030B0000
    return ts->cframe->current_frame;
#else
    return ts->frame;
#endif
}

/* The innermost real frame of thread state ts, or NULL. */
static inline frames_frame *
frames_current(PyThreadState *ts)
{
    return frames_real(frames_running(ts));
}

/* The real frame that called f (its caller, or the frame that resumed a
 * generator), or NULL. Only the innermost frame can be incomplete (a
 * caller is at its call), so above it only shims are skipped, without
 * reading the code object of every frame. */
static inline frames_frame *
frames_back(frames_frame *f)
{
#if PY_VERSION_HEX >= 0x030C0000
    f = f->previous;
    while (f && f->owner == FRAME_OWNED_BY_CSTACK)
        f = f->previous;
    return f;
#elif PY_VERSION_HEX >= 0x030B0000
    return f->previous;
#else
    return f->f_back;
#endif
}

/* The code object f runs (borrowed). */
static inline PyCodeObject *
frames_code(frames_frame *f)
{
#if PY_VERSION_HEX >= 0x030D0000
    return _PyFrame_GetCode(f);
#elif PY_VERSION_HEX >= 0x030B0000
    return f->f_code;
#else
    return f->f_code;
#endif
}

/* The byte offset of the instruction f runs (or last ran), as
 * PyCode_Addr2Line takes it; negative before the first instruction. */
static inline int
frames_lasti(frames_frame *f)
{
#if PY_VERSION_HEX >= 0x030B0000
    return _PyInterpreterFrame_LASTI(f) * (int)sizeof(_Py_CODEUNIT);
#elif PY_VERSION_HEX >= 0x030A0000
    return f->f_lasti < 0 ? -1 : f->f_lasti * (int)sizeof(_Py_CODEUNIT);
#else
    return f->f_lasti;
#endif
}

/* Where f is, as one word: from 3.11 the address of its instruction,
 * inside its code object, so that it tells both the code and the
 * instruction apart from any other position of a code object still alive;
 * before 3.11 the byte offset alone (FRAMES_POS_NAMES_CODE is 0), which
 * callers compare together with the code. For comparing where a frame is
 * with where it was, without computing an offset. */
#if PY_VERSION_HEX >= 0x030B0000
#define FRAMES_POS_NAMES_CODE 1
#else
#define FRAMES_POS_NAMES_CODE 0
#endif
static inline uintptr_t
frames_pos(frames_frame *f)
{
#if PY_VERSION_HEX >= 0x030D0000
    return (uintptr_t)f->instr_ptr;
#elif PY_VERSION_HEX >= 0x030B0000
    return (uintptr_t)f->prev_instr;
#else
    return (uintptr_t)(intptr_t)f->f_lasti;
#endif
}

/* The line of the instruction at byte offset lasti of code: a walk of the
 * code's line table, so callers cache it per (code, lasti). */
static inline int
frames_line(PyCodeObject *code, int lasti)
{
    return PyCode_Addr2Line(code, lasti < 0 ? 0 : lasti);
}

#endif
