/* check.h -- a minimal unit-test harness for spyglass's C parts.
 *
 * A test file defines `static void test_x(void)` functions and lists them in
 * a `TESTS(...)` main. Failures print file:line and the expression; the
 * binary exits non-zero when any check failed.
 */
#ifndef SG_CHECK_H
#define SG_CHECK_H

#include <stdio.h>
#include <string.h>

#include "common/alloc.h"

static int check_failures;
static int check_count;

#define CHECK(cond)                                                           \
    do {                                                                      \
        check_count++;                                                        \
        if (!(cond)) {                                                        \
            check_failures++;                                                 \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__,  \
                    #cond);                                                   \
        }                                                                     \
    } while (0)

#define CHECK_STR(a, b)                                                       \
    do {                                                                      \
        const char *a_ = (a), *b_ = (b);                                      \
        check_count++;                                                        \
        if (strcmp(a_, b_) != 0) {                                            \
            check_failures++;                                                 \
            fprintf(stderr,                                                   \
                    "%s:%d: CHECK_STR failed:\n  got:  %s\n  want: %s\n",     \
                    __FILE__, __LINE__, a_, b_);                              \
        }                                                                     \
    } while (0)

#define CHECK_NEAR(a, b, tol)                                                 \
    do {                                                                      \
        double a_ = (a), b_ = (b);                                            \
        check_count++;                                                        \
        if (!(a_ - b_ <= (tol) && b_ - a_ <= (tol))) {                        \
            check_failures++;                                                 \
            fprintf(stderr, "%s:%d: CHECK_NEAR failed: %g vs %g\n", __FILE__, \
                    __LINE__, a_, b_);                                        \
        }                                                                     \
    } while (0)

typedef void (*check_fn)(void);

/* Out-of-memory testing (common/alloc.h): run op(ctx) with allocation k
 * failing, and every one after it, for k = 0, 1, ... until a run reaches
 * no failing allocation. Each failed run must report it (op returns
 * non-zero; op itself checks that what it had is intact), and the run
 * that completes must succeed. Returns the number of runs. */
static inline long
check_oom(int (*op)(void *ctx), void *ctx)
{
    for (long k = 0;; k++) {
        sg_alloc_fail_at(k);
        int rc = op(ctx);
        long made = sg_alloc_count();
        sg_alloc_fail_at(-1);
        check_count++;
        if (made <= k) {
            if (rc != 0) {
                check_failures++;
                fprintf(stderr,
                        "%s:%d: check_oom: run %ld failed with no "
                        "allocation failing\n",
                        __FILE__, __LINE__, k);
            }
            return k + 1;
        }
        if (rc == 0) {
            check_failures++;
            fprintf(stderr,
                    "%s:%d: check_oom: allocation %ld failed "
                    "unreported\n",
                    __FILE__, __LINE__, k);
            return k + 1;
        }
    }
}

static inline int
check_run(const char *name, const check_fn *tests, const char *const *names,
          int n)
{
    int passed = 0, failed = 0;
    for (int i = 0; i < n; i++) {
        int before = check_failures;
        tests[i]();
        if (check_failures == before) {
            passed++;
        } else {
            failed++;
            fprintf(stderr, "FAILED %s.%s\n", name, names[i]);
        }
    }
    printf("%s: %d passed, %d failed (%d checks)\n", name, passed, failed,
           check_count);
    return failed ? 1 : 0;
}

#define TESTS(...)                                                            \
    int main(void)                                                            \
    {                                                                         \
        static const check_fn fns[] = {__VA_ARGS__};                          \
        static const char names_[] = #__VA_ARGS__;                            \
        static char buf[sizeof names_];                                       \
        const char *names[sizeof fns / sizeof fns[0]];                        \
        memcpy(buf, names_, sizeof names_);                                   \
        char *save = NULL;                                                    \
        int k = 0;                                                            \
        for (char *t = strtok_r(buf, ", \n", &save);                          \
             t && k < (int)(sizeof fns / sizeof fns[0]);                      \
             t = strtok_r(NULL, ", \n", &save))                               \
            names[k++] = t;                                                   \
        return check_run(__FILE__, fns, names, k);                            \
    }

#endif
