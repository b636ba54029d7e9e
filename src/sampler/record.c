/* record.c -- the sampling session; see record.h.
 *
 * The targets are the processes being sampled: the root, and with
 * --subprocesses each Python descendant the follower (follow.c) hands over.
 * A target that ends is closed and compacted out at the end of the tick, so
 * the array holds the live ones only, however many came and went.
 *
 * Each stack kept adds 1 to "samples" and its weight to "ns": the wall
 * time since its thread was last read (in a sample of its process that
 * succeeded, whether the stack was kept or not), at most WEIGHT_CAP. So a
 * sample taken late, after missed deadlines or failed reads, stands for
 * all the time since the last one, and samples never stand for more time
 * than passed: perf's period-weighted samples, the period being measured
 * rather than assumed (docs/record.md).
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/sort.h"
#include "model/instr.h"
#include "proc/proc.h"
#include "proc/tree.h"
#include "sampler/follow.h"
#include "sampler/record.h"
#include "writers/writers.h"

#define NOTPY_GRACE_NS 2000000000u /* a launcher may take this to exec */
/* With --subprocesses the follower watches a launcher from the first tick
 * (and the launcher itself, should it exec Python): the root is polled
 * only while its loader may still be mapping a shared libpython. */
#define NOTPY_GRACE_FOLLOW_NS 50000000u
#define EXITING_TRIES 2000u /* 1 ms apart: a child's exit takes less */
/* A followed subprocess whose samples all fail for this long (and this
 * many) no longer reads as the Python it was: it exec'd. */
#define RELEASE_FAILURES 5
#define RELEASE_NS 100000000u
/* A thread threading has not named yet is looked up again on each sample
 * at first, then less and less often, down to this. */
#define NAMES_RETRY_MAX_NS 256000000u
/* The most a sample stands for: a longer gap is not a late sample but a
 * stall (the sampler or the machine stopped), and the stack seen after it
 * tells nothing of it. At least a second, at least four intervals. */
#define WEIGHT_CAP_NS 1000000000u
#define WEIGHT_CAP_INTERVALS 4u
/* The profile's metrics (sampler/launch.c declares them). */
enum { REC_SAMPLES = 0, REC_NS = 1 };

/* A thread sampled before threading had named it (one still starting, or
 * one started with _thread that threading meets later): its samples go to
 * a root of its own, named when the session ends (record_run). */
typedef struct rec_pending {
    sg_node_id node;   /* its root so far */
    uint64_t tid;      /* its ident, for the fallback name */
    sg_frame_id named; /* the root frame its name gave, or SG_NO_ID */
} rec_pending;

/* A live thread of a target still without a name. */
typedef struct rec_unnamed {
    uint64_t key;  /* thread_key() */
    uint32_t pend; /* index in the session's pending roots */
} rec_unnamed;

/* When a thread was last read: the weight of its next sample starts
 * there. */
typedef struct rec_seen {
    uint64_t key; /* thread_key() */
    uint64_t at_ns;
} rec_seen;

typedef struct rec_target {
    pid_t pid;
    uint64_t start_time; /* with pid, names the process (see tree.h) */
    remote *r;
    sg_node_id root; /* process root, or SG_ROOT_NODE */
    sg_func_id *map; /* remote func id -> profile func id + 1 */
    size_t cap_map;
    hm64 troots;            /* thread_key() -> its root node, named once */
    bool gone;              /* ended: compacted out at the end of the tick */
    uint32_t failures;      /* consecutive failed samples */
    uint64_t first_fail_ns; /* when the first of them failed */
    rec_unnamed *unnamed;   /* threads waiting for threading's name */
    size_t n_unnamed, cap_unnamed;
    uint64_t names_at_ns;   /* when to look their names up again */
    uint64_t names_wait_ns; /* and the wait after that */
    uint64_t read_ns;       /* its last successful sample, 0 before */
    rec_seen *seen, *next;  /* its threads then (sorted by key), and now */
    size_t n_seen, n_next, cap_seen, cap_next;
} rec_target;

struct record_session {
    record_config cfg;
    sg_profile *p;
    rec_target *t; /* the live targets */
    size_t n_t, cap_t;
    uint32_t attached; /* processes ever sampled */
    pid_t root_pid;
    bool launched;
    bool ended_early; /* the launched program ended before it was read */
    follow *follow;   /* with --subprocesses, while recording */
    follow_item *taken;
    size_t n_taken, cap_taken;
    rm_sample sample;
    sg_frame_id *stack;
    size_t cap_stack;
    uint64_t stacks, failed, thread_errors, reads_closed;
    uint64_t gil_ticks, active_ticks;
    uint32_t threads; /* in the last samples of this tick */
    bool tick_gil, tick_active;
    loop_stats loop;
    uint64_t interval_ns, cap_ns; /* the nominal weight and the most */
    uint64_t weight_ns;           /* of every stack kept */
    uint64_t start_ns;
    uint64_t tick_ns;  /* when the tick being run started */
    rm_info root_info; /* of the first process attached */
    bool have_info;
    rec_pending *pend; /* roots of threads first sampled unnamed */
    size_t n_pend, cap_pend;
};

record_session *
record_new(const record_config *cfg, sg_profile *p)
{
    record_session *s = sg_xcalloc(1, sizeof *s);
    s->cfg = *cfg;
    s->p = p;
    p->sample_interval_ns = (uint64_t)(1e9 / cfg->rate_hz);
    s->interval_ns = p->sample_interval_ns ? p->sample_interval_ns : 1;
    s->cap_ns = s->interval_ns * WEIGHT_CAP_INTERVALS;
    if (s->cap_ns < WEIGHT_CAP_NS)
        s->cap_ns = WEIGHT_CAP_NS;
    return s;
}

static void
target_free(record_session *s, rec_target *t)
{
    rm_stats st;
    remote_stats(t->r, &st);
    s->reads_closed += st.reads;
    remote_close(t->r);
    free(t->map);
    free(t->unnamed);
    free(t->seen);
    free(t->next);
    hm64_free(&t->troots);
}

void
record_free(record_session *s)
{
    if (!s)
        return;
    follow_free(s->follow);
    for (size_t i = 0; i < s->n_t; i++)
        target_free(s, &s->t[i]);
    free(s->t);
    free(s->taken);
    free(s->pend);
    rm_sample_free(&s->sample);
    free(s->stack);
    free(s);
}

/* A new target for an opened reader. */
static void
target_add(record_session *s, remote *r, uint64_t start_time)
{
    if (s->n_t == s->cap_t) {
        s->cap_t = s->cap_t ? s->cap_t * 2 : 8;
        s->t = sg_xrealloc(s->t, s->cap_t * sizeof *s->t);
    }
    rec_target *t = &s->t[s->n_t++];
    memset(t, 0, sizeof *t);
    t->pid = remote_info(r)->pid;
    t->start_time = start_time;
    t->r = r;
    t->root = SG_ROOT_NODE;
    hm64_init(&t->troots);
    s->attached++;
    /* With --idle nothing asks whether a thread is on a CPU: skip the
     * per-thread /proc read that answers it. */
    if (s->cfg.idle && !s->cfg.status)
        remote_set_thread_status(r, false);
    if (!s->have_info) {
        s->root_info = *remote_info(r);
        s->have_info = true;
    }
    if (s->cfg.subprocesses) {
        const rm_info *in = remote_info(r);
        char name[4200];
        snprintf(name, sizeof name, "process %d: %s", (int)t->pid,
                 in->cmdline);
        t->root = sg_profile_process_root(s->p, (uint64_t)t->pid, name);
    }
}

/* Worth another look at a launched child? ENOPROC is among them: our
 * child cannot vanish before we reap it, so a read refused with ESRCH
 * means it is exiting (its memory gone, not yet a zombie) and the loop
 * waits for proc_exited() to say so. */
static bool
retriable(rm_errcode c)
{
    return c == RM_ENOTINIT || c == RM_EREAD || c == RM_ENOTPY ||
           c == RM_ENOPROC;
}

static void
pause_1ms(void)
{
    struct timespec ts = {0, 1000000};
    nanosleep(&ts, NULL);
}

/* Poll pid until it reads as a Python (0, its target added) or cannot
 * become one (-1, err says why; *saw_python whether its runtime was seen
 * before it was initialised; *notpy the last "not Python" answer, if any
 * came after the last sight of a runtime). */
static int
attach_poll(record_session *s, pid_t pid, bool launched,
            volatile sig_atomic_t *stop, rm_error *err, uint64_t start_time,
            bool *saw_python, rm_error *notpy)
{
    unsigned exiting = 0; /* ENOPROC answers in a row */
    for (;;) {
        remote *r = remote_open(pid, err);
        if (r) {
            target_add(s, r, start_time);
            return 0;
        }
        *saw_python |= err->code == RM_ENOTINIT;
        if (err->code == RM_ENOTPY || err->code == RM_ENOTINIT)
            *notpy = *err;
        if (!launched || !retriable(err->code))
            return -1;
        if (proc_exited(pid) || (stop && *stop))
            return -1;
        uint64_t grace =
            s->cfg.subprocesses ? NOTPY_GRACE_FOLLOW_NS : NOTPY_GRACE_NS;
        if (err->code == RM_ENOTPY && sg_now_ns() - s->start_ns > grace)
            return -1;
        exiting = err->code == RM_ENOPROC ? exiting + 1 : 0;
        if (exiting > EXITING_TRIES)
            return -1;
        pause_1ms();
    }
}

int
record_attach(record_session *s, pid_t pid, bool launched,
              volatile sig_atomic_t *stop, rm_error *err)
{
    s->root_pid = pid;
    s->launched = launched;
    s->start_ns = sg_now_ns();
    proc_entry self;
    uint64_t start_time = proc_read(pid, &self) == 0 ? self.start_time : 0;
    bool saw_python = false;
    rm_error notpy = {0};
    /* A busy machine must not let a short program run out before its
     * first read: the polling wakes up as promptly as the samples do. */
    loop_sched saved;
    loop_priority raised = loop_raise(&saved);
    int rc = attach_poll(s, pid, launched, stop, err, start_time, &saw_python,
                         &notpy);
    loop_restore(&saved, raised);
    if (rc == 0)
        return 0;
    /* Ending, it cannot be read at all; what it was is what counts (a
     * launcher that exits is no Python that ended early). */
    if (err->code == RM_ENOPROC && notpy.code == RM_ENOTPY)
        *err = notpy;
    /* A Python program that ended before it could be read (it ran for
     * less than the start-up took to see): an empty recording, not an
     * error; the caller reports its exit status. */
    if (launched && (saw_python || err->code != RM_ENOTPY) &&
        proc_exited(pid)) {
        s->ended_early = true;
        return 0;
    }
    /* Follow the children of a launcher (a shell, a script runner). */
    if (s->cfg.subprocesses &&
        (err->code == RM_ENOTPY || err->code == RM_ENOTINIT))
        return 0;
    return -1;
}

/* Has t ended? The launched root is our child: a zombie until reaped. */
static bool
target_gone(const record_session *s, const rec_target *t)
{
    if (t->pid == s->root_pid && s->launched)
        return proc_exited(t->pid);
    return !proc_running(t->pid, t->start_time);
}

/* The readers the follower opened since the last tick become targets. */
static void
take_followed(record_session *s)
{
    s->n_taken = 0;
    if (!follow_take(s->follow, &s->taken, &s->n_taken, &s->cap_taken))
        return;
    for (size_t i = 0; i < s->n_taken; i++)
        target_add(s, s->taken[i].r, s->taken[i].start_time);
}

/* Drop the targets that ended; order is kept (it is the sampling
 * order, oldest first). */
static void
compact_targets(record_session *s)
{
    size_t k = 0;
    for (size_t i = 0; i < s->n_t; i++) {
        if (s->t[i].gone)
            target_free(s, &s->t[i]);
        else
            s->t[k++] = s->t[i];
    }
    s->n_t = k;
}

static sg_func_id
map_func(record_session *s, rec_target *t, uint32_t id)
{
    if (id >= t->cap_map) {
        size_t cap = t->cap_map ? t->cap_map : 256;
        while (cap <= id)
            cap *= 2;
        t->map = sg_xrealloc(t->map, cap * sizeof *t->map);
        memset(t->map + t->cap_map, 0, (cap - t->cap_map) * sizeof *t->map);
        t->cap_map = cap;
    }
    if (t->map[id] == 0) {
        const sg_func *f = remote_func(t->r, id);
        t->map[id] = sg_profile_func(s->p, (sg_func_kind)f->kind, f->name,
                                     f->file, f->first_line, 0) +
                     1;
    }
    return t->map[id] - 1;
}

/* A thread's key in troots. glibc hands a finished thread's pthread_t
 * (Python's thread ident) to the next thread it starts, so the ident alone
 * would fold a pool's successive threads into the first one's root; the
 * kernel's tid is not reused so soon. */
static uint64_t
thread_key(const rm_thread *th)
{
    return th->thread_id ^ (th->native_id * 0x9E3779B97F4A7C15ull);
}

/* A root for a thread threading has not named yet: a frame of its own
 * (the fallback name's, with a line no other thread's root has), so that
 * its samples stay apart from those of any other thread, even one of the
 * same ident, until its name is known. Remembered to be looked up again. */
static sg_node_id
pending_root(record_session *s, rec_target *t, const rm_thread *th,
             uint64_t key)
{
    if (s->n_pend >= INT32_MAX - 1) /* never, in practice */
        return sg_profile_thread_root(s->p, t->root, th->thread_id, NULL);
    sg_func_id f = sg_profile_thread_func(s->p, th->thread_id, NULL);
    sg_node_id node = sg_profile_child(
        s->p, t->root, sg_profile_frame(s->p, f, (int32_t)s->n_pend + 1));
    if (node == SG_NO_ID)
        return node;
    if (s->n_pend == s->cap_pend) {
        s->cap_pend = s->cap_pend ? s->cap_pend * 2 : 8;
        s->pend = sg_xrealloc(s->pend, s->cap_pend * sizeof *s->pend);
    }
    if (t->n_unnamed == t->cap_unnamed) {
        t->cap_unnamed = t->cap_unnamed ? t->cap_unnamed * 2 : 4;
        t->unnamed =
            sg_xrealloc(t->unnamed, t->cap_unnamed * sizeof *t->unnamed);
    }
    s->pend[s->n_pend] = (rec_pending){node, th->thread_id, SG_NO_ID};
    t->unnamed[t->n_unnamed++] = (rec_unnamed){key, (uint32_t)s->n_pend++};
    t->names_at_ns = 0; /* look again on the next sample */
    t->names_wait_ns = 0;
    return node;
}

/* The root node of a thread, created (with threading's name, looked up
 * when the thread is first seen) on first use. */
static sg_node_id
thread_root(record_session *s, rec_target *t, rm_thread *th, bool *named)
{
    uint64_t key = thread_key(th);
    uint32_t node = hm64_get(&t->troots, key);
    if (node != HM_NONE)
        return node;
    if (!*named) {
        remote_thread_names(t->r, &s->sample);
        *named = true;
    }
    /* Seen before `threading` was imported, the main thread has no entry
     * yet; threading will call it MainThread. */
    const char *name = th->name ? th->name : th->is_main ? "MainThread" : NULL;
    node = name ? sg_profile_thread_root(s->p, t->root, th->thread_id, name)
                : pending_root(s, t, th, key);
    if (node != SG_NO_ID)
        hm64_put(&t->troots, key, node);
    return node;
}

static const rm_thread *
sample_thread(const rm_sample *sm, uint64_t key)
{
    for (size_t i = 0; i < sm->n_threads; i++)
        if (thread_key(&sm->threads[i]) == key)
            return &sm->threads[i];
    return NULL;
}

/* Forget the unnamed threads of t that are no longer in the sample (they
 * ended unnamed, and keep the fallback name), and give those threading has
 * named since their root of that name, which their later samples go to.
 * Returns whether the sample's names were looked up. */
static bool
learn_names(record_session *s, rec_target *t, uint64_t now)
{
    rm_sample *sm = &s->sample;
    size_t k = 0;
    for (size_t i = 0; i < t->n_unnamed; i++)
        if (sample_thread(sm, t->unnamed[i].key))
            t->unnamed[k++] = t->unnamed[i];
    t->n_unnamed = k;
    if (k == 0)
        return false;
    remote_thread_names(t->r, sm);
    k = 0;
    for (size_t i = 0; i < t->n_unnamed; i++) {
        const rec_unnamed *u = &t->unnamed[i];
        const rm_thread *th = sample_thread(sm, u->key);
        sg_node_id node = th->name
                              ? sg_profile_thread_root(s->p, t->root,
                                                       th->thread_id, th->name)
                              : SG_NO_ID;
        if (node == SG_NO_ID) {
            t->unnamed[k++] = *u;
            continue;
        }
        s->pend[u->pend].named = s->p->nodes[node].frame;
        hm64_put(&t->troots, u->key, node);
    }
    t->n_unnamed = k;
    t->names_wait_ns = t->names_wait_ns ? t->names_wait_ns * 2 : 1000000u;
    if (t->names_wait_ns > NAMES_RETRY_MAX_NS)
        t->names_wait_ns = NAMES_RETRY_MAX_NS;
    t->names_at_ns = now + t->names_wait_ns;
    return true;
}

/* The roots of threads first sampled unnamed take the name learnt since,
 * or the fallback one ("thread 0x..."): each then merges with the root of
 * that name. This renumbers the profile's nodes, so it is done once, when
 * nothing more is sampled. */
static void
name_pending_roots(record_session *s)
{
    if (s->n_pend == 0)
        return;
    sg_node_id *nodes = sg_xmalloc(s->n_pend * sizeof *nodes);
    sg_frame_id *frames = sg_xmalloc(s->n_pend * sizeof *frames);
    size_t n = 0;
    for (size_t i = 0; i < s->n_pend; i++) {
        const rec_pending *pd = &s->pend[i];
        sg_frame_id f = pd->named;
        if (f == SG_NO_ID)
            f = sg_profile_frame(
                s->p, sg_profile_thread_func(s->p, pd->tid, NULL), 0);
        if (f == SG_NO_ID)
            continue; /* out of memory: it keeps its own frame */
        nodes[n] = pd->node;
        frames[n++] = f;
    }
    sg_profile_reframe(s->p, nodes, frames, n);
    free(nodes);
    free(frames);
    s->n_pend = 0;
    /* The roots remembered are stale now. */
    for (size_t i = 0; i < s->n_t; i++) {
        hm64_free(&s->t[i].troots);
        hm64_init(&s->t[i].troots);
        s->t[i].n_unnamed = 0;
    }
}

/* Samples per instruction, when the profile keeps them (model/instr.h):
 * the innermost frame's instruction is the sample's own, and every frame's
 * instruction counts in its total. stack holds th's frames, outermost
 * first. The opcode the code holds there (its specialised form, where the
 * version specialises) is read again whenever the instruction's own
 * samples reach a power of two: the latest form is kept, for a few reads
 * per instruction over a whole recording. */
static void
add_instr(record_session *s, rec_target *t, const rm_thread *th,
          const sg_frame_id *stack)
{
    for (size_t k = 0; k < th->n_frames; k++) {
        const rm_frame *fr = &s->sample.frames[th->first_frame + k];
        sg_frame_id f = stack[th->n_frames - 1 - k];
        if (fr->offset < 0 || f == SG_NO_ID)
            continue;
        sg_instr_hit *h =
            sg_instr_table_hit(s->p->instr, s->p->frames[f].func, fr->offset);
        if (!h) {
            s->p->failed = true;
            return;
        }
        h->total++;
        if (k > 0)
            continue;
        h->self++;
        if ((h->self & (h->self - 1)) == 0) {
            int op = remote_opcode(t->r, fr->code, fr->offset);
            if (op >= 0)
                h->opcode = op;
        }
    }
}

static int
cmp_seen(const void *a, const void *b)
{
    uint64_t x = ((const rec_seen *)a)->key, y = ((const rec_seen *)b)->key;
    return (x > y) - (x < y);
}

/* The weight of the sample of thread key read at now (see the top of the
 * file), noting when it was read: at now if its walk succeeded, else
 * still when it last was (a torn walk loses no time either). A thread new
 * to the sample came into being since the last one; a process's first
 * sample stands for one interval. */
static uint64_t
thread_weight(record_session *s, rec_target *t, uint64_t key, bool read,
              uint64_t now)
{
    rec_seen want = {key, 0};
    const rec_seen *prev = t->n_seen ? bsearch(&want, t->seen, t->n_seen,
                                               sizeof *t->seen, cmp_seen)
                                     : NULL;
    uint64_t since = prev ? prev->at_ns : t->read_ns;
    uint64_t w = since && now > since ? now - since : s->interval_ns;
    if (!since)
        since = now - s->interval_ns;
    if (t->n_next == t->cap_next) {
        t->cap_next = t->cap_next ? t->cap_next * 2 : 8;
        t->next = sg_xrealloc(t->next, t->cap_next * sizeof *t->next);
    }
    t->next[t->n_next++] = (rec_seen){key, read ? now : since};
    return w < s->cap_ns ? w : s->cap_ns;
}

/* The threads just read become those the next sample weighs from. */
static void
threads_read(rec_target *t, uint64_t now)
{
    sg_sort(t->next, t->n_next, sizeof *t->next, cmp_seen);
    rec_seen *tmp = t->seen;
    size_t cap = t->cap_seen;
    t->seen = t->next;
    t->n_seen = t->n_next;
    t->cap_seen = t->cap_next;
    t->next = tmp;
    t->cap_next = cap;
    t->n_next = 0;
    t->read_ns = now;
}

static void
add_threads(record_session *s, rec_target *t, uint64_t now)
{
    rm_sample *sm = &s->sample;
    /* Only while a thread waits for its name: a steady sample of named
     * threads reads nothing more. */
    bool named =
        t->n_unnamed && now >= t->names_at_ns && learn_names(s, t, now);
    s->threads += (uint32_t)sm->n_threads;
    for (size_t i = 0; i < sm->n_threads; i++) {
        rm_thread *th = &sm->threads[i];
        s->tick_gil |= th->holds_gil;
        s->tick_active |= th->active;
        uint64_t w = thread_weight(s, t, thread_key(th), !th->error, now);
        if (th->error) {
            s->thread_errors++;
            continue;
        }
        if ((!s->cfg.idle && !th->active) || (s->cfg.gil && !th->holds_gil))
            continue;
        if (th->n_frames == 0)
            continue;
        if (th->n_frames > s->cap_stack) {
            s->cap_stack = th->n_frames * 2;
            s->stack = sg_xrealloc(s->stack, s->cap_stack * sizeof *s->stack);
        }
        /* The reader gives innermost first; the model wants outermost. */
        for (size_t k = 0; k < th->n_frames; k++) {
            const rm_frame *fr = &sm->frames[th->first_frame + k];
            sg_func_id f = map_func(s, t, fr->func);
            int32_t line = (s->cfg.function || fr->line < 0) ? 0 : fr->line;
            s->stack[th->n_frames - 1 - k] = sg_profile_frame(s->p, f, line);
        }
        if (s->p->instr)
            add_instr(s, t, th, s->stack);
        sg_node_id troot = thread_root(s, t, th, &named);
        sg_node_id leaf = sg_profile_add_stack(s->p, troot, s->stack,
                                               th->n_frames, REC_SAMPLES, 1);
        /* The leaf just added to: its weight goes with its count. */
        if (leaf != SG_NO_ID) {
            s->p->nodes[leaf].self[REC_NS] += w;
            s->weight_ns += w;
        }
        if (s->cfg.timeline)
            sg_profile_stamp(s->p, leaf, s->tick_ns - s->start_ns);
        s->stacks++;
    }
    threads_read(t, now);
}

/* A followed subprocess that has failed every sample for a while is
 * handed back to the follower, which opens it anew if it is Python again
 * (the child of subprocess is a copy of its Python parent from fork to
 * exec; a reader opened on the copy reads nothing after the exec). */
static bool
should_release(const record_session *s, rec_target *t, uint64_t now)
{
    if (!s->follow || t->pid == s->root_pid)
        return false;
    if (t->failures++ == 0)
        t->first_fail_ns = now;
    return t->failures >= RELEASE_FAILURES &&
           now - t->first_fail_ns >= RELEASE_NS;
}

static int
tick(void *ctx, uint64_t now)
{
    record_session *s = ctx;
    s->tick_ns = now;
    if (s->follow)
        take_followed(s);
    int rc = LOOP_OK;
    bool any_gone = false;
    s->threads = 0;
    s->tick_gil = s->tick_active = false;
    for (size_t i = 0; i < s->n_t; i++) {
        rec_target *t = &s->t[i];
        if (remote_sample(t->r, &s->sample, NULL) != 0) {
            if (target_gone(s, t)) {
                t->gone = any_gone = true;
                continue;
            }
            s->failed++;
            rc = LOOP_ERROR;
            if (should_release(s, t, now)) {
                follow_release(s->follow, t->pid, t->start_time);
                t->gone = any_gone = true;
            }
            continue;
        }
        t->failures = 0;
        add_threads(s, t, now);
    }
    s->gil_ticks += s->tick_gil;
    s->active_ticks += s->tick_active;
    if (any_gone)
        compact_targets(s);
    if (s->n_t == 0) {
        /* Nothing left to sample: the end, unless following subprocesses
         * of a root that still runs (a launcher may start Python later). */
        if (!s->cfg.subprocesses || !proc_running(s->root_pid, 0) ||
            (s->launched && proc_exited(s->root_pid)))
            return LOOP_STOP;
    }
    return rc;
}

static void
report(void *ctx, const loop_stats *st)
{
    const record_session *s = ctx;
    if (s->cfg.watch) {
        s->cfg.watch(s->cfg.watch_ctx, false);
        return;
    }
    fprintf(stderr,
            "\r\033[Kspyglass record: %llu samples in %llu ticks, %llu "
            "errors, %.1f s",
            (unsigned long long)s->stacks,
            (unsigned long long)(st->on_time + st->late),
            (unsigned long long)(s->failed + s->thread_errors),
            (double)st->elapsed_ns / 1e9);
    fflush(stderr);
}

/* What a report of the profile says of the run besides its samples: the
 * ticks taken and how long sampling lasted. With several threads a tick
 * takes several samples, so samples times the interval is thread time, not
 * the run's duration. Then how the sampler kept its deadlines, at what
 * priority, and the time the samples stand for (the sum of their
 * weights), which JSON formats with metadata copy. Left out when out of
 * memory (the report then shows the samples alone). */
static void
set_run_meta(record_session *s)
{
    char v[32];
    snprintf(v, sizeof v, "%llu",
             (unsigned long long)(s->loop.on_time + s->loop.late));
    sg_profile_set_meta(s->p, SG_META_TICKS, v);
    snprintf(v, sizeof v, "%.2f", (double)s->loop.elapsed_ns / 1e9);
    sg_profile_set_meta(s->p, SG_META_DURATION, v);
    snprintf(v, sizeof v, "%llu", (unsigned long long)s->weight_ns);
    sg_profile_set_meta(s->p, SG_META_WEIGHT_NS, v);
    loop_set_meta(&s->loop, s->p);
}

void
record_run(record_session *s, volatile sig_atomic_t *stop)
{
    uint64_t every = s->cfg.watch      ? s->cfg.watch_ns
                     : s->cfg.progress ? 250000000u
                                       : 0;
    loop_config cfg = {s->cfg.rate_hz, s->cfg.duration_s, every};
    if (s->cfg.subprocesses) {
        s->follow = follow_start(s->root_pid, s->n_t == 0);
        if (!s->follow)
            sg_warn("record: cannot follow subprocesses: %s", strerror(errno));
    }
    /* Kept off the CPU of the root process's main thread: with several
     * threads or processes, the one a single target most often is. */
    loop_run_beside(&cfg, s->root_pid, tick, every ? report : NULL, s, stop,
                    &s->loop);
    if (s->cfg.watch)
        s->cfg.watch(s->cfg.watch_ctx, true);
    set_run_meta(s);
    name_pending_roots(s);
    /* Readers opened but never sampled are closed with the follower. */
    follow_stop(s->follow);
    if (s->cfg.progress)
        fprintf(stderr, "\r\033[K");
}

void
record_get_counts(const record_session *s, record_counts *out)
{
    memset(out, 0, sizeof *out);
    out->loop = s->loop;
    out->stacks = s->stacks;
    out->weight_ns = s->weight_ns;
    out->failed_samples = s->failed;
    out->thread_errors = s->thread_errors;
    out->reads = s->reads_closed;
    for (size_t i = 0; i < s->n_t; i++) {
        rm_stats st;
        remote_stats(s->t[i].r, &st);
        out->reads += st.reads;
    }
    out->processes = s->attached;
    out->seen = 1 + (uint32_t)follow_seen(s->follow);
    out->ended_early = s->ended_early;
    out->live = (uint32_t)s->n_t;
    out->threads = s->threads;
    out->gil_ticks = s->gil_ticks;
    out->active_ticks = s->active_ticks;
}

void
record_unfollowed(const record_session *s, strbuf *sb)
{
    if (s->ended_early)
        sb_puts(sb, "the program ended before its interpreter could be "
                    "read: nothing was sampled\n");
    follow_report(s->follow, sb);
}

const rm_info *
record_root_info(const record_session *s)
{
    return s->have_info ? &s->root_info : NULL;
}
