/* count.c -- exact instruction counts of the selected code objects
 * (dis.h).
 *
 * The line profiler's selection decides which code objects count; this
 * file is its op watcher (lines.h): each code object selected gets a table
 * of counts, one per code unit, and its lambdas, comprehensions and
 * generator expressions (code objects of their own, named "<...>", in its
 * constants) are selected with it.
 *
 * 3.12+: a sys.monitoring tool of its own with INSTRUCTION as a local
 * event of each selected code object, so nothing else pays. A code object
 * must be watched before its first instruction runs, or that run's first
 * instructions are missed: a function watcher selects the code of each
 * function as it is created (MAKE_FUNCTION), ahead of the line backend's
 * PY_START, which would come too late for RESUME.
 *
 * 3.8-3.11: the legacy backend traces only the selected frames and asks
 * for their opcode events; each one lands in dis_on_opcode.
 */
#include "agent/dis/dis.h" /* Python.h first */

#include <stdlib.h>

#include "common/alloc.h"
#include "common/hashmap.h"

static dis_counts **dis_all;
static size_t dis_n, dis_cap;
static hm64 dis_index; /* code address -> index in dis_all */
static int dis_index_ready;

static inline dis_counts *
dis_find(PyObject *code)
{
    uint32_t i = hm64_get(&dis_index, (uint64_t)(uintptr_t)code);
    return i == HM_NONE ? NULL : dis_all[i];
}

static inline void
dis_count(PyObject *code, long offset)
{
    dis_counts *c = dis_find(code);
    if (c && offset >= 0 && offset / 2 < c->units)
        c->n[offset / 2]++;
}

/* A table for code; 0, or -1 with an exception set. */
static int
dis_counts_add(PyObject *code)
{
    if (!dis_index_ready) {
        hm64_init(&dis_index);
        dis_index_ready = 1;
    }
    if (dis_find(code))
        return 0;
    PyObject *bytecode = PyObject_GetAttrString(code, "co_code");
    if (!bytecode)
        return -1;
    Py_ssize_t units =
        PyBytes_Check(bytecode) ? PyBytes_GET_SIZE(bytecode) / 2 : 0;
    Py_DECREF(bytecode);
    dis_counts *c = PyMem_Calloc(1, sizeof *c);
    uint64_t *n = PyMem_Calloc(units ? (size_t)units : 1, sizeof *n);
    if (!c || !n || SG_GROW(dis_all, dis_cap, dis_n + 1) < 0 ||
        hm64_put(&dis_index, (uint64_t)(uintptr_t)code, (uint32_t)dis_n) < 0) {
        PyMem_Free(c);
        PyMem_Free(n);
        PyErr_NoMemory();
        return -1;
    }
    Py_INCREF(code);
    c->code = code;
    c->n = n;
    c->units = units;
    dis_all[dis_n++] = c;
    return 0;
}

#if PY_VERSION_HEX >= 0x030C0000
static int dis_tool = -1;
static int dis_func_watcher = -1;

/* INSTRUCTION(code, offset) */
static PyObject *
dis_mon_instruction(PyObject *self, PyObject *const *args, size_t nargsf,
                    PyObject *kwnames)
{
    long offset = PyLong_AsLong(args[1]);
    if (offset == -1 && PyErr_Occurred())
        PyErr_Clear();
    else
        dis_count(args[0], offset);
    Py_RETURN_NONE;
}

/* A function is created: its code is selected now, before it can run.
 * Never fails the program (lines_select leaves no exception). */
static int
dis_on_function(PyFunction_WatchEvent event, PyFunctionObject *func,
                PyObject *new_value)
{
    (void)new_value;
    if (event == PyFunction_EVENT_CREATE && lines_lazy &&
        !lines_lookup(func->func_code))
        lines_select(lines_lazy, func->func_code);
    return 0;
}

static int
dis_watch(PyObject *code)
{
    if (dis_tool < 0)
        return 0;
    return mon_set_local_events(dis_tool, code, mon_bit[MON_INSTRUCTION]);
}
#else
static int
dis_watch(PyObject *code)
{
    (void)code;
    return 0;
}
#endif

/* The op watcher's `added`: count lc's code, and select what it holds. */
static int
dis_added(lines_code *lc)
{
    if (dis_counts_add(lc->code) < 0 || dis_watch(lc->code) < 0)
        return -1;
    PyObject *consts = ((PyCodeObject *)lc->code)->co_consts;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(consts); i++) {
        PyObject *c = PyTuple_GET_ITEM(consts, i);
        if (!PyCode_Check(c))
            continue;
        PyObject *name = ((PyCodeObject *)c)->co_name;
        if (PyUnicode_Check(name) && PyUnicode_GET_LENGTH(name) > 0 &&
            PyUnicode_READ_CHAR(name, 0) == '<' &&
            !lines_code_add(lc->prof, c))
            return -1;
    }
    return 0;
}

/* The op watcher's `opcode` (3.8-3.11). */
static void
dis_on_opcode(lines_code *lc, int offset)
{
    dis_count(lc->code, offset);
}

static const lines_op_watcher dis_watcher = {dis_added, dis_on_opcode};

int
dis_count_start(void)
{
#if PY_VERSION_HEX >= 0x030C0000
    int tool = mon_acquire("spyglass dis");
    if (tool < 0)
        return -1;
    if (mon_register(tool, MON_INSTRUCTION, dis_mon_instruction) < 0) {
        mon_release(tool);
        return -1;
    }
    int w = PyFunction_AddWatcher(dis_on_function);
    if (w < 0) {
        mon_release(tool);
        return -1;
    }
    dis_tool = tool;
    dis_func_watcher = w;
#endif
    lines_opwatch = &dis_watcher;
    return 0;
}

void
dis_count_stop(void)
{
    lines_opwatch = NULL;
#if PY_VERSION_HEX >= 0x030C0000
    if (dis_tool < 0)
        return;
    PyObject *t, *v, *tb;
    PyErr_Fetch(&t, &v, &tb);
    /* Local events outlive the tool id on 3.12: clear them, so the code
     * objects lose their instrumentation before dis looks at them. */
    for (size_t i = 0; i < dis_n; i++)
        if (mon_set_local_events(dis_tool, dis_all[i]->code, 0) < 0)
            PyErr_Clear();
    if (dis_func_watcher >= 0 && PyFunction_ClearWatcher(dis_func_watcher) < 0)
        PyErr_Clear();
    dis_func_watcher = -1;
    mon_release(dis_tool);
    dis_tool = -1;
    PyErr_Restore(t, v, tb);
#endif
}

dis_counts *const *
dis_count_all(size_t *n)
{
    *n = dis_n;
    return dis_all;
}

void
dis_count_free(void)
{
    for (size_t i = 0; i < dis_n; i++) {
        Py_DECREF(dis_all[i]->code);
        PyMem_Free(dis_all[i]->n);
        PyMem_Free(dis_all[i]);
    }
    free(dis_all);
    dis_all = NULL;
    dis_n = dis_cap = 0;
    if (dis_index_ready) {
        hm64_free(&dis_index);
        dis_index_ready = 0;
    }
}
