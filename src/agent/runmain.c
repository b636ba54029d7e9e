/* runmain.c -- in-process `python SCRIPT | -m MODULE | -c CODE`. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/core/stop.h"
#include "agent/runmain.h"
#include "common/err.h"

/* The process runmain_prepare ran in: the one whose results count. */
static pid_t runmain_pid;
/* Whether SCRIPT is a directory or zip file python runs the __main__
 * module of (see runmain_runs_path_entry). */
static bool runmain_path_entry;
/* Whether the program is running (its results not taken yet), and
 * whether a SIGTERM came (see runmain_on_sigterm). */
static int runmain_running;
static int runmain_got_sigterm;

static int
set_argv(const rq_program *t)
{
    PyObject *list = PyList_New(0);
    if (!list)
        return -1;
    const char *argv0 = t->kind == RQ_RUN_SCRIPT ? t->target
                        : t->kind == RQ_RUN_CODE ? "-c"
                                                 : "-m";
    PyObject *s = PyUnicode_DecodeFSDefault(argv0);
    if (!s || PyList_Append(list, s) < 0)
        goto fail;
    Py_DECREF(s);
    for (int i = 0; i < t->n_args; i++) {
        s = PyUnicode_DecodeFSDefault(t->args[i]);
        if (!s || PyList_Append(list, s) < 0)
            goto fail;
        Py_DECREF(s);
    }
    int rc = PySys_SetObject("argv", list);
    Py_DECREF(list);
    return rc;
fail:
    Py_XDECREF(s);
    Py_DECREF(list);
    return -1;
}

/* Since 3.9 python makes a relative script path absolute (joined to the
 * current directory, not normalised) for __file__, code filenames and a
 * path entry; 3.8 keeps it as typed. buf holds the result if needed. */
static const char *
script_name(const char *path, char *buf, size_t n)
{
    if (PY_VERSION_HEX < 0x03090000 || path[0] == '/')
        return path;
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd))
        return path;
    int k = snprintf(buf, n, "%s/%s", cwd, path);
    return k < 0 || (size_t)k >= n ? path : buf;
}

/* Whether python would run SCRIPT as a path entry: something an import
 * hook accepts (a directory, a zip file), whose __main__ module runs. */
static bool
is_path_entry(const char *path)
{
    PyObject *p = PyUnicode_DecodeFSDefault(path);
    PyObject *importer = p ? PyImport_GetImporter(p) : NULL;
    bool r = importer && importer != Py_None;
    PyErr_Clear();
    Py_XDECREF(importer);
    Py_XDECREF(p);
    return r;
}

/* Whether python adds no sys.path[0] (3.11+: -P, PYTHONSAFEPATH, -I).
 * The glue's python ran with the user's environment, so its flags are
 * the ones the program's python would have. */
static bool
safe_path(void)
{
    PyObject *flags = PySys_GetObject("flags"); /* borrowed */
    PyObject *v = flags ? PyObject_GetAttrString(flags, "safe_path") : NULL;
    bool r = v && PyObject_IsTrue(v) == 1;
    PyErr_Clear(); /* before 3.11: no such flag */
    Py_XDECREF(v);
    return r;
}

/* sys.path[0] as python sets it: the script's directory (absolute, links
 * resolved), the script itself when it is a path entry, the current
 * directory for -m, '' for -c; nothing under safe_path. */
static int
set_path0(const rq_program *t)
{
    char buf[2 * PATH_MAX + 2];
    const char *p0 = "";
    if (safe_path())
        return 0;
    if (t->kind == RQ_RUN_SCRIPT && runmain_path_entry) {
        p0 = script_name(t->target, buf, sizeof buf);
    } else if (t->kind == RQ_RUN_SCRIPT) {
        if (!realpath(t->target, buf))
            return -1;
        char *slash = strrchr(buf, '/');
        if (slash == buf)
            slash[1] = '\0';
        else if (slash)
            *slash = '\0';
        p0 = buf;
    } else if (t->kind == RQ_RUN_MODULE) {
        if (!getcwd(buf, sizeof buf))
            return -1;
        p0 = buf;
    }
    PyObject *path = PySys_GetObject("path"); /* borrowed */
    PyObject *s = PyUnicode_DecodeFSDefault(p0);
    if (!path || !PyList_Check(path) || !s) {
        Py_XDECREF(s);
        return -1;
    }
    int rc = PyList_GET_SIZE(path) > 0 ? PyList_SetItem(path, 0, s)
                                       : PyList_Append(path, s);
    if (PyList_GET_SIZE(path) == 0)
        Py_DECREF(s);
    return rc;
}

/* Python's ending after a SIGTERM: once the interpreter is finalized (the
 * results written, everything flushed), die of the signal, as the program
 * would have without spyglass. Registered with Py_AtExit. */
static void
runmain_exit_sigterm(void)
{
    if (signal(SIGTERM, SIG_DFL) != SIG_ERR)
        kill(getpid(), SIGTERM);
    /* Still here (SIGTERM blocked): the status 128 + SIGTERM stands. */
}

/* SIGTERM, seen by Python's signal machinery between bytecodes. While the
 * program runs, unwind it like sys.exit, so that its finally blocks run
 * and the command writes what it has; before it starts, keep it from
 * starting (runmain_run); once it has ended, let the results be written.
 * Either way the process dies of the signal at its very end. */
static PyObject *
runmain_on_sigterm(PyObject *self, PyObject *args)
{
    if (!runmain_got_sigterm) {
        runmain_got_sigterm = 1;
        if (Py_AtExit(runmain_exit_sigterm) < 0)
            sg_error("cannot end with SIGTERM after finalization; exit "
                     "status %d",
                     128 + SIGTERM);
    }
    if (!runmain_running)
        Py_RETURN_NONE;
    if (stop_agent_code) {
        stop_deferred = SIGTERM;
        Py_RETURN_NONE;
    }
    PyObject *code = PyLong_FromLong(128 + SIGTERM);
    if (code) {
        PyErr_SetObject(PyExc_SystemExit, code);
        Py_DECREF(code);
    }
    return NULL;
}

static PyMethodDef runmain_sigterm_def = {"_on_sigterm", runmain_on_sigterm,
                                          METH_VARARGS, NULL};

/* Catch SIGTERM unless the caller's shell ignored it (nohup, trap '')
 * or something else already handles it: those stay as they are. SIGINT
 * needs nothing: python's own handler raises KeyboardInterrupt, which
 * run_target turns into python's ending. */
void
runmain_catch_sigterm(void)
{
    PyObject *signal_mod = PyImport_ImportModule("signal");
    PyObject *cur =
        signal_mod ? PyObject_CallMethod(signal_mod, "getsignal", "i", SIGTERM)
                   : NULL;
    PyObject *dfl =
        signal_mod ? PyObject_GetAttrString(signal_mod, "SIG_DFL") : NULL;
    PyObject *handler = NULL, *r = NULL;
    if (cur && dfl && PyObject_RichCompareBool(cur, dfl, Py_EQ) == 1 &&
        (handler = PyCFunction_New(&runmain_sigterm_def, NULL)))
        r = PyObject_CallMethod(signal_mod, "signal", "iO", SIGTERM, handler);
    /* Without it SIGTERM just ends the program, as under plain python. */
    PyErr_Clear();
    Py_XDECREF(r);
    Py_XDECREF(handler);
    Py_XDECREF(dfl);
    Py_XDECREF(cur);
    Py_XDECREF(signal_mod);
}

int
runmain_prepare(const rq_program *t)
{
    runmain_pid = getpid();
    if (t->kind == RQ_RUN_SCRIPT && access(t->target, R_OK) != 0) {
        int err = errno;
        /* python's own wording, and its status 2. */
        sg_error("can't open file '%s': [Errno %d] %s", t->target, err,
                 strerror(err));
        return 2;
    }
    runmain_path_entry = t->kind == RQ_RUN_SCRIPT && is_path_entry(t->target);
    if (set_argv(t) < 0 || set_path0(t) < 0) {
        if (PyErr_Occurred())
            agent_print_exception();
        sg_error("cannot set up sys.argv and sys.path for '%s'", t->target);
        return 1;
    }
    /* -m and a path entry run through runpy: imported now, before a
     * collector starts, so that its import is not the program's (as python -m
     * and cProfile have it imported before the module runs). */
    PyObject *runpy = t->kind == RQ_RUN_MODULE || runmain_path_entry
                          ? PyImport_ImportModule("runpy")
                          : NULL;
    Py_XDECREF(runpy);
    PyErr_Clear();
    runmain_catch_sigterm();
    return 0;
}

static PyObject *
read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        PyErr_SetFromErrnoWithFilename(PyExc_OSError, path);
        return NULL;
    }
    PyObject *data = NULL;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len + 65536 > cap) {
            cap = cap ? cap * 2 : 131072;
            char *nb = PyMem_Realloc(buf, cap);
            if (!nb) {
                PyErr_NoMemory();
                goto done;
            }
            buf = nb;
        }
        size_t n = fread(buf + len, 1, cap - len - 1, f);
        len += n;
        if (n == 0)
            break;
    }
    if (ferror(f)) {
        PyErr_SetFromErrnoWithFilename(PyExc_OSError, path);
        goto done;
    }
    data = PyBytes_FromStringAndSize(buf, (Py_ssize_t)len);
done:
    PyMem_Free(buf);
    fclose(f);
    return data;
}

/* Execute source (bytes or str) as __main__ with the given __file__. */
static PyObject *
exec_in_main(PyObject *source, const char *filename, int set_file)
{
    PyObject *main_mod = PyImport_AddModule("__main__"); /* borrowed */
    if (!main_mod)
        return NULL;
    PyObject *d = PyModule_GetDict(main_mod); /* borrowed */
    if (set_file) {
        PyObject *f = PyUnicode_DecodeFSDefault(filename);
        if (!f || PyDict_SetItemString(d, "__file__", f) < 0 ||
            PyDict_SetItemString(d, "__cached__", Py_None) < 0) {
            Py_XDECREF(f);
            return NULL;
        }
        Py_DECREF(f);
    }
    if (!PyDict_GetItemString(d, "__builtins__") &&
        PyDict_SetItemString(d, "__builtins__", PyEval_GetBuiltins()) < 0)
        return NULL;
    /* As compile(): a PEP 263 coding cookie counts in bytes, not in str.
     * Not builtins.compile itself, whose first call builds the ast module's
     * classes (11M instructions) to check for an AST argument. */
    PyCompilerFlags cf = _PyCompilerFlags_INIT;
    const char *text;
    if (PyUnicode_Check(source)) {
        text = PyUnicode_AsUTF8(source);
        cf.cf_flags = PyCF_IGNORE_COOKIE;
    } else {
        text = PyBytes_AsString(source);
        if (text && strlen(text) != (size_t)PyBytes_GET_SIZE(source)) {
            PyErr_SetString(PY_VERSION_HEX >= 0x030C0000 ? PyExc_SyntaxError
                                                         : PyExc_ValueError,
                            "source code string cannot contain null bytes");
            return NULL;
        }
    }
    PyObject *code =
        text ? Py_CompileStringExFlags(text, filename, Py_file_input, &cf, -1)
             : NULL;
    if (!code)
        return NULL;
    PyObject *r = PyEval_EvalCode(code, d, d);
    Py_DECREF(code);
    return r;
}

static PyObject *
run_script(const char *path)
{
    char abs[2 * PATH_MAX + 2];
    const char *name = script_name(path, abs, sizeof abs);
    PyObject *src = read_file(path);
    if (!src)
        return NULL;
    PyObject *r = exec_in_main(src, name, 1);
    Py_DECREF(src);
    return r;
}

/* What `python -m` itself calls: runs the module as __main__, and with
 * alter_argv sets sys.argv[0] to its file. A path entry's __main__ runs
 * the same way, sys.argv[0] kept (sys.path[0] finds it). */
static PyObject *
run_module(const char *name, int alter_argv)
{
    PyObject *runpy = PyImport_ImportModule("runpy");
    if (!runpy)
        return NULL;
    PyObject *r = PyObject_CallMethod(runpy, "_run_module_as_main", "si", name,
                                      alter_argv);
    Py_DECREF(runpy);
    return r;
}

/* python 3.13+ keeps the source of -c in linecache under "<string>", for
 * tracebacks. The glue is itself run with -c, so that entry then holds
 * the glue: put the program's source there instead, so that a traceback
 * shows the program's lines as under python. Where python keeps no such
 * entry (before 3.13), neither does this. */
static void
cache_code_source(PyObject *src)
{
    PyObject *name = PyUnicode_FromString("linecache");
    PyObject *mod = name ? PyImport_GetModule(name) : NULL;
    PyObject *cache = mod ? PyObject_GetAttrString(mod, "cache") : NULL;
    PyObject *key = PyUnicode_FromString("<string>");
    PyObject *lines = NULL, *entry = NULL;
    if (cache && key && PyDict_Check(cache) &&
        PyDict_GetItemWithError(cache, key))
        lines = PyObject_CallMethod(src, "splitlines", "i", 1);
    if (lines)
        entry = Py_BuildValue("(nOOO)", PyUnicode_GET_LENGTH(src), Py_None,
                              lines, key);
    if (entry)
        PyDict_SetItem(cache, key, entry);
    PyErr_Clear(); /* the traceback shows no source, nothing worse */
    Py_XDECREF(entry);
    Py_XDECREF(lines);
    Py_XDECREF(key);
    Py_XDECREF(cache);
    Py_XDECREF(mod);
    Py_XDECREF(name);
}

static PyObject *
run_code(const char *code)
{
    PyObject *src = PyUnicode_FromString(code);
    if (!src)
        return NULL;
    cache_code_source(src);
    PyObject *r = exec_in_main(src, "<string>", 0);
    Py_DECREF(src);
    return r;
}

/* The status of a SystemExit, printing its message as python does. */
static int
system_exit_status(void)
{
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    int status = 0;
    PyObject *code = value ? PyObject_GetAttrString(value, "code") : NULL;
    PyErr_Clear();
    if (code && code != Py_None) {
        if (PyLong_Check(code)) {
            long v = PyLong_AsLong(code);
            PyErr_Clear();
            status = (int)(v & 0xff);
        } else {
            PyObject *s = PyObject_Str(code);
            PyErr_Clear();
            PyObject *err = PySys_GetObject("stderr");
            if (s && err && err != Py_None) {
                PyFile_WriteObject(s, err, Py_PRINT_RAW);
                PyFile_WriteString("\n", err);
            }
            PyErr_Clear();
            Py_XDECREF(s);
            status = 1;
        }
    }
    Py_XDECREF(code);
    Py_XDECREF(type);
    Py_XDECREF(value);
    Py_XDECREF(tb);
    return status;
}

/* The program's uncaught exception, until runmain_report prints it. */
static PyObject *pending_type, *pending_value, *pending_tb;

/* Python's own ending after an uncaught KeyboardInterrupt: once the
 * interpreter is finalized, SIGINT again with its default disposition, so
 * that a parent (a shell, a make) sees the program killed by Ctrl-C and
 * stops too. Registered with Py_AtExit, which runs after finalization,
 * when everything the program and spyglass wrote is flushed. */
static void
runmain_exit_sigint(void)
{
    if (signal(SIGINT, SIG_DFL) != SIG_ERR)
        kill(getpid(), SIGINT);
    /* Still here (SIGINT blocked): the status python falls back to. */
}

static int
run_target(const rq_program *t)
{
    PyObject *r;
    switch (t->kind) {
    case RQ_RUN_SCRIPT:
        r = runmain_path_entry ? run_module("__main__", 0)
                               : run_script(t->target);
        break;
    case RQ_RUN_MODULE:
        r = run_module(t->target, 1);
        break;
    default:
        r = run_code(t->target);
        break;
    }
    if (r) {
        Py_DECREF(r);
        return 0;
    }
    if (PyErr_ExceptionMatches(PyExc_SystemExit))
        return system_exit_status();
    int status = 1;
    if (PyErr_ExceptionMatches(PyExc_KeyboardInterrupt)) {
        /* 130 is also python's status when the signal cannot kill it. */
        status = 130;
        if (Py_AtExit(runmain_exit_sigint) < 0)
            sg_error("cannot end with SIGINT after finalization; exit "
                     "status 130");
    }
    /* Kept for runmain_report: printing may run Python code (3.13's
     * excepthook is the traceback module), which is not the program's. */
    PyErr_Fetch(&pending_type, &pending_value, &pending_tb);
    return status;
}

/* The glue's frame (`python -c <glue>` calls run_request) stays out of
 * the program's stack: under python the program's first frame has no
 * caller, and traceback.print_stack, inspect.stack, warnings' stacklevel
 * or logging's stack_info would show the glue's line (3.13 even the
 * program's source for it, which linecache keeps under the same name).
 * The thread state says no frame runs while the program does, as for a
 * new thread; the glue's frame is put back after. */
static void *
glue_frame_swap(PyThreadState *ts, void *frame)
{
    void *old;
#if PY_VERSION_HEX >= 0x030D0000
    old = ts->current_frame;
    ts->current_frame = frame;
#elif PY_VERSION_HEX >= 0x030B0000
    old = ts->cframe->current_frame;
    ts->cframe->current_frame = frame;
#else
    old = ts->frame;
    ts->frame = frame;
#endif
    return old;
}

int
runmain_run(const rq_program *t)
{
    PyThreadState *ts = PyThreadState_Get();
    /* A SIGTERM while the command set up (selection runs Python code,
     * which ran the handler): the program does not start. */
    if (runmain_got_sigterm)
        return 128 + SIGTERM;
    void *glue = glue_frame_swap(ts, NULL);
    runmain_running = 1;
    int status = run_target(t);
    runmain_running = 0;
    glue_frame_swap(ts, glue);
    return status;
}

void
runmain_set_running(bool on)
{
    runmain_running = on;
}

int
runmain_stopped(void)
{
    int status = 0;
    if (PyErr_ExceptionMatches(PyExc_KeyboardInterrupt)) {
        status = 128 + SIGINT;
        if (Py_AtExit(runmain_exit_sigint) < 0)
            sg_error("cannot end with SIGINT after finalization; exit "
                     "status 130");
    } else if (runmain_got_sigterm &&
               PyErr_ExceptionMatches(PyExc_SystemExit)) {
        status = 128 + SIGTERM; /* the handler arranged the ending */
    }
    if (status)
        PyErr_Clear();
    return status;
}

bool
runmain_runs_path_entry(void)
{
    return runmain_path_entry;
}

bool
runmain_forked(void)
{
    return getpid() != runmain_pid;
}

void
runmain_report(void)
{
    if (!pending_type)
        return;
    PyErr_Restore(pending_type, pending_value, pending_tb);
    pending_type = pending_value = pending_tb = NULL;
    /* Not SystemExit, so PyErr_Print will not exit: it calls
     * sys.excepthook like the interpreter does. */
    PyErr_Print();
}
