/* magic.h -- what the IPython magics (spyglass/ipython.py) run in the
 * agent: the commands' work on a namespace and code the glue compiled,
 * their results on sys.stdout (a notebook's cell output) or where -o
 * says, and the permission `record -p` needs to read this process.
 */
#ifndef SG_AGENT_MAGIC_H
#define SG_AGENT_MAGIC_H

#include "agent/agent.h" /* Python.h first */
#include "request/commands.h"
#include "writers/writers.h"

/* Time o's statements with globals as their namespace and report in w's
 * format on sys.stdout, or to o->output. Returns 0, or -1 with an
 * exception set (a statement's own). In timeit.c. */
int agent_timeit_in(const rq_timeit *o, const sg_writer *w, PyObject *globals);

#endif
