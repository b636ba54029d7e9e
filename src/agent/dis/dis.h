/* dis.h -- `spyglass dis` inside the agent: exact instruction counts of
 * the selected code objects, and their annotated listing.
 *
 *   count.c    the counts per code object and how they are taken: the
 *              line profiler selects (agent/lines/select.c, the same rules
 *              as `lines`); this collector is told of each code object it
 *              selects (lines_op_watcher) and counts its instructions:
 *              3.12+ with its own sys.monitoring tool and local
 *              INSTRUCTION events, 3.8-3.11 with the opcode events of the
 *              legacy backend's trace function on the selected frames;
 *   listing.c  the listing: the running CPython's own `dis` text for each
 *              code object, matched row by row with its instructions and
 *              given their counts (model/instr.h);
 *   command.c  agent_dis_main.
 *
 * Everything runs with the GIL held.
 */
#ifndef SG_AGENT_DIS_H
#define SG_AGENT_DIS_H

#include "agent/lines/lines.h" /* Python.h first */
#include "model/instr.h"

/* Instructions executed in one code object, per code unit (2 bytes). */
typedef struct dis_counts {
    PyObject *code; /* strong reference */
    uint64_t *n;
    Py_ssize_t units;
} dis_counts;

/* Start counting: the watcher is set and, on 3.12+, the monitoring tool
 * and the function watcher that selects code as functions are made.
 * Returns 0, or -1 with an exception set. */
int dis_count_start(void);
/* Stop counting (keeps the counts). */
void dis_count_stop(void);
/* Every code object counted, in the order selected; *n set. */
dis_counts *const *dis_count_all(size_t *n);
/* Free the counts. */
void dis_count_free(void);

/* The listing of every counted code object, or NULL with an exception
 * set. */
sg_instr_listing *dis_listing(int adaptive);

#endif
