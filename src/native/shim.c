/* shim.c -- spyglass/_native.so: malloc and friends, preloaded, reported
 * to the agent's hooks (native.h).
 *
 * Loaded first (LD_PRELOAD), this library's malloc, calloc, realloc, free,
 * mmap... are the ones every library of the process calls. Each forwards
 * to the next definition, the C library's, found with dlsym(RTLD_NEXT)
 * when the library is loaded. dlsym itself may allocate (calloc for its
 * error state) before the real allocators are known: such blocks come from
 * a small static arena, never freed.
 *
 * While hooks are set, each call is reported once, after it succeeded (a
 * free or unmap before it, so that the address cannot be handed out again
 * by another thread before the report). A per-thread depth counter (in
 * initial-exec TLS: one %fs-relative access, no allocation) is raised
 * around the forwarded call and the hook: a call made while it is up, by
 * the hook itself or by the C library inside the call, is forwarded and
 * not reported. With no hooks set, the cost is one TLS load and one atomic
 * load per call.
 *
 * mmap counts only anonymous private mappings that can be accessed (a
 * PROT_NONE mapping reserves addresses, not memory); file and shared
 * mappings are not heap. Every munmap is reported: the agent ignores the
 * ranges it does not know.
 *
 * No locks and no state that a fork could leave inconsistent: the child
 * keeps the hooks of its parent's thread that forked, and the depth of
 * that thread (zero unless it forked from inside a hook).
 */
/* mmap and mmap64 are both defined here, as themselves: the build's
 * 64-bit file offsets would rename the declaration of mmap to mmap64. */
#undef _FILE_OFFSET_BITS

#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "native/native.h"

#define SHIM_EXPORT __attribute__((visibility("default")))
#define SHIM_TLS __attribute__((tls_model("initial-exec"))) _Thread_local

/* The definitions shadowed: the C library's (or the next preloaded
 * allocator's). */
typedef struct shim_real {
    void *(*malloc)(size_t);
    void *(*calloc)(size_t, size_t);
    void *(*realloc)(void *, size_t);
    void (*free)(void *);
    int (*posix_memalign)(void **, size_t, size_t);
    void *(*aligned_alloc)(size_t, size_t);
    void *(*memalign)(size_t, size_t);
    void *(*valloc)(size_t);
    void *(*pvalloc)(size_t);
    void *(*mmap)(void *, size_t, int, int, int, off_t);
    int (*munmap)(void *, size_t);
} shim_real;

static shim_real real;
static atomic_int real_ready;       /* real is filled in */
static atomic_flag real_lock;       /* one thread fills it */
static SHIM_TLS int shim_resolving; /* this thread is inside dlsym */
static SHIM_TLS int shim_depth;     /* this thread is inside a call */
static const sg_native_hooks *_Atomic shim_hooks;

/* ---- the bootstrap arena: blocks asked for while dlsym runs ---- */

#define SHIM_ARENA_SIZE (64 * 1024)
#define SHIM_ARENA_HEAD 16 /* each block's size, keeping 16-byte alignment */

static alignas(4096) unsigned char shim_arena[SHIM_ARENA_SIZE];
static atomic_size_t shim_arena_used;

static int
shim_in_arena(const void *p)
{
    uintptr_t a = (uintptr_t)p, base = (uintptr_t)shim_arena;
    return a >= base && a < base + SHIM_ARENA_SIZE;
}

/* A zeroed block of n bytes aligned to align (a power of two), or NULL
 * with errno ENOMEM when the arena is full. The arena is never reused, so
 * its bytes are still the zeros of a static array. */
static void *
shim_arena_alloc(size_t n, size_t align)
{
    if (align < SHIM_ARENA_HEAD)
        align = SHIM_ARENA_HEAD;
    size_t used = atomic_load(&shim_arena_used);
    for (;;) {
        size_t start = (used + SHIM_ARENA_HEAD + align - 1) & ~(align - 1);
        if (align > SHIM_ARENA_SIZE || start > SHIM_ARENA_SIZE ||
            n > SHIM_ARENA_SIZE - start) {
            errno = ENOMEM;
            return NULL;
        }
        if (atomic_compare_exchange_weak(&shim_arena_used, &used, start + n)) {
            memcpy(shim_arena + start - SHIM_ARENA_HEAD, &n, sizeof n);
            return shim_arena + start;
        }
    }
}

static size_t
shim_arena_size(const void *p)
{
    size_t n;
    memcpy(&n, (const unsigned char *)p - SHIM_ARENA_HEAD, sizeof n);
    return n;
}

/* ---- finding the real allocators ---- */

static void *
shim_next(const char *name)
{
    return dlsym(RTLD_NEXT, name);
}

/* Fill real once. A thread that finds another filling it waits: that
 * thread never needs this one. Inside dlsym this thread's own calls see
 * shim_resolving and use the arena. */
static void
shim_resolve(void)
{
    shim_real r;
    if (shim_resolving)
        return;
    while (atomic_flag_test_and_set(&real_lock))
        if (atomic_load(&real_ready))
            return;
    if (!atomic_load(&real_ready)) {
        shim_resolving = 1;
        *(void **)&r.malloc = shim_next("malloc");
        *(void **)&r.calloc = shim_next("calloc");
        *(void **)&r.realloc = shim_next("realloc");
        *(void **)&r.free = shim_next("free");
        *(void **)&r.posix_memalign = shim_next("posix_memalign");
        *(void **)&r.aligned_alloc = shim_next("aligned_alloc");
        *(void **)&r.memalign = shim_next("memalign");
        *(void **)&r.valloc = shim_next("valloc");
        *(void **)&r.pvalloc = shim_next("pvalloc");
        *(void **)&r.mmap = shim_next("mmap");
        *(void **)&r.munmap = shim_next("munmap");
        shim_resolving = 0;
        real = r;
        atomic_store(&real_ready, 1);
    }
    atomic_flag_clear(&real_lock);
}

/* Whether the real allocators can be called: false only inside dlsym. */
static inline int
shim_ready(void)
{
    if (__builtin_expect(
            atomic_load_explicit(&real_ready, memory_order_acquire), 1))
        return 1;
    shim_resolve();
    return atomic_load(&real_ready);
}

__attribute__((constructor)) static void
shim_init(void)
{
    shim_ready();
}

/* ---- reporting ---- */

/* The hooks to report this call to, with the thread's depth raised; NULL
 * when there are none or the thread is already inside a call. */
static inline const sg_native_hooks *
shim_begin(void)
{
    if (shim_depth)
        return NULL;
    const sg_native_hooks *h =
        atomic_load_explicit(&shim_hooks, memory_order_acquire);
    if (h)
        shim_depth = 1;
    return h;
}

static inline void
shim_end(void)
{
    shim_depth = 0;
}

/* The hooks keep errno as the call left it. */
static void
shim_report_alloc(const sg_native_hooks *h, void *p, size_t n)
{
    int saved = errno;
    h->on_alloc(p, n);
    errno = saved;
}

static void
shim_report_free(const sg_native_hooks *h, void *p)
{
    int saved = errno;
    h->on_free(p);
    errno = saved;
}

/* After a call made between shim_begin (which gave h) and now: report the
 * block p of n bytes it made, if it made one, and lower the depth. */
static inline void *
shim_made(const sg_native_hooks *h, void *p, size_t n)
{
    if (h) {
        if (p)
            shim_report_alloc(h, p, n);
        shim_end();
    }
    return p;
}

SHIM_EXPORT void spyglass_native_set_hooks(const sg_native_hooks *h);

SHIM_EXPORT void
spyglass_native_set_hooks(const sg_native_hooks *h)
{
    atomic_store_explicit(&shim_hooks, h, memory_order_release);
}

/* ---- the C library's allocation functions ---- */

static void *
shim_malloc(size_t n)
{
    if (!shim_ready())
        return shim_arena_alloc(n, 0);
    const sg_native_hooks *h = shim_begin();
    return shim_made(h, real.malloc(n), n);
}

SHIM_EXPORT void *
malloc(size_t n)
{
    return shim_malloc(n);
}

SHIM_EXPORT void *
calloc(size_t n, size_t size)
{
    if (!shim_ready()) {
        if (size && n > SIZE_MAX / size) {
            errno = ENOMEM;
            return NULL;
        }
        return shim_arena_alloc(n * size, 0);
    }
    /* When calloc succeeds, the product did not overflow. */
    const sg_native_hooks *h = shim_begin();
    return shim_made(h, real.calloc(n, size), n * size);
}

SHIM_EXPORT void
free(void *p)
{
    if (!p || shim_in_arena(p) || !shim_ready())
        return;
    const sg_native_hooks *h = shim_begin();
    if (h)
        shim_report_free(h, p);
    real.free(p);
    if (h)
        shim_end();
}

/* A block of the arena grows into the real heap (or the arena again while
 * dlsym runs); the old block stays where it is. */
static void *
shim_arena_realloc(void *p, size_t n)
{
    void *q = shim_malloc(n);
    if (q) {
        size_t old = shim_arena_size(p);
        memcpy(q, p, old < n ? old : n);
    }
    return q;
}

SHIM_EXPORT void *
realloc(void *p, size_t n)
{
    if (p && shim_in_arena(p))
        return shim_arena_realloc(p, n);
    if (!shim_ready())
        return p ? NULL : shim_arena_alloc(n, 0);
    /* The old block is reported freed before the call: once realloc
     * returns, another thread may be given its address. Should realloc
     * fail, the old block, still live, is no longer counted. */
    const sg_native_hooks *h = shim_begin();
    if (h && p)
        shim_report_free(h, p);
    return shim_made(h, real.realloc(p, n), n);
}

SHIM_EXPORT void *
reallocarray(void *p, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size) {
        errno = ENOMEM;
        return NULL;
    }
    return realloc(p, n * size);
}

SHIM_EXPORT int
posix_memalign(void **out, size_t align, size_t n)
{
    if (!shim_ready()) {
        if (align == 0 || (align & (align - 1)) || align % sizeof(void *))
            return EINVAL;
        void *p = shim_arena_alloc(n, align);
        if (!p)
            return ENOMEM;
        *out = p;
        return 0;
    }
    const sg_native_hooks *h = shim_begin();
    int rc = real.posix_memalign(out, align, n);
    shim_made(h, rc == 0 ? *out : NULL, n);
    return rc;
}

/* aligned_alloc (c11 set) and memalign: the same call, two names. */
static void *
shim_aligned(int c11, size_t align, size_t n)
{
    if (!shim_ready()) {
        if (align & (align - 1)) {
            errno = EINVAL;
            return NULL;
        }
        return shim_arena_alloc(n, align);
    }
    const sg_native_hooks *h = shim_begin();
    return shim_made(
        h, c11 ? real.aligned_alloc(align, n) : real.memalign(align, n), n);
}

SHIM_EXPORT void *
aligned_alloc(size_t align, size_t n)
{
    return shim_aligned(1, align, n);
}

SHIM_EXPORT void *
memalign(size_t align, size_t n)
{
    return shim_aligned(0, align, n);
}

/* valloc and pvalloc: page-aligned, pvalloc's size rounded up to whole
 * pages (at least one), which is what it reports. */
static void *
shim_paged(int round, size_t n)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    if (round) {
        if (n > SIZE_MAX - page) {
            errno = ENOMEM;
            return NULL;
        }
        n = n ? (n + page - 1) & ~(page - 1) : page;
    }
    if (!shim_ready())
        return shim_arena_alloc(n, page);
    const sg_native_hooks *h = shim_begin();
    return shim_made(h, round ? real.pvalloc(n) : real.valloc(n), n);
}

SHIM_EXPORT void *
valloc(size_t n)
{
    return shim_paged(0, n);
}

SHIM_EXPORT void *
pvalloc(size_t n)
{
    return shim_paged(1, n);
}

/* ---- mappings ---- */

/* Whether a mapping is heap: anonymous, private and accessible. */
static int
shim_is_heap(int prot, int flags)
{
    return (flags & MAP_ANONYMOUS) && (flags & MAP_PRIVATE) &&
           prot != PROT_NONE;
}

static void *
shim_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    const sg_native_hooks *h = shim_is_heap(prot, flags) ? shim_begin() : NULL;
    void *p = shim_ready()
                  ? real.mmap(addr, len, prot, flags, fd, off)
                  : (void *)syscall(SYS_mmap, addr, len, prot, flags, fd, off);
    shim_made(h, p == MAP_FAILED ? NULL : p, len);
    return p;
}

SHIM_EXPORT void *
mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    return shim_mmap(addr, len, prot, flags, fd, off);
}

SHIM_EXPORT void *
mmap64(void *addr, size_t len, int prot, int flags, int fd, off64_t off)
{
    return shim_mmap(addr, len, prot, flags, fd, (off_t)off);
}

SHIM_EXPORT int
munmap(void *addr, size_t len)
{
    const sg_native_hooks *h = shim_begin();
    if (h) {
        int saved = errno;
        h->on_unmap(addr, len);
        errno = saved;
    }
    int rc = shim_ready() ? real.munmap(addr, len)
                          : (int)syscall(SYS_munmap, addr, len);
    if (h)
        shim_end();
    return rc;
}
