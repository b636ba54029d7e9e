/* fuzz_elf.c -- fuzz the ELF parser the remote reader runs on files it
 * finds in a target's mappings.
 *
 * With clang: tests/fuzz/run.sh builds it with -fsanitize=fuzzer,address
 * and runs libFuzzer. Without clang, and in the test suite, it is linked
 * with driver.c instead, which feeds it seed files and mutations of them.
 */
#include <stddef.h>
#include <stdint.h>

#include "fuzz.h"
#include "remote/elf.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    elf_image img;
    int rc = elf_parse(&img, data, size);
    if (rc == ELF_FOREIGN)
        (void)elf_machine_name(img.machine, img.elf_class);
    if (rc != 0)
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
