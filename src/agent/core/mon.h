/* mon.h -- sys.monitoring (3.12+) for the agent's collectors.
 *
 * PEP 669 has no C registration API: tools call sys.monitoring's functions
 * through the C API and pass callables. Every collector goes through this
 * file for that: one way to take a tool id, one callback type, one way to
 * give everything back.
 *
 * Callbacks are objects of a small type whose vectorcall slot is the C
 * function itself: sys.monitoring calls them through PyObject_Vectorcall,
 * where a builtin-function wrapper (PyCFunction, METH_FASTCALL) would add
 * its own dispatch and recursion check to every event (measured with no-op
 * callbacks on 3.12, fib: 164% -> 137% overhead in instructions).
 *
 * Events are per interpreter: once set, they reach the callbacks from every
 * thread, existing or new.
 */
#ifndef SG_AGENT_MON_H
#define SG_AGENT_MON_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#if PY_VERSION_HEX >= 0x030C0000

/* The events the collectors use. Their bits are read from
 * sys.monitoring.events by name: the numbering is CPython's to change. */
typedef enum mon_event {
    MON_PY_START,
    MON_PY_RESUME,
    MON_PY_RETURN,
    MON_PY_YIELD,
    MON_CALL,
    MON_LINE,
    MON_PY_UNWIND,
    MON_PY_THROW,
    MON_C_RETURN,
    MON_C_RAISE,
    MON_INSTRUCTION,
    MON_RAISE,
    MON_N_EVENTS
} mon_event;

/* Each event's bit in the masks of set_events and set_local_events. */
extern long mon_bit[MON_N_EVENTS];
/* sys.monitoring.DISABLE (a callback's answer that switches a local event
 * off at its location) and sys.monitoring.MISSING (an absent argument). */
extern PyObject *mon_DISABLE, *mon_MISSING;

/* Look up sys.monitoring, its constants and the callback type (the first
 * call does the work). Returns 0, or -1 with an exception set. */
int mon_init(void);

/* Take a free tool id for the collector `name`: PROFILER_ID (2) first,
 * then 3, 4 and 5. Debuggers (0) and coverage tools (1) keep theirs, so
 * that spyglass runs beside them. Returns the id, or -1 with RuntimeError
 * naming the tools that hold the ids. */
int mon_acquire(const char *name);

/* Register fn as the tool's callback for ev. */
int mon_register(int tool, mon_event ev, vectorcallfunc fn);
int mon_set_events(int tool, long mask);
int mon_set_local_events(int tool, PyObject *code, long mask);

/* Give the tool id back: no events, no callbacks, id freed. Keeps any
 * exception already set (it may run while one propagates); returns -1
 * when sys.monitoring refused a step, with no new exception set. */
int mon_release(int tool);

#endif /* 3.12+ */

#endif
