"""spyglass time's own cost per run, against hyperfine's.

Both time /bin/true N times without a shell (hyperfine -N). Reported:
  - what each tool says `true` takes (mean): lower means less of the tool's
    own bookkeeping lands inside the measured interval;
  - wall time of the whole tool invocation divided by N;
  - callgrind instructions of the tool's own process per run, from the
    difference between N and 2N runs (start-up cancels out).
Interleaved, repeated, medians.

usage: python bench/time_overhead.py [--runs N] [--repeat K] [--exe PATH]
--exe measures another spyglass executable (e.g. a build of an older
commit, for before/after figures) in place of the venv's.
"""
import argparse
import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from benchlib import callgrind_instructions, installed, machine, median


def spyglass_cmd(exe, n, out):
    return [exe, "time", "-n", str(n), "-o", str(out), "--", "true"]


def hyperfine_cmd(n, out):
    return ["hyperfine", "-N", "--style", "none", "-r", str(n),
            "--export-json", str(out), "true"]


def one(argv, out):
    t0 = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True)
    wall = time.perf_counter() - t0
    return wall, json.loads(Path(out).read_text())["results"][0]["mean"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=500)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--exe", help="spyglass executable to measure")
    args = ap.parse_args()
    if not shutil.which("hyperfine"):
        raise SystemExit("hyperfine is needed: apt-get install hyperfine")
    exe = args.exe or installed(["3.12"])[0].spyglass
    n = args.runs
    tmp = Path(tempfile.mkdtemp())
    rows = {"spyglass": [], "hyperfine": []}
    for _ in range(args.repeat):
        rows["spyglass"].append(one(spyglass_cmd(exe, n, tmp / "s.json"),
                                    tmp / "s.json"))
        rows["hyperfine"].append(one(hyperfine_cmd(n, tmp / "h.json"),
                                     tmp / "h.json"))
    ins = {}
    for name, mk in (("spyglass", lambda k: spyglass_cmd(exe, k,
                                                         tmp / "s.json")),
                     ("hyperfine", lambda k: hyperfine_cmd(k,
                                                           tmp / "h.json"))):
        a = callgrind_instructions(mk(100))
        b = callgrind_instructions(mk(200))
        ins[name] = (b - a) / 100
    hyp = subprocess.run(["hyperfine", "--version"], capture_output=True,
                         text=True).stdout.strip()
    print(f"Machine: {machine()}; {hyp}; {n} runs of /bin/true, "
          f"{args.repeat} repeats, medians.\n")
    print("| tool | reported mean of `true` | tool wall time per run | "
          "tool instructions per run (callgrind) |")
    print("|---|---:|---:|---:|")
    for name in ("spyglass", "hyperfine"):
        wall = median([w for w, _ in rows[name]]) / n
        mean = median([m for _, m in rows[name]])
        print(f"| {name} | {mean * 1e6:.0f} µs | {wall * 1e6:.0f} µs | "
              f"{ins[name]:,.0f} |")
    s_w = median([w for w, _ in rows["spyglass"]])
    h_w = median([w for w, _ in rows["hyperfine"]])
    print(f"\nspyglass/hyperfine: wall per run {s_w / h_w:.2f}x, "
          f"instructions per run {ins['spyglass'] / ins['hyperfine']:.2f}x")


if __name__ == "__main__":
    main()
