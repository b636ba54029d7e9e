/* results.c -- what a line profiler recorded: into the profile model
 * (ticks become nanoseconds), as kernprof's table, or as a file. */
#include <stdio.h>
#include <string.h>

#include "agent/lines/lines.h"
#include "writers/lines.h"
#include "writers/writers.h"

static const char *
code_str(PyObject *code, const char *attr, const char *fallback)
{
    PyObject *s = PyObject_GetAttrString(code, attr);
    /* The code object keeps the string alive. */
    const char *r = agent_utf8(s, fallback);
    Py_XDECREF(s);
    return r;
}

sg_profile *
lines_to_model(lines_prof *prof)
{
    static const char *const metrics[] = {"ns"};
    sg_profile *p = sg_profile_new(SG_PROFILE_LINES, 1, metrics);
    if (!p) {
        PyErr_NoMemory();
        return NULL;
    }
    double npt = ticks_ns_per_tick();
    lines_derive_fold(prof);
    for (Py_ssize_t i = 0; i < prof->n_codes; i++) {
        lines_code *lc = prof->codes[i];
        PyCodeObject *co = (PyCodeObject *)lc->code;
#if PY_VERSION_HEX >= 0x030B0000
        const char *name = code_str(lc->code, "co_qualname", "?");
#else
        const char *name = code_str(lc->code, "co_name", "?");
#endif
        const char *file = code_str(lc->code, "co_filename", "?");
        sg_func_id f = sg_profile_func(p, SG_FUNC_PYTHON, name, file,
                                       co->co_firstlineno, 0);
        for (int32_t k = 0; k < lc->n && !p->failed; k++) {
            if (!lc->hits[k])
                continue;
            sg_line *l = sg_profile_line(p, f, lc->base + k);
            if (!l)
                break;
            l->hits += lc->hits[k];
            l->m[0] += (uint64_t)((double)lc->ticks[k] * npt + 0.5);
        }
    }
    if (p->failed) {
        sg_profile_free(p);
        PyErr_NoMemory();
        return NULL;
    }
    return p;
}

int
lines_print(lines_prof *prof, PyObject *stream, double output_unit)
{
    sg_profile *p = lines_to_model(prof);
    if (!p)
        return -1;
    strbuf sb = STRBUF_INIT;
    int rc = sg_write_linetext(&sb, p, 0, output_unit);
    sg_profile_free(p);
    if (rc < 0 || sb_failed(&sb)) {
        sb_free(&sb);
        PyErr_NoMemory();
        return -1;
    }
    PyObject *out = stream ? stream : PySys_GetObject("stdout");
    PyObject *text =
        PyUnicode_DecodeUTF8(sb_str(&sb), (Py_ssize_t)sb.len, "replace");
    PyObject *r = NULL;
    if (text && out && out != Py_None) {
        r = PyObject_CallMethod(out, "write", "O", text);
        if (r && !stream) {
            Py_DECREF(r);
            r = PyObject_CallMethod(out, "flush", NULL);
        }
    }
    if (!r) {
        if (stream && PyErr_Occurred()) {
            rc = -1;
        } else {
            /* The program closed or replaced sys.stdout: C's stdout. */
            PyErr_Clear();
            fwrite(sb_str(&sb), 1, sb.len, stdout);
            fflush(stdout);
        }
    }
    Py_XDECREF(r);
    Py_XDECREF(text);
    sb_free(&sb);
    return rc;
}

sg_out_result
lines_deliver(lines_prof *prof, const sg_writer *w, const char *path)
{
    sg_profile *p = lines_to_model(prof);
    if (!p) {
        PyErr_Clear();
        instr_out_of_memory("lines");
        return SG_OUT_LOST;
    }
    writer_opts wo = {0};
    wo.unit = prof->output_unit;
    wo.no_source = prof->no_source;
    sg_out_result r = sg_writer_write_file(&sg_output_lines, w, p, &wo, path);
    sg_profile_free(p);
    return r;
}

int
lines_dump(lines_prof *prof, const sg_writer *w, const char *path)
{
    char msg[512];
    if (!w && sg_writer_pick_msg(NULL, path, &sg_output_lines, &w, msg,
                                 sizeof msg)) {
        PyErr_SetString(PyExc_ValueError, msg);
        return -1;
    }
    sg_profile *p = lines_to_model(prof);
    if (!p)
        return -1;
    strbuf sb = STRBUF_INIT;
    writer_opts wo = {0};
    wo.unit = prof->output_unit;
    int rc = sg_writer_render(w, p, &wo, &sb);
    sg_profile_free(p);
    if (rc == 0)
        rc = sb_write_file(&sb, path);
    sb_free(&sb);
    if (rc < 0) {
        PyErr_SetFromErrnoWithFilename(PyExc_OSError, path);
        return -1;
    }
    return 0;
}
