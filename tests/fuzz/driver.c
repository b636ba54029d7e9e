/* driver.c -- a plain main() for the fuzz targets, where libFuzzer is not
 * available (gcc) and in the test suite (tests/test_fuzz.py).
 *
 * Each file named on the command line is fed to the target as it is, then
 * FUZZ_ROUNDS times (default 2000) mutated: a few bytes overwritten, mostly
 * near the start where headers are, and the input cut at a random length.
 * The generator is seeded with FUZZ_SEED (default 1), so a failure is
 * reproduced by running the same command again. Built with ASan and UBSan,
 * an out-of-bounds read or undefined behaviour stops the run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

static uint64_t rng_state;

static uint64_t
rng_next(void)
{
    /* xorshift64*: the same sequence on every libc. */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Dull;
}

static uint8_t *
read_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    uint8_t *buf = NULL;
    size_t cap = 0, len = 0;
    for (;;) {
        if (len == cap) {
            cap = cap ? cap * 2 : 65536;
            uint8_t *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        if (got == 0)
            break;
        len += got;
    }
    fclose(f);
    *n = len;
    return buf;
}

static void
mutate(uint8_t *buf, size_t n, long round)
{
    /* Two rounds in three stay within the first 4 KiB. */
    size_t span = round % 3 && n > 4096 ? 4096 : n;
    int edits = 1 + (int)(rng_next() % 8);
    for (int k = 0; k < edits; k++)
        buf[rng_next() % span] = (uint8_t)rng_next();
}

int
main(int argc, char **argv)
{
    const char *r = getenv("FUZZ_ROUNDS"), *seed = getenv("FUZZ_SEED");
    long rounds = r ? atol(r) : 2000;
    rng_state = seed ? strtoull(seed, NULL, 10) : 1;
    if (rng_state == 0)
        rng_state = 1;
    int fed = 0;
    for (int i = 1; i < argc; i++) {
        size_t n = 0;
        uint8_t *buf = read_file(argv[i], &n);
        if (!buf || n == 0) {
            free(buf);
            continue;
        }
        uint8_t *mut = malloc(n);
        if (!mut) {
            free(buf);
            return 1;
        }
        LLVMFuzzerTestOneInput(buf, n);
        for (long k = 0; k < rounds; k++) {
            memcpy(mut, buf, n);
            mutate(mut, n, k);
            LLVMFuzzerTestOneInput(mut, (size_t)(rng_next() % (n + 1)));
            LLVMFuzzerTestOneInput(mut, n);
        }
        free(buf);
        free(mut);
        printf("%s: %ld rounds\n", argv[i], rounds);
        fed++;
    }
    if (fed == 0) {
        fprintf(stderr, "fuzz driver: no readable, non-empty input\n");
        return 2;
    }
    return 0;
}
