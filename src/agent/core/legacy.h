/* legacy.h -- the C profile and trace functions (3.8-3.11), installed the
 * one way every collector uses.
 *
 * Before sys.monitoring, events come from a C function the eval loop calls
 * (PyEval_SetProfile: calls and returns; PyEval_SetTrace: also lines). It
 * is per thread state, so "every thread" takes two steps: each existing
 * thread state gets the function now (_PyEval_SetProfile/_PyEval_SetTrace
 * on 3.9-3.11, which take a thread state; on 3.8 the thread state's public
 * fields, as PyEval_SetProfile/SetTrace set them), and each thread that
 * threading starts later gets it at its first event: threading.setprofile
 * (settrace) makes the new thread call a small C hook, which replaces
 * itself with the C function and replays that first event (the call of
 * Thread.run) into it. Threads started with _thread directly are not seen.
 */
#ifndef SG_AGENT_LEGACY_H
#define SG_AGENT_LEGACY_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#if PY_VERSION_HEX < 0x030C0000

typedef enum legacy_kind {
    LEGACY_PROFILE, /* PyEval_SetProfile's slot */
    LEGACY_TRACE,   /* PyEval_SetTrace's slot */
} legacy_kind;

/* Set thread state ts's function of that kind (fn NULL: none); obj is
 * passed to fn, and referenced while installed. Keeps any exception
 * already set (a frame may be unwinding). */
void legacy_set(PyThreadState *ts, legacy_kind kind, Py_tracefunc fn,
                PyObject *obj);

/* Install fn on every thread of the interpreter, existing and new. At most
 * one function per kind at a time. Returns 0, or -1 with an exception. */
int legacy_install_all(legacy_kind kind, Py_tracefunc fn, PyObject *obj);

/* Remove it from every thread, and from the threads not started yet.
 * Keeps any exception already set; returns -1 when threading refused. */
int legacy_remove_all(legacy_kind kind);

#endif /* before 3.12 */

#endif
