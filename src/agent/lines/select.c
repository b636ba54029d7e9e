/* select.c -- which code objects the line profiler counts.
 *
 * Rules (documented in `spyglass lines --help` and docs):
 *   - @profile / LineProfiler.add_function: the code object(s) of what is
 *     given (following __wrapped__, __func__, property accessors, and the
 *     methods of a class);
 *   - --file PATH: every code object of a `def` in PATH (functions, methods,
 *     nested functions), matched by file when it first runs;
 *   - --func MODULE:QUALNAME: the `def` with that qualified name, found
 *     before the program runs by compiling MODULE's source and walking its
 *     code objects (so a typo is reported with close matches), then matched
 *     by (file, first line, name) when it runs; for `dis`, MODULE:<module>
 *     is the module's own code;
 *   - default: the script's (or -m module's) own file, as --file.
 * Module and class bodies, lambdas, comprehensions and generator
 * expressions (names starting with '<') are never selected by file or name:
 * their lines are those of the function around them (on 3.8-3.11 such a
 * separate code object is simply not counted, as with line_profiler).
 */
#include <string.h>
#include <unistd.h>

#include "agent/lines/lines.h"
#include "common/err.h"

static PyObject *norm_cache; /* code filename -> normalised path */

PyObject *
lines_norm_path(PyObject *filename)
{
    if (!PyUnicode_Check(filename) || PyUnicode_GET_LENGTH(filename) == 0 ||
        PyUnicode_READ_CHAR(filename, 0) == '<') {
        Py_INCREF(filename);
        return filename;
    }
    if (!norm_cache && !(norm_cache = PyDict_New()))
        return NULL;
    PyObject *r = PyDict_GetItemWithError(norm_cache, filename);
    if (r) {
        Py_INCREF(r);
        return r;
    }
    if (PyErr_Occurred())
        return NULL;
    PyObject *os_path = PyImport_ImportModule("os.path");
    if (!os_path)
        return NULL;
    r = PyObject_CallMethod(os_path, "realpath", "O", filename);
    Py_DECREF(os_path);
    if (r && PyDict_SetItem(norm_cache, filename, r) < 0)
        Py_CLEAR(r);
    return r;
}

static int
is_def(PyCodeObject *co)
{
    return (co->co_flags & CO_NEWLOCALS) && PyUnicode_Check(co->co_name) &&
           PyUnicode_GET_LENGTH(co->co_name) > 0 &&
           PyUnicode_READ_CHAR(co->co_name, 0) != '<';
}

/* A module's code: selected by name only (--func MODULE:<module>). */
static int
is_module(PyCodeObject *co)
{
    return !(co->co_flags & CO_NEWLOCALS) && PyUnicode_Check(co->co_name) &&
           PyUnicode_CompareWithASCIIString(co->co_name, "<module>") == 0;
}

lines_code *
lines_select(lines_prof *prof, PyObject *code)
{
    if (!prof || !lines_recording(prof) || !PyCode_Check(code))
        return NULL;
    PyCodeObject *co = (PyCodeObject *)code;
    int module = is_module(co);
    if (!is_def(co) && !(module && prof->sel_keys))
        return NULL;
    lines_code *lc = NULL;
    PyObject *key = NULL;
    /* A frame may start with an exception pending (generator.throw and
     * close): keep it out of the way. */
    PyObject *et, *ev, *etb;
    PyErr_Fetch(&et, &ev, &etb);
    PyObject *path = lines_norm_path(co->co_filename);
    if (!path)
        goto done;
    int hit =
        prof->sel_files && !module ? PySet_Contains(prof->sel_files, path) : 0;
    if (hit == 0 && prof->sel_keys) {
        key = Py_BuildValue("(OiO)", path, co->co_firstlineno, co->co_name);
        hit = key ? PySet_Contains(prof->sel_keys, key) : -1;
    }
    if (hit > 0)
        lc = lines_code_add(prof, code);
done:
    /* Selection must never break the program: an error means "no", and
     * out of memory also that recording stops. */
    if (PyErr_ExceptionMatches(PyExc_MemoryError))
        lines_fail(prof);
    PyErr_Clear();
    PyErr_Restore(et, ev, etb);
    Py_XDECREF(key);
    Py_XDECREF(path);
    return lc;
}

static int
add_to_set(PyObject **set, PyObject *item)
{
    if (!*set && !(*set = PySet_New(NULL)))
        return -1;
    return PySet_Add(*set, item);
}

/* The command a bad selection is reported for: set by the two entry
 * points below from their profiler, read by the helpers they call. */
static const char *sel_cmd = "lines";

int
lines_select_file(lines_prof *prof, const char *path)
{
    sel_cmd = prof->command ? prof->command : "lines";
    if (access(path, R_OK) != 0) {
        sg_error("%s: --file '%s': no such file", sel_cmd, path);
        return SG_EXIT_USAGE;
    }
    PyObject *s = PyUnicode_DecodeFSDefault(path);
    PyObject *norm = s ? lines_norm_path(s) : NULL;
    int rc = norm ? add_to_set(&prof->sel_files, norm) : -1;
    Py_XDECREF(norm);
    Py_XDECREF(s);
    if (rc < 0) {
        agent_print_exception();
        return SG_EXIT_FAIL;
    }
    return -1;
}

/* Compile a source file into its module code object; NULL with an
 * exception set. */
static PyObject *
compile_file(const char *path)
{
    PyObject *io = PyImport_ImportModule("io");
    PyObject *data =
        io ? PyObject_CallMethod(io, "open", "ss", path, "rb") : NULL;
    Py_XDECREF(io);
    if (!data)
        return NULL;
    PyObject *src = PyObject_CallMethod(data, "read", NULL);
    PyObject *r = PyObject_CallMethod(data, "close", NULL);
    Py_XDECREF(r);
    Py_DECREF(data);
    if (!src)
        return NULL;
    /* Bytes: a coding cookie counts, as when Python imports the file. */
    PyCompilerFlags cf = _PyCompilerFlags_INIT;
    const char *text = PyBytes_AsString(src);
    PyObject *code =
        text ? Py_CompileStringExFlags(text, path, Py_file_input, &cf, -1)
             : NULL;
    Py_DECREF(src);
    return code;
}

/* Walk the code objects nested in code. For each `def`, append
 * (qualname, firstlineno, co_name) to defs. Qualified names are computed
 * the way the compiler does (3.11+ also stores them in co_qualname):
 * "outer.<locals>.inner" inside functions, "Cls.meth" inside classes.
 * Sets *uses_profile when any code refers to the name `profile`. */
static int
walk_code(PyCodeObject *co, PyObject *prefix, PyObject *defs,
          int *uses_profile)
{
    PyObject *names = co->co_names;
    for (Py_ssize_t i = 0; names && i < PyTuple_GET_SIZE(names); i++)
        if (PyUnicode_CompareWithASCIIString(PyTuple_GET_ITEM(names, i),
                                             "profile") == 0)
            *uses_profile = 1;
    PyObject *consts = co->co_consts;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(consts); i++) {
        PyObject *c = PyTuple_GET_ITEM(consts, i);
        if (!PyCode_Check(c))
            continue;
        PyCodeObject *sub = (PyCodeObject *)c;
        PyObject *qn = PyUnicode_FromFormat("%U%U", prefix, sub->co_name);
        if (!qn)
            return -1;
        int fn = (sub->co_flags & CO_NEWLOCALS) != 0;
        if (is_def(sub)) {
            PyObject *t =
                Py_BuildValue("(OiO)", qn, sub->co_firstlineno, sub->co_name);
            if (!t || PyList_Append(defs, t) < 0) {
                Py_XDECREF(t);
                Py_DECREF(qn);
                return -1;
            }
            Py_DECREF(t);
        }
        PyObject *sub_prefix =
            PyUnicode_FromFormat(fn ? "%U.<locals>." : "%U.", qn);
        Py_DECREF(qn);
        if (!sub_prefix)
            return -1;
        int rc = walk_code(sub, sub_prefix, defs, uses_profile);
        Py_DECREF(sub_prefix);
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* The defs of a source file (see walk_code); NULL with an exception. */
static PyObject *
file_defs(const char *path, int *uses_profile)
{
    PyObject *code = compile_file(path);
    if (!code)
        return NULL;
    PyObject *defs = PyList_New(0);
    PyObject *empty = PyUnicode_FromString("");
    int u = 0;
    if (!defs || !empty ||
        walk_code((PyCodeObject *)code, empty, defs, &u) < 0)
        Py_CLEAR(defs);
    Py_XDECREF(empty);
    Py_DECREF(code);
    if (uses_profile)
        *uses_profile = u;
    return defs;
}

int
lines_file_uses_profile(const char *path, const char *code)
{
    int u = 0;
    if (path) {
        PyObject *defs = file_defs(path, &u);
        if (!defs) {
            /* A syntax error is the program's: python reports it when the
             * script runs. */
            PyErr_Clear();
            return 0;
        }
        Py_DECREF(defs);
    } else if (code) {
        /* -c CODE: a textual check is enough for a command line. */
        u = strstr(code, "profile") != NULL;
    }
    return u;
}

/* The source file of module `name`, without running it (its parent
 * packages are imported, as `python -m` does). A new str, or NULL after
 * printing an error line. */
static PyObject *
module_file(const char *spec, const char *name)
{
    PyObject *util = PyImport_ImportModule("importlib.util");
    PyObject *ms =
        util ? PyObject_CallMethod(util, "find_spec", "s", name) : NULL;
    Py_XDECREF(util);
    if (!ms) {
        PyErr_Clear();
        ms = Py_None;
        Py_INCREF(ms);
    }
    PyObject *origin =
        ms != Py_None ? PyObject_GetAttrString(ms, "origin") : NULL;
    Py_DECREF(ms);
    PyErr_Clear();
    if (!origin || !PyUnicode_Check(origin)) {
        sg_error("%s: --func %s: no module named '%s'", sel_cmd, spec, name);
        Py_XDECREF(origin);
        return NULL;
    }
    const char *o = PyUnicode_AsUTF8(origin);
    size_t n = o ? strlen(o) : 0;
    if (n < 3 || strcmp(o + n - 3, ".py") != 0) {
        sg_error("%s: --func %s: module '%s' has no Python source (%s)",
                 sel_cmd, spec, name, o ? o : "?");
        Py_DECREF(origin);
        return NULL;
    }
    return origin;
}

/* ", a, b, c" from a list of str (at most max). */
static void
join_names(char *buf, size_t size, PyObject *list, Py_ssize_t max)
{
    size_t len = 0;
    buf[0] = '\0';
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(list) && i < max; i++) {
        const char *s = PyUnicode_AsUTF8(PyList_GET_ITEM(list, i));
        if (!s)
            break;
        int w = snprintf(buf + len, size - len, "%s%s", i ? ", " : "", s);
        if (w < 0 || (size_t)w >= size - len)
            break;
        len += (size_t)w;
    }
    if (PyList_GET_SIZE(list) > max && len + 5 < size)
        strcat(buf, ", ...");
    PyErr_Clear();
}

static void
report_missing(const char *spec, const char *qualname, const char *file,
               PyObject *defs)
{
    PyObject *names = PyList_New(0);
    for (Py_ssize_t i = 0; names && i < PyList_GET_SIZE(defs); i++)
        PyList_Append(names, PyTuple_GET_ITEM(PyList_GET_ITEM(defs, i), 0));
    PyObject *difflib = PyImport_ImportModule("difflib");
    PyObject *close =
        difflib && names ? PyObject_CallMethod(difflib, "get_close_matches",
                                               "sOid", qualname, names, 5, 0.5)
                         : NULL;
    char buf[1024];
    if (close && PyList_GET_SIZE(close) > 0) {
        join_names(buf, sizeof buf, close, 5);
        sg_error("%s: --func %s: no function '%s' in %s; close matches: "
                 "%s",
                 sel_cmd, spec, qualname, file, buf);
    } else if (names && PyList_GET_SIZE(names) > 0) {
        join_names(buf, sizeof buf, names, 12);
        sg_error("%s: --func %s: no function '%s' in %s; it defines: %s",
                 sel_cmd, spec, qualname, file, buf);
    } else {
        sg_error("%s: --func %s: no function '%s' in %s (it defines no "
                 "functions)",
                 sel_cmd, spec, qualname, file);
    }
    PyErr_Clear();
    Py_XDECREF(close);
    Py_XDECREF(difflib);
    Py_XDECREF(names);
}

int
lines_select_func(lines_prof *prof, const char *spec, const char *main_file)
{
    sel_cmd = prof->command ? prof->command : "lines";
    const char *colon = strchr(spec, ':');
    char module[512];
    size_t mlen = (size_t)(colon - spec);
    if (mlen >= sizeof module) {
        sg_error("%s: --func %s: module name too long", sel_cmd, spec);
        return SG_EXIT_USAGE;
    }
    memcpy(module, spec, mlen);
    module[mlen] = '\0';
    const char *qualname = colon + 1;
    PyObject *file;
    if (strcmp(module, "__main__") == 0) {
        if (!main_file) {
            sg_error("%s: --func %s: __main__ needs a SCRIPT or -m "
                     "MODULE (with -c, use @profile)",
                     sel_cmd, spec);
            return SG_EXIT_USAGE;
        }
        file = PyUnicode_DecodeFSDefault(main_file);
    } else {
        file = module_file(spec, module);
        if (!file)
            return SG_EXIT_USAGE;
    }
    if (!file) {
        agent_print_exception();
        return SG_EXIT_FAIL;
    }
    const char *path = PyUnicode_AsUTF8(file);
    PyObject *defs = path ? file_defs(path, NULL) : NULL;
    if (!defs) {
        if (PyErr_ExceptionMatches(PyExc_SyntaxError) &&
            strcmp(module, "__main__") == 0) {
            /* The script's own syntax error: python reports it. */
            PyErr_Clear();
            Py_DECREF(file);
            return -1;
        }
        agent_print_exception();
        sg_error("%s: --func %s: cannot read the functions of %s", sel_cmd,
                 spec, path ? path : module);
        Py_DECREF(file);
        return SG_EXIT_USAGE;
    }
    int found = 0, rc = -1;
    PyObject *norm = lines_norm_path(file);
    if (norm && strcmp(qualname, "<module>") == 0 && prof->command &&
        strcmp(prof->command, "dis") == 0) {
        /* The module's own code (for `dis` only: a line table shows a
         * function's source block, which module code does not have),
         * whose first line is as this compiler makes it (3.8 starts at
         * the first statement, later versions at 1). */
        PyObject *top = compile_file(path);
        PyObject *key =
            top ? Py_BuildValue("(Ois)", norm,
                                ((PyCodeObject *)top)->co_firstlineno,
                                "<module>")
                : NULL;
        if (!key || add_to_set(&prof->sel_keys, key) < 0)
            rc = SG_EXIT_FAIL;
        Py_XDECREF(key);
        Py_XDECREF(top);
        found = 1;
    }
    for (Py_ssize_t i = 0; norm && i < PyList_GET_SIZE(defs); i++) {
        PyObject *d = PyList_GET_ITEM(defs, i);
        if (PyUnicode_CompareWithASCIIString(PyTuple_GET_ITEM(d, 0),
                                             qualname) != 0)
            continue;
        PyObject *key = Py_BuildValue("(OOO)", norm, PyTuple_GET_ITEM(d, 1),
                                      PyTuple_GET_ITEM(d, 2));
        if (!key || add_to_set(&prof->sel_keys, key) < 0) {
            Py_XDECREF(key);
            rc = SG_EXIT_FAIL;
            break;
        }
        Py_DECREF(key);
        found = 1;
    }
    if (!norm || rc == SG_EXIT_FAIL) {
        agent_print_exception();
        rc = SG_EXIT_FAIL;
    } else if (!found) {
        report_missing(spec, qualname, path, defs);
        rc = SG_EXIT_USAGE;
    }
    Py_XDECREF(norm);
    Py_DECREF(defs);
    Py_DECREF(file);
    return rc;
}

/* ---- explicit selection: decorators and add_function ---- */

static int add_callable(lines_prof *prof, PyObject *obj, int depth);

static int
add_attr(lines_prof *prof, PyObject *obj, const char *attr, int depth)
{
    PyObject *v = PyObject_GetAttrString(obj, attr);
    if (!v) {
        PyErr_Clear();
        return 0;
    }
    int n = v == Py_None ? 0 : add_callable(prof, v, depth + 1);
    Py_DECREF(v);
    return n;
}

/* Number of code objects added from obj, or -1 with an exception set. */
static int
add_callable(lines_prof *prof, PyObject *obj, int depth)
{
    if (depth > 50)
        return 0;
    if (PyCode_Check(obj))
        return lines_code_add(prof, obj) ? 1 : -1;
    if (PyType_Check(obj)) {
        /* A class: its own methods (as line_profiler 5 does). */
        PyObject *d = PyObject_GetAttrString(obj, "__dict__");
        PyObject *vals = d ? PyMapping_Values(d) : NULL;
        Py_XDECREF(d);
        if (!vals)
            return -1;
        int n = 0;
        for (Py_ssize_t i = 0; i < PyList_GET_SIZE(vals); i++) {
            PyObject *v = PyList_GET_ITEM(vals, i);
            if (PyType_Check(v))
                continue; /* nested classes are not methods */
            int k = add_callable(prof, v, depth + 1);
            if (k < 0) {
                Py_DECREF(vals);
                return -1;
            }
            n += k;
        }
        Py_DECREF(vals);
        return n;
    }
    int n = 0, k;
    if (PyFunction_Check(obj)) {
        if (!lines_code_add(prof, PyFunction_GET_CODE(obj)))
            return -1;
        n = 1;
    } else {
        /* Bound and static/class methods, partials of methods: __func__;
         * properties: their accessors. */
        static const char *const attrs[] = {"__func__", "fget", "fset",
                                            "fdel"};
        for (size_t i = 0; i < sizeof attrs / sizeof *attrs; i++) {
            if ((k = add_attr(prof, obj, attrs[i], depth)) < 0)
                return -1;
            n += k;
        }
    }
    /* functools.wraps wrappers and lru_cache: the wrapped function too. */
    if ((k = add_attr(prof, obj, "__wrapped__", depth)) < 0)
        return -1;
    return n + k;
}

int
lines_add_callable(lines_prof *prof, PyObject *obj)
{
    int n = add_callable(prof, obj, 0);
    if (n == 0) {
        PyErr_Format(PyExc_TypeError,
                     "spyglass cannot profile %R: no Python function in it",
                     obj);
        return -1;
    }
    return n < 0 ? -1 : 0;
}
