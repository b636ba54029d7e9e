/* command.c -- `spyglass memory`: run a program tracing every allocation,
 * then write the table and summary (or the file -o names).
 *
 * The request (validated by the executable) names the functions whose
 * lines get memory_profiler's columns, exactly as `lines` selects them:
 * --func targets, --file paths, else @profile in the program (the builtin
 * `profile` is the command's line profiler, as memory_profiler injects
 * its own), else every function of the script's own file. Everything the
 * program allocates, in every function and thread, is attributed to its
 * line and call stack.
 */
#include <stdio.h>
#include <string.h>

#include "agent/commands.h"
#include "agent/memory/internal.h" /* Python.h first */
#include "agent/memory/native.h"
#include "agent/memory/timeline.h"
#include "agent/runmain.h"
#include "common/err.h"

lines_prof *mem_cmd_lines;

/* The program's command line, for the profile's metadata. */
static void
mem_command_line(strbuf *cmd, const rq_program *t)
{
    static const char *const prefix[] = {
        [RQ_RUN_MODULE] = "-m ", [RQ_RUN_CODE] = "-c "};
    if ((size_t)t->kind < sizeof prefix / sizeof *prefix && prefix[t->kind])
        sb_puts(cmd, prefix[t->kind]);
    sb_puts(cmd, t->target);
    for (int i = 0; i < t->n_args; i++) {
        sb_putc(cmd, ' ');
        sb_puts(cmd, t->args[i]);
    }
}

/* Write the results: -o FILE in its format (one line on stderr says
 * where), -f without -o in that format on stdout, else the text table on
 * stdout after what the program printed. */
static sg_out_result
mem_write(const rq_memory *o, const sg_writer *w, lines_prof *prof,
          const char *command)
{
    sg_profile *p = mem_to_model(prof, command, o->rss);
    if (!p) {
        PyErr_Clear();
        instr_out_of_memory("memory");
        return SG_OUT_LOST;
    }
    p->timeline = mem_timeline_get(); /* for writers that draw it */
    writer_opts wo = {0};
    wo.flame = o->flame;
    wo.no_source = o->no_source;
    wo.metric = o->allocated ? SG_MEM_ALLOC : SG_MEM_PEAK;
    sg_out_result r = SG_OUT_WRITTEN;
    if (o->output && strcmp(o->output, "-") != 0) {
        r = sg_writer_write_file(&sg_output_memory, w, p, &wo, o->output);
        if (r == SG_OUT_WRITTEN)
            fprintf(stderr, "spyglass: memory profile written to %s (%s)\n",
                    o->output, w->name);
    } else {
        if (!w)
            w = sg_writer_by_name("text");
        agent_flush_stdio();
        if (w && sg_writer_holds(w, SG_DATA_MEMORY))
            r = sg_writer_write_file(&sg_output_memory, w, p, &wo, "-");
    }
    p->timeline = NULL;
    sg_profile_free(p);
    return r;
}

/* Select, install the builtin `profile` and start the line events and
 * the engine. Returns -1 when running, else an exit status. */
static int
mem_begin(const rq_memory *o, lines_prof *prof)
{
    prof->command = "memory";
    int rc = lines_select_targets(prof, o->files, o->n_files, o->funcs,
                                  o->n_funcs, &o->program);
    if (rc >= 0)
        return rc;
    if (prof->sel_files || prof->sel_keys)
        lines_lazy = prof;
    mem_config cfg = {(uint64_t)o->sample_bytes, o->native, true};
    if (lines_set_builtin((PyObject *)prof) < 0 || lines_enable(prof) < 0 ||
        mem_start(&cfg) < 0) {
        agent_print_exception();
        return SG_EXIT_FAIL;
    }
    prof->auto_enabled = 1;
    if (o->native && mem_native_start() < 0) {
        mem_stop();
        sg_error("memory: --native: the allocation shim is not loaded");
        return SG_EXIT_FAIL;
    }
    mem_lines_start(o->rss);
    mem_cmd_lines = prof;
    if (o->timeline) {
        strbuf cmd = STRBUF_INIT;
        mem_command_line(&cmd, &o->program);
        int started = mem_timeline_start(o->timeline_interval, sb_str(&cmd));
        sb_free(&cmd);
        if (started < 0)
            return SG_EXIT_FAIL; /* the caller ends the rest */
    }
    return -1;
}

static void
mem_end(const rq_memory *o, lines_prof *prof)
{
    mem_timeline_stop(); /* before the line watcher it chains to goes */
    if (o->native)
        mem_native_stop();
    mem_stop();
    mem_lines_stop();
    mem_cmd_lines = NULL;
    while (prof->enabled)
        lines_disable(prof);
    lines_lazy = NULL;
}

int
agent_memory_main(const rq_memory *o)
{
    const rq_program *t = &o->program;
    const sg_writer *w = NULL;
    if (o->output &&
        !(w = agent_request_writer("memory", o->format, SG_DATA_MEMORY)))
        return SG_EXIT_FAIL;
    /* Before anything else runs: --native may start the interpreter
     * again, with the allocation shim preloaded. */
    if (o->native && mem_native_prepare() < 0)
        return SG_EXIT_FAIL;
    int rc = runmain_prepare(t);
    if (rc != 0)
        return rc;
    lines_prof *prof = mem_lines_new(o->rss);
    if (!prof) {
        agent_print_exception();
        return SG_EXIT_FAIL;
    }
    if ((rc = mem_begin(o, prof)) < 0) {
        rc = runmain_run(t);
        mem_end(o, prof);
        runmain_report();
        strbuf cmd = STRBUF_INIT;
        mem_command_line(&cmd, t);
        if (!runmain_forked()) {
            rc = sg_output_status(rc, mem_write(o, w, prof, sb_str(&cmd)));
            rc = sg_output_status(rc, mem_timeline_write(o));
        }
        sb_free(&cmd);
    } else {
        mem_end(o, prof);
    }
    mem_timeline_clear();
    mem_clear();
    mem_lines_clear();
    lines_lazy = NULL;
    Py_DECREF(prof);
    return rc;
}
