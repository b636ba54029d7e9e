/* elf_seed.c -- the source of small ELF seeds for fuzz_elf: built as a
 * shared object, an executable and a stripped copy (run.sh, test_fuzz.py),
 * each looks like libpython to the reader: _PyRuntime in a .PyRuntime
 * section, Py_Version, and a PY_VERSION string. Not a fuzz target. */
__attribute__((section(".PyRuntime"))) char _PyRuntime[672];
const unsigned Py_Version = 0x030c01f0;
const char *version_string = "3.10.13";

int
main(void)
{
    return _PyRuntime[0] + (int)Py_Version;
}
