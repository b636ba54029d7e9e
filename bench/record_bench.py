"""spyglass record against py-spy record and Austin, in one run.

  1. Target slowdown: a fixed amount of CPU-bound work (stack depth 10),
     timed by the target itself, plain and under each sampler at 100 Hz and
     1 kHz. Slowdown = T_sampled / T_plain - 1, median of --repeat runs.
  2. Sampler CPU time per sample at stack depths 10 and 100 at 1 kHz,
     attached to a running target for --seconds: the sampler process's
     user+sys (from wait4) divided by the samples it took.
  3. Delivered rate at 1 kHz and 10 kHz (spyglass's own accounting).
  4. Accuracy on the 70/20/10 workload (tests/targets/record_split.py).
  5. Tick lateness with --subprocesses and 100 idle (non-Python) children,
     against the same recording without --subprocesses, interleaved: the
     share of deadlines late and missed (spyglass's own accounting), and
     the spyglass process's CPU time (perf task-clock, all its threads).
  6. Instructions per sample (callgrind, deterministic where the wall and
     CPU figures are noisy): attached at 1 kHz, depth 10, the difference
     between two durations over the difference in samples taken.
py-spy and Austin come from PyPI (py-spy, austin-dist) in .bench/venv.

usage: python bench/record_bench.py [--version 3.12] [--repeat 5]
           [--only lateness] [--exe PATH]
--exe measures another spyglass executable (e.g. a build of an older
commit, for before/after figures) in place of the venv's.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlib import ROOT, installed, machine, median

HERE = Path(__file__).resolve().parent
DEEP = HERE / "targets_deep.py"
SPLIT = ROOT / "tests" / "targets" / "record_split.py"
IDLE_KIDS = ROOT / "tests" / "targets" / "record_idle_kids.py"
BENCH_BIN = ROOT / ".bench" / "venv" / "bin"
TMP = Path(tempfile.mkdtemp())
# The ticks spyglass took, from its end report: "N ticks in" (an older
# executable measured with --exe says "N samples in").
TICKS = r"spyglass record: (\d+) (?:ticks|samples) in"


def pyspy(rate, pid=None, cmd=None, seconds=None):
    a = [str(BENCH_BIN / "py-spy"), "record", "-r", str(rate), "-f", "raw",
         "-o", str(TMP / "pyspy.txt")]
    if seconds:
        a += ["-d", str(int(seconds))]
    return a + (["--pid", str(pid)] if pid else ["--", *cmd])


def austin(rate, pid=None, cmd=None, seconds=None):
    a = [str(BENCH_BIN / "austin"), "-i", str(int(1e6 / rate)), "-o",
         str(TMP / "austin.txt")]
    if seconds:
        a += ["-x", str(int(seconds))]
    return a + (["-p", str(pid)] if pid else cmd)


def spyglass(py, rate, pid=None, cmd=None, seconds=None):
    a = [py.spyglass, "record", "-r", str(rate), "-o",
         str(TMP / "sg.collapsed")]
    if seconds:
        a += ["-d", str(seconds)]
    return a + (["--pid", str(pid)] if pid else ["--", *cmd])


def slowdown(py, repeat, work):
    cmd = [py.python, str(DEEP), "10", "0", str(work)]

    def took(argv):
        out = subprocess.run(argv, capture_output=True, text=True,
                             env=py.env).stdout
        m = re.search(r"WORK ([\d.]+)", out)
        return float(m.group(1))

    rows = {}
    tools = {"plain": lambda r: cmd,
             "spyglass": lambda r: spyglass(py, r, cmd=cmd),
             "py-spy": lambda r: pyspy(r, cmd=cmd),
             "py-spy --nonblocking": lambda r: pyspy(r, cmd=cmd) + [],
             "austin": lambda r: austin(r, cmd=cmd)}
    for rate in (100, 1000):
        times = {k: [] for k in tools}
        for _ in range(repeat):
            for name, mk in tools.items():
                argv = mk(rate)
                if name == "py-spy --nonblocking":
                    argv = argv[:2] + ["--nonblocking"] + argv[2:]
                times[name].append(took(argv))
        base = median(times["plain"])
        for name in tools:
            if name != "plain":
                rows[(name, rate)] = median(times[name]) / base - 1
    return rows


def task_clock(argv, env):
    """Run argv under `perf stat -e task-clock`; (output, CPU seconds)."""
    pf = TMP / "perf.txt"
    p = subprocess.run(["perf", "stat", "-x,", "-e", "task-clock", "-o",
                        str(pf), *argv], capture_output=True, text=True,
                       env=env)
    ms = float(pf.read_text().strip().splitlines()[-1].split(",")[0])
    return p.stdout + p.stderr, ms / 1e3


def samples_taken(name, out):
    m = re.search(TICKS, out)
    if name == "spyglass" and m:
        return int(m.group(1))
    m = re.search(r"Samples: (\d+)", out)
    if name.startswith("py-spy") and m:
        return int(m.group(1))
    if name == "austin":
        # One line per sample of the (single) thread.
        txt = (TMP / "austin.txt").read_text(errors="replace")
        return sum(1 for l in txt.splitlines() if l.startswith("P"))
    raise RuntimeError(f"no sample count from {name}:\n{out[-500:]}")


def attached(py, name, depth, seconds):
    target = subprocess.Popen([py.python, str(DEEP), str(depth),
                               str(seconds + 3)], env=py.env)
    time.sleep(1.0)
    if name == "spyglass":
        argv = spyglass(py, 1000, pid=target.pid, seconds=seconds)
    elif name.startswith("py-spy"):
        argv = pyspy(1000, pid=target.pid, seconds=seconds)
        if "nonblocking" in name:
            argv = argv[:2] + ["--nonblocking"] + argv[2:]
    else:
        argv = austin(1000, pid=target.pid, seconds=seconds)
    try:
        out, cpu = task_clock(argv, py.env)
    finally:
        target.kill()
        target.wait()
    return cpu, samples_taken(name, out)


def cpu_per_sample(py, seconds, repeat):
    """Sampler CPU per sample at 1 kHz in steady state: the CPU and sample
    differences between attaching for `seconds` and for 3 x `seconds`, so
    start-up (ELF parsing, symbol lookup) cancels out."""
    res = {}
    for depth in (10, 100):
        for name in ("spyglass", "py-spy", "py-spy --nonblocking", "austin"):
            per = []
            for _ in range(repeat):
                c1, n1 = attached(py, name, depth, seconds)
                c2, n2 = attached(py, name, depth, 3 * seconds)
                if n2 > n1:
                    per.append((c2 - c1) / (n2 - n1))
            res[(name, depth)] = (median(per) if per else None, n2,
                                  3 * seconds)
    return res


def delivered(py, seconds):
    res = {}
    for rate in (1000, 10000):
        target = subprocess.Popen([py.python, str(DEEP), "10",
                                   str(seconds + 2)], env=py.env)
        time.sleep(0.5)
        out = subprocess.run(spyglass(py, rate, pid=target.pid,
                                      seconds=seconds),
                             capture_output=True, text=True,
                             env=py.env).stderr
        target.kill()
        target.wait()
        m = re.search(r"(\d+) (?:ticks|samples) in ([\d.]+) s \((\d+) on "
                      r"time, (\d+) late, (\d+) missed\)", out)
        taken, secs = int(m.group(1)), float(m.group(2))
        res[rate] = (taken, secs, int(m.group(3)), int(m.group(4)),
                     int(m.group(5)))
    return res


def accuracy(py):
    subprocess.run(spyglass(py, 1000, cmd=[py.python, str(SPLIT), "5"]),
                   capture_output=True, env=py.env, check=True)
    counts = {"seventy": 0, "twenty": 0, "ten": 0}
    total = 0
    for line in (TMP / "sg.collapsed").read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        total += int(n)
        names = {f.split(" (")[0] for f in stack.split(";")}
        for k in counts:
            if k in names:
                counts[k] += int(n)
    return {k: v / total for k, v in counts.items()}, total


def lateness(py, seconds, repeat, kids=100, rate=1000):
    """{flag: [(late share, missed share, CPU s)]} for recordings attached
    to a parent with `kids` idle children, with and without
    --subprocesses. Attached, so that task-clock counts spyglass's own
    threads only (sampler and follower), not the target's."""
    res = {"--subprocesses": [], "plain": []}
    for _ in range(repeat):
        for flag in res:
            target = subprocess.Popen([py.python, str(IDLE_KIDS), str(kids),
                                       str(seconds + 3)],
                                      stdout=subprocess.PIPE, text=True,
                                      env=py.env)
            target.stdout.readline()  # its children are up
            argv = [py.spyglass, "record", "-r", str(rate), "-d",
                    str(seconds), "-o", str(TMP / "late.collapsed"),
                    "--pid", str(target.pid)]
            if flag != "plain":
                argv.append(flag)
            try:
                out, cpu = task_clock(argv, py.env)
            finally:
                target.terminate()  # it stops its children
                target.wait()
            m = re.search(r"\((\d+) on time, (\d+) late, (\d+) missed\)",
                          out)
            ot, late, missed = map(int, m.groups())
            due = ot + late + missed
            res[flag].append((late / due, missed / due, cpu))
    return res


def callgrind_record(py, seconds):
    """(instructions of spyglass, all its threads; samples it took),
    attached at 1 kHz to a depth-10 target for `seconds`, under callgrind."""
    target = subprocess.Popen([py.python, str(DEEP), "10", str(seconds + 30)],
                              env=py.env)
    time.sleep(1.0)
    try:
        p = subprocess.run(["valgrind", "--tool=callgrind",
                            "--callgrind-out-file=/dev/null",
                            *spyglass(py, 1000, pid=target.pid,
                                      seconds=seconds)],
                           capture_output=True, text=True, env=py.env)
    finally:
        target.kill()
        target.wait()
    ins = int(re.search(r"Collected : (\d+)", p.stderr).group(1))
    return ins, int(re.search(TICKS, p.stderr).group(1))


def instructions_per_sample(py, seconds, repeat):
    """Steady-state instructions per sample: the difference between
    `seconds` and 3 x `seconds` over the difference in samples (start-up
    cancels out); median of `repeat`."""
    per = []
    for _ in range(repeat):
        a, na = callgrind_record(py, seconds)
        b, nb = callgrind_record(py, 3 * seconds)
        if nb > na:
            per.append((b - a) / (nb - na))
    return median(per), nb, 3 * seconds


def print_lateness(res, seconds, repeat):
    print(f"\nTick lateness, 1 kHz for {seconds:g} s, a Python parent with "
          f"100 idle children (median of {repeat}, interleaved):\n")
    print("| recording | late | missed | spyglass CPU (s) |")
    print("|---|---:|---:|---:|")
    for flag, rows in res.items():
        print(f"| {flag} | {median([r[0] for r in rows]) * 100:.2f}% | "
              f"{median([r[1] for r in rows]) * 100:.2f}% | "
              f"{median([r[2] for r in rows]):.3f} |")


def print_callgrind(res):
    per, n, secs = res
    print(f"\nInstructions per sample (callgrind, spyglass attached at 1 kHz, "
          f"depth 10; {n} samples in {secs:g} s under valgrind): "
          f"{per:,.0f}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--version", default="3.12")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=4)
    ap.add_argument("--work", type=int, default=60000)
    ap.add_argument("--only", choices=["lateness", "callgrind"])
    ap.add_argument("--exe", help="spyglass executable to measure")
    args = ap.parse_args()
    (py,) = installed([args.version])
    if args.exe:
        py.spyglass = args.exe
    load = os.getloadavg()[0]
    print(f"Machine: {machine()}; CPython {args.version}; py-spy and "
          f"austin-dist from PyPI; load average {load:.1f} at the start.\n")
    if args.only == "lateness":
        print_lateness(lateness(py, args.seconds, args.repeat), args.seconds,
                       args.repeat)
        return
    if args.only == "callgrind":
        print_callgrind(instructions_per_sample(py, args.seconds,
                                                args.repeat))
        return
    sd = slowdown(py, args.repeat, args.work)
    print("Target slowdown (median of %d):\n" % args.repeat)
    print("| sampler | 100 Hz | 1 kHz |\n|---|---:|---:|")
    for name in ("spyglass", "py-spy", "py-spy --nonblocking", "austin"):
        print(f"| {name} | {sd[(name, 100)] * 100:+.1f}% | "
              f"{sd[(name, 1000)] * 100:+.1f}% |")
    cps = cpu_per_sample(py, args.seconds, max(1, args.repeat // 2))
    print("\nSampler CPU time per sample, 1 kHz requested, attached "
          "(steady state: difference of two durations; perf task-clock):\n")
    print("| sampler | depth 10 | depth 100 |\n|---|---:|---:|")
    for name in ("spyglass", "py-spy", "py-spy --nonblocking", "austin"):
        cells = []
        for depth in (10, 100):
            per, n, secs = cps[(name, depth)]
            cells.append(f"{per * 1e6:.1f} µs ({n / secs:.0f} samples/s "
                         f"delivered)" if per else "n/a")
        print(f"| {name} | {cells[0]} | {cells[1]} |")
    dl = delivered(py, args.seconds)
    print("\nDelivered rate (spyglass, attached, depth 10):\n")
    print("| requested | taken | delivered | on time | late | missed |")
    print("|---:|---:|---:|---:|---:|---:|")
    for rate, (taken, secs, ot, late, missed) in dl.items():
        print(f"| {rate} Hz | {taken} in {secs:.2f} s | "
              f"{taken / (rate * secs) * 100:.1f}% | {ot} | {late} | "
              f"{missed} |")
    acc, total = accuracy(py)
    print(f"\nAccuracy, 70/20/10 workload, 1 kHz, 5 s ({total} samples): "
          + ", ".join(f"{k} {v * 100:.1f}%" for k, v in acc.items()))
    print_lateness(lateness(py, args.seconds, args.repeat), args.seconds,
                   args.repeat)
    print_callgrind(instructions_per_sample(py, args.seconds, 1))


if __name__ == "__main__":
    main()
