/* lines.h -- the line profiler's parts inside the agent, and what they
 * share.
 *
 *   core.c     code states, per-thread frame stacks, the recording
 *              primitives both backends call, enabling and failing;
 *   results.c  what was recorded, into the profile model, as a table or
 *              a file;
 *   select.c   which code objects are profiled: files, MODULE:QUALNAME
 *              targets, and the default (the script's own file);
 *   mon.c      the 3.12+ backend: sys.monitoring, local events on the
 *              selected code objects only;
 *   flow.c     which line events of a code object follow from others
 *              (3.12-3.13), for a profiler that counts without timing;
 *   derive.c   counting those lines from the frame's position, with
 *              their events switched off;
 *   legacy.c   the 3.8-3.11 backend: a frame-evaluation hook that turns
 *              the C trace function on only while selected code runs;
 *   type.c     the Python API (spyglass.LineProfiler, spyglass.lines,
 *              spyglass.line_profile);
 *   command.c  `spyglass lines` (agent_lines_main).
 *
 * Counting: a line's hits are its line events; its time runs from its line
 * event to the next line event or return of the same frame, as
 * line_profiler measures (so a line's time includes the calls it makes),
 * in ticks (core/ticks.h) until the results are built. A profiler that
 * keeps no time (the memory table) counts, on 3.12-3.13, the lines
 * reached only by falling through straight-line code from where the
 * frame is instead, with their events off (flow.c, derive.c). Everything runs
 * with the GIL held; frame stacks are per thread.
 *
 * Out of memory inside a callback (a line table or a frame stack that
 * cannot grow), the profiler fails: it stops recording, says so once, and
 * keeps what it has for its table.
 */
#ifndef SG_AGENT_LINES_H
#define SG_AGENT_LINES_H

#include <stdint.h>

#include "agent/agent.h"
#include "agent/core/instr.h"
#include "agent/core/stop.h"
#include "model/profile.h"
#include "request/commands.h"
#include "writers/writers.h"

struct lines_prof;

/* A line event of a code object (flow.c): the code unit where it is
 * delivered, its line, and whether it follows from the one before it
 * (derived: reached only by falling through the straight-line code
 * from there). */
typedef struct lines_seg {
    int32_t start, line, derived;
    /* Runs of the derived events after this one counted in bulk
     * (derive.c): how many, and the highest level (lines_prof.level) at
     * their end. */
    uint64_t bulk_n, bulk_hi;
} lines_seg;

/* The line events of a code object with at least one derived. */
typedef struct lines_flow {
    uintptr_t code0; /* address of its first code unit */
    int32_t n_units, n_seg;
    int32_t *at; /* code unit -> index in seg + 1; 0: no line event */
    lines_seg *seg;
    uintptr_t last_pos; /* the position looked up last, and its index */
    int32_t last_j;
} lines_flow;

/* One profiled code object: hits and ticks per line. */
typedef struct lines_code {
    PyObject *code;          /* strong reference */
    struct lines_prof *prof; /* the profiler that owns this state */
    int32_t base;            /* line number of slot 0 */
    int32_t n;               /* slots */
    uint64_t *hits;
    uint64_t *ticks;
    /* Its derived line events (NULL: none, or not yet looked for). */
    lines_flow *flow;
    int flow_done; /* looked for */
} lines_code;

/* A profiler: the object behind spyglass.LineProfiler. */
typedef struct lines_prof {
    PyObject_HEAD
    lines_code **codes; /* in the order they were added */
    Py_ssize_t n_codes, cap_codes;
    int enabled;       /* enable() nesting depth */
    int auto_enabled;  /* enabled by use as a decorator */
    int print_at_exit; /* spyglass.profile prints when Python exits */
    int atexit_registered;
    int failed;         /* out of memory in a callback: recording stopped */
    double output_unit; /* seconds per displayed unit */
    int no_source;      /* html: embed no source lines */
    /* Selection by file and by (file, first line, name): NULL when unused.
     * Only code objects created by a `def` are matched. */
    PyObject *sel_files; /* set of normalised paths */
    PyObject *sel_keys;  /* set of (path, firstlineno, co_name) */
    const char *command; /* the command a bad selection is reported for
                            (NULL: "lines") */
    /* Hits only, no time per line (the memory profiler's table): its
     * events skip reading the clock, a large part of a line event's cost
     * where the time stamp counter is slow to read (virtual machines). */
    int untimed;
    /* Untimed, and lines whose events follow from others are counted from
     * the frame's position with their events off (derive.c; 3.12-3.13). */
    int derive;
    uint64_t derived_hits; /* hits counted so, without their events */
    /* Deriving, the value a watcher keeps per run of a line (the traced
     * heap): derived lines that run while it does not change are counted
     * in bulk, and told to flat when the hits are folded
     * (lines_derive_fold). NULL: each counted and told to the watcher as
     * it runs. */
    const uint64_t *level;
    /* n runs of `line` of lc, each beginning and ending at the level,
     * which was at most hi. */
    void (*flat)(const lines_code *lc, int32_t line, uint64_t n, uint64_t hi);
} lines_prof;

/* A frame of profiled code being run by this thread. */
typedef struct lines_frame {
    lines_code *lc;
    /* frame object (3.8-3.11); interpreter frame when deriving; or NULL */
    const void *key;
    int32_t line; /* last line event, -1 before the first */
    /* Deriving: the line event (index in lc->flow->seg) the frame last
     * passed, and the address of the next one when that is derived (the
     * frame's lines up to its position are still to count), else 0. */
    int32_t seg;
    uintptr_t seg_next;
    uint64_t t; /* its time, in ticks */
    /* When deriving, the thread state that runs the frame (it is not
     * deleted while the frame runs): its frames are found from there
     * without the cost of asking CPython (a call, and a TLS look-up
     * through the dynamic linker). Else NULL. */
    PyThreadState *ts;
    /* For a line watcher (below): the traced heap when the line began,
     * the highest it reached while the line ran, and while the frame
     * ran. */
    uint64_t mem0, mem_hi, mem_call_hi;
    /* For the memory engine, when deriving (the key is then the frame
     * itself): the allocation site of the frame's callers, which stay
     * where they are while it runs, and the tracing that found it (0:
     * none yet). */
    uint64_t mem_gen;
    uint32_t mem_parent;
} lines_frame;

typedef struct lines_stack {
    lines_frame *v;
    int depth, cap;
    uint64_t gen; /* stale when != lines_gen */
} lines_stack;

extern AGENT_TLS lines_stack lines_tls;
/* A new generation whenever a profiler starts, stops or fails: every
 * thread's stack is then stale and restarts empty, so no stack points to a
 * freed code state (core/tls.h). */
extern uint64_t lines_gen;

/* A collector riding on the line events of the selected functions (the
 * memory profiler's columns): told when a line of frame fr begins (after
 * its hit is counted) and when it ends (before the next line, the return
 * or the yield). NULL when none, which is all `lines` pays. quiet(+1) and
 * quiet(-1) bracket the line profiler's own allocations (its tables, the
 * selection of new code objects), so that a memory tracer does not
 * charge them to the program's lines. */
typedef struct lines_watcher {
    void (*begin)(lines_frame *fr);
    void (*end)(lines_frame *fr);
    void (*quiet)(int delta);
    /* Optional (NULL: not told): a frame of a selected function was
     * pushed (its call began; no line yet), and is popped (it returned,
     * or its stack was unwound past it). For the memory timeline's
     * function brackets. */
    void (*enter)(lines_frame *fr);
    void (*leave)(lines_frame *fr);
    /* Optional (NULL: end and begin are told): a line event of frame fr,
     * told once instead of end(fr) and begin(fr), before fr->line changes
     * from the line that ends (-1 before the first) to `line`, whose hit
     * is counted. The hottest path of a watcher: one indirect call per
     * line event instead of two. */
    void (*step)(lines_frame *fr, int32_t line);
} lines_watcher;
extern const lines_watcher *lines_watch;

/* A collector counting the instructions of the selected code objects
 * (`spyglass dis`): told of every code object the selection adds, so that
 * it can watch it (and select what it contains), and on 3.8-3.11 handed
 * the opcode events of their frames, which the legacy backend then asks
 * for (f_trace_opcodes). NULL when none, which is all `lines` pays. */
typedef struct lines_op_watcher {
    /* 0, or -1 with an exception set */
    int (*added)(lines_code *lc);
    /* 3.8-3.11: the instruction at byte offset `offset` of lc's code is
     * about to run */
    void (*opcode)(lines_code *lc, int offset);
} lines_op_watcher;
extern const lines_op_watcher *lines_opwatch;

static inline void
lines_quiet(int delta)
{
    stop_nest(delta); /* the agent's own code: see core/stop.h */
    if (lines_watch)
        lines_watch->quiet(delta);
}

/* ---- core.c ---- */

/* The time stamp of an event of lc's profiler: 0 when it keeps no time,
 * so a line's time then adds up to 0. */
static inline uint64_t
lines_now(const lines_code *lc)
{
    return lc->prof->untimed ? 0 : ticks_now();
}

/* Whether prof records: enabled and not failed. */
static inline int
lines_recording(const lines_prof *prof)
{
    return prof->enabled && !prof->failed;
}

/* The state of a code object of a recording profiler, or NULL. */
lines_code *lines_lookup(PyObject *code);
/* The state of code in prof, created when missing (NULL on error, with an
 * exception set). */
lines_code *lines_code_add(lines_prof *prof, PyObject *code);
void lines_code_free(lines_code *lc);
/* Grow lc so that line has a slot; -1 (no exception set) when memory is
 * exhausted. */
int lines_code_reserve(lines_code *lc, int32_t line);
/* Push a frame of lc on this thread's stack; NULL when memory is exhausted
 * (then lc's profiler has failed). */
lines_frame *lines_push(lines_code *lc, const void *key, uint64_t now);
/* Out of memory inside a callback: prof stops recording, keeps what it
 * has, and says so once. */
void lines_fail(lines_prof *prof);
/* Close the topmost frame of code (charging its last line) and every
 * frame above it, which missed their exit; nothing when code has none. */
void lines_pop(PyObject *code, uint64_t now);

static inline lines_frame *
lines_top(void)
{
    lines_stack *st = &lines_tls;
    if (st->depth == 0 || st->gen != lines_gen)
        return NULL;
    return &st->v[st->depth - 1];
}

static inline void
lines_close(lines_frame *fr, uint64_t now)
{
    if (fr->line >= 0) {
        fr->lc->ticks[fr->line - fr->lc->base] += now - fr->t;
        if (lines_watch)
            lines_watch->end(fr);
    }
}

/* The topmost frame fr returns: its last line charged, a watcher told,
 * and it is popped. */
static inline void
lines_return_top(lines_frame *fr, uint64_t now)
{
    lines_close(fr, now);
    if (lines_watch && lines_watch->leave)
        lines_watch->leave(fr);
    lines_tls.depth--;
}

/* Count n hits of line in lc, which grows when needed; -1 when memory is
 * exhausted (then lc's profiler has failed). */
static inline int
lines_hits(lines_code *lc, int32_t line, uint64_t n)
{
    int32_t i = line - lc->base;
    if ((uint32_t)i >= (uint32_t)lc->n) {
        if (lines_code_reserve(lc, line) < 0) {
            lines_fail(lc->prof);
            return -1;
        }
        i = line - lc->base;
    }
    lc->hits[i] += n;
    return 0;
}

/* Count a hit of line in lc (lines_hits). */
static inline int
lines_hit(lines_code *lc, int32_t line)
{
    return lines_hits(lc, line, 1);
}

/* A line event in frame fr, told to a watcher with a step. */
static inline void
lines_step(const lines_watcher *w, lines_frame *fr, int32_t line, uint64_t now)
{
    lines_code *lc = fr->lc;
    /* An untimed profiler's events all read 0: no time to charge. */
    if (fr->line >= 0 && now != fr->t)
        lc->ticks[fr->line - lc->base] += now - fr->t;
    if (lines_hit(lc, line) < 0)
        return;
    w->step(fr, line);
    fr->line = line;
    fr->t = now;
}

/* A line event in frame fr. */
static inline void
lines_on_line(lines_frame *fr, int32_t line, uint64_t now)
{
    if (lines_watch && lines_watch->step) {
        lines_step(lines_watch, fr, line, now);
        return;
    }
    lines_close(fr, now);
    if (lines_hit(fr->lc, line) < 0)
        return;
    fr->line = line;
    fr->t = now;
    if (lines_watch)
        lines_watch->begin(fr);
}

/* Start/stop counting for prof (nested calls count); 0, or -1 with an
 * exception set. */
int lines_enable(lines_prof *prof);
int lines_disable(lines_prof *prof);

/* ---- results.c ---- */

/* Results of prof into a new model with one metric, "ns" (NULL with an
 * exception set on failure). */
sg_profile *lines_to_model(lines_prof *prof);
/* Write prof's table to stream (a file-like object; NULL: sys.stdout, or
 * C's stdout when that fails). Returns 0, or -1 with an exception set. */
int lines_print(lines_prof *prof, PyObject *stream, double output_unit);
/* Write prof's results to path in format w, or, when w is NULL, the one
 * path's extension names (a pickle for *.lprof, else the text). Returns 0,
 * or -1 with an exception set. */
int lines_dump(lines_prof *prof, const sg_writer *w, const char *path);
/* The command's way: write prof's results to path ("-": stdout) in format
 * w, delivered elsewhere when that fails (writers.h, sg_writer_deliver). */
sg_out_result lines_deliver(lines_prof *prof, const sg_writer *w,
                            const char *path);

/* ---- type.c ---- */

/* A new LineProfiler with nothing selected (a new reference), or NULL with
 * an exception set. */
lines_prof *lines_prof_new(double output_unit);

/* ---- select.c ---- */

/* The selected state for a code object met at run time under prof's file
 * and key selection, or NULL (not selected). Never leaves an exception. */
lines_code *lines_select(lines_prof *prof, PyObject *code);
/* Normalised path of a code filename as used in selections (a str, new
 * reference): realpath, except for pseudo-files such as "<string>". */
PyObject *lines_norm_path(PyObject *filename);
/* The command line's selection, as `lines` makes it: --file paths,
 * --func targets, else @profile in the program, else the functions of
 * the script's own file (main_file: the script, or the -m module's
 * source). Returns -1 when done, or an exit status after printing one
 * error line. */
int lines_select_targets(lines_prof *prof, const char *const *files,
                         int n_files, const char *const *funcs, int n_funcs,
                         const rq_program *t);
/* Make prof the builtin `profile` (and spyglass.line_profile) while a
 * command runs, as kernprof and memory_profiler inject it. */
int lines_set_builtin(PyObject *prof);
/* Add --file PATH / --func MODULE:QUALNAME / the default selection; on a
 * bad target print one error line and return an exit status, else -1. */
int lines_select_file(lines_prof *prof, const char *path);
int lines_select_func(lines_prof *prof, const char *spec,
                      const char *main_file);
/* 1 when source file `path` refers to the name `profile` anywhere (so it
 * uses @profile), 0 when not, -1 on error (exception set). */
int lines_file_uses_profile(const char *path, const char *code);
/* Every code object a function-like object runs (its __code__, following
 * __wrapped__, __func__, fget/fset/fdel, and a class's methods), added to
 * prof. Returns 0, or -1 with TypeError when there is none. */
int lines_add_callable(lines_prof *prof, PyObject *obj);

/* ---- flow.c, derive.c ---- */

/* The derived line events of code, whose local LINE events are set; NULL
 * when it has none or they cannot be known (always before 3.12, and from
 * 3.14). Never leaves an exception. */
lines_flow *lines_flow_make(PyObject *code);
void lines_flow_free(lines_flow *fw);

/* Whether this CPython's line events can be derived (flow.c). */
#if PY_VERSION_HEX >= 0x030C0000 && PY_VERSION_HEX < 0x030E0000
#define LINES_CAN_DERIVE 1
#else
#define LINES_CAN_DERIVE 0
#endif

/* How many enabled profilers derive (3.12+). */
extern int lines_deriving;

/* A line event of fr, the running frame, told to a deriving profiler:
 * counted, with the lines its frame passed since its last event. Returns
 * 1 when the event is a derived one, which its caller switches off
 * (DISABLE). */
int lines_derive_line(lines_frame *fr, int32_t line, uint64_t now);
/* Count fr's lines up to where its frame is, found from frame `from`
 * (an interpreter frame of this thread: fr's own or one it called)
 * outwards. For a collector that must know which line is running
 * between events (the memory table, before the traced total changes),
 * and for a frame that calls or returns. */
void lines_derive_sync(lines_frame *fr, const void *from);
/* A RAISE event: the running frame's lines are counted up to the
 * instruction that raised, where its straight-line run stopped. */
void lines_derive_raise(PyObject *code);
/* Count the lines of every frame of this thread up to where it is (a
 * profiler stops). */
void lines_derive_flush(void);
/* Add the runs prof counted in bulk to its hits, and tell them to its
 * flat: before its hits are read, and when it stops (so that none is
 * left for its next start). */
void lines_derive_fold(lines_prof *prof);

/* fr, when it is this thread's innermost selected frame with lines to
 * count since its last event, else NULL. Such a frame has its thread
 * state (fr->ts). */
static inline lines_frame *
lines_derive_pending(void)
{
    lines_stack *st = &lines_tls;
    if (st->depth == 0 || st->gen != lines_gen)
        return NULL;
    lines_frame *fr = &st->v[st->depth - 1];
    return fr->seg_next ? fr : NULL;
}

/* ---- backends (mon.c on 3.12+, legacy.c before) ---- */

/* The profiler whose file/key selection must see every new code object
 * (at most one: the command line's). */
extern lines_prof *lines_lazy;
int lines_backend_start(void);
void lines_backend_stop(void);
/* Set the backend's global events again (which profilers derive
 * changed); 0, or -1 with an exception set. */
int lines_backend_global(void);
/* Start delivering events for a newly profiled code object. */
int lines_backend_watch(lines_code *lc);
/* Stop delivering events for lc (its profiler is disabled or freed). */
void lines_backend_unwatch(lines_code *lc);
/* Whether the backend is running. */
extern int lines_running;

#endif
