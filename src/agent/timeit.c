/* timeit.c -- the agent side of `spyglass timeit`.
 *
 * Each statement is compiled into the same function python -m timeit builds
 * (setup, then `for _i in _it: stmt`), so the per-loop cost is identical;
 * what changes is around it: the clock is read in C by `_mark()` (no float
 * object created inside the timed region), autorange, repeats, statistics
 * and the report are C, and the repeats of several statements are
 * interleaved so that a machine slowing down affects them all alike.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/sort.h"
#include "agent/agent.h"
#include "agent/commands.h"
#include "common/err.h"
#include "common/stats.h"
#include "common/strbuf.h"
#include "common/units.h"

#define SRC_NAME "<timeit-src>"
#define AUTORANGE_TARGET 0.2 /* seconds, as timeit */

/* Clock read by _mark(); two marks bracket the loop. */
static clockid_t mark_clock = CLOCK_MONOTONIC;
static struct timespec mark_ts[2];
static int mark_n;

static PyObject *
timeit_mark(PyObject *self, PyObject *unused)
{
    clock_gettime(mark_clock, &mark_ts[mark_n & 1]);
    mark_n++;
    Py_RETURN_NONE;
}

static PyMethodDef mark_def = {"_mark", timeit_mark, METH_NOARGS, NULL};

typedef struct stmt_state {
    const char *stmt;
    PyObject *inner; /* the compiled timing function */
    long number;
    double *raw; /* seconds per repeat (for `number` loops) */
    sg_summary per_loop;
    double best;
} stmt_state;

/* timeit's reindent: every newline gets `indent` spaces after it. */
static void
put_reindented(strbuf *sb, const char *src, int indent)
{
    for (const char *p = src; *p; p++) {
        sb_putc(sb, *p);
        if (*p == '\n')
            for (int i = 0; i < indent; i++)
                sb_putc(sb, ' ');
    }
}

/* Register src with linecache so tracebacks show the statement's text, as
 * timeit does. Failure only costs the source lines in tracebacks. */
static void
register_source(const char *src)
{
    PyObject *lc = PyImport_ImportModule("linecache");
    PyObject *cache = lc ? PyObject_GetAttrString(lc, "cache") : NULL;
    PyObject *text = PyUnicode_FromString(src);
    PyObject *lines = text ? PyUnicode_Splitlines(text, 1) : NULL;
    PyObject *entry = NULL;
    if (cache && lines)
        entry = Py_BuildValue("(nOOs)", PyUnicode_GET_LENGTH(text), Py_None,
                              lines, SRC_NAME);
    if (entry)
        PyDict_SetItemString(cache, SRC_NAME, entry);
    PyErr_Clear();
    Py_XDECREF(entry);
    Py_XDECREF(lines);
    Py_XDECREF(text);
    Py_XDECREF(cache);
    Py_XDECREF(lc);
}

/* Check that src compiles on its own (timeit does this so that e.g. a
 * `return` in a statement is an error, not part of the template). */
static int
check_compiles(const char *src)
{
    PyObject *code = Py_CompileString(src, SRC_NAME, Py_file_input);
    if (!code)
        return -1;
    Py_DECREF(code);
    return 0;
}

static PyObject *
build_inner(const char *setup, const char *stmt)
{
    if (check_compiles(setup) < 0 || check_compiles(stmt) < 0)
        return NULL;
    strbuf src = STRBUF_INIT;
    sb_puts(&src, "def inner(_it, _mark):\n    ");
    put_reindented(&src, setup, 4);
    sb_puts(&src, "\n    _mark()\n    for _i in _it:\n        ");
    put_reindented(&src, stmt, 8);
    sb_puts(&src, "\n        pass\n    _mark()\n");
    register_source(sb_str(&src));

    PyObject *inner = NULL;
    PyObject *code = Py_CompileString(sb_str(&src), SRC_NAME, Py_file_input);
    PyObject *ns = PyDict_New();
    if (code && ns &&
        PyDict_SetItemString(ns, "__builtins__", PyEval_GetBuiltins()) == 0) {
        PyObject *r = PyEval_EvalCode(code, ns, ns);
        if (r) {
            Py_DECREF(r);
            inner = PyDict_GetItemString(ns, "inner");
            Py_XINCREF(inner);
        }
    }
    Py_XDECREF(code);
    Py_XDECREF(ns);
    sb_free(&src);
    return inner;
}

/* Run `number` loops of inner with the collector off, as timeit does.
 * Returns the seconds between the two marks, or -1 with an exception. */
static double
run_once(PyObject *inner, long number, PyObject *gc, PyObject *mark)
{
    PyObject *itertools = PyImport_ImportModule("itertools");
    PyObject *it = itertools ? PyObject_CallMethod(itertools, "repeat", "Ol",
                                                   Py_None, number)
                             : NULL;
    Py_XDECREF(itertools);
    if (!it)
        return -1;
    PyObject *enabled = PyObject_CallMethod(gc, "isenabled", NULL);
    int was_enabled = enabled ? PyObject_IsTrue(enabled) : 0;
    Py_XDECREF(enabled);
    PyObject *r = PyObject_CallMethod(gc, "disable", NULL);
    Py_XDECREF(r);

    mark_n = 0;
    PyObject *res = PyObject_CallFunctionObjArgs(inner, it, mark, NULL);

    if (was_enabled) {
        /* Keep the statement's exception while re-enabling the GC. */
        PyObject *t, *v, *tb;
        PyErr_Fetch(&t, &v, &tb);
        r = PyObject_CallMethod(gc, "enable", NULL);
        Py_XDECREF(r);
        PyErr_Restore(t, v, tb);
    }
    Py_DECREF(it);
    if (!res)
        return -1;
    Py_DECREF(res);
    assert(mark_n == 2);
    return (double)(mark_ts[1].tv_sec - mark_ts[0].tv_sec) +
           (double)(mark_ts[1].tv_nsec - mark_ts[0].tv_nsec) / 1e9;
}

static int
autorange(stmt_state *s, const rq_timeit *o, PyObject *gc, PyObject *mark)
{
    for (long i = 1;; i *= 10) {
        static const long steps[] = {1, 2, 5};
        for (int j = 0; j < 3; j++) {
            long number = i * steps[j];
            double t = run_once(s->inner, number, gc, mark);
            if (t < 0)
                return -1;
            if (o->verbose)
                printf("%ld loop%s -> %.*g secs\n", number,
                       number != 1 ? "s" : "", 3, t);
            if (t >= AUTORANGE_TARGET) {
                s->number = number;
                return 0;
            }
        }
    }
}

static char *
join_setup(const rq_timeit *o)
{
    strbuf sb = STRBUF_INIT;
    for (int i = 0; i < o->n_setup; i++) {
        if (i)
            sb_putc(&sb, '\n');
        sb_puts(&sb, o->setup[i]);
    }
    if (o->n_setup == 0)
        sb_puts(&sb, "pass");
    return sb.data; /* caller frees */
}

static void
print_result(const stmt_state *s, const rq_timeit *o, const sg_time_unit *unit,
             const char *indent)
{
    char b1[64], b2[64], b3[64];
    if (o->verbose) {
        printf("%sraw times: ", indent);
        for (long r = 0; r < o->repeat; r++)
            printf("%s%s", r ? ", " : "",
                   sg_fmt_timeit(b1, sizeof b1, s->raw[r], unit));
        printf("\n\n");
    }
    printf("%s%ld loop%s, best of %ld: %s per loop\n", indent, s->number,
           s->number != 1 ? "s" : "", o->repeat,
           sg_fmt_timeit(b1, sizeof b1, s->best, unit));
    const sg_time_unit *u = unit ? unit : sg_time_unit_for(s->best);
    printf("%smean ± std. dev. of %ld: %s ± %s per loop\n", indent, o->repeat,
           sg_fmt_timeit(b2, sizeof b2, s->per_loop.mean, u),
           sg_fmt_timeit(b3, sizeof b3, s->per_loop.stddev, u));
    if (s->per_loop.max >= s->best * 4) {
        fflush(stdout);
        fprintf(stderr,
                "spyglass: warning: the test results are likely unreliable: "
                "the worst time (%s) was more than four times slower than "
                "the best time (%s)\n",
                sg_fmt_timeit(b1, sizeof b1, s->per_loop.max, unit),
                sg_fmt_timeit(b2, sizeof b2, s->best, unit));
    }
}

static int
cmp_best(const void *a, const void *b)
{
    const stmt_state *x = *(stmt_state *const *)a;
    const stmt_state *y = *(stmt_state *const *)b;
    return (x->best > y->best) - (x->best < y->best);
}

static void
print_comparison(stmt_state *st, int n, const sg_time_unit *unit)
{
    stmt_state **order = PyMem_Calloc((size_t)n, sizeof *order);
    if (!order)
        return;
    for (int i = 0; i < n; i++)
        order[i] = &st[i];
    sg_sort(order, (size_t)n, sizeof *order, cmp_best);
    const stmt_state *fast = order[0];
    printf("\nRelative to the fastest (best per loop; ± from the means):\n");
    for (int i = 0; i < n; i++) {
        const stmt_state *s = order[i];
        char b[64];
        if (s == fast) {
            printf("  [%d] %-11s %6.2f (fastest)  %s\n", (int)(s - st) + 1,
                   sg_fmt_timeit(b, sizeof b, s->best, unit), 1.0, s->stmt);
            continue;
        }
        double r, sd;
        sg_ratio(&s->per_loop, &fast->per_loop, &r, &sd);
        printf("  [%d] %-11s %6.2f ± %.2f  %s\n", (int)(s - st) + 1,
               sg_fmt_timeit(b, sizeof b, s->best, unit), s->best / fast->best,
               sd, s->stmt);
    }
    PyMem_Free(order);
}

/* One live line on stderr while measuring, when it is a terminal and the
 * run is not already printing its steps (-v). */
static void
progress(const rq_timeit *o, const char *what, int i, long r)
{
    if (o->verbose || !isatty(2))
        return;
    if (!what) {
        fprintf(stderr, "\r\033[K");
    } else if (r < 0) {
        fprintf(stderr, "\r\033[Ktimeit: %s statement %d/%d", what, i + 1,
                o->n_stmts);
    } else {
        fprintf(stderr, "\r\033[Ktimeit: repeat %ld/%ld", r + 1, o->repeat);
    }
    fflush(stderr);
}

static int
run_all(const rq_timeit *o, stmt_state *st, const char *setup)
{
    int rc = SG_EXIT_FAIL;
    PyObject *gc = PyImport_ImportModule("gc");
    PyObject *mark = PyCFunction_New(&mark_def, NULL);
    if (!gc || !mark)
        goto done;
    mark_clock = o->process_time ? CLOCK_PROCESS_CPUTIME_ID : CLOCK_MONOTONIC;
    for (int i = 0; i < o->n_stmts; i++) {
        st[i].stmt = o->stmts[i];
        st[i].inner = build_inner(setup, o->stmts[i]);
        if (!st[i].inner)
            goto done;
    }
    for (int i = 0; i < o->n_stmts; i++) {
        st[i].number = o->number;
        progress(o, "calibrating", i, -1);
        if (st[i].number == 0 && autorange(&st[i], o, gc, mark) < 0)
            goto done;
    }
    /* Interleave: repeat r of every statement before repeat r + 1. */
    for (long r = 0; r < o->repeat; r++) {
        progress(o, "", 0, r);
        for (int i = 0; i < o->n_stmts; i++) {
            double t = run_once(st[i].inner, st[i].number, gc, mark);
            if (t < 0)
                goto done;
            st[i].raw[r] = t;
        }
    }
    progress(o, NULL, 0, 0);
    for (int i = 0; i < o->n_stmts; i++) {
        stmt_state *s = &st[i];
        double *per = PyMem_Calloc((size_t)o->repeat, sizeof *per);
        if (!per) {
            PyErr_NoMemory();
            goto done;
        }
        for (long r = 0; r < o->repeat; r++)
            per[r] = s->raw[r] / (double)s->number;
        s->per_loop = sg_summarize(per, (size_t)o->repeat);
        s->best = s->per_loop.min;
        PyMem_Free(per);
    }
    const sg_time_unit *unit = o->unit ? sg_time_unit_by_name(o->unit) : NULL;
    for (int i = 0; i < o->n_stmts; i++) {
        if (o->n_stmts > 1)
            printf("[%d] %s\n", i + 1, st[i].stmt);
        print_result(&st[i], o, unit, o->n_stmts > 1 ? "    " : "");
    }
    if (o->n_stmts > 1)
        print_comparison(st, o->n_stmts, unit);
    fflush(stdout);
    rc = SG_EXIT_OK;
done:
    if (rc != SG_EXIT_OK && PyErr_Occurred()) {
        progress(o, NULL, 0, 0);
        fflush(stdout);
        agent_print_exception();
    }
    Py_XDECREF(mark);
    Py_XDECREF(gc);
    return rc;
}

int
agent_timeit_main(const rq_timeit *o)
{
    /* The executable validated these; a request that says otherwise is
     * refused, not run. */
    if (o->n_stmts < 1 || o->repeat < 1 || o->number < 0 ||
        (o->unit && !sg_time_unit_by_name(o->unit))) {
        sg_error("timeit: the request is not a valid timeit run");
        return SG_EXIT_FAIL;
    }
    char *setup = join_setup(o);
    stmt_state *st = PyMem_Calloc((size_t)o->n_stmts, sizeof *st);
    double *raw =
        PyMem_Calloc((size_t)o->n_stmts * (size_t)o->repeat, sizeof *raw);
    int rc;
    if (!setup || !st || !raw) {
        sg_error("timeit: out of memory");
        rc = SG_EXIT_FAIL;
    } else {
        for (int i = 0; i < o->n_stmts; i++)
            st[i].raw = raw + (size_t)i * (size_t)o->repeat;
        rc = run_all(o, st, setup);
        for (int i = 0; i < o->n_stmts; i++)
            Py_XDECREF(st[i].inner);
    }
    PyMem_Free(raw);
    PyMem_Free(st);
    free(setup);
    return rc;
}
