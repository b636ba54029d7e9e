"""spyglass memory --native: the allocation shim (spyglass/_native.so,
src/native/shim.c) and the interpreter's re-execution with it preloaded.

The shim alone: a C program (tests/targets/native_probe.c) and Python
programs with test hooks (tests/targets/native_hooks.c) run with it
preloaded check that each allocation, free and anonymous mapping is
reported once with its size, nothing while a hook runs, across threads,
fork and exec. Then the command end to end: np.ones(10**7) shows its 80 MB
on its line with --native (and not without), pymalloc's blocks are not
counted twice, and the re-executed program keeps its pid, stdio, exit
status and the user's LD_PRELOAD.
"""
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import MARK, one_error
from venvs import ROOT, SANITIZE

TARGETS = ROOT / "tests" / "targets"
PROBES = ["malloc", "calloc", "realloc", "aligned", "mmap", "dlsym",
          "threads", "fork"]
# What the shim defines: the allocators and its one entry point.
SHIM_SYMBOLS = sorted([
    "malloc", "calloc", "realloc", "reallocarray", "free", "posix_memalign",
    "aligned_alloc", "memalign", "valloc", "pvalloc", "mmap", "mmap64",
    "munmap", "spyglass_native_set_hooks"])

_shims = {}


def shim_of(py):
    """The installed spyglass/_native.so of a venv (the package is found,
    not imported)."""
    if py.version not in _shims:
        proc = py.py("-c", "import importlib.util as u; "
                     "print(u.find_spec('spyglass').submodule_search_"
                     "locations[0])")
        assert proc.returncode == 0, proc.stderr
        _shims[py.version] = Path(proc.stdout.strip()) / "_native.so"
    return _shims[py.version]


def preloaded(py, *libs):
    """The venv's environment with exactly libs preloaded (no libasan:
    the shim and the programs here are not instrumented)."""
    env = dict(py.env)
    env["LD_PRELOAD"] = ":".join(str(lib) for lib in libs)
    return env


def need_numpy(py):
    # Asked without libasan, whose leak report fails any import of numpy.
    if py.py("-c", "import numpy", env=preloaded(py)).returncode != 0:
        pytest.skip("numpy is not installed in the test venv "
                    "(tests/venvs.py VENV_PACKAGES)")


def gcc(tmp_path_factory, src, *args):
    if not shutil.which("gcc"):
        pytest.skip("needs gcc")
    out = tmp_path_factory.mktemp("native") / Path(src).stem
    proc = subprocess.run(
        ["gcc", "-std=c11", "-D_GNU_SOURCE", "-O1", "-Wall", "-Wextra",
         "-Werror", "-Wno-unused-parameter", f"-I{ROOT / 'src'}",
         str(TARGETS / src), "-o", str(out), *args],
        capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return out


@pytest.fixture(scope="session")
def probe(tmp_path_factory):
    return gcc(tmp_path_factory, "native_probe.c", "-pthread", "-ldl")


@pytest.fixture(scope="session")
def hooks_lib(tmp_path_factory):
    return gcc(tmp_path_factory, "native_hooks.c", "-shared", "-fPIC")


# ---- the shim alone --------------------------------------------------------

@pytest.mark.parametrize("name", PROBES)
def test_shim_reports_each_call_once(any_py, probe, name):
    proc = subprocess.run([str(probe), name], capture_output=True, text=True,
                          timeout=120,
                          env=preloaded(any_py, shim_of(any_py)))
    assert proc.returncode == 0 and proc.stdout == "ok\n", \
        proc.stdout + proc.stderr


def test_probe_fails_without_the_shim(any_py, probe):
    # The probe notices when nothing is interposed.
    proc = subprocess.run([str(probe), "malloc"], capture_output=True,
                          text=True, timeout=60, env=preloaded(any_py))
    assert proc.returncode == 1
    assert "not loaded" in proc.stdout


def test_shim_defines_the_allocators_only_and_needs_no_python(any_py):
    shim = shim_of(any_py)
    nm = subprocess.run(["nm", "-D", "--defined-only", str(shim)],
                        capture_output=True, text=True)
    assert nm.returncode == 0, nm.stderr
    names = sorted(line.split()[-1] for line in nm.stdout.splitlines())
    assert names == SHIM_SYMBOLS
    dyn = subprocess.run(["readelf", "-d", str(shim)], capture_output=True,
                         text=True)
    needed = re.findall(r"\(NEEDED\).*\[(.*)\]", dyn.stdout)
    assert needed and all(re.match(r"lib(c|dl)\.so", n) for n in needed), \
        needed


def run_hooked(py, hooks_lib, code, *args, **kw):
    """python -c code hooks_lib args..., with the shim preloaded."""
    return py.py("-c", code, str(hooks_lib), *args,
                 env=preloaded(py, shim_of(py)), **kw)


# counts(0) blocks made, counts(1) freed, counts(2) bytes made.
HOOKED = """\
import ctypes, sys
hooks = ctypes.CDLL(sys.argv[1])
def counts():
    return [hooks.counts(i) for i in range(3)]
"""


def test_shim_in_python_a_ctypes_malloc(py, hooks_lib):
    code = HOOKED + """\
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
assert hooks.watch(ctypes.c_size_t(12345679)) == 0
p = libc.malloc(12345679)
made = counts()
libc.free(p)
freed = counts()
hooks.unwatch()
q = libc.malloc(12345679)
libc.free(q)
print(made, freed, counts())
"""
    proc = run_hooked(py, hooks_lib, code)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split("] [") == [
        "[1, 0, 12345679", "1, 1, 12345679", "1, 1, 12345679]\n"]


def test_shim_in_python_numpy_ones(py, hooks_lib):
    need_numpy(py)
    code = HOOKED + """\
import numpy as np
hooks.watch(ctypes.c_size_t(8 * 10**7))
a = np.ones(10**7)
made = counts()
del a
print(made, counts())
"""
    proc = run_hooked(py, hooks_lib, code)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "[1, 0, 80000000] [1, 1, 80000000]\n"


def test_shim_in_python_threads_fork_exec(py, hooks_lib):
    # Every block reported, on every thread, while a child is forked and
    # another execs: the program runs as it would, its hooks count.
    code = HOOKED + """\
import os, subprocess, threading
hooks.watch(ctypes.c_size_t(0))
def work():
    for i in range(20000):
        b = bytearray(i % 3000 + 600)
        d = {j: str(j) for j in range(i % 7)}
pid = os.fork()
if pid == 0:
    work()
    os._exit(0 if counts()[0] > 0 else 3)
ts = [threading.Thread(target=work) for _ in range(4)]
for t in ts:
    t.start()
out = subprocess.run(["sh", "-c", "echo $((6*7))"], capture_output=True,
                     text=True).stdout
for t in ts:
    t.join()
_, status = os.waitpid(pid, 0)
hooks.unwatch()
made, freed, nbytes = counts()
print(out.strip(), os.waitstatus_to_exitcode(status) if hasattr(
    os, "waitstatus_to_exitcode") else status >> 8, made >= 4 * 20000,
    0 < freed <= made, nbytes > 4 * 20000 * 600)
"""
    proc = run_hooked(py, hooks_lib, code, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "42 0 True True True\n"


def test_shim_without_hooks_changes_nothing(py):
    code = "import sys, zlib; print(zlib.crc32(bytes(range(256)) * 999))"
    plain = py.py("-c", code, env=preloaded(py))
    shimmed = py.py("-c", code, env=preloaded(py, shim_of(py)))
    assert plain.returncode == shimmed.returncode == 0, shimmed.stderr
    assert shimmed.stdout == plain.stdout and shimmed.stderr == ""


# ---- spyglass memory --native ----------------------------------------------

def need_memory(py):
    """Skip while this build has no `spyglass memory` command (its parts
    are built on other branches)."""
    if py.spy("memory", "--help").returncode != 0:
        pytest.skip("this build has no `spyglass memory` command yet")


UNITS = {"B": 1, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30,
         "KB": 10**3, "MB": 10**6, "GB": 10**9}


def byte_values(line):
    """Every amount on a line of the table, in bytes."""
    return [float(n) * UNITS[u] for n, u in re.findall(
        r"(-?\d+(?:\.\d+)?)\s*(B|KiB|MiB|GiB|KB|MB|GB)\b", line)]


def line_of(out, text):
    rows = [row for row in out.splitlines() if text in row]
    assert rows, out
    return rows[0]


NUMPY_SCRIPT = """\
import ctypes

import numpy as np

libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p


def main():
    a = np.ones(10**7)
    b = [0] * 10**6
    p = libc.malloc(5 * 10**7)
    return a, b, p


main()
"""


def increment(out, text):
    """The Increment column (memory_profiler's second amount: after Mem
    usage) of the line holding text, in bytes."""
    row = line_of(out, text)
    vals = byte_values(row)
    assert len(vals) >= 2, row
    return vals[1]


def near(value, want, tolerance):
    return abs(value - want) <= want * tolerance


def test_native_numpy_ones_on_its_line(py, tmp_path):
    need_memory(py)
    script = tmp_path / "ones.py"
    script.write_text(NUMPY_SCRIPT)
    if SANITIZE:
        # Refused before the program runs (numpy is not imported).
        one_error(py.spy("memory", "--native", script), 1,
                  "AddressSanitizer")
        return
    need_numpy(py)
    native = py.spy("memory", "--native", script)
    plain = py.spy("memory", script)
    assert native.returncode == 0 and plain.returncode == 0, \
        native.stderr + plain.stderr
    # numpy's buffer, once (depending on numpy's version it comes from
    # malloc or from PyMem_RawMalloc, which calls malloc: never twice).
    assert near(increment(native.stdout, "np.ones"), 8 * 10**7, 0.01), \
        native.stdout
    # A malloc of the program's own: seen with --native only.
    assert near(increment(native.stdout, "libc.malloc("), 5 * 10**7, 0.01), \
        native.stdout
    assert increment(plain.stdout, "libc.malloc(") < 10**6, plain.stdout
    # The list's block goes through CPython's allocator, which calls
    # malloc: counted once, with or without --native.
    for out in (native.stdout, plain.stdout):
        assert near(increment(out, "[0] * 10**6"), 8 * 10**6, 0.02), out


REEXEC = """\
import os, subprocess, sys
print(os.getpid(), sys.stdin.readline().strip(), flush=True)
print(repr(os.environ.get("LD_PRELOAD")), "SPYGLASS_NATIVE" in os.environ)
sh = "echo ${LD_PRELOAD-unset} ${SPYGLASS_NATIVE-unset}"
print(subprocess.run(["sh", "-c", sh], capture_output=True,
                     text=True).stdout.strip())
sys.exit(7)
"""


@pytest.mark.skipif(SANITIZE, reason="--native is refused under ASan")
@pytest.mark.parametrize("user", [None, "", "hooks"])
def test_native_reexec_keeps_pid_stdio_status_and_env(py, tmp_path,
                                                      hooks_lib, user):
    need_memory(py)
    script = tmp_path / "reexec.py"
    script.write_text(REEXEC)
    env = dict(py.env)
    env.pop("SPYGLASS_NATIVE", None)
    env.pop("LD_PRELOAD", None)
    if user is not None:
        env["LD_PRELOAD"] = str(hooks_lib) if user else user
    proc = subprocess.Popen([py.spyglass, "memory", "--native", str(script)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env,
                            cwd=tmp_path)
    out, err = proc.communicate("hello\n", timeout=300)
    assert proc.returncode == 7, err
    lines = out.splitlines()
    assert lines[0] == f"{proc.pid} hello", out
    want = env.get("LD_PRELOAD")
    assert lines[1] == f"{want!r} False", out
    assert lines[2] == f"{'unset' if want is None else want} unset".strip(), \
        out


@pytest.mark.skipif(SANITIZE, reason="--native is refused under ASan")
def test_native_never_reexecutes_twice(py, tmp_path):
    # SPYGLASS_NATIVE says the interpreter was already re-executed: the
    # shim missing then is an error, not another exec.
    need_memory(py)
    mark = tmp_path / "ran"
    env = dict(py.env, SPYGLASS_NATIVE="1")
    env.pop("LD_PRELOAD", None)
    proc = py.spy("memory", "--native", "-c", MARK, mark, env=env)
    one_error(proc, 1, "SPYGLASS_NATIVE")
    assert not mark.exists()


BIG_BLOCKS = """\
import ctypes

libc = ctypes.CDLL(None)
libc.calloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]


def main():
    p = libc.calloc(5, 1 << 30)
    q = libc.calloc(6, 1 << 30)
    libc.free(p)
    libc.free(q)


main()
"""


@pytest.mark.skipif(SANITIZE, reason="--native is refused under ASan")
def test_native_blocks_beyond_4_gib(any_py, tmp_path):
    # The block table keeps sizes in 32 bits and larger ones aside: both
    # the allocation and the free of a 5 and a 6 GiB block count in full
    # (calloc'ed and never touched, so they cost no memory).
    need_memory(any_py)
    script = tmp_path / "big.py"
    script.write_text(BIG_BLOCKS)
    out = any_py.spy("memory", "--native", script)
    if "Cannot allocate" in out.stderr or "MemoryError" in out.stderr:
        pytest.skip("this machine cannot reserve 11 GiB")
    assert out.returncode == 0, out.stderr
    gib = 1 << 30
    assert near(increment(out.stdout, "calloc(5"), 5 * gib, 0.001), out.stdout
    assert near(increment(out.stdout, "calloc(6"), 6 * gib, 0.001), out.stdout
    assert near(-increment(out.stdout, "free(p)"), 5 * gib, 0.001), out.stdout
    assert near(-increment(out.stdout, "free(q)"), 6 * gib, 0.001), out.stdout
