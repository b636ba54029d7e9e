/* command.c -- `spyglass lines`: run a program counting the lines of the
 * selected functions, then print (and write) the table, as `kernprof -l
 * -v` does.
 *
 * The request (validated by the executable) names the functions: --func
 * targets, --file paths, else @profile in the program, else every function
 * of the script's own file. The profiler is also the builtin `profile`
 * while the program runs, so scripts written for kernprof run unchanged.
 */
#include "agent/lines/lines.h" /* Python.h first */

#include "agent/commands.h"
#include "agent/runmain.h"
#include "common/err.h"
#include "writers/writers.h"

/* The file whose functions the default selection profiles: the script
 * (a directory's or zip file's __main__.py), or the -m module's source
 * (NULL when it cannot be found: running it reports that). A new str or
 * NULL. */
static PyObject *
main_file(const rq_program *t)
{
    if (t->kind == RQ_RUN_SCRIPT) {
        PyObject *script = PyUnicode_DecodeFSDefault(t->target);
        if (!script || !runmain_runs_path_entry())
            return script;
        PyObject *file = PyUnicode_FromFormat("%U/__main__.py", script);
        Py_DECREF(script);
        return file;
    }
    if (t->kind != RQ_RUN_MODULE)
        return NULL;
    PyObject *util = PyImport_ImportModule("importlib.util");
    PyObject *spec =
        util ? PyObject_CallMethod(util, "find_spec", "s", t->target) : NULL;
    Py_XDECREF(util);
    PyObject *origin = spec && spec != Py_None
                           ? PyObject_GetAttrString(spec, "origin")
                           : NULL;
    Py_XDECREF(spec);
    PyErr_Clear();
    if (origin && !PyUnicode_Check(origin))
        Py_CLEAR(origin);
    return origin;
}

int
lines_set_builtin(PyObject *prof)
{
    PyObject *builtins = PyImport_ImportModule("builtins");
    int rc = builtins ? PyObject_SetAttrString(builtins, "profile", prof) : -1;
    Py_XDECREF(builtins);
    /* spyglass.line_profile is the same object while the command runs;
     * spyglass.profile stays the function profiler. */
    PyObject *agent = PyImport_ImportModule("spyglass._agent");
    if (rc == 0 && agent)
        rc = PyObject_SetAttrString(agent, "line_profile", prof);
    Py_XDECREF(agent);
    return rc;
}

int
lines_select_targets(lines_prof *prof, const char *const *files, int n_files,
                     const char *const *funcs, int n_funcs,
                     const rq_program *t)
{
    int rc = -1;
    PyObject *mf = main_file(t);
    const char *mfs = mf ? PyUnicode_AsUTF8(mf) : NULL;
    PyErr_Clear();
    for (int i = 0; rc < 0 && i < n_files; i++)
        rc = lines_select_file(prof, files[i]);
    for (int i = 0; rc < 0 && i < n_funcs; i++)
        rc = lines_select_func(prof, funcs[i], mfs);
    if (rc < 0 && n_files == 0 && n_funcs == 0 &&
        !lines_file_uses_profile(mfs,
                                 t->kind == RQ_RUN_CODE ? t->target : NULL)) {
        /* The default: the functions of the script's own file. */
        PyObject *name = mf ? mf : PyUnicode_FromString("<string>");
        if (!mf)
            mf = name;
        PyObject *norm = name ? lines_norm_path(name) : NULL;
        if (!norm ||
            (!prof->sel_files && !(prof->sel_files = PySet_New(NULL))) ||
            PySet_Add(prof->sel_files, norm) < 0) {
            agent_print_exception();
            rc = SG_EXIT_FAIL;
        }
        Py_XDECREF(norm);
    }
    Py_XDECREF(mf);
    return rc;
}

int
agent_lines_main(const rq_lines *o)
{
    const rq_program *t = &o->program;
    const sg_writer *w = NULL;
    sg_out_result r;
    if (o->output &&
        !(w = agent_request_writer("lines", o->format, SG_DATA_LINES)))
        return SG_EXIT_FAIL;
    lines_prof *prof = NULL;
    int rc = runmain_prepare(t);
    if (rc != 0)
        goto done;
    prof = lines_prof_new(o->unit);
    if (!prof) {
        agent_print_exception();
        rc = SG_EXIT_FAIL;
        goto done;
    }
    prof->no_source = o->no_source;
    if ((rc = lines_select_targets(prof, o->files, o->n_files, o->funcs,
                                   o->n_funcs, t)) >= 0)
        goto done;
    if (prof->sel_files || prof->sel_keys)
        lines_lazy = prof;
    if (lines_set_builtin((PyObject *)prof) < 0 || lines_enable(prof) < 0) {
        agent_print_exception();
        rc = SG_EXIT_FAIL;
        goto done;
    }
    prof->auto_enabled = 1;
    rc = runmain_run(t);
    while (prof->enabled)
        lines_disable(prof);
    lines_lazy = NULL;
    runmain_report();
    if (runmain_forked())
        goto done;
    if (o->output && strcmp(o->output, "-") == 0) {
        /* -f without -o: that format, in place of the table. */
        agent_flush_stdio();
        rc = sg_output_status(rc, lines_deliver(prof, w, "-"));
        goto done;
    }
    if (o->output) {
        r = lines_deliver(prof, w, o->output);
        rc = sg_output_status(rc, r);
        if (r == SG_OUT_WRITTEN) {
            PyObject *out = PySys_GetObject("stdout");
            if (out && out != Py_None) {
                PyFile_WriteString("Wrote profile results to '", out);
                PyFile_WriteString(o->output, out);
                PyFile_WriteString("'\n", out);
            }
            PyErr_Clear();
        }
    }
    /* The table, after all the program printed, as kernprof -v shows it. */
    agent_flush_stdio();
    rc = sg_output_status(
        rc, lines_deliver(prof, sg_writer_by_name("kernprof"), "-"));
done:
    lines_lazy = NULL;
    Py_XDECREF(prof);
    return rc;
}
