"""A memory shortage on demand, for the tests of what the agent's collectors
do when a table cannot grow inside an event callback.

`build(py, dest)` compiles a tiny extension module `nomem` against py's
headers into dest. A test program imports it and calls `nomem.arm(limit)`:
from then on every request of at least `limit` bytes in CPython's raw
memory domain (PyMem_RawMalloc/Calloc/Realloc, where the collectors keep
their call trees and stacks) fails, until `nomem.disarm()`. Smaller
requests, and the pymalloc arenas Python objects live in, are untouched, so
the program itself keeps running as long as it allocates nothing that big.
"""
import subprocess
from pathlib import Path

SOURCE = r"""
#define PY_SSIZE_T_CLEAN
#include <Python.h>

static PyMemAllocatorEx orig;
static size_t limit = (size_t)-1;
static int armed;

static void *
nm_malloc(void *ctx, size_t n)
{
    return n >= limit ? NULL : orig.malloc(orig.ctx, n);
}

static void *
nm_calloc(void *ctx, size_t nel, size_t size)
{
    return nel * size >= limit ? NULL : orig.calloc(orig.ctx, nel, size);
}

static void *
nm_realloc(void *ctx, void *p, size_t n)
{
    return n >= limit ? NULL : orig.realloc(orig.ctx, p, n);
}

static void
nm_free(void *ctx, void *p)
{
    orig.free(orig.ctx, p);
}

static PyObject *
arm(PyObject *self, PyObject *arg)
{
    size_t n = PyLong_AsSize_t(arg);
    if (n == (size_t)-1 && PyErr_Occurred())
        return NULL;
    if (!armed) {
        PyMemAllocatorEx mine = {NULL, nm_malloc, nm_calloc, nm_realloc,
                                 nm_free};
        PyMem_GetAllocator(PYMEM_DOMAIN_RAW, &orig);
        PyMem_SetAllocator(PYMEM_DOMAIN_RAW, &mine);
        armed = 1;
    }
    limit = n;
    Py_RETURN_NONE;
}

static PyObject *
disarm(PyObject *self, PyObject *unused)
{
    limit = (size_t)-1;
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"arm", arm, METH_O, NULL},
    {"disarm", disarm, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef mod = {PyModuleDef_HEAD_INIT, "nomem", NULL, -1,
                                 methods};

PyMODINIT_FUNC
PyInit_nomem(void)
{
    return PyModule_Create(&mod);
}
"""


def build(py, dest):
    """Compile nomem for py's CPython into directory dest."""
    q = ("import sysconfig; print(sysconfig.get_paths()['include']); "
         "print(sysconfig.get_config_var('EXT_SUFFIX'))")
    proc = py.py("-c", q)
    assert proc.returncode == 0, proc.stderr
    inc, suffix = proc.stdout.split()
    src = Path(dest) / "nomem.c"
    src.write_text(SOURCE)
    out = Path(dest) / ("nomem" + suffix)
    cc = subprocess.run(["cc", "-O1", "-shared", "-fPIC", "-I" + inc,
                         str(src), "-o", str(out)],
                        capture_output=True, text=True)
    assert cc.returncode == 0, cc.stderr
    return out
