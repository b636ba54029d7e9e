/* native_hooks.c -- hooks for spyglass's allocation shim, for Python
 * programs run with the shim preloaded (tests/test_memory_native.py),
 * loaded with ctypes: watch(size) counts the blocks of exactly that size
 * (0: every block) made from then on, and the frees and unmaps of those
 * it saw made; counts() tells them; unwatch() removes the hooks.
 */
#include <dlfcn.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "native/native.h"

#define SLOTS 4096 /* the blocks of the watched size remembered */

static size_t watched;
static _Atomic(void *) live[SLOTS];
static atomic_long n_allocs, n_frees, n_bytes;

static void
on_alloc(void *ptr, size_t size)
{
    if (watched && size != watched)
        return;
    n_allocs++;
    n_bytes += (long)size;
    if (watched) {
        for (int i = 0; i < SLOTS; i++) {
            void *empty = NULL;
            if (atomic_compare_exchange_strong(&live[i], &empty, ptr))
                break;
        }
    }
}

static void
on_free(void *ptr)
{
    if (!watched) {
        n_frees++;
        return;
    }
    for (int i = 0; i < SLOTS; i++) {
        void *p = ptr;
        if (atomic_compare_exchange_strong(&live[i], &p, NULL)) {
            n_frees++;
            return;
        }
    }
}

static void
on_unmap(void *addr, size_t len)
{
    on_free(addr);
}

static const sg_native_hooks hooks = {on_alloc, on_free, on_unmap};

static sg_native_set_hooks_fn
set_hooks(void)
{
    sg_native_set_hooks_fn fn;
    *(void **)&fn = dlsym(RTLD_DEFAULT, SG_NATIVE_SET_HOOKS);
    return fn;
}

int watch(size_t size);
int unwatch(void);
long counts(int which);

/* 0, or -1 when the shim is not loaded. */
int
watch(size_t size)
{
    sg_native_set_hooks_fn fn = set_hooks();
    if (!fn)
        return -1;
    watched = size;
    n_allocs = n_frees = n_bytes = 0;
    fn(&hooks);
    return 0;
}

int
unwatch(void)
{
    sg_native_set_hooks_fn fn = set_hooks();
    if (!fn)
        return -1;
    fn(NULL);
    return 0;
}

/* 0: blocks made, 1: blocks freed, 2: bytes made. */
long
counts(int which)
{
    return which == 0 ? n_allocs : which == 1 ? n_frees : n_bytes;
}
