/* engine.c -- the memory profiler's engine: allocator hooks on CPython's
 * three domains, the block table, allocation sites, the traced total and
 * its peak, sampling. See memory.h for the interface.
 *
 * Hooks. PyMem_SetAllocator puts a hook in front of the allocator found
 * installed in each domain (the default, tracemalloc's, or a program's
 * own), which every call is passed on to. A thread-local flag (mem_busy)
 * is up while a hook runs, including the allocator it wraps: pymalloc
 * serving a large PyObject_Malloc from PyMem_RawMalloc, or a tool
 * installed over us calling in again, then goes straight through, so each
 * block is counted once.
 *
 * Locking. MEM and OBJ calls hold the GIL; RAW calls may come from any
 * thread, with no GIL and no Python frame. One spin lock, uncontended
 * but for those, guards the tables; frames are only read with the GIL
 * (PyGILState_Check for RAW calls), and a call without it is charged to
 * its thread's "[no Python frame]" site.
 *
 * Sites. Each allocation reads its thread's frame chain (a few loads per
 * frame, no frame objects: core/frames.h), each frame's position one
 * word from 3.11 (frames_pos). When the callers are those of the thread's
 * last allocation (a function allocating in a loop), they are compared
 * in place with the levels the thread kept, each of which remembers its
 * site, and the innermost frame's site comes from a cache of (caller's
 * site, position) -> site (mem_site_quick). Otherwise the chain is walked
 * into a buffer, outermost first, compared from the root with the levels
 * kept, and only the levels that changed are found in that cache or
 * interned, their lines computed from a small cache of (code, offset) ->
 * line (PyCode_Addr2Line walks a table). Code objects of interned sites
 * are referenced, so a cached position always means the same code.
 *
 * Peak, in O(1) per operation. Each site keeps the operation count of its
 * last change (its stamp); the peak keeps the count at which it was
 * reached. A site about to change whose stamp is not after the peak's
 * still holds what it held at the peak: that is saved first. At the end,
 * a site changed since the peak has its saved value, any other its
 * current one.
 *
 * Memory. The engine's own tables come from the C library, never from the
 * allocators it traces; out of memory inside a hook stops tracing, keeps
 * what it has and says so once.
 */
#include <assert.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "agent/core/frames.h"
#include "agent/memory/blocks.h"
#include "agent/memory/internal.h"

AGENT_TLS int mem_busy;
AGENT_TLS int mem_quiet;
AGENT_TLS uint64_t mem_hw;
uint64_t mem_traced;

/* Frames kept per stack: deeper stacks lose their outermost frames. */
#define MEM_MAX_DEPTH 256
#define MEM_LINE_CACHE 4096 /* entries, a power of two */
#define MEM_SITE_CACHE 4096 /* entries, a power of two */
/* A new peak this close (in allocations and frees) to the last one whose
 * time was read takes that time (mem_record). */
#define MEM_PEAK_CLOCK_OPS 64

/* A size that does not fit a slot's 32 bits is MEM_BIG_SIZE there and
 * kept in the short list of big blocks (mem.big). */
#define MEM_BIG_SIZE UINT32_MAX

typedef struct mem_big {
    uintptr_t ptr;
    uint64_t size;
} mem_big;

/* A frame of a stack: where it is (frames_pos), its code and offset
 * (the offset is only read when its line must be computed), and the
 * site of the stack up to it once that is known. */
typedef struct mem_level {
    uintptr_t pos;
    PyCodeObject *code;
    int lasti;
    uint32_t site;
} mem_level;

/* One thread's state: its root, the stack it walked last, sampling. */
typedef struct mem_thread {
    uint64_t gen;
    uint32_t root, frameless;
    int depth;
    uint64_t rng;
    double countdown; /* bytes until the next sample */
    mem_level lv[MEM_MAX_DEPTH];
    /* The stack being walked: here rather than on the C stack, which an
     * allocation deep in a recursion may be short of. */
    mem_level walk[MEM_MAX_DEPTH];
} mem_thread;

typedef struct mem_line_entry {
    PyCodeObject *code;
    int lasti, line;
} mem_line_entry;

/* A level's site from its caller's site and where it is. */
typedef struct mem_site_entry {
    uintptr_t pos;
    PyCodeObject *code;
    int lasti;
    uint32_t parent, site;
} mem_site_entry;

static struct {
    bool on, failed;
    bool chained[3]; /* our hooks are in the domain's chain */
    mem_config cfg;
    /* The caller's frame when cfg.below_caller: walks stop there. It
     * outlives the tracing, which runs inside the call it makes. */
    const frames_frame *floor;
    uint64_t gen;
    /* The tables, guarded by lock. */
    int lock;
    mem_site *sites;
    uint32_t n_sites, cap_sites;
    uint32_t *site_index; /* site id + 1, 0 empty; cap_index slots */
    uint32_t cap_index;
    mem_line_entry *lines;     /* MEM_LINE_CACHE */
    mem_site_entry *site_memo; /* MEM_SITE_CACHE */
    mem_big *big;              /* blocks of MEM_BIG_SIZE, unordered */
    size_t n_big, cap_big;
    uint64_t seq, peak, peak_stamp, peak_ticks;
    uint64_t clock_seq; /* the operation count when peak_ticks was read */
    uint32_t peak_site;
    uint64_t t0, t1;
} mem;

/* Sampling: a bit per hash of the address of every block sampled, so
 * that a free of the many blocks never sampled is told apart without the
 * lock. A bit is never cleared while set blocks may be live; when a
 * quarter of the bits are set the filter is made again from the live
 * blocks, under the lock, between two changes of filter_gen, odd while it
 * is rebuilt: a free that reads the filter meanwhile takes the lock. In
 * static storage, so that no free can read it after it is gone; untouched
 * pages of it cost nothing. */
#define MEM_FILTER_BITS 20
static uint64_t mem_filter[(1u << MEM_FILTER_BITS) / 64];
static uint64_t mem_filter_gen;
static uint32_t mem_filter_set;   /* bits set, with the lock */
static uint32_t mem_filter_limit; /* rebuilt beyond this many */

static PyMemAllocatorEx mem_prev[3];
static pthread_key_t mem_thread_key;
static pthread_once_t mem_key_once = PTHREAD_ONCE_INIT;
static AGENT_TLS mem_thread *mem_tls;

/* ---- the lock ---- */

static inline void
mem_lock(void)
{
    while (__atomic_exchange_n(&mem.lock, 1, __ATOMIC_ACQUIRE))
        while (__atomic_load_n(&mem.lock, __ATOMIC_RELAXED))
            sched_yield();
}

static inline void
mem_unlock(void)
{
    __atomic_store_n(&mem.lock, 0, __ATOMIC_RELEASE);
}

/* A fork copies the lock as it is: taken by a thread the child will not
 * have, it would never be released there, and the child would spin at its
 * first allocation. The forking thread takes it first, so that the child
 * gets it (and the tables) in a state its one thread can go on from. */
static bool mem_fork_locked;

static void
mem_fork_prepare(void)
{
    if (mem.on) {
        mem_lock();
        mem_fork_locked = true;
    }
}

static void
mem_fork_done(void)
{
    if (mem_fork_locked) {
        mem_fork_locked = false;
        mem_unlock();
    }
}

/* ---- failure ---- */

/* Called with the lock held: tracing stops, the tables stay. */
static void
mem_fail(void)
{
    if (!mem.failed) {
        mem.failed = true;
        mem.on = false;
        mem.t1 = ticks_now();
        instr_out_of_memory("memory");
    }
}

/* ---- big blocks: sizes beyond 32 bits, rare enough for a list ---- */

static mem_big *
mem_big_find(uintptr_t ptr)
{
    for (size_t i = 0; i < mem.n_big; i++)
        if (mem.big[i].ptr == ptr)
            return &mem.big[i];
    return NULL;
}

/* Keep size w of block ptr in its slot b (with the lock); -1 when out of
 * memory. */
static int
mem_block_set_size(mem_slot *b, uintptr_t ptr, uint64_t w)
{
    if (w < MEM_BIG_SIZE) {
        b->size = (uint32_t)w;
        return 0;
    }
    if (mem.n_big == mem.cap_big) {
        size_t cap = mem.cap_big ? mem.cap_big * 2 : 16;
        mem_big *v = realloc(mem.big, cap * sizeof *v);
        if (!v)
            return -1;
        mem.big = v;
        mem.cap_big = cap;
    }
    mem.big[mem.n_big++] = (mem_big){ptr, w};
    b->size = MEM_BIG_SIZE;
    return 0;
}

/* The size of block ptr in its slot b, forgetting it in the big list when
 * it is there. */
static uint64_t
mem_block_take_size(const mem_slot *b, uintptr_t ptr)
{
    if (b->size != MEM_BIG_SIZE)
        return b->size;
    mem_big *g = mem_big_find(ptr);
    assert(g);
    uint64_t w = g->size;
    *g = mem.big[--mem.n_big];
    return w;
}

/* ---- the sampling filter ---- */

static inline size_t
mem_filter_bit(uintptr_t p)
{
    return (size_t)(((uint64_t)p >> 4) * 0xD6E8FEB86659FD93ull >>
                    (64 - MEM_FILTER_BITS));
}

static void
mem_filter_add(uintptr_t p, const mem_slot *s, void *arg)
{
    (void)s;
    (void)arg;
    size_t i = mem_filter_bit(p);
    uint64_t bit = 1ull << (i & 63);
    if (__atomic_load_n(&mem_filter[i / 64], __ATOMIC_RELAXED) & bit)
        return;
    __atomic_fetch_or(&mem_filter[i / 64], bit, __ATOMIC_RELEASE);
    mem_filter_set++;
}

/* Clear the filter and set the bits of the live blocks (with the lock). */
static void
mem_filter_rebuild(void)
{
    __atomic_fetch_add(&mem_filter_gen, 1, __ATOMIC_ACQ_REL);
    for (size_t i = 0; i < sizeof mem_filter / sizeof *mem_filter; i++)
        __atomic_store_n(&mem_filter[i], 0, __ATOMIC_RELAXED);
    mem_filter_set = 0;
    mem_blocks_each(mem_filter_add, NULL);
    __atomic_fetch_add(&mem_filter_gen, 1, __ATOMIC_ACQ_REL);
    /* So many sampled blocks live that they alone fill the filter: it
     * lets more frees through to the table until twice as many bits are
     * set, rather than being rebuilt at each allocation. */
    mem_filter_limit = (1u << MEM_FILTER_BITS) / 4;
    if (mem_filter_limit < 2 * mem_filter_set)
        mem_filter_limit = 2 * mem_filter_set;
}

/* Whether block p may be in the table: false only when it surely is not. */
static inline bool
mem_filter_maybe(uintptr_t p)
{
    uint64_t g = __atomic_load_n(&mem_filter_gen, __ATOMIC_ACQUIRE);
    size_t i = mem_filter_bit(p);
    uint64_t w = __atomic_load_n(&mem_filter[i / 64], __ATOMIC_ACQUIRE);
    return (w >> (i & 63) & 1) || (g & 1) ||
           __atomic_load_n(&mem_filter_gen, __ATOMIC_ACQUIRE) != g;
}

/* ---- sites ---- */

static inline size_t
mem_hash_site(uint32_t parent, const void *code, int32_t line, uint64_t tid)
{
    uint64_t h = (uint64_t)parent * 0x9E3779B97F4A7C15ull;
    h ^= (uint64_t)(uintptr_t)code + 0x632BE59BD9B4E019ull + (h << 6);
    h ^= (uint64_t)(uint32_t)line * 0xC2B2AE3D27D4EB4Full + (h >> 2);
    h ^= tid * 0x165667B19E3779F9ull;
    return (size_t)(h ^ (h >> 29));
}

static int
mem_index_grow(void)
{
    uint32_t cap = mem.cap_index ? mem.cap_index * 2 : 1 << 12;
    uint32_t *v = calloc(cap, sizeof *v);
    if (!v)
        return -1;
    for (uint32_t i = 0; i < mem.n_sites; i++) {
        const mem_site *s = &mem.sites[i];
        size_t j =
            mem_hash_site(s->parent, s->code, s->line, s->tid) & (cap - 1);
        while (v[j])
            j = (j + 1) & (cap - 1);
        v[j] = i + 1;
    }
    free(mem.site_index);
    mem.site_index = v;
    mem.cap_index = cap;
    return 0;
}

/* The site (parent, code, line, tid), created when missing; MEM_NO_SITE
 * when out of memory. With the lock held; code, when not NULL, with the
 * GIL held too (it is referenced). */
static uint32_t
mem_intern(uint32_t parent, PyCodeObject *code, int32_t line, uint64_t tid)
{
    if ((mem.n_sites + 1) * 2 > mem.cap_index && mem_index_grow() < 0)
        return MEM_NO_SITE;
    size_t mask = mem.cap_index - 1;
    size_t i = mem_hash_site(parent, code, line, tid) & mask;
    for (uint32_t k; (k = mem.site_index[i]) != 0; i = (i + 1) & mask) {
        const mem_site *s = &mem.sites[k - 1];
        if (s->parent == parent && s->code == (PyObject *)code &&
            s->line == line && s->tid == tid)
            return k - 1;
    }
    if (mem.n_sites == mem.cap_sites) {
        uint32_t cap = mem.cap_sites ? mem.cap_sites * 2 : 1024;
        mem_site *v = realloc(mem.sites, (size_t)cap * sizeof *v);
        if (!v)
            return MEM_NO_SITE;
        mem.sites = v;
        mem.cap_sites = cap;
    }
    uint32_t id = mem.n_sites++;
    mem_site *s = &mem.sites[id];
    memset(s, 0, sizeof *s);
    s->code = (PyObject *)code;
    Py_XINCREF(s->code);
    s->parent = parent;
    s->line = line;
    s->tid = tid;
    mem.site_index[i] = id + 1;
    return id;
}

/* The line of (code, lasti), through the cache. With the lock held. */
static int
mem_line_of(PyCodeObject *code, int lasti)
{
    size_t h = (((uintptr_t)code >> 4) ^ (size_t)lasti * 0x9E3779B1u) &
               (MEM_LINE_CACHE - 1);
    mem_line_entry *e = &mem.lines[h];
    if (e->code != code || e->lasti != lasti) {
        e->code = code;
        e->lasti = lasti;
        e->line = frames_line(code, lasti);
    }
    return e->line;
}

/* ---- per-thread state ---- */

/* At the thread's exit (its key's destructor, on the thread itself). */
static void
mem_thread_free(void *t)
{
    mem_busy++;
    mem_tls = NULL;
    free(t);
    mem_busy--;
}

static void
mem_key_create(void)
{
    if (pthread_key_create(&mem_thread_key, mem_thread_free) != 0)
        mem_thread_key = (pthread_key_t)-1;
}

static uint64_t
mem_rand(mem_thread *t)
{
    /* xorshift64* */
    t->rng ^= t->rng >> 12;
    t->rng ^= t->rng << 25;
    t->rng ^= t->rng >> 27;
    return t->rng * 0x2545F4914F6CDD1Dull;
}

/* Bytes to the next sample point: exponential, of mean sample_bytes. */
static double
mem_next_sample(mem_thread *t)
{
    double u = ((double)(mem_rand(t) >> 11) + 1.0) / 9007199254740993.0;
    return -log(u) * (double)mem.cfg.sample_bytes;
}

/* This thread's state, current for this tracing (roots interned), or NULL
 * when out of memory. With the lock held. */
static mem_thread *
mem_thread_get(void)
{
    mem_thread *t = mem_tls;
    if (!t) {
        t = calloc(1, sizeof *t);
        if (!t)
            return NULL;
        pthread_once(&mem_key_once, mem_key_create);
        if (mem_thread_key != (pthread_key_t)-1)
            pthread_setspecific(mem_thread_key, t);
        t->rng = (uint64_t)(uintptr_t)t ^ ticks_now() ^ 0x9E3779B97F4A7C15ull;
        if (!t->rng)
            t->rng = 1;
        mem_tls = t;
    }
    if (t->gen != mem.gen) {
        uint64_t tid = PyThread_get_thread_ident();
        t->root = mem_intern(MEM_NO_SITE, NULL, 0, tid ? tid : 1);
        t->frameless = t->root == MEM_NO_SITE
                           ? MEM_NO_SITE
                           : mem_intern(t->root, NULL, 0, 0);
        if (t->frameless == MEM_NO_SITE)
            return NULL;
        t->depth = 0;
        t->countdown = mem.cfg.sample_bytes ? mem_next_sample(t) : 0;
        t->gen = mem.gen;
    }
    return t;
}

/* ---- attribution ---- */

/* Whether level l is where frame f is. */
static inline bool
mem_level_is(const mem_level *l, frames_frame *f)
{
    return l->pos == frames_pos(f) &&
           (FRAMES_POS_NAMES_CODE || l->code == frames_code(f));
}

/* Whether levels a and b are at the same place. */
static inline bool
mem_level_same(const mem_level *a, const mem_level *b)
{
    return a->pos == b->pos && (FRAMES_POS_NAMES_CODE || a->code == b->code);
}

/* The slot of the cache of sites for a level at pos under site parent. */
static inline size_t
mem_memo_slot(uint32_t parent, uintptr_t pos)
{
    return ((pos >> 1) ^ (size_t)parent * 0x9E3779B1u) & (MEM_SITE_CACHE - 1);
}

/* Whether entry e of the cache of sites is that of a level at (pos, code)
 * under site parent (code is only compared before 3.11). */
static inline bool
mem_memo_is(const mem_site_entry *e, uint32_t parent, uintptr_t pos,
            PyCodeObject *code)
{
    return e->pos == pos && e->parent == parent &&
           (FRAMES_POS_NAMES_CODE || e->code == code);
}

/* The frames of this thread from f outwards, outermost first, at the end
 * of buf (MEM_MAX_DEPTH levels): written from the end as the chain is
 * walked from the innermost frame, so that the stack is in the order it
 * is compared and interned in without being turned round. Their number
 * n; the outermost is buf[MEM_MAX_DEPTH - n]. With the GIL held. */
static int
mem_walk(mem_level *buf, frames_frame *f)
{
    mem_level *x = buf + MEM_MAX_DEPTH;
    for (; f && f != mem.floor && x > buf; f = frames_back(f)) {
        x--;
        x->pos = frames_pos(f);
        x->code = frames_code(f);
        x->lasti = frames_lasti(f);
    }
    return (int)(buf + MEM_MAX_DEPTH - x);
}

/* The site of level x under site parent, missing from entry h of the
 * cache of sites: interned and cached; MEM_NO_SITE when out of memory.
 * Out of line, so that the loop that finds levels in the cache makes no
 * call and keeps its values in registers. */
static SG_NOINLINE uint32_t
mem_site_miss(size_t h, uint32_t parent, const mem_level *x)
{
    int32_t line = mem_line_of(x->code, x->lasti);
    uint32_t site = mem_intern(parent, x->code, line, 0);
    if (site != MEM_NO_SITE)
        mem.site_memo[h] =
            (mem_site_entry){x->pos, x->code, x->lasti, parent, site};
    return site;
}

/* The site of the stack w (n frames, outermost first), interning what
 * changed since the thread's last stack. With the lock. */
static SG_NOINLINE uint32_t
mem_site_of(mem_thread *t, const mem_level *w, int n)
{
    if (n == 0)
        return t->frameless;
    /* The levels from the root that are unchanged. */
    int k = 0, m = n < t->depth ? n : t->depth;
    const mem_level *old = t->lv;
    while (k < m && mem_level_same(&old[k], &w[k]))
        k++;
    /* Below the unchanged levels, each level's site comes from a cache
     * of (caller's site, position) -> site: an allocation at an
     * instruction seen before under the same caller finds its site
     * without computing its line or interning it. */
    uint32_t parent = k ? old[k - 1].site : t->root;
    for (int i = k; i < n; i++) {
        const mem_level *x = &w[i];
        size_t h = mem_memo_slot(parent, x->pos);
        const mem_site_entry *e = &mem.site_memo[h];
        if (mem_memo_is(e, parent, x->pos, x->code)) {
            parent = e->site;
        } else if ((parent = mem_site_miss(h, parent, x)) == MEM_NO_SITE) {
            t->depth = i;
            return MEM_NO_SITE;
        }
        t->lv[i] = (mem_level){x->pos, x->code, x->lasti, parent};
    }
    t->depth = n;
    return parent;
}

/* The site of the stack from the innermost frame f when its callers are
 * those of the thread's last stack, which is the rule inside a function
 * that allocates in a loop: the callers compared in place with the
 * levels kept, without a walk into a buffer, and f's position looked up
 * in the cache of sites. MEM_NO_SITE when that does not find it (a call
 * or a return since, or a position not cached): mem_site_of then walks.
 * With the lock. */
static inline uint32_t
mem_site_quick(mem_thread *t, frames_frame *f)
{
    int i = t->depth - 1, j = i;
    if (i < 0)
        return MEM_NO_SITE;
    mem_level *lv = t->lv;
    for (frames_frame *g = frames_back(f); g && g != mem.floor;
         g = frames_back(g))
        if (--j < 0 || !mem_level_is(&lv[j], g))
            return MEM_NO_SITE;
    if (j != 0)
        return MEM_NO_SITE;
    if (mem_level_is(&lv[i], f))
        return lv[i].site;
    uint32_t parent = i ? lv[i - 1].site : t->root;
    uintptr_t pos = frames_pos(f);
    const mem_site_entry *e = &mem.site_memo[mem_memo_slot(parent, pos)];
    if (!mem_memo_is(e, parent, pos, frames_code(f)))
        return MEM_NO_SITE;
    lv[i] = (mem_level){pos, e->code, e->lasti, e->site};
    return e->site;
}

/* The site of this thread's stack from frame f (NULL: no Python frame).
 * With the lock and the GIL. */
static inline uint32_t
mem_site_walk(mem_thread *t, frames_frame *f)
{
    if (!f)
        return t->frameless;
    uint32_t site = mem_site_quick(t, f);
    if (site != MEM_NO_SITE)
        return site;
    int n = mem_walk(t->walk, f);
    return mem_site_of(t, t->walk + MEM_MAX_DEPTH - n, n);
}

/* The same, when f may be the thread's innermost selected frame, top
 * (3.12+, where the line layer keys its frames by the interpreter
 * frame): its callers stay where they are while it runs, so the site
 * they make is kept in top once found, and f's site is then one look-up
 * in the cache of sites, however deep the stack. */
static inline uint32_t
mem_site_here(mem_thread *t, frames_frame *f, lines_frame *top)
{
#if LINES_CAN_DERIVE
    if (top && top->key == f && f &&
        top->lc->code == (PyObject *)frames_code(f)) {
        if (top->mem_gen == mem.gen) {
            uint32_t parent = top->mem_parent;
            uintptr_t pos = frames_pos(f);
            const mem_site_entry *e =
                &mem.site_memo[mem_memo_slot(parent, pos)];
            if (mem_memo_is(e, parent, pos, frames_code(f)))
                return e->site;
        }
        uint32_t site = mem_site_walk(t, f);
        if (site != MEM_NO_SITE) {
            /* The walk left f as the thread's last level. */
            top->mem_parent =
                t->depth > 1 ? t->lv[t->depth - 2].site : t->root;
            top->mem_gen = mem.gen;
        }
        return site;
    }
#else
    (void)top;
#endif
    return mem_site_walk(t, f);
}

/* Site s is about to change: keep what it held at the peak. */
static inline void
mem_touch(mem_site *s)
{
    if (s->stamp <= mem.peak_stamp)
        s->at_peak = s->live;
    s->stamp = mem.seq;
}

/* Block ptr, in slot b, is gone: its bytes leave its site and the total
 * (with the lock). The slot is left as it is. Inlined in the free path,
 * where it runs once per traced block. */
static inline void
mem_unsite(mem_slot *b, uintptr_t ptr)
{
    mem_site *s = &mem.sites[b->site - 1];
    uint64_t w = mem_block_take_size(b, ptr);
    mem.seq++;
    mem_touch(s);
    s->live -= w;
    s->freed += w;
    mem_traced -= w;
}

/* Record block ptr of counted size w at site (MEM_NO_SITE: it could
 * not be interned). With the lock. */
static void
mem_record(uintptr_t ptr, uint64_t w, uint32_t site)
{
    mem_slot *b = site == MEM_NO_SITE ? NULL : mem_blocks_put(ptr);
    if (!b) {
        mem_fail();
        return;
    }
    if (b->site) {
        /* Freed behind our back (through an allocator we do not see):
         * that block is gone. */
        mem_unsite(b, ptr);
    }
    if (mem_block_set_size(b, ptr, w) < 0) {
        mem_blocks_del(ptr, b);
        mem_fail();
        return;
    }
    b->site = site + 1;
    if (mem.cfg.sample_bytes) {
        mem_filter_add(ptr, b, NULL);
        if (mem_filter_set > mem_filter_limit)
            mem_filter_rebuild();
    }
    mem_site *s = &mem.sites[site];
    mem.seq++;
    mem_touch(s);
    s->alloc += w;
    s->allocs++;
    s->live += w;
    mem_traced += w;
    if (mem_traced > mem.peak) {
        mem.peak = mem_traced;
        mem.peak_stamp = mem.seq;
        mem.peak_site = site;
        /* A heap that grows makes each allocation a new peak; reading the
         * clock for each would cost as much as recording it (the time
         * stamp counter is slow to read in a virtual machine). A new peak
         * at most MEM_PEAK_CLOCK_OPS operations after the last reading
         * keeps that reading's time. */
        if (mem.seq - mem.clock_seq > MEM_PEAK_CLOCK_OPS || !mem.peak_ticks) {
            mem.peak_ticks = ticks_now();
            mem.clock_seq = mem.seq;
        }
    }
    if (mem_traced > mem_hw)
        mem_hw = mem_traced;
}

/* Whether a block of size bytes, allocated while frame f runs, is the
 * int CPython makes to pass an event's line number or offset above 256
 * to sys.monitoring's callbacks (3.12+): the profiler's own, not the
 * program's, and one per line event of a line above 256. It is the size
 * of an int of one digit (to the digit, or the whole struct: 3.13's
 * medium ints), allocated while f is at an instrumented instruction with
 * its stack saved: delivering an event, not running the instruction
 * (whose stack is live). A complex number has the same size: julia pays
 * a load of its frame's saved stack per complex. */
#if PY_VERSION_HEX >= 0x030C0000
#include <opcode.h>
static inline bool
mem_is_event_arg(size_t size, mem_domain d, frames_frame *f)
{
    return (size == sizeof(PyLongObject) ||
            size ==
                offsetof(PyLongObject, long_value.ob_digit) + sizeof(digit)) &&
           d == MEM_DOMAIN_OBJ && f && f->stacktop >= 0 &&
           *(const uint8_t *)frames_pos(f) >= MIN_INSTRUMENTED_OPCODE;
}
#else
static inline bool
mem_is_event_arg(size_t size, mem_domain d, frames_frame *f)
{
    (void)size;
    (void)d;
    (void)f;
    return false;
}
#endif

/* Whether this thread holds the GIL (domains other than RAW always do). */
static inline bool
mem_has_gil(mem_domain d)
{
    return d == MEM_DOMAIN_MEM || d == MEM_DOMAIN_OBJ || PyGILState_Check();
}

/* fr's frame, found from f (the running frame): f itself, or its caller
 * (an unselected function the line calls allocates); else the line
 * layer walks further. Then the lines fr ran since its last line event
 * are counted, when it has passed the next derived one. */
static inline void
mem_lines_sync_at(lines_frame *fr, frames_frame *f)
{
    if (f != fr->key && (!f || (f = frames_back(f)) != fr->key)) {
        lines_derive_sync(fr, f);
        return;
    }
    if (frames_pos(f) >= fr->seg_next)
        lines_derive_sync(fr, f);
}

/* The same before a free, whose frame is not read otherwise: from the
 * thread state the pending frame keeps, as it is (a shim or a frame
 * being set up is only compared by address). */
static inline void
mem_lines_sync_free(mem_domain d)
{
    lines_frame *fr = lines_derive_pending();
    if (!fr || mem_quiet || !mem_has_gil(d))
        return;
    mem_lines_sync_at(fr, frames_running(fr->ts));
}

/* An allocation past the sampling countdown: drawn when the countdown
 * already took the block's bytes and reached a sample point. Called with
 * mem_busy up (the hook's, around the allocator and this). */
static SG_NOINLINE void
mem_alloc_slow(void *ptr, size_t size, mem_domain d, bool drawn)
{
    if (!mem.on || !ptr || mem_quiet) {
        /* Not recorded: the sample point it drew is not carried over to
         * the next block (a Poisson process restricted to the blocks that
         * are recorded is still one, of the same rate). */
        if (drawn)
            mem_tls->countdown = mem_next_sample(mem_tls);
        return;
    }
    assert(mem_busy);
    mem_thread *t = mem_tls;
    if (!t || t->gen != mem.gen) {
        mem_lock();
        t = mem.on ? mem_thread_get() : NULL;
        if (!t && mem.on)
            mem_fail();
        mem_unlock();
        if (!t)
            return;
    }
    uint64_t w = size;
    if (mem.cfg.sample_bytes) {
        /* Poisson sampling: the block holds a sample point with
         * probability 1 - exp(-size/B), and then stands for
         * size / (1 - exp(-size/B)) bytes (unbiased). */
        if (!drawn) {
            t->countdown -= (double)size;
            if (t->countdown > 0)
                return;
        }
        t->countdown = mem_next_sample(t);
        double s = (double)size, b = (double)mem.cfg.sample_bytes;
        w = (uint64_t)(s / -expm1(-s / b) + 0.5);
    }
    /* Without the GIL the thread's frames cannot be read: the block goes
     * to its "[no Python frame]" site. */
    frames_frame *f = NULL;
    lines_frame *top = NULL;
    bool framed = mem_has_gil(d);
    if (framed) {
        /* A selected frame with derived lines pending keeps its thread
         * state, which saves asking CPython (a call, and a TLS look-up
         * through the dynamic linker). */
        lines_frame *pend = lines_deriving ? lines_derive_pending() : NULL;
        PyThreadState *ts = pend ? pend->ts : frames_tstate();
        f = ts ? frames_current(ts) : NULL;
        if (mem_is_event_arg(size, d, f))
            return; /* never traced: its free changes nothing either */
        /* The total is about to change: the memory table's line must be
         * the one running, so the lines the innermost selected frame ran
         * since its last line event are counted (lines/derive.c).
         * Usually that frame is f, still before its next derived line:
         * one compare. */
        if (pend)
            mem_lines_sync_at(pend, f);
        top = lines_deriving ? lines_top() : NULL;
    }
    mem_lock();
    if (mem.on && t->gen == mem.gen)
        mem_record((uintptr_t)ptr, w,
                   framed ? mem_site_here(t, f, top) : t->frameless);
    mem_unlock();
}

/* Inlined in the hooks, with mem_busy up: when sampling, most blocks
 * hold no sample point and cost only the countdown of the thread (its
 * state for this tracing), taken before anything else. */
static inline void
mem_alloc_fast(void *ptr, size_t size, mem_domain d)
{
    mem_thread *t;
    if (mem.cfg.sample_bytes && (t = mem_tls) != NULL && t->gen == mem.gen) {
        t->countdown -= (double)size;
        if (t->countdown > 0)
            return;
        mem_alloc_slow(ptr, size, d, true);
        return;
    }
    mem_alloc_slow(ptr, size, d, false);
}

void
mem_on_alloc(void *ptr, size_t size, mem_domain d)
{
    mem_busy++;
    mem_alloc_fast(ptr, size, d);
    mem_busy--;
}

/* Forget block ptr, if traced. Nothing here allocates or calls out (the
 * table only shrinks), so the thread is not marked busy. */
static SG_NOINLINE void
mem_free_slow(void *ptr)
{
    uintptr_t p = (uintptr_t)ptr;
    mem_lock();
    if (mem.on) {
        mem_slot *b = mem_blocks_get(p);
        if (b) {
            mem_unsite(b, p);
            mem_blocks_del(p, b);
        }
    }
    mem_unlock();
}

/* Inlined in the hooks: when sampling, the frees of blocks never sampled
 * end at the filter. */
static inline void
mem_free_fast(void *ptr, mem_domain d)
{
    if (!mem.on || !ptr)
        return;
    if (mem.cfg.sample_bytes && !mem_filter_maybe((uintptr_t)ptr))
        return;
    if (lines_deriving)
        mem_lines_sync_free(d);
    mem_free_slow(ptr);
}

void
mem_on_free(void *ptr, mem_domain d)
{
    mem_free_fast(ptr, d);
}

/* ---- the hooks, one set per domain ---- */

#define MEM_HOOKS(D, DOM)                                                     \
    static void *mem_malloc_##D(void *ctx, size_t n)                          \
    {                                                                         \
        PyMemAllocatorEx *a = &mem_prev[DOM];                                 \
        if (mem_busy)                                                         \
            return a->malloc(a->ctx, n);                                      \
        mem_busy++;                                                           \
        void *p = a->malloc(a->ctx, n);                                       \
        mem_alloc_fast(p, n, DOM);                                            \
        mem_busy--;                                                           \
        return p;                                                             \
    }                                                                         \
    static void *mem_calloc_##D(void *ctx, size_t k, size_t n)                \
    {                                                                         \
        PyMemAllocatorEx *a = &mem_prev[DOM];                                 \
        if (mem_busy)                                                         \
            return a->calloc(a->ctx, k, n);                                   \
        mem_busy++;                                                           \
        void *p = a->calloc(a->ctx, k, n);                                    \
        mem_alloc_fast(p, k *n, DOM);                                         \
        mem_busy--;                                                           \
        return p;                                                             \
    }                                                                         \
    static void *mem_realloc_##D(void *ctx, void *old, size_t n)              \
    {                                                                         \
        PyMemAllocatorEx *a = &mem_prev[DOM];                                 \
        if (mem_busy)                                                         \
            return a->realloc(a->ctx, old, n);                                \
        mem_busy++;                                                           \
        void *p = a->realloc(a->ctx, old, n);                                 \
        if (p) {                                                              \
            mem_free_fast(old, DOM);                                          \
            mem_alloc_fast(p, n, DOM);                                        \
        }                                                                     \
        mem_busy--;                                                           \
        return p;                                                             \
    }                                                                         \
    static void mem_free_##D(void *ctx, void *p)                              \
    {                                                                         \
        PyMemAllocatorEx *a = &mem_prev[DOM];                                 \
        if (!mem_busy)                                                        \
            mem_free_fast(p, DOM);                                            \
        mem_busy++;                                                           \
        a->free(a->ctx, p);                                                   \
        mem_busy--;                                                           \
    }

MEM_HOOKS(raw, MEM_DOMAIN_RAW)
MEM_HOOKS(mem, MEM_DOMAIN_MEM)
MEM_HOOKS(obj, MEM_DOMAIN_OBJ)

static PyMemAllocatorEx mem_hooks[3] = {
    {NULL, mem_malloc_raw, mem_calloc_raw, mem_realloc_raw, mem_free_raw},
    {NULL, mem_malloc_mem, mem_calloc_mem, mem_realloc_mem, mem_free_mem},
    {NULL, mem_malloc_obj, mem_calloc_obj, mem_realloc_obj, mem_free_obj},
};
static const PyMemAllocatorDomain mem_domains[3] = {
    PYMEM_DOMAIN_RAW, PYMEM_DOMAIN_MEM, PYMEM_DOMAIN_OBJ};

/* ---- starting and stopping ---- */

/* Put our hooks in front of each domain's allocator, unless they are
 * still in its chain from a tracing before (another tool installed over
 * them since): calls reach them through that tool, and a second copy
 * would call itself through mem_prev. */
static void
mem_install(void)
{
    for (int d = 0; d < 3; d++) {
        if (mem.chained[d])
            continue;
        PyMem_GetAllocator(mem_domains[d], &mem_prev[d]);
        PyMem_SetAllocator(mem_domains[d], &mem_hooks[d]);
        mem.chained[d] = true;
    }
}

/* Give each domain back the allocator we chained to, unless another tool
 * installed its own over ours since: it keeps calling ours, which passes
 * everything through. */
static void
mem_uninstall(void)
{
    for (int d = 0; d < 3; d++) {
        PyMemAllocatorEx cur;
        PyMem_GetAllocator(mem_domains[d], &cur);
        if (cur.malloc == mem_hooks[d].malloc) {
            PyMem_SetAllocator(mem_domains[d], &mem_prev[d]);
            mem.chained[d] = false;
        }
    }
}

void
mem_clear(void)
{
    mem_busy++;
    for (uint32_t i = 0; i < mem.n_sites; i++)
        Py_XDECREF(mem.sites[i].code);
    free(mem.sites);
    free(mem.site_index);
    free(mem.big);
    free(mem.lines);
    free(mem.site_memo);
    mem.sites = NULL;
    mem.site_index = NULL;
    mem.big = NULL;
    mem.n_big = mem.cap_big = 0;
    mem.lines = NULL;
    mem.site_memo = NULL;
    mem.n_sites = mem.cap_sites = mem.cap_index = 0;
    mem_blocks_clear();
    mem.seq = mem_traced = mem.peak = mem.peak_stamp = mem.peak_ticks = 0;
    mem.clock_seq = 0;
    mem.peak_site = MEM_NO_SITE;
    mem.failed = false;
    mem_busy--;
}

int
mem_start(const mem_config *cfg)
{
    if (mem.on) {
        PyErr_SetString(PyExc_RuntimeError,
                        "spyglass memory: memory is already being traced");
        return -1;
    }
    static bool at_fork;
    if (!at_fork &&
        pthread_atfork(mem_fork_prepare, mem_fork_done, mem_fork_done) == 0)
        at_fork = true;
    instr_init();
    mem_clear();
    mem_busy++;
    mem.lines = calloc(MEM_LINE_CACHE, sizeof *mem.lines);
    mem.site_memo = calloc(MEM_SITE_CACHE, sizeof *mem.site_memo);
    bool ok = mem.lines && mem.site_memo && mem_index_grow() == 0;
    mem_busy--;
    if (!ok) {
        mem_clear();
        PyErr_NoMemory();
        return -1;
    }
    mem.cfg = *cfg;
    if (cfg->sample_bytes) {
        mem_lock();
        mem_filter_rebuild();
        mem_unlock();
    }
    PyThreadState *ts = frames_tstate();
    mem.floor = cfg->below_caller && ts ? frames_current(ts) : NULL;
    mem.gen = tls_gen_next();
    mem.t0 = ticks_now();
    mem_install();
    mem.on = true;
    return 0;
}

void
mem_stop(void)
{
    mem_lock();
    if (mem.on) {
        mem.on = false;
        mem.t1 = ticks_now();
    }
    mem_unlock();
    mem.gen = tls_gen_next();
    mem_uninstall();
}

bool
mem_tracing(void)
{
    return mem.on;
}

uint64_t
mem_site_at_peak(const mem_site *s)
{
    return s->stamp <= mem.peak_stamp ? s->live : s->at_peak;
}

void
mem_summarize(mem_summary *out)
{
    double npt = ticks_ns_per_tick();
    out->sites = mem.sites;
    out->n_sites = mem.n_sites;
    out->peak_bytes = mem.peak;
    out->peak_ns =
        mem.peak ? (uint64_t)((double)(mem.peak_ticks - mem.t0) * npt) : 0;
    out->end_bytes = mem_traced;
    uint64_t t1 = mem.on ? ticks_now() : mem.t1;
    out->total_ns = (uint64_t)((double)(t1 - mem.t0) * npt);
    out->peak_site = mem.peak ? mem.peak_site : MEM_NO_SITE;
    out->sample_bytes = mem.cfg.sample_bytes;
    out->native = mem.cfg.native;
    out->failed = mem.failed;
}
