/* fuzz_elf.c -- fuzz the ELF parser the remote reader runs on files it
 * finds in a target's mappings.
 *
 * With clang: tests/fuzz/run.sh builds it with -fsanitize=fuzzer,address
 * and runs libFuzzer. Without clang, the same file builds with a plain
 * main() (SG_FUZZ_MAIN) that feeds each file named on the command line,
 * plus random mutations of it, to the same entry point.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "remote/elf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    elf_image img;
    if (elf_parse(&img, data, size) != 0)
        return 0;
    elf_symbol s;
    uint64_t a, z;
    char v[32];
    (void)elf_find_symbol(&img, "_PyRuntime", &s);
    (void)elf_find_symbol(&img, "Py_Version", &s);
    (void)elf_find_section(&img, ".PyRuntime", &a, &z);
    (void)elf_find_string(&img, ".rodata", "3.10.", v, sizeof v);
    return 0;
}

#ifdef SG_FUZZ_MAIN
int
main(int argc, char **argv)
{
    long rounds = getenv("FUZZ_ROUNDS") ? atol(getenv("FUZZ_ROUNDS")) : 2000;
    srand(1);
    for (int i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        if (!f)
            continue;
        fseek(f, 0, SEEK_END);
        long n = ftell(f);
        fseek(f, 0, SEEK_SET);
        if (n <= 0) {
            fclose(f);
            continue;
        }
        uint8_t *buf = malloc((size_t)n), *mut = malloc((size_t)n);
        if (!buf || !mut)
            return 1;
        size_t got = fread(buf, 1, (size_t)n, f);
        fclose(f);
        if (got == 0) {
            free(buf);
            free(mut);
            continue;
        }
        LLVMFuzzerTestOneInput(buf, got);
        for (long r = 0; r < rounds; r++) {
            memcpy(mut, buf, got);
            for (int k = 0; k < 8; k++)
                mut[(size_t)rand() % (r % 3 ? 4096 < got ? 4096 : got : got)] =
                    (uint8_t)rand();
            LLVMFuzzerTestOneInput(mut, (size_t)rand() % (got + 1));
            LLVMFuzzerTestOneInput(mut, got);
        }
        free(buf);
        free(mut);
        printf("%s: %ld rounds\n", argv[i], rounds);
    }
    return 0;
}
#endif
