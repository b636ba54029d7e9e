/* cstack.c -- the bounds of the current thread's C stack (see cstack.h). */
#include "agent/core/cstack.h"

#include <pthread.h> /* pthread_getattr_np: _GNU_SOURCE, set by the build */

AGENT_TLS uintptr_t cstack_mark;

void
cstack_read_bounds(void)
{
    pthread_attr_t attr;
    void *low = NULL;
    size_t size = 0;
    /* For the main thread glibc derives the bounds from RLIMIT_STACK and
     * the process's mappings; for the others they are the thread's own. */
    if (pthread_getattr_np(pthread_self(), &attr) == 0) {
        if (pthread_attr_getstack(&attr, &low, &size) != 0)
            size = 0;
        pthread_attr_destroy(&attr);
    }
    /* Unknown bounds: never deep, as before the check existed. */
    cstack_mark = size ? (uintptr_t)low + size / 2 : 1;
}
