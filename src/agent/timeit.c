/* timeit.c -- the agent side of `spyglass timeit`.
 *
 * Each statement is compiled into the same function python -m timeit builds
 * (setup, then `for _i in _it: stmt`), so the per-loop cost is identical;
 * what changes is around it: the clock is read in C by `_mark()` (no float
 * object created inside the timed region), autorange, repeats, statistics
 * and the report are C, and the repeats of several statements are
 * interleaved so that a machine slowing down affects them all alike. The
 * report (timeit_report.c) goes where -o says, in the format the
 * executable chose, through the writers' delivery. The IPython magics run
 * the same measurement on the user's namespace (agent_timeit_in, called by
 * magic.c): the report goes to sys.stdout and a statement's exception is
 * raised, not printed.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/commands.h"
#include "agent/magic.h"
#include "agent/runmain.h"
#include "agent/timeit.h"
#include "common/err.h"
#include "common/stats.h"
#include "common/strbuf.h"
#include "common/units.h"

/* Whether a stop during the repeats reports the rounds done: for the
 * command, which then ends as python would (runmain.h), not for an
 * interactive session's use of the loop. */
static bool timeit_stoppable;

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

/* The timed function of stmt. It is defined in a fresh namespace and its
 * globals are that namespace, or `globals` when given (the magics' user
 * namespace, as timeit.Timer(globals=...)). */
static PyObject *
build_inner(const char *setup, const char *stmt, PyObject *globals)
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
        (globals || PyDict_SetItemString(ns, "__builtins__",
                                         PyEval_GetBuiltins()) == 0)) {
        PyObject *r = PyEval_EvalCode(code, globals ? globals : ns, ns);
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

/* Where -v's autorange steps go as they happen: stdout, unless the
 * results go there in a format that is not text (JSON). */
static FILE *
steps_stream(const rq_timeit *o)
{
    bool results_on_stdout = !o->output || strcmp(o->output, "-") == 0;
    return results_on_stdout && strcmp(o->format, "text") != 0 ? stderr
                                                               : stdout;
}

static int
autorange(timeit_stmt *s, PyObject *inner, const rq_timeit *o, PyObject *gc,
          PyObject *mark)
{
    const sg_time_unit *unit = o->unit ? sg_time_unit_by_name(o->unit) : NULL;
    for (long i = 1;; i *= 10) {
        static const long steps[] = {1, 2, 5};
        for (int j = 0; j < 3; j++) {
            long number = i * steps[j];
            double t = run_once(inner, number, gc, mark);
            if (t < 0)
                return -1;
            if (o->verbose) {
                /* python -m timeit says "-> 1.2e-05 secs"; here the unit
                 * of every other time printed. */
                char b[64];
                fprintf(steps_stream(o), "%ld loop%s -> %s\n", number,
                        number != 1 ? "s" : "",
                        sg_fmt_timeit(b, sizeof b, t, unit, timeit_digits(o)));
            }
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

/* The interpreter and the moment the run started, for the JSON. Called
 * when no more Python code runs: env->executable is borrowed from sys. */
static void
read_env(timeit_env *env, const struct timespec *started)
{
    /* platform.python_version(): sys.version's first word. */
    const char *v = Py_GetVersion();
    snprintf(env->python_version, sizeof env->python_version, "%.*s",
             (int)strcspn(v, " "), v);
    PyObject *impl = PySys_GetObject("implementation"); /* borrowed */
    PyObject *name = impl ? PyObject_GetAttrString(impl, "name") : NULL;
    snprintf(env->implementation, sizeof env->implementation, "%s",
             agent_utf8(name, "cpython"));
    Py_XDECREF(name);
    env->executable = agent_utf8(PySys_GetObject("executable"), "python");
    /* pyperf's date: local time, "2024-05-01 12:34:56.789012". */
    struct tm tm;
    char secs[32] = "";
    if (localtime_r(&started->tv_sec, &tm))
        strftime(secs, sizeof secs, "%Y-%m-%d %H:%M:%S", &tm);
    snprintf(env->date, sizeof env->date, "%.20s.%06d", secs,
             (int)(started->tv_nsec / 1000 % 1000000));
}

/* The results in w's format: pyperf's JSON, else the text report. */
static void
render(strbuf *sb, const rq_timeit *o, const sg_writer *w,
       const timeit_stmt *st, const struct timespec *started)
{
    if (w->id == SG_FMT_JSON) {
        timeit_env env;
        read_env(&env, started);
        timeit_report_json(sb, o, st, &env);
    } else {
        timeit_report_text(sb, o, st);
    }
}

/* Render the results in w's format and deliver them where -o says (or on
 * stdout, after what the statements printed). Returns the exit status. */
static int
deliver(const rq_timeit *o, const sg_writer *w, const timeit_stmt *st,
        const struct timespec *started)
{
    strbuf sb = STRBUF_INIT;
    render(&sb, o, w, st, started);
    const char *path = o->output ? o->output : "-";
    agent_flush_stdio();
    sg_out_result r = sg_writer_deliver(&sg_output_timeit, w, path, &sb);
    sb_free(&sb);
    if (r == SG_OUT_WRITTEN && strcmp(path, "-") != 0)
        fprintf(stderr, "spyglass: wrote %s\n", path);
    timeit_warn_unreliable(o, st);
    return sg_output_status(SG_EXIT_OK, r);
}

/* Build, calibrate and time every statement of o into st, in globals
 * (NULL: a namespace of their own). Returns 0, or -1 with the statement's
 * exception set. The command (timeit_stoppable) stopped by Ctrl-C or
 * SIGTERM after whole rounds returns 0 with *stopped its exit status and
 * got->repeat the rounds done: those are its results. */
static int
measure(const rq_timeit *o, timeit_stmt *st, PyObject **inner,
        const char *setup, PyObject *globals, rq_timeit *got, int *stopped)
{
    int rc = -1;
    *got = *o;
    *stopped = 0;
    PyObject *gc = PyImport_ImportModule("gc");
    PyObject *mark = PyCFunction_New(&mark_def, NULL);
    if (!gc || !mark)
        goto done;
    mark_clock = o->process_time ? CLOCK_PROCESS_CPUTIME_ID : CLOCK_MONOTONIC;
    for (int i = 0; i < o->n_stmts; i++) {
        st[i].stmt = o->stmts[i];
        inner[i] = build_inner(setup, o->stmts[i], globals);
        if (!inner[i])
            goto done;
    }
    for (int i = 0; i < o->n_stmts; i++) {
        st[i].number = o->number;
        progress(o, "calibrating", i, -1);
        if (st[i].number == 0 && autorange(&st[i], inner[i], o, gc, mark) < 0)
            goto done;
    }
    /* Interleave: repeat r of every statement before repeat r + 1. A
     * stop (Ctrl-C, SIGTERM) after whole rounds reports those. */
    for (long r = 0; r < o->repeat && !*stopped; r++) {
        progress(o, "", 0, r);
        for (int i = 0; i < o->n_stmts; i++) {
            double t = run_once(inner[i], st[i].number, gc, mark);
            if (t < 0 && r > 0 && timeit_stoppable &&
                (*stopped = runmain_stopped())) {
                got->repeat = r;
                break;
            }
            if (t < 0)
                goto done;
            st[i].raw[r] = t;
        }
    }
    for (int i = 0; i < o->n_stmts; i++) {
        timeit_stmt *s = &st[i];
        for (long r = 0; r < got->repeat; r++)
            s->per_loop[r] = s->raw[r] / (double)s->number;
        s->stats = sg_summarize(s->per_loop, (size_t)got->repeat);
    }
    rc = 0;
done:
    progress(o, NULL, 0, 0);
    Py_XDECREF(mark);
    Py_XDECREF(gc);
    return rc;
}

static int
run_all(const rq_timeit *o, const sg_writer *w, timeit_stmt *st,
        PyObject **inner, const char *setup)
{
    struct timespec started;
    clock_gettime(CLOCK_REALTIME, &started);
    rq_timeit got;
    int stopped;
    if (measure(o, st, inner, setup, NULL, &got, &stopped) == 0) {
        int rc = deliver(&got, w, st, &started);
        if (stopped) {
            fprintf(stderr,
                    "spyglass: timeit: stopped after %ld of %ld repeats: "
                    "the results are of those %ld\n",
                    got.repeat, o->repeat, got.repeat);
            rc = rc == SG_EXIT_OK ? stopped : rc;
        }
        return rc;
    }
    int stop = timeit_stoppable && PyErr_Occurred() ? runmain_stopped() : 0;
    if (stop) {
        fprintf(stderr, "spyglass: timeit: stopped before a whole repeat: "
                        "no results\n");
        return stop;
    }
    if (PyErr_Occurred()) {
        fflush(stdout);
        agent_print_exception();
    }
    return SG_EXIT_FAIL;
}

/* The buffers of one run: the joined setup, and per statement its
 * results and timed function. */
typedef struct timeit_run {
    char *setup;
    timeit_stmt *st;
    PyObject **inner;
    double *values;
    size_t n;
} timeit_run;

static void
run_free(timeit_run *r)
{
    for (size_t i = 0; i < r->n; i++)
        Py_XDECREF(r->inner[i]);
    PyMem_Free(r->values);
    PyMem_Free(r->inner);
    PyMem_Free(r->st);
    free(r->setup);
    memset(r, 0, sizeof *r);
}

/* Returns 0, or -1 when memory ran out (r is then freed). */
static int
run_alloc(timeit_run *r, const rq_timeit *o)
{
    size_t n = (size_t)o->n_stmts, values = n * (size_t)o->repeat;
    r->n = n;
    r->setup = join_setup(o);
    r->st = PyMem_Calloc(n, sizeof *r->st);
    r->inner = PyMem_Calloc(n, sizeof *r->inner);
    r->values = PyMem_Calloc(values, 2 * sizeof *r->values);
    if (!r->setup || !r->st || !r->inner || !r->values) {
        r->n = 0;
        run_free(r);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        r->st[i].raw = r->values + i * (size_t)o->repeat;
        r->st[i].per_loop = r->values + values + i * (size_t)o->repeat;
    }
    return 0;
}

int
agent_timeit_main(const rq_timeit *o)
{
    /* The executable validated these; a request that says otherwise is
     * refused, not run. */
    if (o->n_stmts < 1 || o->repeat < 1 || o->number < 0 || o->verbose < 0 ||
        (o->unit && !sg_time_unit_by_name(o->unit))) {
        sg_error("timeit: the request is not a valid timeit run");
        return SG_EXIT_FAIL;
    }
    const sg_writer *w =
        agent_request_writer("timeit", o->format, SG_DATA_TIMEIT);
    if (!w)
        return SG_EXIT_FAIL;
    timeit_run r;
    if (run_alloc(&r, o) < 0) {
        sg_error("timeit: out of memory");
        return SG_EXIT_FAIL;
    }
    runmain_catch_sigterm();
    runmain_set_running(true);
    timeit_stoppable = true;
    int rc = run_all(o, w, r.st, r.inner, r.setup);
    timeit_stoppable = false;
    runmain_set_running(false);
    run_free(&r);
    return rc;
}

/* The report of a run in a namespace: on sys.stdout, or delivered to
 * o->output as the command delivers it. Returns 0, or -1 with an
 * exception set. */
static int
deliver_py(const rq_timeit *o, const sg_writer *w, const timeit_stmt *st,
           const struct timespec *started)
{
    strbuf sb = STRBUF_INIT;
    render(&sb, o, w, st, started);
    int rc = 0;
    fflush(stdout); /* -v's steps first */
    if (!o->output || strcmp(o->output, "-") == 0) {
        rc = agent_write_stdout(sb_str(&sb), sb.len);
    } else {
        sg_out_result r =
            sg_writer_deliver(&sg_output_timeit, w, o->output, &sb);
        if (r == SG_OUT_WRITTEN) {
            PySys_WriteStderr("spyglass: wrote %.900s\n", o->output);
        } else {
            PyErr_Format(PyExc_OSError,
                         "timeit: the results were not "
                         "written to %.900s",
                         o->output);
            rc = -1;
        }
    }
    sb_free(&sb);
    timeit_warn_unreliable(o, st);
    return rc;
}

int
agent_timeit_in(const rq_timeit *o, const sg_writer *w, PyObject *globals)
{
    timeit_run r;
    if (run_alloc(&r, o) < 0) {
        PyErr_NoMemory();
        return -1;
    }
    struct timespec started;
    clock_gettime(CLOCK_REALTIME, &started);
    rq_timeit got;
    int stopped;
    int rc = measure(o, r.st, r.inner, r.setup, globals, &got, &stopped);
    if (rc == 0)
        rc = deliver_py(&got, w, r.st, &started);
    run_free(&r);
    return rc;
}
