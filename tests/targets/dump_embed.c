/* dump_embed.c -- a C program that embeds CPython (tests/test_dump.py).
 *
 * The runtime is in libpython, loaded by a process whose executable is not
 * python: `spyglass dump` must find it all the same. Runs the script named
 * by argv[1] with the remaining arguments.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdio.h>

int
main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s SCRIPT [ARGS...]\n", argv[0]);
        return 2;
    }
    wchar_t **wargv = PyMem_RawMalloc(sizeof *wargv * (size_t)argc);
    for (int i = 0; i < argc; i++)
        wargv[i] = Py_DecodeLocale(argv[i], NULL);
    Py_Initialize();
    PySys_SetArgvEx(argc - 1, wargv + 1, 0);
    FILE *f = fopen(argv[1], "r");
    if (!f) {
        perror(argv[1]);
        return 1;
    }
    int rc = PyRun_SimpleFileEx(f, argv[1], 1);
    Py_Finalize();
    return rc ? 1 : 0;
}
