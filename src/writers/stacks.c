/* stacks.c -- the writers that walk the tree as stacks: collapsed (folded)
 * stacks, speedscope JSON and Chrome Trace Event JSON.
 *
 * They size by the profile's time metric ("ns") when it has one, else by
 * metric 0 (samples). Thread roots are kept apart where the format has a
 * place for threads (speedscope profiles, Chrome tids) and dropped from the
 * stacks otherwise, unless per_thread asks for them as root frames.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/sort.h"
#include "common/err.h"
#include "common/json.h"
#include "writers/writers.h"

/* Frames of node from the outermost. Process roots are kept (a collector
 * adds them only when asked to follow subprocesses); thread roots only with
 * keep_threads. Returns the count; *buf grows as needed. */
static size_t
node_path(const sg_profile *p, sg_node_id node, bool keep_threads,
          sg_frame_id **buf, size_t *cap)
{
    size_t depth = p->nodes[node].depth;
    if (depth > *cap) {
        *cap = depth * 2;
        *buf = sg_xrealloc(*buf, *cap * sizeof **buf);
    }
    size_t k = depth;
    for (sg_node_id n = node; n != SG_ROOT_NODE && n != SG_NO_ID;
         n = p->nodes[n].parent) {
        sg_frame_id f = p->nodes[n].frame;
        if (!keep_threads &&
            sg_profile_frame_func(p, f)->kind == SG_FUNC_THREAD)
            continue;
        (*buf)[--k] = f;
    }
    memmove(*buf, *buf + k, (depth - k) * sizeof **buf);
    return depth - k;
}

/* The thread root above node, or SG_NO_ID. */
static sg_node_id
thread_of(const sg_profile *p, sg_node_id node)
{
    for (sg_node_id n = node; n != SG_ROOT_NODE && n != SG_NO_ID;
         n = p->nodes[n].parent) {
        if (sg_profile_frame_func(p, p->nodes[n].frame)->kind ==
            SG_FUNC_THREAD)
            return n;
    }
    return SG_NO_ID;
}

/* ---- collapsed ------------------------------------------------------- */

typedef struct folded {
    char *stack;
    uint64_t weight;
} folded;

static int
cmp_folded(const void *a, const void *b)
{
    return strcmp(((const folded *)a)->stack, ((const folded *)b)->stack);
}

/* A frame label safe for the folded format: ';' separates frames and the
 * line ends at a newline, so neither may appear inside a frame. */
static void
put_folded_frame(const sg_profile *p, sg_frame_id f, strbuf *sb)
{
    strbuf tmp = STRBUF_INIT;
    const sg_func *fn = sg_profile_frame_func(p, f);
    if (fn->kind == SG_FUNC_THREAD)
        sb_printf(&tmp, "thread (0x%llX): %s", (unsigned long long)fn->id,
                  fn->name);
    else
        sg_writer_frame_label(p, f, &tmp);
    for (const char *s = sb_str(&tmp); *s; s++)
        sb_putc(sb, *s == ';' ? ':' : (*s == '\n' || *s == '\r') ? ' ' : *s);
    sb_free(&tmp);
}

int
sg_write_collapsed(const sg_profile *p, const writer_opts *o, strbuf *out)
{
    double spu;
    int m = sg_writer_weight_metric(p, &spu);
    folded *lines = NULL;
    size_t n = 0, cap = 0, pcap = 0;
    sg_frame_id *path = NULL;
    for (sg_node_id i = 1; i < p->n_nodes; i++) {
        uint64_t w = p->nodes[i].self[m];
        if (w == 0)
            continue;
        size_t d = node_path(p, i, o->per_thread, &path, &pcap);
        if (d == 0)
            continue;
        strbuf sb = STRBUF_INIT;
        for (size_t k = 0; k < d; k++) {
            if (k)
                sb_putc(&sb, ';');
            put_folded_frame(p, path[k], &sb);
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 256;
            lines = sg_xrealloc(lines, cap * sizeof *lines);
        }
        lines[n].stack = sb.data;
        lines[n].weight = w;
        n++;
    }
    sg_sort(lines, n, sizeof *lines, cmp_folded);
    for (size_t i = 0; i < n;) {
        uint64_t w = 0;
        size_t j = i;
        for (; j < n && strcmp(lines[j].stack, lines[i].stack) == 0; j++)
            w += lines[j].weight;
        sb_printf(out, "%s %llu\n", lines[i].stack, (unsigned long long)w);
        i = j;
    }
    for (size_t i = 0; i < n; i++)
        free(lines[i].stack);
    free(lines);
    free(path);
    return 0;
}

/* ---- speedscope -------------------------------------------------------- */

static const char *
speedscope_unit(const sg_profile *p, int m, double spu)
{
    if (strcmp(p->metric_names[m], "ns") == 0)
        return "nanoseconds";
    if (strcmp(p->metric_names[m], "bytes") == 0)
        return "bytes";
    return spu > 0 ? "seconds" : "none";
}

/* One "sampled" profile of the nodes under group (a thread root, or the
 * root for everything outside threads). */
static void
speedscope_profile(const sg_profile *p, json_writer *j, sg_node_id group,
                   int m, double spu, const uint32_t *frame_index)
{
    const char *unit = speedscope_unit(p, m, spu);
    bool seconds = strcmp(unit, "seconds") == 0;
    char name[256];
    if (group == SG_ROOT_NODE) {
        snprintf(name, sizeof name, "all");
    } else {
        const sg_func *f = sg_profile_frame_func(p, p->nodes[group].frame);
        snprintf(name, sizeof name, "Thread %llu \"%s\"",
                 (unsigned long long)f->id, f->name);
    }
    json_begin_object(j);
    json_key(j, "type");
    json_string(j, "sampled");
    json_key(j, "name");
    json_string(j, name);
    json_key(j, "unit");
    json_string(j, unit);
    json_key(j, "startValue");
    json_int(j, 0);
    uint64_t total = 0;
    sg_frame_id *path = NULL;
    size_t pcap = 0;
    /* The nodes of this profile: weighted, in the group, with a stack. */
    sg_node_id *nodes = sg_xmalloc(p->n_nodes * sizeof *nodes);
    size_t n = 0;
    for (sg_node_id i = 1; i < p->n_nodes; i++) {
        if (p->nodes[i].self[m] == 0)
            continue;
        sg_node_id t = thread_of(p, i);
        if ((group == SG_ROOT_NODE && t != SG_NO_ID) ||
            (group != SG_ROOT_NODE && t != group))
            continue;
        if (node_path(p, i, false, &path, &pcap) > 0)
            nodes[n++] = i;
    }
    json_key(j, "samples");
    json_begin_array(j);
    for (size_t s = 0; s < n; s++) {
        size_t d = node_path(p, nodes[s], false, &path, &pcap);
        json_begin_array(j);
        for (size_t k = 0; k < d; k++)
            json_uint(j, frame_index[path[k]]);
        json_end_array(j);
        total += p->nodes[nodes[s]].self[m];
    }
    json_end_array(j);
    json_key(j, "weights");
    json_begin_array(j);
    for (size_t s = 0; s < n; s++) {
        sg_node_id i = nodes[s];
        if (seconds)
            json_double(j, (double)p->nodes[i].self[m] * spu);
        else
            json_uint(j, p->nodes[i].self[m]);
    }
    json_end_array(j);
    json_key(j, "endValue");
    if (seconds)
        json_double(j, (double)total * spu);
    else
        json_uint(j, total);
    json_end_object(j);
    free(nodes);
    free(path);
}

int
sg_write_speedscope(const sg_profile *p, const writer_opts *o, strbuf *out)
{
    double spu;
    int m = sg_writer_weight_metric(p, &spu);
    /* Frames that appear in stacks, numbered densely. */
    uint32_t *frame_index =
        sg_xmalloc((p->n_frames + 1) * sizeof *frame_index);
    json_writer j;
    json_init(&j, out, false);
    json_begin_object(&j);
    json_key(&j, "$schema");
    json_string(&j, "https://www.speedscope.app/file-format-schema.json");
    json_key(&j, "shared");
    json_begin_object(&j);
    json_key(&j, "frames");
    json_begin_array(&j);
    uint32_t nf = 0;
    for (size_t i = 0; i < p->n_frames; i++) {
        const sg_func *f = &p->funcs[p->frames[i].func];
        frame_index[i] = SG_NO_ID;
        if (sg_func_is_synthetic(f))
            continue;
        frame_index[i] = nf++;
        json_begin_object(&j);
        json_key(&j, "name");
        json_string(&j, f->name);
        if (f->file[0] && strcmp(f->file, "~") != 0) {
            json_key(&j, "file");
            json_string(&j, f->file);
            json_key(&j, "line");
            json_int(&j,
                     p->frames[i].line ? p->frames[i].line : f->first_line);
        }
        json_end_object(&j);
    }
    json_end_array(&j);
    json_end_object(&j);
    json_key(&j, "profiles");
    json_begin_array(&j);
    /* Samples outside any thread root (if any), then one per thread. */
    bool outside = false;
    for (sg_node_id i = 1; i < p->n_nodes && !outside; i++)
        outside = p->nodes[i].self[m] && thread_of(p, i) == SG_NO_ID;
    int n_profiles = 0;
    if (outside) {
        speedscope_profile(p, &j, SG_ROOT_NODE, m, spu, frame_index);
        n_profiles++;
    }
    for (sg_node_id i = 1; i < p->n_nodes; i++) {
        if (sg_profile_frame_func(p, p->nodes[i].frame)->kind ==
            SG_FUNC_THREAD) {
            speedscope_profile(p, &j, i, m, spu, frame_index);
            n_profiles++;
        }
    }
    if (n_profiles == 0)
        speedscope_profile(p, &j, SG_ROOT_NODE, m, spu, frame_index);
    json_end_array(&j);
    json_key(&j, "name");
    const char *cmd = sg_profile_get_meta(p, "command");
    json_string(&j, cmd ? cmd : "spyglass profile");
    json_key(&j, "activeProfileIndex");
    json_int(&j, 0);
    json_key(&j, "exporter");
    json_string(&j, "spyglass@" SG_VERSION);
    json_end_object(&j);
    sb_putc(out, '\n');
    free(frame_index);
    (void)o;
    return 0;
}

/* ---- Chrome trace ------------------------------------------------------ */

/* A CCT has no timestamps: each node becomes one complete ("X") event whose
 * duration is its inclusive weight, children laid out one after another from
 * their parent's start in the order they were first seen. So the picture is
 * an icicle of aggregated time, not a timeline of individual calls; the
 * trace says so in its metadata. */
typedef struct ct_item {
    sg_node_id node;
    double start; /* microseconds */
} ct_item;

int
sg_write_chrometrace(const sg_profile *p, const writer_opts *o, strbuf *out)
{
    double spu;
    int m = sg_writer_weight_metric(p, &spu);
    size_t nm = (size_t)p->n_metrics;
    uint64_t *incl =
        sg_xmalloc((p->n_nodes ? p->n_nodes : 1) * nm * sizeof *incl);
    sg_profile_totals(p, incl);
    /* Units to microseconds; sample counts are drawn 1 unit = 1 us. */
    double us = spu > 0 ? spu * 1e6 : 1.0;
    int calls_m = sg_profile_metric(p, "calls");
    const char *pid_s = sg_profile_get_meta(p, "pid");
    long long pid = pid_s ? atoll(pid_s) : 1;

    json_writer j;
    json_init(&j, out, false);
    json_begin_object(&j);
    json_key(&j, "traceEvents");
    json_begin_array(&j);
    ct_item *stack = NULL;
    size_t cap = 0, top = 0;
    strbuf name = STRBUF_INIT;
    unsigned long long n_threads = 0;
    /* Every top-level subtree: thread roots, or frames directly under the
     * root (tid 0). Process roots are walked through. */
    for (sg_node_id r = 1; r < p->n_nodes; r++) {
        const sg_node *rn = &p->nodes[r];
        const sg_func *rf = sg_profile_frame_func(p, rn->frame);
        sg_node_id par = rn->parent;
        bool under_root =
            par == SG_ROOT_NODE ||
            sg_profile_frame_func(p, p->nodes[par].frame)->kind ==
                SG_FUNC_PROCESS;
        if (!under_root || rf->kind == SG_FUNC_PROCESS)
            continue;
        /* Threads get their own small tids: an OS thread ident can be
         * reused by a later thread, which must stay a separate track. */
        unsigned long long tid = rf->kind == SG_FUNC_THREAD ? ++n_threads : 0;
        if (rf->kind == SG_FUNC_THREAD) {
            json_begin_object(&j);
            json_key(&j, "name");
            json_string(&j, "thread_name");
            json_key(&j, "ph");
            json_string(&j, "M");
            json_key(&j, "pid");
            json_int(&j, pid);
            json_key(&j, "tid");
            json_uint(&j, tid);
            json_key(&j, "args");
            json_begin_object(&j);
            json_key(&j, "name");
            sb_clear(&name);
            sb_printf(&name, "%s (%llu)", rf->name,
                      (unsigned long long)rf->id);
            json_string(&j, sb_str(&name));
            json_end_object(&j);
            json_end_object(&j);
        }
        top = 0;
        if (cap == 0) {
            cap = 256;
            stack = sg_xmalloc(cap * sizeof *stack);
        }
        stack[top++] = (ct_item){r, 0.0};
        while (top) {
            ct_item it = stack[--top];
            const sg_node *n = &p->nodes[it.node];
            const sg_func *f = sg_profile_frame_func(p, n->frame);
            double dur = (double)incl[(size_t)it.node * nm + (size_t)m] * us;
            if (!sg_func_is_synthetic(f)) {
                json_begin_object(&j);
                json_key(&j, "name");
                json_string(&j, f->name);
                json_key(&j, "cat");
                json_string(&j,
                            f->kind == SG_FUNC_BUILTIN ? "builtin" : "python");
                json_key(&j, "ph");
                json_string(&j, "X");
                json_key(&j, "ts");
                json_double(&j, it.start);
                json_key(&j, "dur");
                json_double(&j, dur);
                json_key(&j, "pid");
                json_int(&j, pid);
                json_key(&j, "tid");
                json_uint(&j, tid);
                json_key(&j, "args");
                json_begin_object(&j);
                if (f->file[0] && strcmp(f->file, "~") != 0) {
                    json_key(&j, "file");
                    json_string(&j, f->file);
                    json_key(&j, "line");
                    json_int(&j, f->first_line);
                }
                if (calls_m >= 0) {
                    json_key(&j, "calls");
                    json_uint(&j, n->self[calls_m]);
                }
                json_end_object(&j);
                json_end_object(&j);
            }
            /* Children in creation order (ids ascend; the sibling list is
             * newest first), laid out one after the other. */
            size_t nc = 0;
            for (sg_node_id c = n->first_child; c != SG_NO_ID;
                 c = p->nodes[c].next_sibling)
                nc++;
            if (top + nc > cap) {
                while (top + nc > cap)
                    cap *= 2;
                stack = sg_xrealloc(stack, cap * sizeof *stack);
            }
            /* The sibling list runs newest -> oldest: place them from the
             * end of the stack slots backwards, then lay out forwards from
             * the parent's start (sums only grow, so a child never starts
             * before its parent by rounding). */
            size_t k = top + nc;
            for (sg_node_id c = n->first_child; c != SG_NO_ID;
                 c = p->nodes[c].next_sibling)
                stack[--k] = (ct_item){c, 0.0};
            double t = it.start;
            for (size_t i = top; i < top + nc; i++) {
                stack[i].start = t;
                t += (double)incl[(size_t)stack[i].node * nm + (size_t)m] * us;
            }
            top += nc;
        }
    }
    json_end_array(&j);
    json_key(&j, "displayTimeUnit");
    json_string(&j, "ms");
    json_key(&j, "otherData");
    json_begin_object(&j);
    json_key(&j, "exporter");
    json_string(&j, "spyglass@" SG_VERSION);
    json_key(&j, "layout");
    json_string(&j, "aggregated call tree: each event is one calling "
                    "context, its duration the inclusive time of all its "
                    "calls; not a timeline");
    if (p->sample_interval_ns) {
        json_key(&j, "sample_interval_ns");
        json_uint(&j, p->sample_interval_ns);
    }
    for (size_t i = 0; i < p->n_meta; i++) {
        json_key(&j, p->meta[i].key);
        json_string(&j, p->meta[i].value);
    }
    json_end_object(&j);
    json_end_object(&j);
    sb_putc(out, '\n');
    sb_free(&name);
    free(stack);
    free(incl);
    (void)o;
    return 0;
}
