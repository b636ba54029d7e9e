"""Virtual environments with spyglass installed, one per CPython version.

For each version found under pyenv (or named in SPYGLASS_TEST_PYTHONS) a venv
is made under $SPYGLASS_TEST_VENVS (default: .venvs/ in the repo) and spyglass
is installed into it the way a user would, `pip install .`, with a persistent
meson build directory per venv so that a re-run only recompiles what changed.
Used by the tests (tests/conftest.py) and the benchmarks (bench/).

Set SPYGLASS_SANITIZE=1 to build with ASan+UBSan (separate venvs); the
interpreters then run with libasan preloaded. Test builds turn warnings into
errors (-Dwerror=true); a user's `pip install .` does not.
"""
import atexit
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VERSIONS = ["3.8", "3.9", "3.10", "3.11", "3.12", "3.13"]
SANITIZE = os.environ.get("SPYGLASS_SANITIZE") == "1"
VENVS = Path(os.environ.get("SPYGLASS_TEST_VENVS", ROOT / ".venvs"))
if SANITIZE:
    VENVS = VENVS / "sanitize"
# Packages every test venv gets: the build backend (installs use
# --no-build-isolation so the meson build dir is reused) and oracles.
VENV_PACKAGES = {
    "default": ["meson-python", "meson", "ninja", "line_profiler",
                "gprof2dot", "pyperf", "numpy", "memory_profiler",
                "ipython", "coverage"],
    # The IPython magics' headless notebook run: one version is enough,
    # and the kernel is heavy (tests/test_ipython_notebook.py).
    "3.12": ["ipykernel", "nbclient", "nbformat"],
}
EXTRA_PACKAGES = os.environ.get("SPYGLASS_TEST_EXTRA", "").split()


def _pyenv_root():
    root = os.environ.get("PYENV_ROOT")
    if root:
        return Path(root)
    try:
        out = subprocess.run(["pyenv", "root"], capture_output=True,
                             text=True, check=True).stdout.strip()
        return Path(out)
    except (OSError, subprocess.CalledProcessError):
        return Path.home() / ".pyenv"


def find_interpreter(version):
    """The newest pyenv CPython of `version` (e.g. "3.11"), or None."""
    base = _pyenv_root() / "versions"
    found = []
    if base.is_dir():
        for d in base.iterdir():
            parts = d.name.split(".")
            if (len(parts) == 3 and ".".join(parts[:2]) == version
                    and parts[2].isdigit()):
                exe = d / "bin" / f"python{version}"
                if exe.exists():
                    found.append((int(parts[2]), exe))
    if found:
        return max(found)[1]
    exe = shutil.which(f"python{version}")
    return Path(exe) if exe else None


def selected_versions():
    env = os.environ.get("SPYGLASS_TEST_PYTHONS")
    return env.split(",") if env else VERSIONS


def _setup_args():
    """The meson options of a test build."""
    args = ["-Dwerror=true"]
    if SANITIZE:
        args += ["-Db_sanitize=address,undefined", "-Dbuildtype=debug",
                 "-Db_lundef=false"]
    return args


def _source_digest():
    """Hash of everything that goes into the build, and how it is built."""
    h = hashlib.sha256()
    files = [ROOT / "meson.build", ROOT / "meson.options",
             ROOT / "pyproject.toml"]
    for sub in ("src", "spyglass"):
        files += sorted((ROOT / sub).rglob("*"))
    for f in files:
        if f.is_file() and "__pycache__" not in f.parts:
            h.update(str(f.relative_to(ROOT)).encode())
            h.update(f.read_bytes())
    h.update(" ".join(_setup_args()).encode())
    return h.hexdigest()


def _asan_preload():
    out = subprocess.run(["gcc", "-print-file-name=libasan.so"],
                         capture_output=True, text=True).stdout.strip()
    return out


class Py:
    """One CPython version with spyglass installed in a venv."""

    def __init__(self, version, venv):
        self.version = version
        self.venv = venv
        self.python = str(venv / "bin" / "python")
        self.spyglass = str(venv / "bin" / "spyglass")
        self.env = dict(os.environ)
        self.env.pop("PYTHONPATH", None)
        self.env["PYTHONDONTWRITEBYTECODE"] = "1"
        if SANITIZE:
            self.env["LD_PRELOAD"] = _asan_preload()
            self.env["ASAN_OPTIONS"] = "detect_leaks=1:abort_on_error=0"
            self.env["LSAN_OPTIONS"] = (
                f"suppressions={ROOT / 'tests' / 'lsan.supp'}:"
                "print_suppressions=0")
            self.env["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=1"

    def __repr__(self):
        return f"Py({self.version})"

    def run(self, args, **kw):
        """Run a command (list) with this venv's environment; bytes
        arguments are passed as they are."""
        kw.setdefault("capture_output", True)
        kw.setdefault("text", True)
        kw.setdefault("timeout", 300)
        kw.setdefault("env", self.env)
        # A neutral directory: the repo root's spyglass/ would shadow the
        # installed package.
        kw.setdefault("cwd", NEUTRAL_CWD)
        return subprocess.run(
            [a if isinstance(a, bytes) else str(a) for a in args], **kw)

    def spy(self, *args, **kw):
        """Run the installed `spyglass` executable."""
        return self.run([self.spyglass, *args], **kw)

    def py(self, *args, **kw):
        """Run this venv's python."""
        return self.run([self.python, *args], **kw)


def _install(version, interp, venv):
    stamp = venv / ".spyglass-digest"
    digest = _source_digest()
    py = venv / "bin" / "python"
    if not py.exists():
        subprocess.run([str(interp), "-m", "venv", str(venv)], check=True)
        # The pip of older CPythons predates -C/--config-settings.
        subprocess.run([str(py), "-m", "pip", "install", "-q",
                        "--disable-pip-version-check", "-U", "pip"],
                       check=True)
    # The packages the suite needs can grow (a new oracle): a venv made
    # before gets them too, instead of skipping the tests that need them.
    wanted = " ".join(VENV_PACKAGES["default"] + EXTRA_PACKAGES +
                      VENV_PACKAGES.get(version, []))
    pstamp = venv / ".spyglass-packages"
    if not pstamp.exists() or pstamp.read_text() != wanted:
        subprocess.run([str(py), "-m", "pip", "install", "-q",
                        "--disable-pip-version-check", *wanted.split()],
                       check=True)
        pstamp.write_text(wanted)
    if stamp.exists() and stamp.read_text() == digest:
        return
    build_dir = venv / "build"
    args = [str(py), "-m", "pip", "install", "-q",
            "--disable-pip-version-check", "--no-build-isolation",
            "--no-deps", f"-Cbuild-dir={build_dir}"]
    args += [f"-Csetup-args={a}" for a in _setup_args()]
    args.append(str(ROOT))
    proc = subprocess.run(args, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"pip install . failed for Python {version}:\n"
                           f"{proc.stdout}\n{proc.stderr}")
    stamp.write_text(digest)


# The directory every test program runs in: empty and the suite's own, so
# that a relative path a test names ("-o x") means the same whatever else
# is in /tmp (a directory /tmp/x made the request tests fail).
NEUTRAL_CWD = tempfile.mkdtemp(prefix="spyglass-cwd-")
atexit.register(shutil.rmtree, NEUTRAL_CWD, True)


def install(version):
    """A Py for `version` with the current source installed, or None when
    that CPython is not on this machine."""
    interp = find_interpreter(version)
    if interp is None:
        return None
    venv = VENVS / version
    VENVS.mkdir(parents=True, exist_ok=True)
    _install(version, interp, venv)
    return Py(version, venv)
