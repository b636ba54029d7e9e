/* tls.h -- the collectors' per-thread state, and how it goes stale.
 *
 * One scheme for every collector. Per-thread state lives in AGENT_TLS
 * variables: the initial-exec model makes each access one %fs-relative load
 * instead of a call to __tls_get_addr (glibc keeps static TLS room for
 * modules loaded later; the agent needs a few dozen bytes). Being per OS
 * thread, such state also tells a new thread from an old one whose ident
 * (pthread_t) was reused.
 *
 * A per-thread cache never outlives what it points into: it is stamped with
 * the generation of its owner (a profiler, or a collector as a whole) and
 * is valid only while the stamp equals the owner's current generation. An
 * owner makes every thread's cache stale at once, without visiting the
 * threads, by taking a new generation from tls_gen_next(): when its data is
 * cleared, when it starts or stops if its caches must not survive that, and
 * when it fails. Generations are unique in the process and never 0, the
 * stamp of a thread that has cached nothing. Caches kept on code objects
 * (co_extra) are stamped the same way.
 */
#ifndef SG_AGENT_TLS_H
#define SG_AGENT_TLS_H

#include <stdint.h>

#if defined(__GNUC__)
#define AGENT_TLS __attribute__((tls_model("initial-exec"))) _Thread_local
#else
#define AGENT_TLS _Thread_local
#endif

/* A new generation (with the GIL held). */
uint64_t tls_gen_next(void);

#endif
