"""Overhead of `spyglass lines` vs line_profiler's kernprof -l, per CPython.

usage: python3 bench/lines_bench.py [--venvs DIR] [--versions 3.8,...]
                                    [--repeat N] [--callgrind]

Each venv under DIR/<version> needs spyglass and line_profiler installed
(tests/venvs.py makes such venvs: SPYGLASS_TEST_VENVS=DIR). Workloads, each
with the profiled function decorated with @profile (so both tools profile
exactly the same function):
  (a) tight: a two-line loop body, line_profiler's worst case;
  (b) julia: examples/julia.py's inner function (250x250 grid, 300 iter);
  (c) share: the profiled function is a small part of the run (the rest is
      unprofiled recursive calls).
For each, the whole process is timed: plain python (with a no-op
`profile`), kernprof -l, spyglass lines; runs are interleaved, repeated,
and the median taken. Overhead = median / plain median - 1.
With --callgrind, each command runs once under valgrind's callgrind (all
processes it starts) on smaller inputs, and instructions are compared
instead of seconds: deterministic where a loaded machine makes wall time
noisy.
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from profile_bench import no_aslr  # noqa: E402

TIGHT = '''
@profile
def tight(n):
    y = 0
    for x in range(n):
        y = x
    return y

tight({N})
'''

SHARE = '''
def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)

@profile
def small(n):
    t = 0
    for i in range(n):
        t += i
    return t

for _ in range(10):
    fib({FIB})
    small(2000)
'''

NOOP = "import builtins\nbuiltins.profile = lambda f: f\n"


def julia_source():
    src = (ROOT / "examples" / "julia.py").read_text()
    return src.replace("def calculate_z_serial_purepython",
                       "@profile\ndef calculate_z_serial_purepython")


def run_callgrind(cmd, cwd):
    # Without address randomisation (profile_bench.no_aslr): repeatable.
    proc = subprocess.run([*no_aslr(), "valgrind", "--tool=callgrind",
                           "--trace-children=yes",
                           "--callgrind-out-file=/dev/null", *cmd],
                          cwd=cwd, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd} failed: {proc.stderr[-2000:]}")
    counts = re.findall(r"Collected : (\d+)", proc.stderr)
    return sum(int(c) for c in counts)


def run(cmd, cwd):
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    dt = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd} failed: {proc.stderr}")
    return dt


def bench_version(venv, repeat, workdir, callgrind=False):
    py = venv / "bin" / "python"
    kernprof = venv / "bin" / "kernprof"
    spy = venv / "bin" / "spyglass"
    results = {}
    small = callgrind
    for name, src, args in [
            ("tight", TIGHT.replace("{N}", "200_000" if small else
                                    "2_000_000"), []),
            ("julia", julia_source(), ["60", "100"] if small
             else ["250", "300"]),
            ("share", SHARE.replace("{FIB}", "17" if small else "22"), [])]:
        script = workdir / f"{name}.py"
        script.write_text(src)
        plain = workdir / f"{name}_plain.py"
        plain.write_text(NOOP + src)
        cmds = {
            "python": [py, plain, *args],
            "line_profiler": [py, "-m", "kernprof", "-l", "-o",
                              workdir / "x.lprof", script, *args],
            "spyglass": [spy, "lines", script, *args],
        }
        times = {k: [] for k in cmds}
        measure = run_callgrind if callgrind else run
        for _ in range(1 if callgrind else repeat):
            for k, cmd in cmds.items():
                times[k].append(measure([str(c) for c in cmd], workdir))
        med = {k: statistics.median(v) for k, v in times.items()}
        results[name] = med
    return results


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--venvs", default=os.environ.get(
        "SPYGLASS_TEST_VENVS", str(ROOT / ".venvs")))
    ap.add_argument("--versions", default="3.8,3.9,3.10,3.11,3.12,3.13")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--callgrind", action="store_true")
    a = ap.parse_args()
    unit, scale = ("Minstr", 1e-6) if a.callgrind else ("s", 1.0)
    print(f"{'ver':5} {'workload':8} {'python ' + unit:>12} "
          f"{'lp ' + unit:>10} {'spy ' + unit:>10} {'lp ovh':>8} "
          f"{'spy ovh':>8} {'ratio':>6}")
    with tempfile.TemporaryDirectory() as d:
        for v in a.versions.split(","):
            venv = Path(a.venvs) / v
            if not (venv / "bin" / "kernprof").exists():
                print(f"{v}: no venv with line_profiler at {venv}",
                      file=sys.stderr)
                continue
            res = bench_version(venv, a.repeat, Path(d), a.callgrind)
            for name, med in res.items():
                base = med["python"]
                lp = med["line_profiler"] / base - 1
                sg = med["spyglass"] / base - 1
                print(f"{v:5} {name:8} {base * scale:12.3f} "
                      f"{med['line_profiler'] * scale:10.3f} "
                      f"{med['spyglass'] * scale:10.3f} "
                      f"{lp * 100:7.0f}% {sg * 100:7.0f}% "
                      f"{sg / lp if lp > 0 else float('nan'):6.2f}",
                      flush=True)


if __name__ == "__main__":
    main()
