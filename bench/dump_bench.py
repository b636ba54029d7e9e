#!/usr/bin/env python3
"""Benchmark `spyglass dump` against `py-spy dump`.

For each CPython version and stack depth (10, 100, 500 frames in the main
thread, plus one idle helper thread), a target parks itself and then:

  * spyglass in-loop cost: `spyglass dump --repeat N --stats` takes N
    samples in one process (the sampler's inner loop, caches warm) and
    reports microseconds and remote reads (process_vm_readv) per sample;
    best of 3 such runs;
  * one-shot cost of each tool: wall time of a whole `dump` run (attach,
    one sample, print), median of R runs, and its process_vm_readv calls
    counted by `strace -f -c`.

    python3 bench/dump_bench.py [--spyglass PATH] [--py-spy PATH]
        [--versions 3.8,...] [--depths 10,100,500] [--markdown]

With --callgrind BASE it counts instructions instead (valgrind's callgrind:
deterministic where wall time on a shared machine is not), for BASE (an
earlier build of spyglass) and --spyglass: a whole one-shot `dump`, and one
steady sample (the difference between --repeat 1010 and --repeat 10, with
--no-status, divided by 1000). Median of 3 runs each.

py-spy comes from PyPI in a bench venv: python3 -m venv /tmp/bv &&
/tmp/bv/bin/pip install py-spy.
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET = r'''
import sys, threading, time
depth = int(sys.argv[1]); ready = sys.argv[2]
ev = threading.Event()
threading.Thread(target=ev.wait, daemon=True).start()
def rec(n):
    if n <= 0:
        open(ready, "w").write("1")
        while True:
            time.sleep(3600)
    rec(n - 1)
rec(depth - 2)  # depth frames: rec x (depth-1) + <module>
'''


def pyenv_python(version):
    root = subprocess.run(["pyenv", "root"], capture_output=True,
                          text=True).stdout.strip()
    best = None
    for d in Path(root, "versions").glob(f"{version}.*"):
        m = re.fullmatch(re.escape(version) + r"\.(\d+)", d.name)
        if m and (best is None or int(m[1]) > best[0]):
            best = (int(m[1]), d / "bin" / f"python{version}")
    return best[1] if best else None


def start_target(python, depth, tmp):
    script = Path(tmp, "bench_target.py")
    script.write_text(TARGET)
    ready = Path(tmp, f"ready-{depth}")
    if ready.exists():
        ready.unlink()
    p = subprocess.Popen([str(python), str(script), str(depth), str(ready)])
    deadline = time.monotonic() + 30
    while not ready.exists():
        if p.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("target did not start")
        time.sleep(0.01)
    time.sleep(0.1)
    return p


def one_shot(cmd, runs):
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        r = subprocess.run(cmd, capture_output=True, text=True)
        times.append(time.perf_counter() - t0)
        if r.returncode != 0:
            return None, r.stderr.strip()
    return statistics.median(times) * 1e3, None


def strace_reads(cmd):
    if not shutil.which("strace"):
        return None
    r = subprocess.run(["strace", "-f", "-c", "-e",
                        "trace=process_vm_readv", *cmd],
                       capture_output=True, text=True)
    for line in r.stderr.splitlines():
        f = line.split()
        if f and f[-1] == "process_vm_readv":
            return int(f[3])  # % time, seconds, usecs/call, calls
    return None


def in_loop(spyglass, pid, n, tries=3):
    """Best of `tries` runs of n samples (the VM is shared: the minimum is
    the least disturbed figure)."""
    best = None
    for _ in range(tries):
        r = subprocess.run([spyglass, "dump", "--pid", str(pid), "--repeat",
                            str(n), "--stats"], capture_output=True,
                           text=True)
        line = [l for l in r.stderr.splitlines()
                if l.startswith("stats:")][0]
        kv = dict(x.split("=") for x in line[7:].split())
        got = (float(kv["us_per_sample"]), float(kv["reads_per_sample"]),
               float(kv["syscalls_per_sample"]), int(kv["frames"]))
        if best is None or got[0] < best[0]:
            best = got
    return best


def callgrind_ir(cmd):
    """Instructions executed by cmd (its own process) under callgrind."""
    r = subprocess.run(["valgrind", "--tool=callgrind",
                        "--callgrind-out-file=/dev/null", *cmd],
                       capture_output=True, text=True)
    m = re.search(r"Collected : (\d+)", r.stderr)
    if r.returncode != 0 or not m:
        raise RuntimeError(f"callgrind failed: {r.stderr[-500:]}")
    return int(m.group(1))


def instructions(spyglass, pid, runs=3):
    """(one-shot dump, one steady sample) instruction counts, medians."""
    dump = [spyglass, "dump", "--pid", str(pid)]
    loop = dump + ["--no-status", "--stats", "--repeat"]
    one = statistics.median(callgrind_ir(dump) for _ in range(runs))
    per = statistics.median(
        (callgrind_ir(loop + ["1010"]) - callgrind_ir(loop + ["10"])) / 1000
        for _ in range(runs))
    return one, per


def targets(a):
    """(version, depth, pid) of a parked target for each version and depth
    asked for; each target is killed when the caller moves on."""
    with tempfile.TemporaryDirectory() as tmp:
        for v in a.versions.split(","):
            python = pyenv_python(v)
            if not python:
                print(f"# {v}: not found, skipped", file=sys.stderr)
                continue
            for depth in map(int, a.depths.split(",")):
                p = start_target(python, depth, tmp)
                try:
                    yield v, depth, p.pid
                finally:
                    p.kill()
                    p.wait()


def callgrind_main(a):
    rows = []
    for v, depth, pid in targets(a):
        before = instructions(a.callgrind, pid)
        after = instructions(a.spyglass, pid)
        rows.append((v, depth, before, after))
    print("| Python | depth | one-shot dump, before | after | change | "
          "steady sample, before | after | change |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    pct = lambda b, x: f"{(x / b - 1) * 100:+.1f}%"
    for v, depth, (b1, bs), (a1, as_) in rows:
        print(f"| {v} | {depth} | {b1:,.0f} | {a1:,.0f} | {pct(b1, a1)} | "
              f"{bs:,.0f} | {as_:,.0f} | {pct(bs, as_)} |")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--spyglass", default=shutil.which("spyglass")
                    or "build/spyglass")
    ap.add_argument("--py-spy", dest="pyspy", default=shutil.which("py-spy"))
    ap.add_argument("--versions", default="3.8,3.9,3.10,3.11,3.12,3.13")
    ap.add_argument("--depths", default="10,100,500")
    ap.add_argument("--samples", type=int, default=2000)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("--callgrind", metavar="BASE",
                    help="count instructions of BASE and --spyglass instead")
    a = ap.parse_args()
    if a.callgrind:
        return callgrind_main(a)
    rows = []
    for v, depth, pid in targets(a):
        us, reads, sysc, frames = in_loop(a.spyglass, pid, a.samples)
        sg_cmd = [a.spyglass, "dump", "--pid", str(pid)]
        sg_ms, _ = one_shot(sg_cmd, a.runs)
        sg_r = strace_reads(sg_cmd)
        ps_ms = ps_r = None
        ps_err = None
        if a.pyspy:
            ps_cmd = [a.pyspy, "dump", "--pid", str(pid)]
            ps_ms, ps_err = one_shot(ps_cmd, a.runs)
            ps_r = strace_reads(ps_cmd) if ps_ms else None
        rows.append((v, depth, frames, us, reads, sysc, sg_ms, sg_r, ps_ms,
                     ps_r, ps_err))
    fmt = lambda x, f="{:.2f}": "-" if x is None else f.format(x)
    head = ("| Python | depth | frames | spyglass µs/sample (loop) | "
            "reads/sample (loop) | syscalls/sample (loop, incl. /proc) | "
            "spyglass dump ms (one-shot) | spyglass reads (one-shot) | "
            "py-spy dump ms (one-shot) | py-spy reads (one-shot) |")
    print(head)
    print("|" + "---|" * head.count("|")[:-1] if False else
          "|---|---|---|---|---|---|---|---|---|---|")
    for (v, depth, frames, us, reads, sysc, sg_ms, sg_r, ps_ms, ps_r,
         ps_err) in rows:
        print(f"| {v} | {depth} | {frames} | {us:.1f} | {reads:.1f} | "
              f"{sysc:.1f} | {fmt(sg_ms)} | {fmt(sg_r, '{}')} | "
              f"{fmt(ps_ms) if not ps_err else 'error'} | "
              f"{fmt(ps_r, '{}')} |")


if __name__ == "__main__":
    main()
