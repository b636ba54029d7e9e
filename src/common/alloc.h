/* alloc.h -- the shared core's allocation: report failure, never exit.
 *
 * sg_core (common/, model/, writers/) also runs inside the user's Python
 * process, where exiting is never an answer to out-of-memory. Its code
 * allocates through these functions, which return NULL on failure (sizes are
 * overflow-checked), and every structure turns that NULL into a reported
 * failure: hm64_put returns -1, a strbuf turns sticky-failed, a model
 * function returns SG_NO_ID, a writer returns -1 after an error line.
 *
 * The executable's own parts may use the sg_x* allocators of err.h, which
 * exit; they are not compiled into sg_core. The executable also sets
 * sg_alloc_on_failure() to exit, so that its callers of the core (the
 * remote reader, the sampler) keep the CLI's policy: report and exit. The
 * extension never sets it.
 *
 * Tests inject failures with sg_alloc_fail_at(): allocation number n from
 * now fails (0: the next one), and so does every later one, until
 * sg_alloc_fail_at(-1).
 */
#ifndef SG_ALLOC_H
#define SG_ALLOC_H

#include <stddef.h>

void *sg_malloc(size_t n);
void *sg_calloc(size_t n, size_t size);
void *sg_realloc(void *p, size_t n);
/* realloc of n elements of size bytes; NULL (p untouched) on overflow. */
void *sg_reallocarray(void *p, size_t n, size_t size);
char *sg_strdup(const char *s);
/* Grow *arr (an array of *cap elements of elem bytes) to hold at least need
 * elements, doubling from 64. Returns 0, or -1 with *arr and *cap
 * untouched. */
int sg_grow(void **arr, size_t *cap, size_t need, size_t elem);
/* sg_grow for an array variable a with its capacity a_cap. */
#define SG_GROW(a, cap, need)                                                 \
    sg_grow((void **)&(a), &(cap), (need), sizeof *(a))

/* Called with the size whenever an allocation fails, before NULL is
 * returned (NULL: nobody). For the executable only. */
void sg_alloc_on_failure(void (*fn)(size_t n));

/* Tests only: make allocations fail from the n-th one on (-1: never).
 * Not thread-safe; when disarmed the allocators only read it. */
void sg_alloc_fail_at(long n);
/* Allocations counted since the last sg_alloc_fail_at(n >= 0): tests arm a
 * failure far away, run once and size their failure loops with it. */
long sg_alloc_count(void);

#endif
