/* profiler_core.c -- the profiler's tables: functions, the calling-context
 * tree, per-thread shadow stacks, the clock, and the conversion into the
 * profile model. The per-event fast paths are inline in profiler.h; this
 * file holds what runs once per new function, node or thread. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#include "agent/profile/profiler.h"
#include "common/clock.h"

profiler *prof_active;
bool prof_tsc_ok;
PROF_TLS prof_thread *prof_tls_thread;
PROF_TLS uint64_t prof_tls_epoch;
PROF_TLS uint64_t prof_tls_uid;
static uint64_t prof_epoch_counter;
static uint64_t prof_uid_counter;

uint64_t
prof_new_uid(void)
{
    return ++prof_uid_counter;
}
static unsigned long prof_main_ident;

/* The TSC is usable as a clock only when it is invariant: constant rate
 * across frequency changes and sleep states (CPUID 0x80000007 EDX bit 8).
 * Then it is read in a few cycles, without the vDSO's conversions. */
static bool
prof_detect_tsc(void)
{
#if PROF_HAVE_TSC
    unsigned int a, b, c, d;
    if (getenv("SPYGLASS_NO_TSC"))
        return false;
    if (!__get_cpuid(0x80000000, &a, &b, &c, &d) || a < 0x80000007)
        return false;
    __get_cpuid(0x80000007, &a, &b, &c, &d);
    return (d >> 8) & 1;
#else
    return false;
#endif
}

void
prof_clock_init(void)
{
    prof_tsc_ok = prof_detect_tsc();
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

static uint32_t
prof_add_node(profiler *P, uint32_t parent, uint32_t func)
{
    if (!prof_grow((void **)&P->nodes, &P->cap_nodes, P->n_nodes + 1,
                   sizeof *P->nodes))
        return UINT32_MAX;
    prof_node *n = &P->nodes[P->n_nodes];
    memset(n, 0, sizeof *n);
    n->func = func;
    n->parent = parent;
    n->cache_child = UINT32_MAX;
    if (parent != UINT32_MAX)
        hm64_put(&P->child_index, ((uint64_t)parent << 32) | func,
                 (uint32_t)P->n_nodes);
    return (uint32_t)P->n_nodes++;
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
    if (!prof_grow((void **)&P->funcs, &P->cap_funcs, P->n_funcs + 1,
                   sizeof *P->funcs)) {
        Py_XDECREF(label);
        return UINT32_MAX;
    }
    prof_func *f = &P->funcs[P->n_funcs];
    f->key = key;
    f->kind = (uint8_t)kind;
    f->label = label;
    f->code = NULL;
    if (kind == PROF_PYTHON) {
        /* Keep the code object alive so that its address stays its own. */
        f->code = obj;
        Py_INCREF(obj);
    }
    hm64_put(&P->func_index, (uint64_t)(uintptr_t)key, (uint32_t)P->n_funcs);
    return (uint32_t)P->n_funcs++;
}

uint32_t
prof_child_slow(profiler *P, uint32_t parent, const void *key, PyObject *obj,
                prof_kind kind)
{
    if (P->failed)
        return UINT32_MAX;
    uint32_t func = hm64_get(&P->func_index, (uint64_t)(uintptr_t)key);
    if (func == HM_NONE) {
        func = prof_add_func(P, key, obj, kind);
        if (func == UINT32_MAX) {
            P->failed = true;
            return UINT32_MAX;
        }
    }
    uint32_t child =
        hm64_get(&P->child_index, ((uint64_t)parent << 32) | func);
    if (child == HM_NONE) {
        child = prof_add_node(P, parent, func);
        if (child == UINT32_MAX)
            P->failed = true;
    }
    return child;
}

void
prof_grow_stack(prof_thread *t)
{
    size_t cap = t->cap * 2;
    prof_frame *s = PyMem_RawRealloc(t->stack, cap * sizeof *s);
    if (!s) {
        /* Keep counting in the deepest frame rather than crash: drop the
         * top entry so there is room. */
        t->depth--;
        return;
    }
    t->stack = s;
    t->cap = cap;
}

/* The name of the thread with this ident from threading._active, read
 * without running Python code (dict lookups and an instance attribute), so
 * that it is safe inside an event callback. */
void
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

prof_thread *
prof_thread_slow(profiler *P)
{
    unsigned long ident = PyThread_get_thread_ident();
    prof_thread *t = NULL;
    if (prof_tls_uid == P->uid)
        t = prof_tls_thread; /* this thread, profiled before a re-enable */
    if (!t) {
        t = PyMem_RawCalloc(1, sizeof *t);
        if (!t)
            return NULL;
        t->ident = ident;
        t->cap = 256;
        t->stack = PyMem_RawMalloc(t->cap * sizeof *t->stack);
        uint32_t fn = UINT32_MAX;
        if (t->stack)
            fn = prof_add_func(P, t, NULL, PROF_THREAD);
        uint32_t root =
            fn == UINT32_MAX ? UINT32_MAX : prof_add_node(P, 0, fn);
        if (root == UINT32_MAX) {
            PyMem_RawFree(t->stack);
            PyMem_RawFree(t);
            P->failed = true;
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
    }
    prof_tls_thread = t;
    prof_tls_epoch = P->epoch;
    prof_tls_uid = P->uid;
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
        child = prof_child_slow(P, parent, key, obj, kind);
        if (child == UINT32_MAX)
            return;
        pn = &P->nodes[parent]; /* the table may have moved */
        pn->cache_key = key;
        pn->cache_child = child;
    }
    if (t->depth == t->cap)
        prof_grow_stack(t);
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
    prof_thread *t = prof_thread_get(P);
    if (t)
        prof_enter(P, t, key, obj, kind, now);
}

void
prof_event_leave(profiler *P, const void *key, uint64_t now)
{
    prof_thread *t = prof_thread_get(P);
    if (t)
        prof_leave(P, t, key, now);
}

void
prof_unwind_to(profiler *P, prof_thread *t, size_t depth, uint64_t now)
{
    while (t->depth > depth && t->depth > 1)
        prof_pop(P, t, now);
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
    P->use_tsc = prof_tsc_ok;
    if (P->ns0 == 0) {
        P->tick0 = prof_ticks();
        P->ns0 = sg_now_ns();
    }
    P->epoch = ++prof_epoch_counter;
    prof_active = P;
    P->enabled = true;
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
    uint64_t now = prof_ticks();
    /* Close what is still running, as if it returned now: cProfile does
     * the same, so a profile taken inside a function counts it. */
    for (prof_thread *t = P->threads; t; t = t->next)
        prof_unwind_to(P, t, 1, now);
    P->tick1 = now;
    P->ns1 = sg_now_ns();
    P->enabled = false;
    P->epoch = 0;
    prof_active = NULL;
    return rc;
}

void
profiler_clear(profiler *P)
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
    hm64_init(&P->func_index);
    hm64_init(&P->child_index);
    while (P->threads) {
        prof_thread *t = P->threads;
        P->threads = t->next;
        PyMem_RawFree(t->stack);
        PyMem_RawFree(t);
    }
    P->ns0 = P->ns1 = P->tick0 = P->tick1 = 0;
    P->failed = false;
    P->uid = prof_new_uid(); /* thread caches of the old data are stale */
}

/* Nanoseconds per tick, measured over this profiler's life (at least
 * 20 ms, so that the ratio is precise to well under 0.1%). */
static double
prof_ns_per_tick(profiler *P)
{
    if (!P->use_tsc)
        return 1.0;
    uint64_t t1 = P->enabled || P->ns1 == 0 ? prof_ticks() : P->tick1;
    uint64_t n1 = P->enabled || P->ns1 == 0 ? sg_now_ns() : P->ns1;
    if (n1 - P->ns0 < 20000000u) {
        struct timespec ts = {0, (long)(20000000u - (n1 - P->ns0))};
        nanosleep(&ts, NULL);
        t1 = prof_ticks();
        n1 = sg_now_ns();
        if (!P->enabled) {
            P->tick1 = t1;
            P->ns1 = n1;
        }
    }
    if (t1 <= P->tick0)
        return 1.0;
    return (double)(n1 - P->ns0) / (double)(t1 - P->tick0);
}

static const char *
prof_utf8(PyObject *s, const char *fallback)
{
    const char *u = s && PyUnicode_Check(s) ? PyUnicode_AsUTF8(s) : NULL;
    if (!u) {
        PyErr_Clear();
        return fallback;
    }
    return u;
}

sg_profile *
profiler_build(profiler *P)
{
    static const char *const metrics[] = {"ns", "calls"};
    sg_profile *p = sg_profile_new(2, metrics);
    double npt = prof_ns_per_tick(P);
    sg_frame_id *frame_of =
        PyMem_RawMalloc((P->n_funcs + 1) * sizeof *frame_of);
    sg_node_id *node_of = PyMem_RawMalloc((P->n_nodes + 1) * sizeof *node_of);
    if (!frame_of || !node_of) {
        PyMem_RawFree(frame_of);
        PyMem_RawFree(node_of);
        sg_profile_free(p);
        PyErr_NoMemory();
        return NULL;
    }
    for (size_t i = 0; i < P->n_funcs; i++) {
        prof_func *f = &P->funcs[i];
        frame_of[i] = SG_NO_ID;
        if (f->kind == PROF_PYTHON) {
            PyCodeObject *co = (PyCodeObject *)f->code;
            sg_func_id id = sg_profile_func(
                p, SG_FUNC_PYTHON, prof_utf8(co->co_name, "?"),
                prof_utf8(co->co_filename, "?"), co->co_firstlineno, 0);
            frame_of[i] = sg_profile_frame(p, id, 0);
        } else if (f->kind == PROF_BUILTIN) {
            sg_func_id id = sg_profile_func(
                p, SG_FUNC_BUILTIN, prof_utf8(f->label, "?"), "~", 0, 0);
            frame_of[i] = sg_profile_frame(p, id, 0);
        }
    }
    node_of[0] = SG_ROOT_NODE;
    for (size_t i = 1; i < P->n_nodes; i++) {
        prof_node *n = &P->nodes[i];
        prof_func *f = &P->funcs[n->func];
        sg_node_id id;
        if (f->kind == PROF_THREAD) {
            const prof_thread *t = f->key;
            id = sg_profile_thread_root(p, SG_ROOT_NODE, t->ident, t->name);
        } else {
            id = sg_profile_child(p, node_of[n->parent], frame_of[n->func]);
        }
        node_of[i] = id;
        p->nodes[id].self[0] += (uint64_t)((double)n->ticks * npt + 0.5);
        p->nodes[id].self[1] += n->calls;
    }
    PyMem_RawFree(frame_of);
    PyMem_RawFree(node_of);
    char buf[64];
    snprintf(buf, sizeof buf, "%ld", (long)getpid());
    sg_profile_set_meta(p, "pid", buf);
    sg_profile_set_meta(p, "python", Py_GetVersion());
    sg_profile_set_meta(p, "clock", P->use_tsc ? "tsc" : "monotonic");
    return p;
}
