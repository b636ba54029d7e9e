/* core.c -- the profiler's tables: functions, the calling-context tree,
 * per-thread shadow stacks; enabling, disabling, failing. The per-event
 * fast paths are inline in profiler.h; this file holds what runs once per
 * new function, node or thread, and the general paths behind them. */
#include <stdio.h>
#include <string.h>

#include "agent/profile/profiler.h"

profiler *prof_active;
AGENT_TLS prof_tls_slot prof_tls;
static unsigned long prof_main_ident;

/* Close t's frames down to depth (at least the thread's root). */
static void
prof_unwind_to(profiler *P, prof_thread *t, size_t depth, uint64_t now)
{
    while (t->depth > depth && t->depth > 1)
        prof_pop(P, t, now);
}

/* Out of memory inside a callback: every open frame closes now, as if it
 * returned, and nothing more is recorded (the threads' caches go stale, so
 * every event takes the general path, which stops at P->failed). */
static void
prof_fail(profiler *P, uint64_t now)
{
    if (P->failed)
        return;
    P->failed = true;
    P->gen = tls_gen_next();
    for (prof_thread *t = P->threads; t; t = t->next)
        prof_unwind_to(P, t, 1, now);
    instr_out_of_memory("profile");
}

/* Grow an array of elements of size sz; false (and no change) when memory
 * is exhausted. */
static bool
prof_grow(void **arr, size_t *cap, size_t need, size_t sz)
{
    if (need <= *cap)
        return true;
    size_t c = *cap ? *cap : 256;
    while (c < need)
        c *= 2;
    void *p = PyMem_RawRealloc(*arr, c * sz);
    if (!p)
        return false;
    *arr = p;
    *cap = c;
    return true;
}

/* A new node (func under parent); UINT32_MAX when memory is exhausted. */
static uint32_t
prof_add_node(profiler *P, uint32_t parent, uint32_t func)
{
    if (!prof_grow((void **)&P->nodes, &P->cap_nodes, P->n_nodes + 1,
                   sizeof *P->nodes))
        return UINT32_MAX;
    uint32_t id = (uint32_t)P->n_nodes;
    if (parent != UINT32_MAX &&
        hm64_put(&P->child_index, ((uint64_t)parent << 32) | func, id) < 0)
        return UINT32_MAX;
    prof_node *n = &P->nodes[id];
    memset(n, 0, sizeof *n);
    n->func = func;
    n->parent = parent;
    n->cache_child = UINT32_MAX;
    P->n_nodes++;
    return id;
}

/* cProfile's label of a C function: "<built-in method builtins.len>",
 * "<method 'append' of 'list' objects>", "<built-in method fromkeys>". */
static PyObject *
prof_cfunc_label(PyObject *callable)
{
    if (Py_IS_TYPE(callable, &PyMethodDescr_Type))
        return PyObject_Repr(callable);
    PyCFunctionObject *fn = (PyCFunctionObject *)callable;
    const char *name = fn->m_ml->ml_name;
    PyObject *self = fn->m_self;
    PyObject *mod = fn->m_module;
    if (self == NULL) {
        /* A plain function: its module's name, unless builtins. */
        PyObject *modname = NULL;
        if (mod && PyUnicode_Check(mod)) {
            modname = mod;
            Py_INCREF(modname);
        } else if (mod && PyModule_Check(mod)) {
            modname = PyModule_GetNameObject(mod);
            if (!modname)
                PyErr_Clear();
        }
        PyObject *r;
        if (modname &&
            PyUnicode_CompareWithASCIIString(modname, "builtins") != 0)
            r = PyUnicode_FromFormat("<%U.%s>", modname, name);
        else
            r = PyUnicode_FromFormat("<%s>", name);
        Py_XDECREF(modname);
        return r;
    }
    /* A method: the repr of what its type holds under that name. */
    PyObject *pyname = PyUnicode_FromString(name);
    if (!pyname)
        return NULL;
    PyObject *found = _PyType_Lookup(Py_TYPE(self), pyname); /* borrowed */
    Py_DECREF(pyname);
    if (found) {
        Py_INCREF(found);
        PyObject *r = PyObject_Repr(found);
        Py_DECREF(found);
        if (r)
            return r;
        PyErr_Clear();
    }
    if (mod && PyUnicode_Check(mod))
        return PyUnicode_FromFormat("<built-in method %U.%s>", mod, name);
    return PyUnicode_FromFormat("<built-in method %s>", name);
}

/* A new function; UINT32_MAX when memory is exhausted. */
static uint32_t
prof_add_func(profiler *P, const void *key, PyObject *obj, prof_kind kind)
{
    PyObject *label = NULL;
    if (kind == PROF_BUILTIN) {
        /* Only C code runs here (reprs of builtin descriptors), so no
         * event re-enters the profiler. */
        PyObject *t, *v, *tb;
        PyErr_Fetch(&t, &v, &tb);
        label = prof_cfunc_label(obj);
        if (!label)
            PyErr_Clear();
        PyErr_Restore(t, v, tb);
        if (!label)
            return UINT32_MAX;
    }
    uint32_t id = (uint32_t)P->n_funcs;
    if (!prof_grow((void **)&P->funcs, &P->cap_funcs, P->n_funcs + 1,
                   sizeof *P->funcs) ||
        hm64_put(&P->func_index, (uint64_t)(uintptr_t)key, id) < 0) {
        Py_XDECREF(label);
        return UINT32_MAX;
    }
    prof_func *f = &P->funcs[id];
    f->key = key;
    f->kind = (uint8_t)kind;
    f->label = label;
    f->code = NULL;
    if (kind == PROF_PYTHON) {
        /* Keep the code object alive so that its address stays its own. */
        f->code = obj;
        Py_INCREF(obj);
    }
    P->n_funcs++;
    return id;
}

/* The node of function key under parent, added when new; UINT32_MAX when
 * memory is exhausted. */
static uint32_t
prof_child(profiler *P, uint32_t parent, const void *key, PyObject *obj,
           prof_kind kind)
{
    uint32_t func = hm64_get(&P->func_index, (uint64_t)(uintptr_t)key);
    if (func == HM_NONE) {
        func = prof_add_func(P, key, obj, kind);
        if (func == UINT32_MAX)
            return UINT32_MAX;
    }
    uint32_t child =
        hm64_get(&P->child_index, ((uint64_t)parent << 32) | func);
    if (child == HM_NONE)
        child = prof_add_node(P, parent, func);
    return child;
}

/* Double t's stack; false when memory is exhausted. A 200,000-deep
 * recursion takes 6 MB. */
static bool
prof_grow_stack(prof_thread *t)
{
    size_t cap = t->cap * 2;
    prof_frame *s = PyMem_RawRealloc(t->stack, cap * sizeof *s);
    if (!s)
        return false;
    t->stack = s;
    t->cap = cap;
    return true;
}

/* The name of the thread with this ident from threading._active, read
 * without running Python code (dict lookups and an instance attribute), so
 * that it is safe inside an event callback. */
static void
prof_try_name(prof_thread *t)
{
    t->name_tries--;
    PyObject *modules = PyImport_GetModuleDict(); /* borrowed */
    PyObject *threading =
        modules ? PyDict_GetItemString(modules, "threading") : NULL;
    if (!threading)
        return;
    /* An exception may be in flight (an unwinding frame): keep it. */
    PyObject *et, *ev, *etb;
    PyErr_Fetch(&et, &ev, &etb);
    PyObject *active = PyObject_GetAttrString(threading, "_active");
    if (!active) {
        PyErr_Restore(et, ev, etb);
        return;
    }
    PyObject *ident = PyLong_FromUnsignedLong(t->ident);
    PyObject *thread = ident && PyDict_Check(active)
                           ? PyDict_GetItem(active, ident)
                           : NULL; /* borrowed */
    PyObject *d = thread ? PyObject_GenericGetDict(thread, NULL) : NULL;
    PyObject *name =
        d && PyDict_Check(d) ? PyDict_GetItemString(d, "_name") : NULL;
    if (name && PyUnicode_Check(name)) {
        const char *s = PyUnicode_AsUTF8(name);
        if (s) {
            snprintf(t->name, sizeof t->name, "%s", s);
            t->name_tries = 0;
        }
    }
    PyErr_Clear();
    Py_XDECREF(d);
    Py_XDECREF(ident);
    Py_DECREF(active);
    PyErr_Restore(et, ev, etb);
}

/* This thread's state in P: made at its first event, then cached in TLS
 * under P's generation. NULL when P failed or memory is exhausted. */
static prof_thread *
prof_thread_slow(profiler *P)
{
    if (P->failed)
        return NULL;
    unsigned long ident = PyThread_get_thread_ident();
    prof_thread *t = PyMem_RawCalloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->ident = ident;
    t->cap = 256;
    t->stack = PyMem_RawMalloc(t->cap * sizeof *t->stack);
    uint32_t fn = UINT32_MAX;
    if (t->stack)
        fn = prof_add_func(P, t, NULL, PROF_THREAD);
    uint32_t root = fn == UINT32_MAX ? UINT32_MAX : prof_add_node(P, 0, fn);
    if (root == UINT32_MAX) {
        PyMem_RawFree(t->stack);
        PyMem_RawFree(t);
        return NULL;
    }
    t->root = root;
    t->stack[0] = (prof_frame){root, NULL, 0, 0};
    t->depth = 1;
    if (ident == prof_main_ident) {
        snprintf(t->name, sizeof t->name, "MainThread");
    } else {
        snprintf(t->name, sizeof t->name, "Thread-%lu", ident);
        t->name_tries = 64;
        prof_try_name(t);
    }
    t->next = P->threads;
    P->threads = t;
    prof_tls.gen = P->gen;
    prof_tls.thread = t;
    prof_times_thread_start(P, t, ticks_now());
    return t;
}

static prof_thread *
prof_thread_get(profiler *P, uint64_t now)
{
    if (prof_tls.gen == P->gen)
        return prof_tls.thread;
    prof_thread *t = prof_thread_slow(P);
    if (!t)
        prof_fail(P, now);
    return t;
}

/* Enter function `key`; obj describes it the first time it is seen (the
 * code object, or the C callable). */
static void
prof_enter(profiler *P, prof_thread *t, const void *key, PyObject *obj,
           prof_kind kind, uint64_t now)
{
    uint32_t parent = t->stack[t->depth - 1].node;
    prof_node *pn = &P->nodes[parent];
    uint32_t child;
    if (pn->cache_key == key) {
        child = pn->cache_child;
    } else {
        child = prof_child(P, parent, key, obj, kind);
        if (child == UINT32_MAX) {
            prof_fail(P, now);
            return;
        }
        pn = &P->nodes[parent]; /* the table may have moved */
        pn->cache_key = key;
        pn->cache_child = child;
    }
    if (t->depth == t->cap && !prof_grow_stack(t)) {
        prof_fail(P, now);
        return;
    }
    prof_push(P, t, child, key, now);
    if (t->name_tries > 0 && t->depth > 2)
        prof_try_name(t);
}

/* Leave function `key`. A return that does not match the top of the stack
 * belongs to a frame entered before profiling began (ignored), or follows
 * events the interpreter did not report; then the frames above the match
 * are closed too, so that the stack never drifts. */
static void
prof_leave(profiler *P, prof_thread *t, const void *key, uint64_t now)
{
    if (t->depth <= 1)
        return;
    if (t->stack[t->depth - 1].key == key) {
        prof_pop(P, t, now);
        return;
    }
    for (size_t i = t->depth - 1; i >= 1; i--) {
        if (t->stack[i].key == key) {
            prof_unwind_to(P, t, i + 1, now);
            prof_pop(P, t, now);
            return;
        }
    }
}

void
prof_event_enter(profiler *P, const void *key, PyObject *obj, prof_kind kind,
                 uint64_t now)
{
    if (P->failed)
        return;
    prof_thread *t = prof_thread_get(P, now);
    if (t)
        prof_enter(P, t, key, obj, kind, now);
}

void
prof_event_leave(profiler *P, const void *key, uint64_t now)
{
    if (P->failed)
        return;
    prof_thread *t = prof_thread_get(P, now);
    if (t)
        prof_leave(P, t, key, now);
}

void
profiler_setup(profiler *P)
{
    P->gen = tls_gen_next();
    hm64_init(&P->func_index);
    hm64_init(&P->child_index);
}

int
profiler_enable(profiler *P)
{
    if (P->enabled)
        return 0;
#ifdef Py_GIL_DISABLED
    /* The shared tables rely on the GIL to serialise the callbacks. */
    PyErr_SetString(PyExc_RuntimeError,
                    "spyglass profile does not support free-threaded "
                    "builds yet");
    return -1;
#endif
    if (prof_active) {
        PyErr_SetString(PyExc_RuntimeError,
                        "another spyglass profiler is already enabled");
        return -1;
    }
    if (prof_main_ident == 0) {
        /* The main thread's ident, to name it without asking threading. */
        PyObject *modules = PyImport_GetModuleDict();
        PyObject *threading = PyDict_GetItemString(modules, "threading");
        PyObject *mt =
            threading ? PyObject_CallMethod(threading, "main_thread", NULL)
                      : NULL;
        PyObject *id = mt ? PyObject_GetAttrString(mt, "ident") : NULL;
        prof_main_ident = id && PyLong_Check(id) ? PyLong_AsUnsignedLong(id)
                                                 : PyThread_get_thread_ident();
        PyErr_Clear();
        Py_XDECREF(id);
        Py_XDECREF(mt);
    }
    if (P->n_nodes == 0 && prof_add_node(P, UINT32_MAX, UINT32_MAX) != 0)
        return PyErr_NoMemory(), -1;
    prof_active = P;
    P->enabled = true;
    prof_times_resume(P, ticks_now());
    if (prof_hooks_install(P) < 0) {
        prof_active = NULL;
        P->enabled = false;
        return -1;
    }
    return 0;
}

int
profiler_disable(profiler *P)
{
    if (!P->enabled)
        return 0;
    int rc = prof_hooks_remove(P);
    uint64_t now = ticks_now();
    /* Close what is still running, as if it returned now: cProfile does
     * the same, so a profile taken inside a function counts it. */
    for (prof_thread *t = P->threads; t; t = t->next)
        prof_unwind_to(P, t, 1, now);
    prof_times_pause(P, now);
    P->enabled = false;
    prof_active = NULL;
    return rc;
}

void
profiler_clear(profiler *P)
{
    profiler_teardown(P);
    P->failed = false;
    P->wall_ticks = 0;
    P->enabled_at = ticks_now();
    profiler_setup(P); /* a new generation: the threads' caches are stale */
}

void
profiler_teardown(profiler *P)
{
    for (size_t i = 0; i < P->n_funcs; i++) {
        Py_XDECREF(P->funcs[i].code);
        Py_XDECREF(P->funcs[i].label);
    }
    PyMem_RawFree(P->funcs);
    PyMem_RawFree(P->nodes);
    P->funcs = NULL;
    P->nodes = NULL;
    P->n_funcs = P->cap_funcs = P->n_nodes = P->cap_nodes = 0;
    hm64_free(&P->func_index);
    hm64_free(&P->child_index);
    prof_times_forget(P);
    while (P->threads) {
        prof_thread *t = P->threads;
        P->threads = t->next;
        PyMem_RawFree(t->stack);
        PyMem_RawFree(t);
    }
}
