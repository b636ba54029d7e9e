/* stack.c -- one sample: every interpreter's threads and their stacks.
 *
 * The walk is split in two passes so that reads batch well:
 *   1. follow pointers: runtime -> interpreters -> thread states -> frames,
 *      recording for each frame only (code address, instruction offset,
 *      owner). Dependent reads go through the block cache, so frames that
 *      sit together on a 3.11+ data stack (or in one pymalloc pool on <=3.10)
 *      cost one read between them.
 *   2. read every distinct code object of the sample in one batched
 *      process_vm_readv, validate each against the code cache, and turn
 *      the raw frames into (function, line).
 * Every loop is bounded (RM_MAX_THREADS, RM_MAX_DEPTH, 64 interpreters) and
 * every pointer followed is checked (non-NULL, type or back-pointer where
 * the version allows), so a torn read ends a thread's walk as an error:
 * the walk is retried over a fresh snapshot, and a thread still torn is
 * reported with no frames and its error.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "remote/internal.h"

#define MAX_INTERPS 64
#define FRAME_BACK 8192
#define FRAME_FWD 256
#define RM_MAX_CODES 65536
/* A stack deeper than RM_MAX_DEPTH: its innermost and outermost frames
 * kept, and a marker between them (walk_frames). */
#define WALK_HEAD (RM_MAX_DEPTH / 2 - 1)
#define WALK_TAIL (RM_MAX_DEPTH / 2)

/* Rounds of walking again the threads whose walk tore or was not proven
 * (walk_again_all). A hot thread on <=3.10 tears most walks (measured in
 * the stress test: 6 retries left 16 % of its walks torn, 20 left 3.5 %,
 * 40 about 1 %); each round is one batched read and the walks. */
#define RM_RETRIES 40
/* glibc x86_64: the offset of struct pthread's tid field (pthread_t is the
 * struct's address); used where the thread state has no native id, and
 * checked against /proc/PID/task. */
#define GLIBC_PTHREAD_TID 0x2d0
/* Times a thread list cut while read is followed again (follow_lists).
 * The churn target's workers (living about 100 us) cut the list in 7-14 %
 * of one-shot dumps on 3.8 with the target on a CPU of its own (1-9 % on
 * 3.9-3.13), and 1-13 % of a dump loop's samples: a second following
 * over a fresh snapshot nearly always gets through. */
#define RM_LIST_RETRIES 8

/* Whether a thread's walk error may go away on another snapshot: not when
 * the process or the thread is gone. */
static bool
retriable(int e)
{
    return e && e != ESRCH && e != ENOENT;
}

/* Count a thread's walk dropped with error e, by why. */
static void
count_dropped(remote *r, int e)
{
    r->st.thread_errors++;
    if (e == EAGAIN)
        r->st.dropped_moving++;
    else if (e == EILSEQ || e == ESTALE || e == ELOOP)
        r->st.dropped_invalid++;
    else
        r->st.dropped_unreadable++;
}

void
rm_push_raw(remote *r, const rm_raw_frame *f)
{
    if (r->n_raw == r->cap_raw) {
        r->cap_raw = r->cap_raw ? r->cap_raw * 2 : 1024;
        r->raw = sg_xrealloc(r->raw, r->cap_raw * sizeof *r->raw);
    }
    r->raw[r->n_raw++] = *f;
}

static rm_thread *
push_thread(rm_sample *s)
{
    if (s->n_threads == s->cap_threads) {
        s->cap_threads = s->cap_threads ? s->cap_threads * 2 : 16;
        s->threads =
            sg_xrealloc(s->threads, s->cap_threads * sizeof *s->threads);
    }
    rm_thread *t = &s->threads[s->n_threads++];
    memset(t, 0, sizeof *t);
    return t;
}

static void
push_frame(rm_sample *s, uint32_t func, int32_t line, int64_t addrq,
           uint64_t code)
{
    if (s->n_frames == s->cap_frames) {
        s->cap_frames = s->cap_frames ? s->cap_frames * 2 : 256;
        s->frames = sg_xrealloc(s->frames, s->cap_frames * sizeof *s->frames);
    }
    int32_t offset = addrq < 0 || addrq > INT32_MAX ? -1 : (int32_t)addrq;
    s->frames[s->n_frames++] = (rm_frame){func, line, offset, code};
}

static uint32_t
window(uint32_t a, uint32_t b, uint32_t c, uint32_t d)
{
    uint32_t m = 0;
    uint32_t v[4] = {a, b, c, d};
    for (int i = 0; i < 4; i++)
        if (v[i] != LAYOUT_NONE && v[i] > m)
            m = v[i];
    return m + 8;
}

uint32_t
rm_frame_window(const sg_layout *L)
{
    return L->tr.frame_objects
               ? window(L->fr_back, L->fr_code, L->fr_lasti, L->fr_live)
               : window(L->fr_back, L->fr_code, L->fr_instr, L->fr_owner);
}

/* rm_frame_decode's body, inlined into the walk (a call per frame costs
 * about a tenth of a deep steady sample). */
static inline __attribute__((always_inline)) int
decode_frame(const sg_layout *L, uint64_t frame_type, const uint8_t *buf,
             bool inner, rm_raw_frame *rf, uint64_t *back, bool *shim)
{
    *rf = (rm_raw_frame){0};
    *shim = false;
    if (L->tr.frame_objects) {
        if (frame_type && rm_u64(buf, L->ob_type) != frame_type)
            return EILSEQ;
        /* A frame freed (and maybe reused) while we walked is no longer
         * executing: the chain beyond it is not this thread's. The
         * innermost frame is exempt: the thread may be entering or leaving
         * it (CPython sets the flag before it moves tstate->frame), and
         * its caller link is then still its caller. Not when that link is
         * NULL: a frame freed meanwhile has its link overwritten by the
         * free list, NULL at the list's end, and the link to the
         * innermost frame may read the same before and after the copy (a
         * call of the same function reused it): taking it would end the
         * thread's stack at a frame that had returned. Only a thread's
         * first frame, in the instants it starts or ends, is lost too. */
        if (L->fr_live != LAYOUT_NONE) {
            int8_t live = (int8_t)buf[L->fr_live];
            bool ok = L->frame_executing == LAYOUT_NONE
                          ? live == 1
                          : live == (int8_t)L->frame_executing ||
                                live == (int8_t)L->frame_unwinding;
            if (!ok && (!inner || !rm_u64(buf, L->fr_back)))
                return ESTALE;
        }
        rf->code = rm_u64(buf, L->fr_code);
        int32_t lasti = rm_i32(buf, L->fr_lasti);
        rf->addrq = lasti < 0 ? -1 : (int64_t)lasti * L->tr.lasti_scale;
    } else {
        rf->owner = buf[L->fr_owner];
        /* A stack reference's tag bits are not part of the address. */
        rf->code = rm_u64(buf, L->fr_code) & ~L->tr.executable_tag;
        uint64_t instr = rm_u64(buf, L->fr_instr);
        rf->addrq = (int64_t)(instr - (rf->code + L->co_code_adaptive));
        *shim =
            L->fr_owner_shim != LAYOUT_NONE && rf->owner >= L->fr_owner_shim;
    }
    *back = rm_u64(buf, L->fr_back);
    if (!*shim && !rf->code)
        return EILSEQ;
    return 0;
}

int
rm_frame_decode(const sg_layout *L, uint64_t frame_type, const uint8_t *buf,
                bool inner, rm_raw_frame *rf, uint64_t *back, bool *shim)
{
    return decode_frame(L, frame_type, buf, inner, rf, back, shim);
}

/* The ring of a deep stack's outermost frames (after the WALK_HEAD
 * innermost from first on) put back in order, innermost first, behind a
 * marker frame that counts the frames left out. */
static void
elide_middle(remote *r, size_t first, size_t kept, rm_thread *t)
{
    rm_raw_frame *ring = r->raw + first + WALK_HEAD;
    size_t start = (kept - WALK_HEAD) % WALK_TAIL; /* the oldest written */
    rm_raw_frame *tmp = sg_xmalloc(WALK_TAIL * sizeof *tmp);
    for (size_t i = 0; i < WALK_TAIL; i++)
        tmp[i] = ring[(start + i) % WALK_TAIL];
    rm_raw_frame marker = {0};
    marker.elided = kept - WALK_HEAD - WALK_TAIL;
    r->n_raw = first + WALK_HEAD;
    rm_push_raw(r, &marker);
    for (size_t i = 0; i < WALK_TAIL; i++)
        rm_push_raw(r, &tmp[i]);
    free(tmp);
    t->truncated = true;
    t->elided = marker.elided;
}

/* Pass 1 for one thread: raw frames innermost first. A stack deeper than
 * RM_MAX_DEPTH keeps its innermost WALK_HEAD frames and its outermost
 * WALK_TAIL (the root side, which totals are made of), with one marker
 * raw frame between them counting what was left out: the walk goes on to
 * the root, the frames past the head going round a ring of WALK_TAIL raw
 * slots. A chain longer than RM_MAX_WALK keeps the head only, truncated. */
static int
walk_frames(remote *r, uint64_t tstate, const uint8_t *ts, rm_thread *t,
            uint64_t *link, uint64_t *innermost)
{
    const sg_layout *L = &r->L;
    uint8_t buf[512];
    uint64_t f;
    if (L->tr.cframe) {
        /* tstate->cframe points into the target's C stack. */
        uint64_t cf = rm_u64(ts, L->ts_frame);
        if (!cf)
            return 0;
        *link = cf + L->cf_current_frame;
        if (pm_read_cached(&r->pm, *link, &f, 8, 0, 64))
            return errno ? errno : EFAULT;
    } else {
        *link = tstate + L->ts_frame;
        f = rm_u64(ts, L->ts_frame);
    }
    *innermost = f;
    uint32_t fw = rm_frame_window(L);
    if (fw > sizeof buf)
        return EINVAL;
    size_t depth = 0, kept = 0, first = r->n_raw;
    uint64_t mark = 0; /* Brent's cycle check: a frame seen at depth 2^k */
    r->n_walked = 0;
    while (f) {
        if (depth < RM_PROVE_MAX)
            r->walked[r->n_walked++] = f;
        else
            r->n_walked = 0; /* too deep to prove by a small read */
        if (depth >= RM_MAX_WALK) {
            /* No root in sight: the head alone, said to be cut. */
            r->n_raw = first + (kept < WALK_HEAD ? kept : WALK_HEAD);
            t->n_frames = r->n_raw - first;
            t->truncated = true;
            return 0;
        }
        if (f == mark)
            return ELOOP; /* freed frames re-linked while we read */
        if ((depth & (depth - 1)) == 0)
            mark = f;
        /* Older frames sit below newer ones: on a 3.11+ data stack, and in
         * practice for <=3.10 frame objects too (malloc'd in call order). A
         * window mostly below the frame catches its callers (measured:
         * 8 KiB below, 256 B above is the fastest at depth 500, with one
         * read per sample once replayed; centred or smaller windows need
         * more blocks than the cache holds). */
        if (pm_read_cached(&r->pm, f, buf, fw, FRAME_BACK, FRAME_FWD) != 0)
            return errno ? errno : EFAULT;
        rm_raw_frame rf;
        bool shim;
        int e =
            decode_frame(L, r->frame_type, buf, depth == 0, &rf, &f, &shim);
        if (e)
            return e;
        if (!shim) {
            if (kept < WALK_HEAD + WALK_TAIL)
                rm_push_raw(r, &rf);
            else /* round the ring of the outermost frames */
                r->raw[first + WALK_HEAD + (kept - WALK_HEAD) % WALK_TAIL] =
                    rf;
            kept++;
        }
        depth++;
    }
    if (kept > WALK_HEAD + WALK_TAIL)
        elide_middle(r, first, kept, t);
    t->n_frames = r->n_raw - first;
    return 0;
}

/* The function of the marker for n elided frames, named as the writers
 * name their own cut. */
static uint32_t
elided_func(remote *r, uint32_t n)
{
    if (r->elided_n != n) {
        char name[64];
        snprintf(name, sizeof name, "[%u frames elided]", n);
        r->elided_func =
            sg_profile_func(r->names, SG_FUNC_OTHER, name, "", 0, 0);
        r->elided_n = n;
    }
    return r->elided_func;
}

/* Pass 2: read all distinct code objects at once, resolve raw frames. */
static void
resolve(remote *r, rm_sample *s)
{
    const sg_layout *L = &r->L;
    size_t n = r->n_raw;
    if (r->n_codes >= RM_MAX_CODES) {
        /* Bound memory under endless redefinition: start the cache over
         * (function ids stay: they live in r->names). */
        rm_codes_free(r);
        hm64_free(&r->code_index);
        hm64_init(&r->code_index);
    }
    uint64_t *addrs = sg_xmalloc((n ? n : 1) * sizeof *addrs);
    /* Distinct code addresses, each raw frame noting its slot: a small
     * open-addressing table (deep recursion repeats one code object). */
    size_t cap = 16;
    while (cap < 2 * n)
        cap *= 2;
    uint64_t *tkeys = sg_xcalloc(cap, sizeof *tkeys);
    uint32_t *tvals = sg_xmalloc(cap * sizeof *tvals);
    uint32_t *slot = sg_xmalloc((n ? n : 1) * sizeof *slot);
    size_t u = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t a = r->raw[i].code;
        if (r->raw[i].elided) {
            slot[i] = UINT32_MAX; /* a marker: no code object */
            continue;
        }
        size_t h = (size_t)sg_hash_u64(a) & (cap - 1);
        while (tkeys[h] && tkeys[h] != a)
            h = (h + 1) & (cap - 1);
        if (!tkeys[h]) {
            tkeys[h] = a;
            tvals[h] = (uint32_t)u;
            addrs[u++] = a;
        }
        slot[i] = tvals[h];
    }
    free(tkeys);
    free(tvals);
    uint8_t *bytes = sg_xmalloc((u ? u : 1) * L->co_size);
    pm_iov *iov = sg_xmalloc((u ? u : 1) * sizeof *iov);
    size_t nmiss = 0;
    for (size_t i = 0; i < u; i++) {
        uint8_t *dst = bytes + i * L->co_size;
        iov[i] = (pm_iov){addrs[i], dst, L->co_size, false};
        /* Replayed from the last sample, or in a block already read. */
        if (pm_cache_lookup(&r->pm, addrs[i], dst, L->co_size) == 0)
            iov[i].ok = true;
        else
            nmiss++;
    }
    if (nmiss) {
        /* The rest in one batch, entered as blocks for the next sample. */
        pm_iov *miss = sg_xmalloc(nmiss * sizeof *miss);
        size_t k = 0;
        for (size_t i = 0; i < u; i++)
            if (!iov[i].ok)
                miss[k++] = iov[i];
        pm_readv(&r->pm, miss, nmiss);
        for (size_t i = 0, j = 0; i < u; i++) {
            if (iov[i].ok)
                continue;
            iov[i].ok = miss[j++].ok;
            if (iov[i].ok)
                pm_cache_add(&r->pm, addrs[i], iov[i].buf, L->co_size);
        }
        free(miss);
    }
    /* Indices, not pointers: a lookup may grow (move) the code table. */
    long *entries = sg_xmalloc((u ? u : 1) * sizeof *entries);
    for (size_t i = 0; i < u; i++) {
        code_entry *e =
            iov[i].ok ? rm_code_lookup(r, addrs[i], bytes + i * L->co_size)
                      : NULL;
        entries[i] = e ? (long)(e - r->codes) : -1;
    }

    s->n_frames = 0;
    for (size_t ti = 0; ti < s->n_threads; ti++) {
        rm_thread *t = &s->threads[ti];
        /* A thread walked again has its raw frames further on. */
        size_t raw_n = t->n_frames, ri = t->first_frame;
        t->first_frame = s->n_frames;
        t->n_frames = 0;
        bool torn = false;
        for (size_t k = 0; k < raw_n; k++, ri++) {
            if (torn)
                continue; /* consume the thread's remaining raw frames */
            const rm_raw_frame *rf = &r->raw[ri];
            if (rf->elided) {
                push_frame(s, elided_func(r, rf->elided), -1, -1, 0);
                t->n_frames++;
                continue;
            }
            long ei = entries[slot[ri]];
            code_entry *e = ei >= 0 ? &r->codes[ei] : NULL;
            if (!e) {
                /* Where f_executable may be any object (None for an entry
                 * frame) and the code type is known, a non-code frame is
                 * skipped; otherwise a torn read: drop the thread's
                 * frames, as a torn walk does, rather than report a stack
                 * with holes it never had. */
                if (!(L->tr.executable_any && r->code_type)) {
                    torn = true;
                    t->error = EILSEQ;
                    count_dropped(r, EILSEQ);
                    s->n_frames = t->first_frame;
                    t->n_frames = 0;
                }
                continue;
            }
            /* Hidden like CPython's tracebacks hide them: a frame that has
             * not reached its first traceable instruction (in code units of
             * two bytes), unless a generator owns it. */
            if (L->tr.hide_untraceable && rf->owner != L->fr_owner_generator &&
                rf->addrq < (int64_t)e->firsttraceable * 2)
                continue;
            push_frame(s, e->func, rm_code_line(r, e, rf->addrq), rf->addrq,
                       rf->code);
            t->n_frames++;
        }
    }
    free(entries);
    free(slot);
    free(iov);
    free(bytes);
    free(addrs);
}

/* The cached /proc/PID/task/TID/stat descriptor of tid, or -1. */
static int
stat_fd_for(remote *r, uint64_t tid)
{
    for (size_t i = 0; i < r->n_fds; i++)
        if (r->fds[i].tid == tid) {
            r->fds[i].seen = r->sample_no;
            return r->fds[i].fd;
        }
    char path[96];
    snprintf(path, sizeof path, "/proc/%d/task/%llu/stat", (int)r->info.pid,
             (unsigned long long)tid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    if (r->n_fds == r->cap_fds) {
        r->cap_fds = r->cap_fds ? r->cap_fds * 2 : 16;
        r->fds = sg_xrealloc(r->fds, r->cap_fds * sizeof *r->fds);
    }
    r->fds[r->n_fds++] = (stat_fd){tid, fd, r->sample_no};
    return fd;
}

/* Close the descriptors of threads not seen in this sample. */
static void
prune_fds(remote *r)
{
    size_t k = 0;
    for (size_t i = 0; i < r->n_fds; i++) {
        if (r->fds[i].seen == r->sample_no)
            r->fds[k++] = r->fds[i];
        else
            close(r->fds[i].fd);
    }
    r->n_fds = k;
}

/* Whether the kernel thread is running (state R); false when unknown. */
static bool
thread_running(remote *r, uint64_t tid, bool *exists)
{
    *exists = false;
    int fd = stat_fd_for(r, tid);
    if (fd < 0)
        return false;
    char buf[512];
    r->pm.stats.proc_reads++;
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    if (n <= 0)
        return false;
    buf[n] = '\0';
    const char *p = strrchr(buf, ')');
    *exists = true;
    return p && p[1] == ' ' && p[2] == 'R';
}

/* <=3.10: the kernel tid from struct pthread, for all threads at once. */
static void
native_ids_from_pthread(remote *r, rm_sample *s)
{
    size_t n = s->n_threads;
    if (n == 0)
        return;
    int32_t *tids = sg_xcalloc(n, sizeof *tids);
    pm_iov *iov = sg_xmalloc(n * sizeof *iov);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t at = s->threads[i].thread_id + GLIBC_PTHREAD_TID;
        /* Replayed blocks first; the rest in one batch. */
        if (pm_cache_lookup(&r->pm, at, &tids[i], sizeof tids[i]) != 0)
            iov[k++] = (pm_iov){at, &tids[i], sizeof tids[i], false};
    }
    pm_readv(&r->pm, iov, k);
    for (size_t j = 0; j < k; j++)
        if (iov[j].ok)
            pm_cache_add(&r->pm, iov[j].addr, iov[j].buf, iov[j].len);
        else
            *(int32_t *)iov[j].buf = 0;
    for (size_t i = 0; i < n; i++)
        s->threads[i].native_id = tids[i] > 0 ? (uint64_t)tids[i] : 0;
    free(iov);
    free(tids);
}

/* One walk of a thread, proven to be of this thread or EAGAIN: no read
 * of its own since the thread state was read (reads_before), and the
 * thread state's link to the innermost frame (the frame pointer, or the
 * C frame's) seen unchanged before and after the blocks the walk read.
 * The raw frames start at r->n_raw, noted in t->first_frame; a walk that
 * fails leaves none. */
static int
walk_once(remote *r, uint64_t tstate, const uint8_t *ts, rm_thread *t,
          uint64_t reads_before)
{
    uint64_t link = 0, first = 0;
    t->first_frame = r->n_raw;
    t->n_frames = t->elided = 0;
    t->truncated = false;
    int e = walk_frames(r, tstate, ts, t, &link, &first);
    /* Frame objects (<=3.10) pass from thread to thread (a code object's
     * spare frame, the free list): the link must be seen steady. A 3.11+
     * frame lives in its own thread's data stack: the thread state must
     * be the same thread's (its kernel tid, never reused so soon) for the
     * whole snapshot. Asked even when the walk read: the next snapshot
     * then holds the word. */
    const sg_layout *L = &r->L;
    bool steady = true;
    if (first && L->tr.frame_objects)
        steady = pm_sentinel_steady(&r->pm, link, first);
    else if (first && L->ts_native_thread_id != LAYOUT_NONE && t->native_id)
        steady = pm_sentinel_steady(&r->pm, tstate + L->ts_native_thread_id,
                                    t->native_id);
    bool proven = !e && r->pm.stats.reads == reads_before && steady;
    /* Frame objects not proven over the snapshot, or torn in it (a frame
     * left while the snapshot was copied: a busy thread's), are proven by
     * small reads of their own (prove.c). */
    if (!proven && L->tr.frame_objects && !t->truncated &&
        (!e || retriable(e))) {
        e = rm_prove_small(r, t, link);
        r->st.small_proofs += e == 0;
    } else if (!proven && !e)
        e = EAGAIN;
    if (e) {
        r->n_raw = t->first_frame;
        t->n_frames = t->elided = 0;
        t->truncated = false;
    }
    return e;
}

/* Walk t again over the snapshot just refreshed, its thread state read
 * from it too: ENOENT when that state is no longer the same thread's. */
static int
walk_again(remote *r, rm_thread *t, uint8_t *ts)
{
    const sg_layout *L = &r->L;
    uint64_t reads = r->pm.stats.reads;
    r->st.retries++;
    if (pm_read_cached(&r->pm, t->tstate, ts, L->ts_size, 1024, 1024) != 0)
        return errno ? errno : EFAULT;
    if (rm_u64(ts, L->ts_interp) != t->interp ||
        rm_u64(ts, L->ts_thread_id) != t->thread_id)
        return ENOENT; /* the thread ended, its state reused */
    return walk_once(r, t->tstate, ts, t, reads);
}

/* Threads whose walk tore or could not be proven theirs are walked again,
 * all of them over one fresh snapshot per round (the blocks and the
 * sentinels re-read in one batched read: far less time for the target to
 * move on than between a first walk's reads), until none is left or the
 * rounds run out. A stack is only reported once its thread state and all
 * its frames came from one snapshot, the link between them steady across
 * it: a stale thread state with fresh frames is how a frame object a
 * worker had left, taken meanwhile by the main thread, once put the main
 * thread's stack under the worker. */
static void
walk_again_all(remote *r, rm_sample *s, uint8_t *ts)
{
    for (int round = 0; round < RM_RETRIES; round++) {
        bool pending = false;
        for (size_t i = 0; i < s->n_threads && !pending; i++)
            pending = retriable(s->threads[i].error);
        if (!pending)
            return;
        pm_cache_refresh(&r->pm);
        for (size_t i = 0; i < s->n_threads; i++) {
            rm_thread *t = &s->threads[i];
            if (!retriable(t->error))
                continue;
            if (getenv("SG_DEBUG_READS"))
                fprintf(stderr, "torn walk: %s\n", strerror(t->error));
            t->error = walk_again(r, t, ts);
        }
    }
}

/* Threads found to have ended while read leave the sample (they are no
 * torn read); the errors of the others are counted. */
static void
drop_ended(remote *r, rm_sample *s)
{
    size_t k = 0;
    for (size_t i = 0; i < s->n_threads; i++) {
        if (s->threads[i].error == ENOENT)
            continue;
        if (s->threads[i].error)
            count_dropped(r, s->threads[i].error);
        s->threads[k++] = s->threads[i];
    }
    s->n_threads = k;
}

/* A thread state made for a thread not started yet carries its creator's
 * thread id until the thread takes it (3.8-3.10 preallocate the state in
 * the thread that starts the new one): with no frame, it came out as a
 * second main thread. Such a state, with the id of a state further down
 * the list (older: states join at the head), leaves the sample. A state
 * with frames is its thread's, whatever its id. */
static void
drop_unstarted(rm_sample *s)
{
    size_t k = 0;
    for (size_t i = 0; i < s->n_threads; i++) {
        const rm_thread *t = &s->threads[i];
        bool unstarted = false;
        for (size_t j = i + 1;
             j < s->n_threads && !t->n_frames && !t->error && !unstarted; j++)
            unstarted = s->threads[j].interp == t->interp &&
                        s->threads[j].thread_id == t->thread_id;
        if (!unstarted)
            s->threads[k++] = *t;
    }
    s->n_threads = k;
}

static int
fail(rm_error *err, remote *r, const char *what)
{
    if (errno == ESRCH)
        rm_set_error(err, RM_ENOPROC, "process %d has exited",
                     (int)r->info.pid);
    else
        rm_set_error(err, RM_EREAD, "torn read of %s: %s", what,
                     strerror(errno ? errno : EFAULT));
    return -1;
}

/* The GIL's state of interpreter interp (its state in r->isbuf), where
 * the version keeps it there: whether it is locked, and its last holder. */
static void
gil_of(remote *r, uint64_t interp, uint64_t *locked, uint64_t *holder)
{
    const sg_layout *L = &r->L;
    *locked = *holder = 0;
    if (L->is_ceval_gil == LAYOUT_NONE)
        return;
    uint64_t gil = rm_u64(r->isbuf, L->is_ceval_gil);
    if (gil == interp + L->is_gil) {
        /* The interpreter's own GIL: already in isbuf. */
        *locked = rm_u32(r->isbuf, L->is_gil + L->gil_locked);
        *holder = rm_u64(r->isbuf, L->is_gil + L->gil_last_holder);
    } else if (gil) {
        uint8_t g[64];
        uint32_t gw = window(L->gil_locked, L->gil_last_holder, LAYOUT_NONE,
                             LAYOUT_NONE);
        if (gw <= sizeof g && pm_read_cached(&r->pm, gil, g, gw, 0, 0) == 0) {
            *locked = rm_u32(g, L->gil_locked);
            *holder = rm_u64(g, L->gil_last_holder);
        }
    }
}

/* Follow every interpreter's list of thread states from _PyRuntime and
 * walk each thread once. Returns 0; EAGAIN when a list was cut (a thread
 * state freed or reused while the list was read: the threads after it,
 * the main thread at the tail among them, are missing) and last is false,
 * the threads found so far then to be dropped; or -1 with err set. On the
 * last try a cut is counted and the threads before it kept. */
static int
follow_lists(remote *r, rm_sample *s, uint8_t *ts, bool last, rm_error *err)
{
    const sg_layout *L = &r->L;
    errno = 0;
    if (pm_read_cached(&r->pm, r->runtime, r->rtbuf, r->rt_window, 0, 0))
        return fail(err, r, "_PyRuntime");
    uint64_t interp = rm_u64(r->rtbuf, L->rt_interpreters_head);
    uint64_t main_thread = rm_u64(r->rtbuf, L->rt_main_thread);
    uint64_t main_interp = rm_u64(r->rtbuf, L->rt_interpreters_main);
    uint64_t tstate_current = L->rt_tstate_current != LAYOUT_NONE
                                  ? rm_u64(r->rtbuf, L->rt_tstate_current)
                                  : 0;
    if (!interp) {
        rm_set_error(err, RM_ENOTINIT, "no interpreter (finalising?)");
        return -1;
    }
    size_t total_threads = 0;
    for (int ni = 0; interp && ni < MAX_INTERPS; ni++) {
        if (pm_read_cached(&r->pm, interp, r->isbuf, r->is_window, 0, 0))
            return fail(err, r, "an interpreter state");
        s->interp_count++;
        uint64_t gil_locked, gil_holder;
        gil_of(r, interp, &gil_locked, &gil_holder);
        uint64_t tstate = rm_u64(r->isbuf, L->is_threads_head);
        uint64_t prev = 0; /* the state whose link led here (0: the head) */
        while (tstate) {
            if (total_threads++ >= RM_MAX_THREADS) {
                count_dropped(r, E2BIG);
                break;
            }
            uint64_t reads_before = r->pm.stats.reads;
            int cut = 0;
            /* A state freed while the list was read has its link to the
             * next written over by the allocator (seen: glibc's free-list
             * key, an address in no mapping), or its memory reused. New
             * states join at the head, so past the head a state's link
             * back names the one we came from unless that one has left
             * the list (freed, a thread no longer) or this state is
             * another thread's now (which would lead back up the list). */
            if (pm_read_cached(&r->pm, tstate, ts, L->ts_size, 1024, 1024))
                cut = EFAULT;
            else if (rm_u64(ts, L->ts_interp) != interp ||
                     (prev && rm_u64(ts, L->ts_prev) != prev))
                cut = EILSEQ;
            if (cut) {
                /* The rest of the list cannot be followed from here. */
                if (!last)
                    return EAGAIN;
                r->st.lists_cut++;
                count_dropped(r, cut);
                break;
            }
            rm_thread *t = push_thread(s);
            t->tstate = tstate;
            t->thread_id = rm_u64(ts, L->ts_thread_id);
            if (L->ts_native_thread_id != LAYOUT_NONE)
                t->native_id = rm_u64(ts, L->ts_native_thread_id);
            t->interp = interp;
            t->main_interp = interp == main_interp;
            t->is_main = t->main_interp && t->thread_id == main_thread;
            if (L->rt_tstate_current != LAYOUT_NONE)
                t->holds_gil = tstate_current == tstate;
            else if (L->ts_holds_gil_bit != LAYOUT_NONE)
                t->holds_gil =
                    (rm_u32(ts, L->ts_status) >> L->ts_holds_gil_bit) & 1;
            else
                t->holds_gil = gil_locked && gil_holder == tstate;
            t->error = walk_once(r, tstate, ts, t, reads_before);
            prev = tstate;
            tstate = rm_u64(ts, L->ts_next);
        }
        interp = rm_u64(r->isbuf, L->is_next);
    }
    return 0;
}

int
rm_walk(remote *r, rm_sample *s, rm_error *err)
{
    const sg_layout *L = &r->L;
    r->sample_no++;
    pm_cache_reset(&r->pm);
    uint8_t ts[2048];
    if (L->ts_size > sizeof ts) {
        rm_set_error(err, RM_EVERSION, "thread state too large");
        return -1;
    }
    /* A list cut by a thread that ended while it was read is followed
     * again from _PyRuntime over a fresh snapshot (the thread state just
     * read is a block of it now), the threads of the cut try dropped: a
     * thread is reported from one following of the list, never twice. */
    for (int k = 0;; k++) {
        s->n_threads = s->n_frames = 0;
        s->interp_count = 0;
        r->n_raw = 0;
        if (k)
            pm_cache_refresh(&r->pm);
        int rc = follow_lists(r, s, ts, k == RM_LIST_RETRIES, err);
        if (rc < 0)
            return -1;
        if (rc == 0)
            break;
        r->st.list_retries++;
    }
    walk_again_all(r, s, ts);
    drop_ended(r, s);
    drop_unstarted(s);
    if (L->ts_native_thread_id == LAYOUT_NONE)
        native_ids_from_pthread(r, s);
    for (size_t i = 0; i < s->n_threads; i++) {
        rm_thread *t = &s->threads[i];
        bool exists = r->no_status; /* unchecked: keep the glibc tid */
        if (t->native_id && !r->no_status)
            t->active = thread_running(r, t->native_id, &exists);
        if (!exists && L->ts_native_thread_id == LAYOUT_NONE)
            t->native_id = 0; /* the glibc guess did not name a thread */
    }
    prune_fds(r);
    resolve(r, s);
    return 0;
}

int
remote_sample(remote *r, rm_sample *s, rm_error *err)
{
    r->st.samples++;
    int rc = rm_walk(r, s, err);
    if (rc != 0)
        r->st.samples_failed++;
    return rc;
}
