"""The wheels of tools/wheels/build.py, installed where no compiler is.

`make test-wheels` builds the wheels and the sdist into dist/ and runs this
file with SPYGLASS_TEST_WHEELS naming that folder; elsewhere (`make test`)
every test of a wheel here is a visible skip: six wheel builds take
minutes. The wheel build's glibc compat header is checked in both.

Each CPython's wheel is installed by pip (no index, no build) into a fresh
venv of that CPython, then run with a PATH that holds that venv's bin/ only:
no cc, gcc, clang or zig, and no meson or ninja anywhere. The oracles are
cProfile and pstats of the same interpreter, and the target's own
traceback. The ELF files of each wheel must ask for no glibc symbol
version newer than the baseline, nor for any library beyond the C one.
"""
import json
import os
import re
import shutil
import subprocess
import time
import zipfile
from pathlib import Path

import pytest

from venvs import find_interpreter, selected_versions

WHEELS = os.environ.get("SPYGLASS_TEST_WHEELS")
built = pytest.mark.skipif(
    not WHEELS, reason="wheels: `make test-wheels` builds and checks them")

# manylinux2014: glibc 2.17, and the libraries that policy allows that the
# wheels need (libpthread and libdl are parts of glibc 2.17 of their own).
BASELINE = (2, 17)
TAG = "manylinux_2_17_x86_64"
ALLOWED_LIBS = {"libc.so.6", "libm.so.6", "libpthread.so.0", "libdl.so.2",
                "ld-linux-x86-64.so.2"}
COMPILERS = ["cc", "gcc", "clang", "c99", "tcc", "zig", "meson", "ninja"]
# The version a wheel's file name carries (spyglass-0.1.0-cp312-...).
WHEEL_NAME = re.compile(r"spyglass-([^-]+)-(cp3\d+)-(cp3\d+)-(.+)\.whl")


def wheel_for(version):
    """The wheel of CPython `version` in SPYGLASS_TEST_WHEELS; skips when
    it was not built (the build says which CPythons it did not find)."""
    tag = "cp" + version.replace(".", "")
    found = sorted(Path(WHEELS).glob(f"spyglass-*-{tag}-{tag}-*.whl"))
    if not found:
        pytest.skip(f"no {tag} wheel in {WHEELS} (make wheels)")
    return found[-1]


class Installed:
    """A fresh venv of one CPython with one wheel installed into it."""

    def __init__(self, version, wheel, where):
        interp = find_interpreter(version)
        if interp is None:
            pytest.skip(f"CPython {version} not found (pyenv or PATH)")
        self.version, self.wheel, self.dir = version, wheel, where
        subprocess.run([str(interp), "-m", "venv", str(where / "venv")],
                       check=True)
        self.bin = where / "venv" / "bin"
        self.python = self.bin / "python"
        # A PATH with nothing but the venv, and no compiler variables.
        self.env = {"PATH": str(self.bin), "HOME": str(where),
                    "LANG": "C.UTF-8"}
        start = time.monotonic()
        self.pip_install = self.run(
            self.python, "-m", "pip", "install", "--no-index", "--no-deps",
            "--disable-pip-version-check", "--no-cache-dir", wheel)
        self.install_seconds = time.monotonic() - start
        self.spyglass = self.bin / "spyglass"

    def run(self, *cmd, **kw):
        return subprocess.run([str(c) for c in cmd], env=self.env,
                              cwd=self.dir, capture_output=True, text=True,
                              timeout=120, **kw)


_installed = {}


@pytest.fixture(params=selected_versions(), ids=lambda v: f"wheel{v}")
def inst(request, tmp_path_factory):
    """CPython `version`'s wheel installed in a venv of its own (once)."""
    v = request.param
    if v not in _installed:
        _installed[v] = Installed(v, wheel_for(v),
                                  tmp_path_factory.mktemp(f"wheel{v}"))
    return _installed[v]


@built
def test_installs_without_a_compiler(inst):
    assert inst.pip_install.returncode == 0, inst.pip_install.stderr
    path = inst.env["PATH"]
    assert [c for c in COMPILERS if shutil.which(c, path=path)] == []
    assert inst.run(inst.python, "-c", "import mesonbuild").returncode != 0
    # pip put the executable on the venv's PATH, from the wheel's scripts.
    assert shutil.which("spyglass", path=path) == str(inst.spyglass)
    version = WHEEL_NAME.fullmatch(inst.wheel.name).group(1)
    proc = inst.run("spyglass", "--version")
    assert proc.returncode == 0 and proc.stdout == f"spyglass {version}\n", \
        (proc.stdout, proc.stderr)
    print(f"\nCPython {inst.version}: pip install of the wheel "
          f"{inst.install_seconds:.2f} s")


@built
def test_timeit(inst):
    proc = inst.run("spyglass", "timeit", "pass")
    assert proc.returncode == 0, proc.stderr
    # python -m timeit's result line, then the mean over the repeats.
    first = proc.stdout.splitlines()[0]
    assert re.fullmatch(r"\d+ loops?, best of 5: [\d.]+ [nu]?sec per loop",
                        first), proc.stdout


# f runs 37 times and g 5: cProfile counts as much.
PROFILED = "def f(): pass\ndef g(): [f() for _ in range(7)]\n" \
           "for _ in range(5): g()\nf(); f()\n"
NCALLS = """
import pstats, sys
s = pstats.Stats(sys.argv[1]).stats
print(sorted((k[2], v[1]) for k, v in s.items() if k[2] in ("f", "g")))
"""


@built
def test_profile_counts_as_cprofile(inst):
    ours = inst.dir / "spyglass.pstats"
    proc = inst.run("spyglass", "profile", "-o", ours, "-c", PROFILED)
    assert proc.returncode == 0, proc.stderr
    theirs = inst.dir / "cprofile.pstats"
    assert inst.run(inst.python, "-c", "import cProfile, sys; "
                    "cProfile.run(sys.argv[1], sys.argv[2])", PROFILED,
                    theirs).returncode == 0
    counts = [inst.run(inst.python, "-c", NCALLS, p).stdout
              for p in (ours, theirs)]
    assert counts[0] == counts[1] == "[('f', 37), ('g', 5)]\n", counts
    table = inst.run("spyglass", "profile", "-c", PROFILED).stdout
    assert re.search(r"^\s+37\s.*<string>:1\(f\)$", table, re.M), table


# Parks in park() under outer(), after writing its own stack (innermost
# first, as spyglass dump lists it) to argv[1].
TARGET = """
import os, sys, time, traceback
def park(path):
    stack = [f.name for f in reversed(traceback.extract_stack())]
    with open(path + ".tmp", "w") as f:
        f.write(" ".join(stack))
    os.rename(path + ".tmp", path)
    while True:
        time.sleep(0.05)
def outer(path):
    park(path)
outer(sys.argv[1])
"""


@built
def test_dump_of_a_live_interpreter(inst):
    ready = inst.dir / "stack.txt"
    proc = subprocess.Popen([str(inst.python), "-c", TARGET, str(ready)],
                            env=inst.env, cwd=inst.dir)
    try:
        deadline = time.monotonic() + 60
        while not ready.exists():
            assert proc.poll() is None, "the target died"
            assert time.monotonic() < deadline, "the target never got ready"
            time.sleep(0.02)
        dump = inst.run("spyglass", "dump", "--pid", proc.pid, "-f", "json")
    finally:
        proc.kill()
        proc.wait()
    assert dump.returncode == 0, dump.stderr
    data = json.loads(dump.stdout)
    assert data["python_version"].startswith(inst.version + ".")
    main = [t for t in data["threads"] if t["is_main"]]
    assert len(main) == 1
    names = [f["name"] for f in main[0]["frames"]]
    # The target's stack, less its last frame's position: it was written
    # from inside park() and the dump finds it sleeping there.
    assert names == ready.read_text().split(), (names, ready.read_text())


def elf_files(wheel, where):
    """The ELF files of a wheel, extracted under where."""
    with zipfile.ZipFile(wheel) as z:
        z.extractall(where)
    return [p for p in where.rglob("*")
            if p.is_file() and p.read_bytes()[:4] == b"\x7fELF"]


def readelf(*args):
    return subprocess.run(["readelf", "-W", *map(str, args)],
                          capture_output=True, text=True, check=True).stdout


@built
@pytest.mark.parametrize("version", selected_versions(),
                         ids=lambda v: f"wheel{v}")
def test_no_glibc_newer_than_baseline(version, tmp_path):
    if shutil.which("readelf") is None:
        pytest.skip("readelf (binutils) not found")
    wheel = wheel_for(version)
    assert TAG in wheel.name and "manylinux2014_x86_64" in wheel.name
    files = elf_files(wheel, tmp_path)
    ext = f"_agent.cpython-{version.replace('.', '')}-x86_64-linux-gnu.so"
    assert sorted(p.name for p in files) == sorted(
        ["spyglass", "_native.so", ext])
    for elf in files:
        versions = set(re.findall(r"GLIBC_(\d+)\.(\d+)",
                                  readelf("--version-info", elf)))
        assert versions, elf
        newest = max((int(a), int(b)) for a, b in versions)
        assert newest <= BASELINE, (elf.name, newest)
        needed = set(re.findall(r"\(NEEDED\).*\[(.+)\]",
                                readelf("--dynamic", elf)))
        assert needed <= ALLOWED_LIBS, (elf.name, needed - ALLOWED_LIBS)
        # A symbol the baseline's C library lacks would link unversioned
        # and fail only where it runs: every undefined global is versioned,
        # but the C API the interpreter itself provides to the extension.
        for line in readelf("--dyn-syms", elf).splitlines():
            f = line.split()
            if len(f) >= 8 and f[6] == "UND" and f[4] == "GLOBAL":
                name = f[7]
                assert "@GLIBC_" in name or (
                    elf.name.startswith("_agent")
                    and re.match(r"_?Py", name)), (elf.name, name)
        # Stripped: no static symbol table.
        assert ".symtab" not in readelf("--section-headers", elf), elf.name


@built
@pytest.mark.parametrize("version", selected_versions(),
                         ids=lambda v: f"wheel{v}")
def test_metadata(version):
    """No dependency, the license and its file, the supported versions, and
    the README as the description."""
    wheel = wheel_for(version)
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        info = next(n.split("/")[0] for n in names
                    if n.endswith(".dist-info/METADATA"))
        meta = z.read(f"{info}/METADATA").decode()
        license_text = z.read(f"{info}/licenses/LICENSE").decode()
    head, _, body = meta.partition("\n\n")
    fields = [tuple(line.split(": ", 1)) for line in head.splitlines()]
    assert not [v for k, v in fields if k == "Requires-Dist"]
    assert ("License-Expression", "MIT") in fields
    assert ("License-File", "LICENSE") in fields
    assert license_text.startswith("MIT License")
    python = [v for k, v in fields if k == "Requires-Python"]
    assert len(python) == 1 and set(python[0].split(",")) == {">=3.8",
                                                              "<3.14"}
    assert ("Classifier", f"Programming Language :: Python :: {version}") \
        in fields
    assert ("Description-Content-Type", "text/markdown") in fields
    readme = (Path(__file__).resolve().parent.parent / "README.md")
    assert body.strip() == readme.read_text().strip()


@built
def test_sdist_builds_where_a_compiler_is(tmp_path):
    """The sdist installs with pip (build isolation: meson-python from the
    index) on the newest CPython here, compiled without -Werror."""
    sdists = sorted(Path(WHEELS).glob("spyglass-*.tar.gz"))
    if not sdists:
        pytest.skip(f"no sdist in {WHEELS} (make wheels)")
    if shutil.which("cc") is None:
        pytest.skip("no C compiler here")
    version = next((v for v in reversed(selected_versions())
                    if find_interpreter(v)), None)
    if version is None:
        pytest.skip("no CPython 3.8-3.13 found")
    subprocess.run([str(find_interpreter(version)), "-m", "venv",
                    str(tmp_path / "venv")], check=True)
    bin_dir = tmp_path / "venv" / "bin"
    proc = subprocess.run(
        [str(bin_dir / "python"), "-m", "pip", "install", "-v",
         "--disable-pip-version-check", "--no-cache-dir", str(sdists[-1])],
        capture_output=True, text=True, cwd=tmp_path, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    # meson's summary of the options it was set up with.
    assert re.search(r"werror\s*:\s*true", proc.stdout) is None
    assert "-Werror" not in proc.stdout
    out = subprocess.run([str(bin_dir / "spyglass"), "--version"],
                         capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.startswith("spyglass "), out


# The compat header's system calls are the C library's: the numbers are
# those of this machine's <sys/syscall.h>, memfd_create makes a file that
# holds what is written, and gettid is the thread's id.
COMPAT_CHECK = r"""
#include <assert.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int
main(void)
{
    char buf[8] = {0};
    int fd = memfd_create("compat-check", MFD_CLOEXEC);
    if (SG_COMPAT_NR_MEMFD_CREATE != SYS_memfd_create ||
        SG_COMPAT_NR_GETTID != SYS_gettid || fd < 0 ||
        write(fd, "held", 4) != 4 || lseek(fd, 0, SEEK_SET) != 0 ||
        read(fd, buf, sizeof buf) != 4 || strcmp(buf, "held") != 0 ||
        gettid() != (int)syscall(SYS_gettid) || gettid() != getpid())
        return 1;
    puts("ok");
    return 0;
}
"""


def test_compat_header_is_the_c_library(tmp_path):
    cc = shutil.which("cc")
    if cc is None:
        pytest.skip("no C compiler here")
    compat = Path(__file__).resolve().parent.parent / "tools" / "wheels"
    src = tmp_path / "check.c"
    src.write_text(COMPAT_CHECK)
    exe = tmp_path / "check"
    subprocess.run([cc, "-std=c11", "-D_GNU_SOURCE", "-Wall", "-Wextra",
                    "-Werror", "-include", str(compat / "glibc_compat.h"),
                    str(src), "-o", str(exe)], check=True)
    proc = subprocess.run([str(exe)], capture_output=True, text=True)
    assert (proc.returncode, proc.stdout) == (0, "ok\n")
