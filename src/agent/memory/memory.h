/* memory.h -- the memory profiler's parts inside the agent, and what they
 * share.
 *
 *   engine.c   allocator hooks on CPython's three domains (chained to the
 *              allocators found installed), allocation sites, the traced
 *              total, the peak and what was live at it, sampling;
 *   blocks.c   the table of live blocks (pointer -> site, size): a shadow
 *              of the address space, and a hash table for the rest;
 *   native.c   --native: the preloaded shim's malloc and friends, fed into
 *              the same engine (src/native/);
 *   lines.c    memory_profiler's columns for the selected functions, on
 *              the line profiler's selection and line events;
 *   results.c  the engine's sites and lines into a memory profile
 *              (model/memory.h);
 *   type.c     the Python API (spyglass.memory);
 *   command.c  `spyglass memory` (agent_memory_main).
 *
 * Blocks are attributed to the innermost Python frame of the thread that
 * allocates them (agent/core/frames.h), with its call stack.
 */
#ifndef SG_AGENT_MEMORY_H
#define SG_AGENT_MEMORY_H

#include <stddef.h>
#include <stdint.h>

#include "agent/agent.h"
#include "agent/core/instr.h"
#include "model/profile.h"

/* Where a block came from. */
typedef enum mem_domain {
    MEM_DOMAIN_RAW,    /* PyMem_RawMalloc */
    MEM_DOMAIN_MEM,    /* PyMem_Malloc */
    MEM_DOMAIN_OBJ,    /* PyObject_Malloc */
    MEM_DOMAIN_NATIVE, /* malloc, calloc, realloc, mmap... (--native) */
} mem_domain;

typedef struct mem_config {
    uint64_t sample_bytes; /* 0: exact; else the mean sampling interval */
    bool native;           /* take the shim's events too */
    /* Stacks end below the frame that calls mem_start (the command's
     * launcher, which is not the program's); else they reach the
     * thread's outermost frame. */
    bool below_caller;
} mem_config;

/* ---- engine.c ---- */

/* Nonzero while this thread is inside the engine or inside a CPython
 * allocator the engine's hooks wrap: a malloc the shim sees then is the
 * engine's own or CPython's, already accounted for, and is ignored. */
extern AGENT_TLS int mem_busy;

/* Start tracing (hooks installed, tables empty); 0, or -1 with an
 * exception set. At most one tracing at a time. */
int mem_start(const mem_config *cfg);
/* Stop tracing: hooks removed (unless another tool has chained over
 * them, which then keeps calling them harmlessly), tables kept for
 * mem_results. */
void mem_stop(void);
/* Whether tracing is on. */
bool mem_tracing(void);
/* The traced heap now, in bytes: read inline, since the memory table
 * reads it at every line event of the selected functions. */
extern uint64_t mem_traced;
static inline uint64_t
mem_total(void)
{
    return mem_traced;
}

/* Account one block (ptr of size bytes, of domain d) to the calling
 * thread's innermost Python frame, and one free. A free of a block the
 * engine does not know (allocated before tracing started, or by another
 * domain's caller) changes nothing. Safe from any thread, with or without
 * the GIL; never allocates through the traced allocators. */
void mem_on_alloc(void *ptr, size_t size, mem_domain d);
void mem_on_free(void *ptr, mem_domain d);

/* ---- native.c ---- */

/* With the shim preloaded, route its events to the engine: 0, or -1 when
 * the shim is not in this process. */
int mem_native_start(void);
void mem_native_stop(void);

#endif
