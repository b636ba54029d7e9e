/* flow.c -- which line events of a code object follow from others
 * (3.12-3.13), so that a profiler that counts lines without timing them
 * (the memory table) can switch those events off.
 *
 * A line event D follows from the one before it, P, when D is reached
 * only by falling through the straight-line code that begins at P: no
 * jump, return, yield or raise in [P, D), no jump or exception handler
 * landing in (P, D], and P's own event never skipped (or P follows in
 * turn). Every run of P then runs on to D, unless an exception leaves it,
 * and CPython tells that with a RAISE event naming the instruction. So a
 * frame's position says how far it went, and the events of P and of
 * every line after it in the chain are one event (derive.c).
 *
 * The line events are CPython's own choice: the instructions its
 * instrumentation marked when local LINE events were set on the code
 * (_co_monitoring->lines), so this file reads them instead of repeating
 * the rules. One rule matters here: no event is delivered at an
 * instruction whose line is that of the instruction that ran just before
 * it (other than RESUME), so a line that a jump or a fall-through from
 * its own line can reach heads no chain: its event may not come.
 *
 * Opcode knowledge (lengths, which opcodes jump) comes from the running
 * version's own tables, compiled in from its internal headers. Anything
 * unexpected (an opcode the tables do not know, a line event without a
 * line) leaves the code object with no derived events: deriving is a
 * saving, never a requirement.
 */
#include <stdlib.h>
#include <string.h>

#include "agent/lines/lines.h"

#if PY_VERSION_HEX >= 0x030C0000 && PY_VERSION_HEX < 0x030E0000

#include <opcode.h>
#define Py_BUILD_CORE 1
#if PY_VERSION_HEX >= 0x030D0000
#define NEED_OPCODE_METADATA
#include "internal/pycore_opcode_metadata.h"
#else
#define NEED_OPCODE_TABLES
#include "internal/pycore_opcode.h"
#endif
#undef Py_BUILD_CORE

enum {
    FLOW_OP = 1,         /* an instruction (not a cache entry or prefix) */
    FLOW_CTL = 2,        /* may go elsewhere than the next instruction */
    FLOW_TARGET = 4,     /* a jump lands here */
    FLOW_HANDLER = 8,    /* an exception handler starts here */
    FLOW_SKIPPABLE = 16, /* its line event may not be delivered */
};

static int
flow_is_jump(int op)
{
#if PY_VERSION_HEX >= 0x030D0000
    return (_PyOpcode_opcode_metadata[op].flags & HAS_JUMP_FLAG) != 0;
#else
    return (_PyOpcode_Jump[op >> 5] >> (op & 31)) & 1;
#endif
}

/* Opcodes that end straight-line code without being jumps. */
static int
flow_is_exit(int op)
{
    switch (op) {
    case RETURN_VALUE:
    case RETURN_CONST:
    case YIELD_VALUE:
    case RAISE_VARARGS:
    case RERAISE:
    case SEND:
    case FOR_ITER:
    case END_FOR:
    case END_SEND:
    case END_ASYNC_FOR:
    case CLEANUP_THROW:
    case RESUME:
    case RETURN_GENERATOR:
    case INTERPRETER_EXIT:
#if PY_VERSION_HEX >= 0x030D0000
    case ENTER_EXECUTOR:
#endif
        return 1;
    }
    return 0;
}

/* Whether an instruction can be followed by the next one (conservative:
 * only the unconditional transfers say no). */
static int
flow_falls_through(int op)
{
    switch (op) {
    case JUMP_FORWARD:
    case JUMP_BACKWARD:
    case JUMP_BACKWARD_NO_INTERRUPT:
    case RETURN_VALUE:
    case RETURN_CONST:
    case RAISE_VARARGS:
    case RERAISE:
        return 0;
    }
    return 1;
}

/* The line of every code unit (-1: none), from co_lines(); 0 or -1 with
 * an exception set. */
static int
flow_lines(PyCodeObject *co, int32_t *line, Py_ssize_t n)
{
    for (Py_ssize_t u = 0; u < n; u++)
        line[u] = -1;
    PyObject *it = PyObject_CallMethod((PyObject *)co, "co_lines", NULL);
    if (!it)
        return -1;
    PyObject *t, *iter = PyObject_GetIter(it);
    Py_DECREF(it);
    if (!iter)
        return -1;
    while ((t = PyIter_Next(iter)) != NULL) {
        long a, b, l = -1;
        int ok = PyTuple_Check(t) && PyTuple_GET_SIZE(t) == 3;
        if (ok) {
            a = PyLong_AsLong(PyTuple_GET_ITEM(t, 0));
            b = PyLong_AsLong(PyTuple_GET_ITEM(t, 1));
            if (PyTuple_GET_ITEM(t, 2) != Py_None)
                l = PyLong_AsLong(PyTuple_GET_ITEM(t, 2));
            ok = !PyErr_Occurred();
        }
        Py_DECREF(t);
        if (!ok)
            break;
        for (long u = a / 2; u < b / 2 && u < n; u++)
            line[u] = (int32_t)l;
    }
    Py_DECREF(iter);
    return PyErr_Occurred() ? -1 : 0;
}

/* One number of the exception table (a varint of 6-bit groups). */
static int
flow_varint(const uint8_t **p, const uint8_t *end, long *v)
{
    if (*p >= end)
        return -1;
    uint8_t b = *(*p)++;
    *v = b & 63;
    while (b & 64) {
        if (*p >= end || *v > (1L << 24))
            return -1;
        b = *(*p)++;
        *v = (*v << 6) | (b & 63);
    }
    return 0;
}

/* Mark the exception handlers' first instructions; -1 when the table does
 * not read as one. */
static int
flow_handlers(PyCodeObject *co, uint8_t *fl, Py_ssize_t n)
{
    PyObject *t = co->co_exceptiontable;
    if (!PyBytes_Check(t))
        return -1;
    const uint8_t *p = (const uint8_t *)PyBytes_AS_STRING(t);
    const uint8_t *end = p + PyBytes_GET_SIZE(t);
    while (p < end) {
        long start, len, target, depth;
        if (!(*p & 128) || flow_varint(&p, end, &start) < 0 ||
            flow_varint(&p, end, &len) < 0 ||
            flow_varint(&p, end, &target) < 0 ||
            flow_varint(&p, end, &depth) < 0 || target >= n)
            return -1;
        fl[target] |= FLOW_HANDLER | FLOW_SKIPPABLE;
    }
    return 0;
}

/* The flags of every code unit from the (deoptimised) instructions b;
 * -1 when an opcode is not known. */
static int
flow_scan(const uint8_t *b, Py_ssize_t n, const int32_t *line, uint8_t *fl)
{
    long arg = 0;
    for (Py_ssize_t i = 0; i < n;) {
        int op = b[2 * i];
        arg = (arg << 8) | b[2 * i + 1];
        if (op == EXTENDED_ARG) {
            i++;
            continue;
        }
        if (op == 0 || _PyOpcode_Deopt[op] != op)
            return -1;
        Py_ssize_t next = i + 1 + _PyOpcode_Caches[op];
        fl[i] |= FLOW_OP;
        if (flow_is_exit(op))
            fl[i] |= FLOW_CTL;
        if (flow_is_jump(op)) {
            fl[i] |= FLOW_CTL;
            int back = op == JUMP_BACKWARD || op == JUMP_BACKWARD_NO_INTERRUPT;
            Py_ssize_t t = back ? next - arg : next + arg;
            /* FOR_ITER and SEND leave their loop past the instruction at
             * the target, or two: mark them all. */
            Py_ssize_t extra = op == FOR_ITER || op == SEND ? 2 : 0;
            for (Py_ssize_t k = t; k <= t + extra; k++) {
                if (k < 0 || k >= n)
                    continue;
                fl[k] |= FLOW_TARGET;
                if (line[k] == line[i])
                    fl[k] |= FLOW_SKIPPABLE;
            }
        }
        if (next < n && flow_falls_through(op) && op != RESUME &&
            line[next] == line[i])
            fl[next] |= FLOW_SKIPPABLE;
        arg = 0;
        i = next;
    }
    return 0;
}

/* Whether the run [p, d) is straight-line code that only its start
 * enters. */
static int
flow_straight(const uint8_t *fl, int32_t p, int32_t d)
{
    for (int32_t u = p; u < d; u++)
        if (fl[u] & FLOW_CTL)
            return 0;
    for (int32_t u = p + 1; u <= d; u++)
        if (fl[u] & (FLOW_TARGET | FLOW_HANDLER))
            return 0;
    return 1;
}

/* The line events of co, from its instrumentation data, each marked
 * derived or not; 0 derived leaves fw->n_seg at 0. */
static int
flow_segments(PyCodeObject *co, lines_flow *fw, const uint8_t *fl,
              const int32_t *line)
{
    Py_ssize_t n = fw->n_units;
    const _PyCoLineInstrumentationData *ld = co->_co_monitoring->lines;
    int32_t n_seg = 0, n_derived = 0;
    for (Py_ssize_t u = 0; u < n; u++)
        n_seg += ld[u].original_opcode != 0;
    if (n_seg < 2)
        return 0;
    fw->seg = malloc((size_t)n_seg * sizeof *fw->seg);
    fw->at = calloc((size_t)n, sizeof *fw->at);
    if (!fw->seg || !fw->at)
        return -1;
    int32_t j = 0;
    for (Py_ssize_t u = 0; u < n; u++) {
        if (!ld[u].original_opcode)
            continue;
        if (line[u] < 0)
            return 0;
        lines_seg *s = &fw->seg[j];
        s->start = (int32_t)u;
        s->line = line[u];
        s->derived = 0;
        s->bulk_n = s->bulk_hi = 0;
        if (j > 0) {
            const lines_seg *p = &fw->seg[j - 1];
            int p_fires = p->derived || !(fl[p->start] & FLOW_SKIPPABLE);
            s->derived = p_fires && !(fl[u] & FLOW_SKIPPABLE) &&
                         flow_straight(fl, p->start, (int32_t)u);
        }
        n_derived += s->derived;
        fw->at[u] = ++j;
    }
    if (n_derived)
        fw->n_seg = n_seg;
    return 0;
}

void
lines_flow_free(lines_flow *fw)
{
    if (!fw)
        return;
    free(fw->seg);
    free(fw->at);
    free(fw);
}

lines_flow *
lines_flow_make(PyObject *code)
{
    PyCodeObject *co = (PyCodeObject *)code;
    if (!co->_co_monitoring || !co->_co_monitoring->lines)
        return NULL;
    Py_ssize_t n = Py_SIZE(co);
    PyObject *bytes = PyCode_GetCode(co);
    lines_flow *fw = calloc(1, sizeof *fw);
    if (fw)
        fw->last_j = -1;
    int32_t *line = malloc((size_t)(n ? n : 1) * sizeof *line);
    uint8_t *fl = calloc((size_t)n + 1, 1);
    int ok = bytes && fw && line && fl && PyBytes_Check(bytes) &&
             PyBytes_GET_SIZE(bytes) == 2 * n && n < INT32_MAX / 2;
    if (ok) {
        fw->code0 = (uintptr_t)co->co_code_adaptive;
        fw->n_units = (int32_t)n;
        ok = flow_lines(co, line, n) == 0 &&
             flow_scan((const uint8_t *)PyBytes_AS_STRING(bytes), n, line,
                       fl) == 0 &&
             flow_handlers(co, fl, n) == 0 &&
             flow_segments(co, fw, fl, line) == 0 && fw->n_seg > 0;
    }
    PyErr_Clear();
    Py_XDECREF(bytes);
    free(line);
    free(fl);
    if (!ok) {
        lines_flow_free(fw);
        return NULL;
    }
    return fw;
}

#else /* no derived events before 3.12 (the legacy backend) or on 3.14+ */

void
lines_flow_free(lines_flow *fw)
{
    (void)fw;
}

lines_flow *
lines_flow_make(PyObject *code)
{
    (void)code;
    return NULL;
}

#endif
