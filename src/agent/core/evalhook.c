/* evalhook.c -- installing and removing a frame-evaluation hook (see
 * evalhook.h). */
#include "agent/core/evalhook.h"

#if PY_VERSION_HEX < 0x03090000
/* 3.8 has no setter: the evaluator is a field of the interpreter state,
 * whose struct is internal. */
#define Py_BUILD_CORE 1
#include "internal/pycore_pystate.h"
#undef Py_BUILD_CORE
#endif

static PyInterpreterState *
evalhook_interp(void)
{
#if PY_VERSION_HEX >= 0x03090000
    return PyThreadState_GetInterpreter(PyThreadState_Get());
#else
    return PyThreadState_Get()->interp;
#endif
}

static evalhook_fn
evalhook_get(PyInterpreterState *interp)
{
#if PY_VERSION_HEX >= 0x03090000
    return _PyInterpreterState_GetEvalFrameFunc(interp);
#else
    return interp->eval_frame;
#endif
}

static void
evalhook_put(PyInterpreterState *interp, evalhook_fn fn)
{
#if PY_VERSION_HEX >= 0x03090000
    _PyInterpreterState_SetEvalFrameFunc(interp, fn);
#else
    interp->eval_frame = fn;
#endif
}

bool
evalhook_is_default(void)
{
    return evalhook_get(evalhook_interp()) == _PyEval_EvalFrameDefault;
}

void
evalhook_install(evalhook *h)
{
    if (h->installed)
        return;
    PyInterpreterState *interp = evalhook_interp();
    evalhook_fn prev = evalhook_get(interp);
    /* The default is called directly (NULL), without the indirection. */
    h->prev = prev == _PyEval_EvalFrameDefault ? NULL : prev;
    evalhook_put(interp, h->fn);
    h->installed = true;
}

void
evalhook_remove(evalhook *h)
{
    if (!h->installed)
        return;
    PyInterpreterState *interp = evalhook_interp();
    if (evalhook_get(interp) == h->fn)
        evalhook_put(interp, h->prev ? h->prev : _PyEval_EvalFrameDefault);
    h->installed = false;
}
