/* prove.c -- proving a walk of frame objects (<=3.10) by small reads.
 *
 * A walk is kept only when it is proven to be its thread's: its frames
 * copied while the thread state's link to the innermost frame was seen
 * to hold (stack.c, over the sample's snapshot). A busy thread moves that
 * link faster than a snapshot of every block is copied: an event loop
 * switches to another task's coroutine frame, a heap object of its own,
 * every few microseconds, and a loop that calls a small function moves it
 * every few hundred nanoseconds. Such a walk is proven here by small
 * reads instead: the thread id, then copies of the walk's frames alone (a
 * hundred bytes each) with the link read before and after each copy, then
 * the thread id again, all in one process_vm_readv (the kernel copies the
 * ranges in order, in a few microseconds).
 *
 * A copy proves the chain from the link read before it, a, when the link
 * read after it, b, is a again, or a frame on a's chain (the thread
 * returned to a caller meanwhile), or a frame whose chain holds a (the
 * thread called further meanwhile): either way a and the frames below it
 * stayed on the thread's stack while they were copied, every frame below
 * a executing, as the walk over a snapshot requires. A thread that calls
 * and returns every few hundred nanoseconds almost never shows the same
 * link twice a copy apart, and did lose most of its walks.
 *
 * A frame the copies do not hold (the next task's coroutine frame) is
 * learnt for the next read, with its callers as far as the snapshot holds
 * them; the frames found on the thread's chain are remembered for its
 * next walk (an event loop's own frames stay while its tasks change).
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "remote/internal.h"

/* Small reads per walk: each either proves it or learns where the thread
 * went. */
#define PROVE_TRIES 8
/* Copies of the frames per small read: a few microseconds more each, one
 * more chance each for the link to be seen holding. */
#define PROVE_COPIES 4
/* Pages read whole in each copy: those of the last frames the thread was
 * found to have moved to, where the frames allocated with them are (the
 * next tasks' coroutine frames, created one after another, in one
 * allocator pool). Measured on 3.8 with 10,000 tasks that each call a
 * small function, target and reader on CPUs of their own: the walks left
 * unproven after all tries fell from about 40 % without pages to 3 % with
 * one page of 4 KiB and 1.4 % with two, no lower with three, and higher
 * with pages of 8 KiB (the copies take longer). */
#define PROVE_AREAS 2
#define PROVE_AREA 4096
/* Ranges in one process_vm_readv: a small read must be one syscall. */
#define PROVE_IOV (IOV_MAX < PM_BATCH_MAX ? IOV_MAX : PM_BATCH_MAX)

/* One small read: [id] then per copy [link, frames...], then [link, id]. */
typedef struct small_read {
    uint64_t id[2];                  /* the thread id before, after */
    uint64_t link[PROVE_COPIES + 1]; /* link[c] before copy c, after c-1 */
    bool read[PROVE_COPIES + 1];     /* ... was read */
    unsigned copies;
    size_t n;      /* frames per copy: r->walked[0..n) */
    uint32_t fw;   /* bytes per frame */
    uint8_t *bufs; /* copies x n frame windows */
    pm_iov *iov;
    bool *seen; /* r->walked[i] found on a chain: remembered (r->memo) */
    uint64_t area[PROVE_AREAS]; /* the areas' addresses (0: none) */
    uint8_t *area_bufs;         /* copies x PROVE_AREAS x PROVE_AREA */
} small_read;

/* Index of frame address f among r->walked, or -1; a walk meets the
 * frames in the order they were walked, so hint (its depth) is tried
 * first. */
static long
walked_index(const remote *r, uint64_t f, size_t hint)
{
    if (hint < r->n_walked && r->walked[hint] == f)
        return (long)hint;
    for (size_t i = 0; i < r->n_walked; i++)
        if (r->walked[i] == f)
            return (long)i;
    return -1;
}

static size_t
stride(const small_read *sr)
{
    return 1 + sr->n + PROVE_AREAS;
}

static size_t
frame_iov(const small_read *sr, unsigned c, size_t i)
{
    return 1 + (size_t)c * stride(sr) + 1 + i;
}

/* Whether frame f lies in one of the areas read. */
static bool
in_area(const small_read *sr, uint64_t f)
{
    for (size_t j = 0; j < PROVE_AREAS; j++)
        if (sr->area[j] && f >= sr->area[j] &&
            f - sr->area[j] <= PROVE_AREA - sr->fw)
            return true;
    return false;
}

/* The bytes of frame f in copy c (its own range, or a page read whole),
 * or NULL; marks it seen when it is one of r->walked. */
static const uint8_t *
copy_frame(const remote *r, small_read *sr, unsigned c, uint64_t f,
           size_t depth)
{
    long i = walked_index(r, f, depth);
    if (i >= 0)
        sr->seen[i] = true;
    if (i >= 0 && (size_t)i < sr->n && sr->iov[frame_iov(sr, c, (size_t)i)].ok)
        return sr->bufs + ((size_t)c * sr->n + (size_t)i) * sr->fw;
    for (size_t j = 0; j < PROVE_AREAS; j++) {
        uint64_t a = sr->area[j];
        if (a && f >= a && f - a <= PROVE_AREA - sr->fw &&
            sr->iov[frame_iov(sr, c, sr->n + j)].ok)
            return sr->area_bufs + ((size_t)c * PROVE_AREAS + j) * PROVE_AREA +
                   (f - a);
    }
    return NULL;
}

/* The chain from frame f over copy c: its raw frames from t->first_frame
 * on, *met telling whether frame other is on it. 0, the error of a frame,
 * or EAGAIN with *unknown the first frame the copy does not hold. */
static int
walk_copy(remote *r, rm_thread *t, small_read *sr, unsigned c, uint64_t f,
          uint64_t other, bool *met, uint64_t *unknown)
{
    r->n_raw = t->first_frame;
    *met = false;
    for (size_t depth = 0; f; depth++) {
        if (depth > sr->n + PROVE_AREAS * PROVE_AREA / sr->fw)
            return ELOOP; /* more frames than were read: a cycle */
        const uint8_t *buf = copy_frame(r, sr, c, f, depth);
        if (!buf) {
            *unknown = f;
            return EAGAIN;
        }
        *met |= f == other;
        rm_raw_frame rf;
        bool shim; /* never, for frame objects */
        int e = rm_frame_decode(&r->L, r->frame_type, buf, depth == 0, &rf, &f,
                                &shim);
        if (e)
            return e;
        rm_push_raw(r, &rf);
    }
    t->n_frames = r->n_raw - t->first_frame;
    return 0;
}

/* Whether copy c proves the chain from the link read before it (see the
 * head comment): 0 with its raw frames, or why not; unknown[] gets the
 * frames missing from the chains tried. */
static int
prove_copy(remote *r, rm_thread *t, small_read *sr, unsigned c,
           uint64_t unknown[2])
{
    if (!sr->read[c] || !sr->read[c + 1])
        return EAGAIN;
    uint64_t a = sr->link[c], b = sr->link[c + 1];
    bool met;
    int e = walk_copy(r, t, sr, c, a, b, &met, &unknown[0]);
    if (e == 0 && (a == b || met))
        return 0; /* still in a, or returned to one of its callers */
    if (a == b || !b)
        return e ? e : EAGAIN;
    int eb = walk_copy(r, t, sr, c, b, a, &met, &unknown[1]);
    if (eb == 0 && met) /* called further from a: a's chain is b's tail */
        return walk_copy(r, t, sr, c, a, 0, &met, &unknown[0]);
    return e ? e : EAGAIN;
}

/* One small read of the thread id, the copies and the links; false when a
 * link or an id could not be read or the thread state is another
 * thread's now. */
static bool
small_read_once(remote *r, rm_thread *t, uint64_t link, small_read *sr)
{
    const sg_layout *L = &r->L;
    size_t n = sr->n = r->n_walked;
    size_t fit = (PROVE_IOV - 3) / stride(sr);
    sr->copies = fit < PROVE_COPIES ? (unsigned)fit : PROVE_COPIES;
    uint64_t id_at = t->tstate + L->ts_thread_id;
    pm_iov *v = sr->iov;
    size_t k = 0;
    v[k++] = (pm_iov){id_at, &sr->id[0], 8, false};
    for (unsigned c = 0; c < sr->copies; c++) {
        v[k++] = (pm_iov){link, &sr->link[c], 8, false};
        for (size_t i = 0; i < n; i++)
            v[k++] =
                (pm_iov){r->walked[i], sr->bufs + ((size_t)c * n + i) * sr->fw,
                         in_area(sr, r->walked[i]) ? 0 : sr->fw, false};
        for (size_t j = 0; j < PROVE_AREAS; j++)
            v[k++] = (pm_iov){sr->area[j],
                              sr->area_bufs +
                                  ((size_t)c * PROVE_AREAS + j) * PROVE_AREA,
                              sr->area[j] ? PROVE_AREA : 0, false};
    }
    v[k++] = (pm_iov){link, &sr->link[sr->copies], 8, false};
    v[k++] = (pm_iov){id_at, &sr->id[1], 8, false};
    pm_readv(&r->pm, v, k);
    bool ok = v[0].ok && v[k - 1].ok && sr->id[0] == t->thread_id &&
              sr->id[1] == t->thread_id;
    for (unsigned c = 0; c <= sr->copies; c++)
        sr->read[c] = v[c * stride(sr) + 1].ok;
    return ok;
}

/* Add frame f to the frames read (none when full); false when it was
 * known already. */
static bool
learn_one(remote *r, small_read *sr, uint64_t f)
{
    if (!f || r->n_walked >= RM_PROVE_MAX || walked_index(r, f, 0) >= 0)
        return false;
    sr->seen[r->n_walked] = false;
    r->walked[r->n_walked++] = f;
    return true;
}

/* Learn frame f and its callers as far as the sample's snapshot holds them
 * (no read: an address to read next, not a proof), up to a frame known
 * already. */
static void
learn_chain(remote *r, small_read *sr, uint64_t f)
{
    uint8_t buf[512];
    uint32_t fw = sr->fw;
    for (int depth = 0; f && depth < RM_PROVE_MAX && learn_one(r, sr, f);
         depth++) {
        rm_raw_frame rf;
        bool shim;
        if (fw > sizeof buf || pm_cache_lookup(&r->pm, f, buf, fw) != 0 ||
            rm_frame_decode(&r->L, r->frame_type, buf, true, &rf, &f, &shim))
            return;
    }
}

/* Read the page of frame f whole in the next copies (the oldest page gives
 * way). */
static void
learn_area(small_read *sr, uint64_t f)
{
    uint64_t a = f & ~(uint64_t)(PROVE_AREA - 1);
    if (!f || a + PROVE_AREA < a)
        return;
    for (size_t j = 0; j < PROVE_AREAS; j++)
        if (sr->area[j] == a)
            return;
    memmove(sr->area + 1, sr->area, (PROVE_AREAS - 1) * sizeof *sr->area);
    sr->area[0] = a;
}

/* Add the frames a small read last found on the thread's chain (its
 * callers that stay while its innermost frame moves: an event loop's own
 * frames) to the walk's: a walk over a snapshot taken while the thread
 * left a frame stops there, and each one learnt again costs a try. */
static void
recall_frames(remote *r, rm_thread *t, small_read *sr)
{
    if (r->memo_tstate != t->tstate)
        return;
    for (size_t i = 0; i < r->n_memo; i++)
        learn_one(r, sr, r->memo[i]);
}

/* Remember the frames the small reads found on a chain (none found: the
 * memory stays as it was). */
static void
remember_frames(remote *r, rm_thread *t, const small_read *sr)
{
    size_t k = 0;
    for (size_t i = 0; i < r->n_walked; i++)
        if (sr->seen[i])
            r->memo[k++] = r->walked[i];
    if (k == 0 && r->memo_tstate == t->tstate)
        return;
    r->n_memo = k;
    r->memo_tstate = t->tstate;
}

int
rm_prove_small(remote *r, rm_thread *t, uint64_t link)
{
    if (r->n_walked == 0 || !link)
        return EAGAIN;
    small_read sr = {0};
    sr.fw = rm_frame_window(&r->L);
    if (!r->prove_bufs) {
        r->prove_bufs =
            sg_xmalloc((size_t)PROVE_COPIES * RM_PROVE_MAX * sr.fw +
                       (size_t)PROVE_COPIES * PROVE_AREAS * PROVE_AREA);
        r->prove_iov = sg_xmalloc(PROVE_IOV * sizeof *r->prove_iov);
    }
    sr.bufs = r->prove_bufs;
    sr.area_bufs = sr.bufs + (size_t)PROVE_COPIES * RM_PROVE_MAX * sr.fw;
    sr.iov = r->prove_iov;
    sr.seen = r->prove_seen;
    memset(sr.seen, 0, sizeof r->prove_seen);
    recall_frames(r, t, &sr);
    int e = EAGAIN;
    for (int try = 0; try < PROVE_TRIES && e; try++) {
        if (!small_read_once(r, t, link, &sr))
            break;
        uint64_t unknown[PROVE_COPIES][2] = {{0}};
        for (unsigned c = 0; c < sr.copies && e; c++)
            e = prove_copy(r, t, &sr, c, unknown[c]);
        if (!e)
            break;
        /* Where the thread went: the frames the copies lacked, and the
         * frame it was in at the end. */
        for (unsigned c = 0; c < sr.copies; c++)
            for (int j = 0; j < 2; j++) {
                learn_chain(r, &sr, unknown[c][j]);
                learn_area(&sr, unknown[c][j]);
            }
        if (sr.read[sr.copies])
            learn_chain(r, &sr, sr.link[sr.copies]);
    }
    remember_frames(r, t, &sr);
    if (e)
        r->n_raw = t->first_frame;
    return e;
}
