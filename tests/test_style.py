"""The C sources are formatted as the repository's .clang-format says."""
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Written by tools/gen_layouts.py, in its own layout.
GENERATED = {ROOT / "src" / "remote" / "layouts_gen.h"}


def c_sources():
    files = [p for d in ("src", "tests", "bench")
             for ext in ("*.c", "*.h") for p in (ROOT / d).rglob(ext)]
    return sorted(p for p in files if p not in GENERATED)


def test_c_sources_are_clang_formatted():
    exe = shutil.which("clang-format")
    if not exe:
        pytest.skip("clang-format is not installed (.ci/run installs it)")
    files = c_sources()
    assert len(files) > 50  # the glob found the tree
    proc = subprocess.run([exe, "--dry-run", "--Werror", *map(str, files)],
                          capture_output=True, text=True, cwd=ROOT)
    bad = sorted({line.split(":")[0] for line in proc.stderr.splitlines()
                  if "clang-format-violations" in line})
    assert proc.returncode == 0, ("not formatted (clang-format -i FILE): " +
                                  ", ".join(bad))
