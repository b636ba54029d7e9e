"""The fuzz targets (tests/fuzz/) as regression tests: each is built with
ASan and UBSan and its plain driver (driver.c) feeds it seeds and a fixed,
seeded series of mutations. Any out-of-bounds access, undefined behaviour
or broken invariant (the targets abort()) fails the test.

Longer runs with libFuzzer: tests/fuzz/run.sh [SECONDS] [TARGET...].
"""
import json
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from conftest import ROOT, VENVS

FUZZ = ROOT / "tests" / "fuzz"
SRC = ROOT / "src"
# Each target with the product sources it exercises.
TARGETS = {
    "elf": ["remote/elf.c"],
    "linetable": ["remote/linetable.c"],
    "pystr": ["remote/pystr.c", "common/strbuf.c", "common/alloc.c",
              "common/output.c", "common/err.c"],
    "dat": ["writers/datread.c", "model/timeline.c", "common/alloc.c"],
    "pstats": ["writers/pstatsread.c", "model/profile.c",
               "model/funcstats.c", "common/hashmap.c", "common/alloc.c",
               "common/strbuf.c", "common/err.c", "common/output.c"],
    "json": ["common/jsonread.c", "common/json.c", "writers/ssread.c",
             "model/profile.c", "common/hashmap.c", "common/alloc.c",
             "common/strbuf.c", "common/err.c", "common/output.c"],
}
ROUNDS = "20000"


def build(name, out):
    cc = shutil.which("cc") or shutil.which("gcc")
    exe = out / ("fuzz_" + name)
    srcs = [FUZZ / f"fuzz_{name}.c", FUZZ / "driver.c",
            *(SRC / s for s in TARGETS[name])]
    proc = subprocess.run(
        [cc, "-std=c11", "-g", "-O1", "-Wall", "-Wextra", "-Werror",
         "-fsanitize=address,undefined", "-fno-sanitize-recover=all",
         "-D_GNU_SOURCE", "-I", str(SRC), "-I", str(FUZZ),
         *map(str, srcs), "-o", str(exe)],
        capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return exe


def elf_seeds(d):
    src = FUZZ / "elf_seed.c"
    subprocess.run(["cc", "-shared", "-fPIC", "-o", d / "seed.so", src],
                   check=True)
    subprocess.run(["cc", "-no-pie", "-o", d / "seed-exe", src], check=True)
    subprocess.run(["strip", "-o", d / "seed-stripped.so", d / "seed.so"],
                   check=True)
    # The same image built "for" aarch64 (e_machine 183): parsed as far as
    # telling which machine it is for.
    foreign = bytearray((d / "seed.so").read_bytes())
    foreign[18:20] = (183).to_bytes(2, "little")
    (d / "seed-aarch64.so").write_bytes(foreign)
    return [d / "seed.so", d / "seed-exe", d / "seed-stripped.so",
            d / "seed-aarch64.so"]


def linetable_seeds(d):
    """Real tables of this interpreter's code objects: its location table
    (format 2) and the lnotab view of it (formats 0 and 1 share its
    pair layout)."""
    def sample(a, b=0, *, c=1):
        for i in range(a):
            try:
                b += i if i % 3 else -i
            except ValueError:
                pass
        return [x * 2 for x in range(b)]

    out = []
    for k, code in enumerate((sample.__code__, build.__code__,
                              linetable_seeds.__code__)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            tables = [(0, code.co_lnotab), (1, code.co_lnotab)]
        if sys.version_info >= (3, 11):
            tables.append((2, code.co_linetable))
        for fmt, tab in tables:
            p = d / f"lt{k}_{fmt}"
            p.write_bytes(bytes([fmt]) +
                          code.co_firstlineno.to_bytes(4, "little") + tab)
            out.append(p)
    return out


def pystr_seeds(d):
    texts = {1: "plain ascii, caf\xe9 \xff".encode("latin-1"),
             2: "名前 \u20ac".encode("utf-16-le") + b"\x00\xd8",  # lone
             4: "\U0001F600 x".encode("utf-32-le") + b"\xff\xff\x11\x00"}
    out = []
    for kind, payload in texts.items():
        p = d / f"str{kind}"
        p.write_bytes(bytes([{1: 0, 2: 1, 4: 2}[kind]]) + payload)
        out.append(p)
    return out


def dat_seeds(d):
    """An mprof -M file with a function bracket, and a damaged one."""
    good = ("CMDLINE python3 x.py\nMEM 12.500000 1795476171.2658\n"
            "CHLD 10374 10.546875 1795476171.2898\n"
            "FUNC __main__.work 21.7422 1795476170.4773 44.6250 "
            "1795476170.6186 0\nMEM 30.25 1795476171.3658\n")
    out = []
    for name, text in (("good.dat", good),
                       ("bad.dat", good.replace("10.546875", "1e999"))):
        (d / name).write_text(text)
        out.append(d / name)
    return out


def pstats_seeds(d):
    """A pstats file of this interpreter's cProfile (marshal v4, with
    references), one in spyglass's layout (version 2 codes), and folded
    stacks."""
    import cProfile
    import marshal
    prof = cProfile.Profile()
    prof.runcall(sorted, [3, 1, 2], key=lambda x: -x)
    prof.create_stats()
    (d / "c.pstats").write_bytes(marshal.dumps(prof.stats))
    (d / "v2.pstats").write_bytes(marshal.dumps(prof.stats, 2))
    (d / "s.folded").write_text("main (a.py:1);f (a.py:3) 5\n"
                                "main (a.py:1);g (b.py:7);f (a.py:3) 2\n")
    return [d / "c.pstats", d / "v2.pstats", d / "s.folded"]


def json_seeds(d):
    """A sampled speedscope file as spyglass writes them (two threads),
    an evented one with escapes and nulls, and JSON of every kind of
    value."""
    sampled = {
        "$schema": "https://www.speedscope.app/file-format-schema.json",
        "shared": {"frames": [{"name": "main", "file": "a.py", "line": 1},
                              {"name": "f", "file": "a.py", "line": 3},
                              {"name": "<built-in>"}]},
        "profiles": [
            {"type": "sampled", "name": 'Thread 7 "MainThread"',
             "unit": "nanoseconds", "startValue": 0, "endValue": 9,
             "samples": [[0, 1], [0, 2], []], "weights": [5, 3, 1]},
            {"type": "sampled", "name": "worker", "unit": "nanoseconds",
             "startValue": 0, "endValue": 2, "samples": [[1]],
             "weights": [2]}],
        "name": "spyglass record", "exporter": "spyglass@0.1.0"}
    evented = {
        "shared": {"frames": [{"name": "m\u00e9\ud83d\ude00",
                               "file": None, "line": None},
                              {"name": "g\n", "file": "b.py"}]},
        "profiles": [{"type": "evented", "name": "e",
                      "unit": "milliseconds", "startValue": 1.5,
                      "endValue": 20,
                      "events": [{"type": "O", "at": 1.5, "frame": 0},
                                 {"type": "O", "at": 2e0, "frame": 1},
                                 {"type": "C", "at": 4.25, "frame": 1}]}]}
    (d / "sampled.json").write_text(json.dumps(sampled, indent=1))
    (d / "evented.json").write_text(json.dumps(evented))
    (d / "values.json").write_text(
        '[{"a": [true, false, null, -0.5e-3, 12, "x\\"\\/\\t"]}, '
        '{}, [], "\u00e9"]', encoding="utf-8")
    return [d / "sampled.json", d / "evented.json", d / "values.json"]


SEEDS = {"json": json_seeds, "elf": elf_seeds, "linetable": linetable_seeds,
         "pystr": pystr_seeds, "dat": dat_seeds, "pstats": pstats_seeds}


@pytest.fixture(scope="session")
def fuzz_dir():
    d = VENVS / "fuzz"
    d.mkdir(parents=True, exist_ok=True)
    return d


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_fuzz_target(fuzz_dir, tmp_path, name):
    if not (shutil.which("cc") or shutil.which("gcc")):
        pytest.skip("no C compiler")
    exe = build(name, fuzz_dir)
    seeds = SEEDS[name](tmp_path)
    env = dict(os.environ, FUZZ_ROUNDS=ROUNDS, FUZZ_SEED="1",
               UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1",
               ASAN_OPTIONS="detect_leaks=1")
    env.pop("LD_PRELOAD", None)  # the sanitizer suite preloads libasan
    proc = subprocess.run([str(exe), *map(str, seeds)], capture_output=True,
                          text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-4000:]
    assert proc.stdout.count(f"{ROUNDS} rounds") == len(seeds), proc.stdout
