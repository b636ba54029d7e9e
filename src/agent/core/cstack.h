/* cstack.h -- how much of its C stack the current thread has used.
 *
 * A hook that evaluates Python frames itself (core/evalhook.h) costs C
 * stack per Python call where the interpreter may cost none: 3.11+
 * inlines Python-to-Python calls, so plain python recurses 100,000 deep on
 * a thread of 512 KB while a hook overflows it and the process dies of
 * SIGSEGV. Such a hook asks cstack_deep() before nesting one more frame
 * and leaves for a mechanism that costs no C stack when it says yes.
 *
 * The bounds of each thread's stack are read once (pthread_getattr_np),
 * after which a question is one subtraction.
 */
#ifndef SG_AGENT_CSTACK_H
#define SG_AGENT_CSTACK_H

#include <stdbool.h>
#include <stdint.h>

#include "agent/core/tls.h"

/* The address half-way down this thread's stack: a hook may use the upper
 * half, never the lower (the stack grows down). 0 until read; 1 when the
 * bounds are unknown (never deep). */
extern AGENT_TLS uintptr_t cstack_mark;

/* Read this thread's bounds into cstack_mark. */
void cstack_read_bounds(void);

/* Whether this thread has used more than half its C stack: a hook that
 * costs C stack per frame must not nest deeper. */
static inline bool
cstack_deep(void)
{
    if (!cstack_mark)
        cstack_read_bounds();
    return (uintptr_t)__builtin_frame_address(0) < cstack_mark;
}

#endif
