"""Run the C unit tests (tests/c/test_*.c), one pytest test per binary.

They are built in their own meson build directory with -Dtests=true, with the
same warnings-as-errors flags as the product (and ASan+UBSan under
SPYGLASS_SANITIZE=1).
"""
import os
import subprocess
from pathlib import Path

import pytest

from conftest import ROOT, SANITIZE, VENVS

UNITS = sorted(p.stem for p in (ROOT / "tests" / "c").glob("test_*.c"))


@pytest.fixture(scope="session")
def unit_build():
    build = VENVS / "cunits"
    args = ["meson", "setup", str(build), str(ROOT), "-Dtests=true",
            "-Dbuildtype=debug"]
    if SANITIZE:
        args += ["-Db_sanitize=address,undefined", "-Db_lundef=false"]
    if (build / "build.ninja").exists():
        args.insert(2, "--reconfigure")
    proc = subprocess.run(args, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    proc = subprocess.run(["ninja", "-C", str(build)], capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return build


@pytest.mark.parametrize("name", UNITS)
def test_c_unit(unit_build, name):
    exe = Path(unit_build) / "tests" / "c" / name
    assert exe.exists(), f"{name} is not listed in tests/c/meson.build"
    env = dict(os.environ)
    # Undefined behaviour fails the test, not just a line on stderr.
    env["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=1"
    proc = subprocess.run([str(exe)], capture_output=True, text=True,
                          timeout=300, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert " 0 failed" in proc.stdout
    assert "runtime error" not in proc.stderr, proc.stderr


def test_shared_core_never_exits(unit_build):
    """sg_core, which the extension links too, neither defines nor calls
    anything that exits: out of memory is reported, not fatal, inside the
    user's process (sg_die and the sg_x* allocators are the executable's)."""
    lib = Path(unit_build) / "libsg_core.a"
    out = subprocess.run(["nm", str(lib)], capture_output=True, text=True,
                         check=True).stdout
    symbols = {line.split()[-1] for line in out.splitlines()
               if line.strip() and not line.endswith(":")}
    assert "sg_malloc" in symbols  # the listing is of the right library
    exits = {"exit", "_exit", "_Exit", "quick_exit", "sg_die", "sg_xmalloc",
             "sg_xcalloc", "sg_xrealloc", "sg_xstrdup", "sg_oom_exit"}
    assert not symbols & exits
