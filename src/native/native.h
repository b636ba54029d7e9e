/* native.h -- the interface between the preloaded allocation shim
 * (spyglass/_native.so, src/native/shim.c) and the agent.
 *
 * The shim is a plain shared library, with no libpython, that a process
 * loads first (LD_PRELOAD). It defines malloc and friends (malloc, calloc,
 * realloc, reallocarray, free, posix_memalign, aligned_alloc, memalign,
 * valloc, pvalloc, mmap, munmap) and forwards each to the next definition
 * (the C library's). While hooks are set, it reports each call once:
 * never while the calling thread is already inside a hook (so the hooks
 * may allocate), and never a call the C library makes to itself.
 *
 * The agent finds the shim with dlsym(RTLD_DEFAULT, SG_NATIVE_SET_HOOKS)
 * and passes its hooks; NULL removes them.
 */
#ifndef SG_NATIVE_H
#define SG_NATIVE_H

#include <stddef.h>

typedef struct sg_native_hooks {
    void (*on_alloc)(void *ptr, size_t size); /* a block or mapping made */
    void (*on_free)(void *ptr);               /* a block freed */
    void (*on_unmap)(void *addr, size_t len); /* a range unmapped */
} sg_native_hooks;

/* The shim's one exported function: void spyglass_native_set_hooks(const
 * sg_native_hooks *). */
#define SG_NATIVE_SET_HOOKS "spyglass_native_set_hooks"
typedef void (*sg_native_set_hooks_fn)(const sg_native_hooks *);

/* The environment variable the agent sets when it re-executes the
 * interpreter with the shim preloaded, so that it does so at most once. */
#define SG_NATIVE_ENV "SPYGLASS_NATIVE"

#endif
