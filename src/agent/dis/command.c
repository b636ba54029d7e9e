/* command.c -- `spyglass dis`: run a program counting every instruction of
 * the selected functions, then print their `dis` listing with the counts.
 *
 * The selection is the line profiler's (the same --func, --file, @profile
 * and default rules as `spyglass lines`, with the profiler as the builtin
 * `profile`); the counting is count.c's; the listing, made after the run
 * with the interpreter's own dis, is listing.c's.
 */
#include "agent/dis/dis.h" /* Python.h first */

#include <string.h>

#include "agent/commands.h"
#include "agent/runmain.h"
#include "common/err.h"
#include "writers/dis.h"

/* Render the listing and deliver it where -o says, after all the program
 * printed. Returns the exit status given the program's rc. */
static int
dis_deliver(const rq_dis *o, const sg_writer *w, int rc)
{
    sg_instr_listing *l = dis_listing(o->adaptive);
    if (!l) {
        agent_print_exception();
        return rc ? rc : SG_EXIT_FAIL;
    }
    strbuf sb = STRBUF_INIT;
    dis_opts opts = {o->top};
    sg_write_dis(l, w, &opts, &sb); /* a failure is sb's, reported below */
    sg_instr_listing_free(l);
    agent_flush_stdio();
    const char *out = o->output ? o->output : "-";
    sg_out_result r = sg_writer_deliver(&sg_output_dis, w, out, &sb);
    if (r == SG_OUT_WRITTEN && strcmp(out, "-") != 0)
        fprintf(stderr, "spyglass: dis listing written to %s (%s)\n", out,
                w->name);
    rc = sg_output_status(rc, r);
    sb_free(&sb);
    return rc;
}

int
agent_dis_main(const rq_dis *o)
{
    const rq_program *t = &o->program;
    const sg_writer *w = agent_request_writer("dis", o->format, SG_DATA_DIS);
    if (!w)
        return SG_EXIT_FAIL;
#if PY_VERSION_HEX < 0x030B0000
    if (o->adaptive) {
        sg_error("dis: --adaptive needs CPython 3.11 or later, which "
                 "specialises instructions; this is %d.%d",
                 PY_MAJOR_VERSION, PY_MINOR_VERSION);
        return SG_EXIT_USAGE;
    }
#endif
    lines_prof *prof = NULL;
    int rc = runmain_prepare(t);
    if (rc != 0)
        goto done;
    prof = lines_prof_new(1e-6);
    if (!prof) {
        agent_print_exception();
        rc = SG_EXIT_FAIL;
        goto done;
    }
    prof->command = "dis";
    if ((rc = lines_select_targets(prof, o->files, o->n_files, o->funcs,
                                   o->n_funcs, t)) >= 0)
        goto done;
    if (prof->sel_files || prof->sel_keys)
        lines_lazy = prof;
    if (dis_count_start() < 0 || lines_set_builtin((PyObject *)prof) < 0 ||
        lines_enable(prof) < 0) {
        agent_print_exception();
        dis_count_stop();
        rc = SG_EXIT_FAIL;
        goto done;
    }
    prof->auto_enabled = 1;
    rc = runmain_run(t);
    while (prof->enabled)
        lines_disable(prof);
    dis_count_stop();
    lines_lazy = NULL;
    runmain_report();
    if (!runmain_forked())
        rc = dis_deliver(o, w, rc);
done:
    lines_lazy = NULL;
    dis_count_free();
    Py_XDECREF(prof);
    return rc;
}
