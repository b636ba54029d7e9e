/* profile.h -- the one profile model every collector fills and every writer
 * reads.
 *
 * Layers, each interned so that equal things share one id:
 *   strings    -> const char * owned by the profile
 *   functions  -> (kind, name, file, first_line)       sg_func_id
 *   frames     -> (function, line)                      sg_frame_id
 *   nodes      -> a calling-context tree: (parent node, frame); node 0 is the
 *                 root. Each node carries SELF weights in up to SG_MAX_METRICS
 *                 metrics; inclusive weights are derived (sg_profile_totals).
 *   lines      -> (function, line) -> hits, time and the same metrics, for
 *                 the line and memory profilers.
 *   stamps     -> optionally, when each sampled stack was taken: its leaf
 *                 node and the time since the recording started, in the
 *                 order taken (the timeline a Chrome trace draws).
 *
 * The metrics are declared per profile (names such as "samples", "calls",
 * "ns", "bytes"); metric 0 is the primary one that flame graphs size by.
 * A sampler adds 1 to "samples" at the leaf of each stack (the recorder
 * also adds the time each sample stands for to "ns", sampler/record.c). A
 * deterministic
 * profiler adds to "calls" and "ns" on each node as calls return: since self
 * time is additive up the tree, inclusive time is derived, never stored.
 *
 * Threads and processes are synthetic frames (SG_FUNC_THREAD / _PROCESS) at
 * the top of the tree, always present for threads; writers drop them unless
 * the user asked for per-thread roots, and use them to split per thread.
 * A frame with line 0 is function-level (e.g. cProfile-style data).
 *
 * Ids are indices: they stay valid as the tables grow, pointers do not.
 *
 * Out of memory never exits (this code also runs inside the user's
 * process): a function that cannot add returns SG_NO_ID (or NULL), adds
 * nothing, and sets p->failed, which stays set. Every function taking an
 * id accepts SG_NO_ID from a failed call and passes it on, so a collector
 * can chain calls and check p->failed once (e.g. after each sample, to stop
 * and say so once); what was added before stays valid and writable.
 */
#ifndef SG_PROFILE_H
#define SG_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/hashmap.h"

#define SG_MAX_METRICS 10
#define SG_ROOT_NODE 0u
#define SG_NO_ID UINT32_MAX

typedef uint32_t sg_func_id;
typedef uint32_t sg_frame_id;
typedef uint32_t sg_node_id;

typedef enum sg_func_kind {
    SG_FUNC_PYTHON = 0,  /* Python code object */
    SG_FUNC_BUILTIN = 1, /* C function or method called from Python */
    SG_FUNC_THREAD = 2,  /* synthetic: a thread root; `id` holds its tid */
    SG_FUNC_PROCESS = 3, /* synthetic: a process root; `id` holds its pid */
    SG_FUNC_OTHER = 4,   /* anything else a collector wants to show */
} sg_func_kind;

typedef struct sg_func {
    const char *name; /* qualified name where known */
    const char *file; /* absolute path, or "~" for builtins (as pstats) */
    int32_t first_line;
    uint8_t kind; /* sg_func_kind */
    uint64_t id;  /* tid or pid for synthetic frames, else 0 */
    /* Tells apart distinct functions that share all the above (two lambdas
     * on one line, every dataclass __init__ at <string>:2): 0 for the
     * first, 1, 2... for the others, so that the tree and the recursion
     * counts keep them apart; tables keyed by label merge them. */
    uint32_t variant;
} sg_func;

typedef struct sg_frame {
    sg_func_id func;
    int32_t line; /* 0: function-level */
} sg_frame;

typedef struct sg_node {
    sg_frame_id frame; /* SG_NO_ID for the root */
    sg_node_id parent; /* SG_NO_ID for the root */
    sg_node_id first_child;
    sg_node_id next_sibling;
    uint32_t depth; /* root is 0 */
    uint64_t self[SG_MAX_METRICS];
} sg_node;

typedef struct sg_line {
    sg_func_id func;
    int32_t line;
    uint64_t hits;
    uint64_t m[SG_MAX_METRICS]; /* e.g. ns, bytes */
} sg_line;

/* One sampled stack in time: the leaf node the sample added to, and when
 * it was taken (ns since the recording started). The thread is the thread
 * root above the node. */
typedef struct sg_stamp {
    uint64_t t_ns;
    sg_node_id node;
} sg_stamp;

/* How long a thread ran while it was recorded: its CPU time (as the
 * thread's own CPU clock counts it) and its wall time. Keyed by the
 * thread's synthetic function, so threads merged into one root (same id and
 * name) are summed. */
typedef struct sg_thread_time {
    sg_func_id thread;
    uint64_t cpu_ns, wall_ns;
    bool cpu_known; /* false: the CPU clock could not be read */
} sg_thread_time;

/* What a profile holds; writers declare which kinds they can write
 * (writers/writers.h). */
typedef enum sg_profile_kind {
    SG_PROFILE_DETERMINISTIC, /* every call: "ns" and "calls" per node */
    SG_PROFILE_SAMPLED,       /* stacks sampled at an interval: "samples" */
    SG_PROFILE_LINES,         /* the line table: hits and "ns" per line */
    SG_PROFILE_MEMORY,        /* bytes per allocating stack and per line */
    SG_PROFILE_TIMELINE,      /* memory over time (model/timeline.h) */
} sg_profile_kind;

typedef struct sg_meta_kv {
    const char *key;
    const char *value;
} sg_meta_kv;

typedef struct sg_profile {
    sg_profile_kind kind;
    /* A sampled profile's interval (each sample stands for that much
     * time); 0 when unknown. */
    uint64_t sample_interval_ns;

    /* An addition failed for lack of memory: some data is missing. */
    bool failed;

    /* Declared metrics. */
    int n_metrics;
    const char *metric_names[SG_MAX_METRICS];

    /* Tables (public for reading; use the functions below to add). */
    sg_func *funcs;
    size_t n_funcs, cap_funcs;
    sg_frame *frames;
    size_t n_frames, cap_frames;
    sg_node *nodes;
    size_t n_nodes, cap_nodes;
    sg_line *lines;
    size_t n_lines, cap_lines;
    sg_stamp *stamps; /* in the order added, times never decreasing */
    size_t n_stamps, cap_stamps;

    /* The wall time of the recording, 0 when unknown (then a table's
     * total is the sum of its own times), and each thread's times. */
    uint64_t wall_ns;
    sg_thread_time *thread_times;
    size_t n_thread_times, cap_thread_times;

    /* Free-form metadata (command line, python version, rate, ...), in the
     * order set; writers that have a place for it copy it. */
    sg_meta_kv *meta;
    size_t n_meta, cap_meta;

    /* Memory over time, for a timeline profile (and a memory profile that
     * recorded one); NULL when none. Not owned: model/timeline.h. */
    struct sg_timeline *timeline;
    /* Samples per instruction (model/instr.h); NULL unless a recording
     * asked for them. Freed by whoever set it, not by sg_profile_free. */
    struct sg_instr_table *instr;

    /* Private. */
    idxset str_index;
    char **strs;
    size_t n_strs, cap_strs;
    idxset func_index;
    hm64 frame_index;
    hm64 node_index;
    hm64 line_index;
} sg_profile;

/* NULL when out of memory. */
sg_profile *sg_profile_new(sg_profile_kind kind, int n_metrics,
                           const char *const *metric_names);
void sg_profile_free(sg_profile *p);

/* Index of the metric called name, or -1. */
int sg_profile_metric(const sg_profile *p, const char *name);

/* The profile's copy of s; NULL when out of memory. */
const char *sg_profile_intern(sg_profile *p, const char *s);
const char *sg_profile_intern_n(sg_profile *p, const char *s, size_t n);

sg_func_id sg_profile_func(sg_profile *p, sg_func_kind kind, const char *name,
                           const char *file, int32_t first_line, uint64_t id);
/* The same with a variant (sg_func.variant); sg_profile_func is variant 0,
 * so a copy made through it merges the variants. */
sg_func_id sg_profile_func_variant(sg_profile *p, sg_func_kind kind,
                                   const char *name, const char *file,
                                   int32_t first_line, uint64_t id,
                                   uint32_t variant);
sg_frame_id sg_profile_frame(sg_profile *p, sg_func_id func, int32_t line);
/* The child of parent for frame, created when missing. */
sg_node_id sg_profile_child(sg_profile *p, sg_node_id parent,
                            sg_frame_id frame);
/* Walk frames (outermost first) down from parent, creating nodes as needed,
 * add value to metric at the leaf, and return the leaf (SG_NO_ID, the value
 * lost and p->failed set, when out of memory). */
sg_node_id sg_profile_add_stack(sg_profile *p, sg_node_id parent,
                                const sg_frame_id *frames, size_t n,
                                int metric, uint64_t value);
/* The line entry for (func, line), created when missing; NULL when out of
 * memory. */
sg_line *sg_profile_line(sg_profile *p, sg_func_id func, int32_t line);
/* Stamp the sample that added to node (SG_NO_ID: a sample already lost)
 * with its time, ns since the recording started; times must not go
 * back. Out of memory loses the stamp and sets p->failed. */
void sg_profile_stamp(sg_profile *p, sg_node_id node, uint64_t t_ns);
/* Thread and process roots: synthetic functions under the given parent.
 * A thread without a name (NULL or "") is called "thread 0x<tid>". */
sg_func_id sg_profile_thread_func(sg_profile *p, uint64_t tid,
                                  const char *name);
sg_node_id sg_profile_thread_root(sg_profile *p, sg_node_id parent,
                                  uint64_t tid, const char *name);
/* Give nodes[i] the frame frames[i] (e.g. a thread root the name learnt
 * after its first samples). Siblings that come to share a frame are merged,
 * weights summed and subtrees merged alike, so the tree stays interned.
 * This rebuilds the tree: node ids change (children still follow their
 * parents), so no caller may hold one across it. Returns 0, or -1 when out
 * of memory (p->failed set, the tree unchanged). */
int sg_profile_reframe(sg_profile *p, const sg_node_id *nodes,
                       const sg_frame_id *frames, size_t n);
sg_node_id sg_profile_process_root(sg_profile *p, uint64_t pid,
                                   const char *cmdline);

/* Add cpu_ns and wall_ns to the times of the thread whose synthetic
 * function is thread (cpu_known false: its CPU time is unknown). Returns
 * 0, or -1 when out of memory. */
int sg_profile_add_thread_time(sg_profile *p, sg_func_id thread,
                               uint64_t cpu_ns, uint64_t wall_ns,
                               bool cpu_known);
/* The times of that thread, or NULL when none were added. */
const sg_thread_time *sg_profile_thread_time(const sg_profile *p,
                                             sg_func_id thread);

/* Returns 0, or -1 when out of memory. */
int sg_profile_set_meta(sg_profile *p, const char *key, const char *value);
const char *sg_profile_get_meta(const sg_profile *p, const char *key);

/* Inclusive weights: out[node * n_metrics + m] = self of node + inclusive of
 * its children. out must hold n_nodes * n_metrics entries. Children always
 * have larger ids than their parent, so one reverse pass suffices. */
void sg_profile_totals(const sg_profile *p, uint64_t *out);

/* A copy of p whose stacks stop at max_depth: below it, each cut subtree
 * is one node "[N frames elided]" (a SG_FUNC_OTHER function) holding all
 * its weight, N being the depth of its deepest stack below the cut; cut
 * subtrees of one parent with the same N share that node; stamps move
 * with their samples. The line table is not copied (stack writers do not
 * read it). NULL when out of memory. */
sg_profile *sg_profile_cut(const sg_profile *p, uint32_t max_depth);

static inline const sg_func *
sg_profile_frame_func(const sg_profile *p, sg_frame_id f)
{
    return &p->funcs[p->frames[f].func];
}

static inline bool
sg_func_is_synthetic(const sg_func *f)
{
    return f->kind == SG_FUNC_THREAD || f->kind == SG_FUNC_PROCESS;
}

#endif
