"""record under load: deadlines kept, time accounted, shares and target
slowdown, spyglass side by side with py-spy and Austin, in one run.

  1. Deadlines under stress-ng --cpu 2 and --cpu 8, at 100 Hz and 1 kHz,
     recording the 70/20/10 target (tests/targets/record_split.py) for
     --seconds: the fraction of deadlines delivered (on time + late) and
     missed, the time the profile accounts for against the target's own
     wall time, and the largest error of the three shares against the
     target's own time.thread_time (and its wall time) per function.
     spyglass with the priority it may take (root here: SCHED_FIFO) and
     without it (run under setpriv without CAP_SYS_NICE); py-spy default
     and --nonblocking; Austin. Each sampler's deadlines: spyglass counts
     them; for the others, delivered = samples / (rate x the target's
     wall time), what they took against what they were asked.
  2. Target slowdown, no stress-ng: julia (examples/julia.py's kernel) run
     plain and under each sampler at 100 Hz and 1 kHz, interleaved,
     --repeat runs; the target's own wall and user+sys CPU time (it
     measures them itself), medians and spread; the spread of plain runs
     is the noise floor.

py-spy and Austin come from PyPI (py-spy, austin-dist) in .bench/venv
(`make bench-venv`), or --peers DIR. stress-ng from Debian (apt-get
install stress-ng).

usage: python bench/load_bench.py [--version 3.12] [--seconds 5]
           [--repeat 10] [--only deadlines|slowdown] [--peers DIR]
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlib import ROOT, installed, machine, median

SPLIT = ROOT / "tests" / "targets" / "record_split.py"
TMP = Path(tempfile.mkdtemp())
NAMES = ("seventy", "twenty", "ten")
NO_NICE = ["setpriv", "--bounding-set", "-sys_nice", "--inh-caps",
           "-sys_nice"]

# A julia set, pure Python, that measures its own wall and CPU time
# (user+sys of the process, in ns: os.times counts 10 ms ticks).
JULIA = """
import sys, time
def z(n):
    out = 0
    for i in range(n):
        for j in range(n):
            c = complex(-0.62772, -0.42193)
            q = complex(-1.8 + 3.6 * i / n, -1.8 + 3.6 * j / n)
            k = 0
            while abs(q) < 2 and k < 300:
                q = q * q + c
                k += 1
            out += k
    return out
w0, c0 = time.perf_counter(), time.process_time()
z(int(sys.argv[1]))
print(time.perf_counter() - w0, time.process_time() - c0)
"""


def func(frame):
    return frame.split(" (")[0]


def shares_from(stacks):
    """{name: share} of the weight whose stack holds each name, among the
    three, and the weight of the three together."""
    by = {n: sum(w for s, w in stacks.items() if n in s) for n in NAMES}
    total = sum(by.values()) or 1
    return {n: by[n] / total for n in NAMES}, sum(by.values())


def folded(path, parse):
    """{frozenset of function names: weight} of a folded file."""
    out = {}
    for line in Path(path).read_text().splitlines():
        if not line or line.startswith("#"):
            continue
        stack, _, n = line.rpartition(" ")
        key = frozenset(parse(f) for f in stack.split(";"))
        out[key] = out.get(key, 0) + int(n.split(",")[0])
    return out


def speedscope(path):
    """{frozenset of names: ns} and the total of spyglass's JSON."""
    doc = json.loads(Path(path).read_text())
    frames = doc["shared"]["frames"]
    out = {}
    for prof in doc["profiles"]:
        for s, w in zip(prof["samples"], prof["weights"]):
            key = frozenset(frames[i]["name"] for i in s)
            out[key] = out.get(key, 0) + w
    return out


def austin_frame(f):
    # file:function:line (Austin 3); the function is the middle field.
    parts = f.rsplit(":", 2)
    return parts[1] if len(parts) == 3 else f


def run_spyglass(py, rate, secs, report, priority):
    out = TMP / "sg.json"
    cmd = ([] if priority else NO_NICE) + [
        str(py.spyglass), "record", "-r", str(rate), "-o", str(out),
        "--", str(py.python), str(SPLIT), str(secs), str(report)]
    p = subprocess.run(cmd, capture_output=True, text=True, env=py.env)
    m = re.search(r"\((\d+) on time, (\d+) late, (\d+) missed\)", p.stderr)
    w = re.search(r"stand for ([\d.]+) s", p.stderr)
    d = re.search(r"ticks in ([\d.]+) s", p.stderr)
    if p.returncode or not m or not w or not d:
        raise RuntimeError(p.stderr[-2000:])
    on, late, missed = (int(x) for x in m.groups())
    due = on + late + missed
    shares, ns = shares_from(speedscope(out))
    return {"delivered": (on + late) / due, "missed": missed / due,
            "on_time": on / due, "accounted": ns / 1e9, "shares": shares,
            "whole": (float(w.group(1)), float(d.group(1)))}


def run_pyspy(peers, py, rate, secs, report, nonblocking):
    out = TMP / "pyspy.txt"
    cmd = [str(peers / "py-spy"), "record", "-r", str(rate), "-f", "raw",
           "-o", str(out)] + (["--nonblocking"] if nonblocking else []) + [
        "--", str(py.python), str(SPLIT), str(secs), str(report)]
    p = subprocess.run(cmd, capture_output=True, text=True, env=py.env)
    if p.returncode:
        raise RuntimeError(p.stderr[-2000:])
    stacks = folded(out, func)
    shares, n = shares_from(stacks)
    return {"samples": n, "accounted": n / rate, "shares": shares,
            "whole": (sum(stacks.values()) / rate, None)}


def run_austin(peers, py, rate, secs, report):
    out = TMP / "austin.txt"
    cmd = [str(peers / "austin"), "-i", str(int(1e6 / rate)), "-o",
           str(out), str(py.python), str(SPLIT), str(secs), str(report)]
    p = subprocess.run(cmd, capture_output=True, text=True, env=py.env)
    if p.returncode:
        raise RuntimeError(p.stderr[-2000:])
    # Austin weighs each sample by the time since the previous one (us).
    stacks = folded(out, austin_frame)
    shares, us = shares_from(stacks)
    counts = {}
    for line in out.read_text().splitlines():
        if line and not line.startswith("#"):
            key = frozenset(austin_frame(f) for f in
                            line.rpartition(" ")[0].split(";"))
            counts[key] = counts.get(key, 0) + 1
    n = shares_from(counts)[1]
    return {"samples": n, "accounted": us / 1e6, "shares": shares,
            "whole": (sum(stacks.values()) / 1e6, None)}


def truth(report):
    """The target's own split (thread_time, wall) and the wall time its
    three functions took in all."""
    got = json.loads(Path(report).read_text())
    cpu = sum(got[k]["cpu"] for k in NAMES)
    wall = sum(got[k]["wall"] for k in NAMES)
    return ({k: got[k]["cpu"] / cpu for k in NAMES},
            {k: got[k]["wall"] / wall for k in NAMES}, wall)


def deadlines(py, peers, secs):
    samplers = [("spyglass (priority)", "sg", True),
                ("spyglass (no priority)", "sg", False),
                ("py-spy", "pyspy", False),
                ("py-spy --nonblocking", "pyspy", True),
                ("Austin", "austin", None)]
    print(f"### Deadlines under load ({secs:g} s each, the 70/20/10 target)"
          "\n")
    print("| load | rate | sampler | delivered | missed | accounted / "
          "the functions' own wall | whole profile / sampling time | share "
          "error vs thread_time (vs wall) |")
    print("|---|---|---|---|---|---|---|---|")
    for cpus in (2, 8):
        stress = subprocess.Popen(["stress-ng", "--cpu", str(cpus),
                                   "--quiet"], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        time.sleep(1)
        try:
            for rate in (100, 1000):
                for label, kind, flag in samplers:
                    report = TMP / "truth.json"
                    t0 = time.monotonic()
                    if kind == "sg":
                        r = run_spyglass(py, rate, secs, report, flag)
                    elif kind == "pyspy":
                        r = run_pyspy(peers, py, rate, secs, report, flag)
                    else:
                        if not (peers / "austin").exists():
                            continue
                        r = run_austin(peers, py, rate, secs, report)
                    run_wall = time.monotonic() - t0
                    cpu_sh, wall_sh, target_wall = truth(report)
                    # The whole profile against how long sampling lasted
                    # (spyglass's own figure; for the peers, their whole
                    # run, start-up included, so a little more).
                    whole, span = r["whole"]
                    span = span or run_wall
                    # Samples the peers took in the three functions, of
                    # those their rate asked for while the functions ran.
                    if "delivered" not in r:
                        r["delivered"] = min(1.0, r["samples"] /
                                             (rate * target_wall))
                        r["missed"] = 1 - r["delivered"]
                    err_cpu = max(abs(r["shares"][k] - cpu_sh[k])
                                  for k in NAMES)
                    err_wall = max(abs(r["shares"][k] - wall_sh[k])
                                   for k in NAMES)
                    print(f"| --cpu {cpus} | {rate} Hz | {label} | "
                          f"{100 * r['delivered']:.1f}% | "
                          f"{100 * r['missed']:.1f}% | "
                          f"{r['accounted']:.2f} s / {target_wall:.2f} s "
                          f"({100 * r['accounted'] / target_wall:.1f}%) | "
                          f"{100 * whole / span:.1f}% | "
                          f"{100 * err_cpu:.1f} ({100 * err_wall:.1f}) "
                          "points |", flush=True)
        finally:
            stress.terminate()
            stress.wait()
    print()


def slowdown(py, peers, repeat, size):
    configs = [("plain", None)]
    for rate in (100, 1000):
        configs += [
            (f"spyglass {rate} Hz", [str(py.spyglass), "record", "-r",
                                     str(rate), "-o", str(TMP / "s.json"),
                                     "--"]),
            (f"py-spy {rate} Hz", [str(peers / "py-spy"), "record", "-r",
                                   str(rate), "-f", "raw", "-o",
                                   str(TMP / "p.txt"), "--"]),
            (f"py-spy --nonblocking {rate} Hz",
             [str(peers / "py-spy"), "record", "--nonblocking", "-r",
              str(rate), "-f", "raw", "-o", str(TMP / "p.txt"), "--"])]
        if (peers / "austin").exists():
            configs.append((f"Austin {rate} Hz", [
                str(peers / "austin"), "-i", str(int(1e6 / rate)), "-o",
                str(TMP / "a.txt")]))
    script = TMP / "julia_self.py"
    script.write_text(JULIA)
    got = {name: ([], []) for name, _ in configs}
    failed = {}
    for _ in range(repeat):
        for name, pre in configs:  # interleaved
            cmd = (pre or []) + [str(py.python), str(script), str(size)]
            p = subprocess.run(cmd, capture_output=True, text=True,
                               env=py.env)
            # The target's own line (the samplers may print theirs).
            m = re.findall(r"^([\d.]+) ([\d.]+)$", p.stdout, re.M)
            if p.returncode or not m:
                # Austin now and then fails to see the Python it started
                # (under load): the run is counted as failed, not timed.
                failed[name] = failed.get(name, 0) + 1
                continue
            wall, cpu = (float(x) for x in m[-1])
            got[name][0].append(wall)
            got[name][1].append(cpu)
    pw, pc = median(got["plain"][0]), median(got["plain"][1])
    print(f"### Target slowdown (julia {size}x{size}, {repeat} runs each, "
          "interleaved, no stress-ng)\n")
    print("| run | wall median (min-max) | slowdown | user+sys median "
          "(min-max) | slowdown | failed runs |")
    print("|---|---|---|---|---|---|")
    for name, _ in configs:
        w, c = got[name]
        print(f"| {name} | {median(w):.3f} s ({min(w):.3f}-{max(w):.3f}) | "
              f"{100 * (median(w) / pw - 1):+.1f}% | {median(c):.3f} s "
              f"({min(c):.3f}-{max(c):.3f}) | "
              f"{100 * (median(c) / pc - 1):+.1f}% | "
              f"{failed.get(name, 0)} |", flush=True)
    w = got["plain"][0]
    print(f"\nNoise floor: plain runs' wall spread "
          f"{100 * (max(w) - min(w)) / pw:.1f}% of the median, stdev "
          f"{100 * statistics.stdev(w) / pw:.1f}%.\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--version", default="3.12")
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--repeat", type=int, default=10)
    ap.add_argument("--size", type=int, default=120)
    ap.add_argument("--only", choices=("deadlines", "slowdown"))
    ap.add_argument("--peers", type=Path,
                    default=ROOT / ".bench" / "venv" / "bin")
    a = ap.parse_args()
    if not (a.peers / "py-spy").exists():
        sys.exit(f"no py-spy in {a.peers}: make bench-venv, or --peers DIR")
    if a.only != "slowdown" and not shutil.which("stress-ng"):
        sys.exit("no stress-ng: apt-get install stress-ng")
    (py,) = installed([a.version])
    print(f"Machine: {machine()}; load average before: "
          f"{os.getloadavg()[0]:.1f}; CPython {py.version}; uid "
          f"{os.geteuid()}\n")
    if a.only != "slowdown":
        deadlines(py, a.peers, a.seconds)
    if a.only != "deadlines":
        slowdown(py, a.peers, a.repeat, a.size)


if __name__ == "__main__":
    main()
