/* command.c -- `spyglass profile`: run a program under the function
 * profiler and write its profile.
 *
 * The request (already validated by the executable) says what to run and
 * how to write the result; the program runs in __main__ as under python
 * (agent/runmain.h) and its profile is written when it ends, however it
 * ends: normally, by an exception, sys.exit, Ctrl-C or SIGTERM.
 */
#include "agent/profile/profiler.h" /* Python.h first */

#include <stdio.h>
#include <string.h>

#include "agent/commands.h"
#include "agent/runmain.h"
#include "common/err.h"
#include "common/strbuf.h"
#include "model/profile.h"
#include "writers/writers.h"

static sg_out_result
prof_write_output(profiler *P, const rq_profile *o, const sg_writer *w,
                  const char *command)
{
    sg_profile *p = profiler_build(P);
    if (!p) {
        agent_print_exception();
        return SG_OUT_LOST;
    }
    sg_profile_set_meta(p, "command", command);
    writer_opts wo = {0};
    wo.sort = o->sort;
    wo.limit = (int)o->limit;
    wo.per_thread = o->threads;
    wo.flame = o->flame;
    wo.no_source = o->no_source;
    wo.strip_dirs = strcmp(w->name, "text") == 0 && !o->output;
    sg_out_result r;
    if (o->output && strcmp(o->output, "-") != 0) {
        r = sg_writer_write_file(&sg_output_profile, w, p, &wo, o->output);
        if (r == SG_OUT_WRITTEN)
            fprintf(stderr, "spyglass: profile written to %s (%s)\n",
                    o->output, w->name);
    } else {
        /* After everything the program printed, as cProfile does. */
        agent_flush_stdio();
        r = sg_writer_write_file(&sg_output_profile, w, p, &wo, "-");
    }
    sg_profile_free(p);
    return r;
}

/* The program's command line, for the profile's metadata. */
static void
prof_command_line(strbuf *cmd, const rq_program *t)
{
    sb_puts(cmd, t->kind == RQ_RUN_MODULE ? "-m "
                 : t->kind == RQ_RUN_CODE ? "-c "
                                          : "");
    sb_puts(cmd, t->target);
    for (int i = 0; i < t->n_args; i++) {
        sb_putc(cmd, ' ');
        sb_puts(cmd, t->args[i]);
    }
}

int
agent_profile_main(const rq_profile *o)
{
    const rq_program *t = &o->program;
    const sg_writer *w =
        agent_request_writer("profile", o->format, SG_DATA_DETERMINISTIC);
    if (!w)
        return SG_EXIT_FAIL;
    int rc = runmain_prepare(t);
    if (rc != 0)
        return rc;
    strbuf cmd = STRBUF_INIT;
    prof_command_line(&cmd, t);
    profiler *P =
        (profiler *)PyObject_CallObject((PyObject *)&profiler_type, NULL);
    if (!P) {
        agent_print_exception();
        sb_free(&cmd);
        return SG_EXIT_FAIL;
    }
    P->builtins = o->builtins;
    if (profiler_enable(P) < 0) {
        agent_print_exception();
        Py_DECREF(P);
        sb_free(&cmd);
        return SG_EXIT_FAIL;
    }
    int status = runmain_run(t);
    profiler_disable(P);
    runmain_report();
    if (!runmain_forked())
        status =
            sg_output_status(status, prof_write_output(P, o, w, sb_str(&cmd)));
    Py_DECREF(P);
    sb_free(&cmd);
    return status;
}
