/* instr.h -- the agent's instrumentation layer: what every in-process
 * collector (the function profiler, the line profiler, and those to come)
 * builds on, so that each is done once:
 *
 *   ticks.h     the clock: TSC when invariant, else the vDSO; calibration;
 *   tls.h       per-thread state, and generations that make it stale;
 *   mon.h       3.12+: sys.monitoring tool ids, the callback type;
 *   legacy.h    3.8-3.11: the C profile/trace function on every thread;
 *   evalhook.h  the frame-evaluation hook (PEP 523), any version.
 *
 * Callbacks run with the GIL held (the agent refuses free-threaded builds),
 * which serialises everything a collector shares between threads. Inside a
 * callback nothing may exit, raise into the program or crash: a collector
 * that runs out of memory stops recording, keeps what it has, and says so
 * once with instr_out_of_memory().
 */
#ifndef SG_AGENT_INSTR_H
#define SG_AGENT_INSTR_H

#include "agent/core/evalhook.h"
#include "agent/core/legacy.h"
#include "agent/core/mon.h"
#include "agent/core/ticks.h"
#include "agent/core/tls.h"

/* A callback's cold path (a first event, a table to grow) kept out of
 * its hot path, which then saves fewer registers on every event. */
#if defined(__GNUC__)
#define SG_NOINLINE __attribute__((noinline))
#else
#define SG_NOINLINE
#endif

/* Set the layer up (the clock); every collector's init calls it, only the
 * first call does anything. */
void instr_init(void);

/* The one line a collector prints, once, when memory runs out inside a
 * callback: "spyglass: error: <collector>: out of memory; ...". Allocates
 * nothing. */
void instr_out_of_memory(const char *collector);

#endif
