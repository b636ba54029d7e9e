/* instr.c -- the instrumentation layer's set-up and failure report (see
 * instr.h). */
#include "agent/core/instr.h"
#include "common/err.h"

void
instr_init(void)
{
    ticks_init();
}

void
instr_out_of_memory(const char *collector)
{
    sg_error("%s: out of memory; the profile stops here (what was recorded "
             "until now is kept)",
             collector);
}
