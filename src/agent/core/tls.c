/* tls.c -- generations for stamping per-thread caches (see tls.h). */
#include "agent/core/tls.h"

static uint64_t tls_gen_counter;

uint64_t
tls_gen_next(void)
{
    /* Callers hold the GIL, which serialises the increments. */
    return ++tls_gen_counter;
}
