"""spyglass timeline against mprof run (memory_profiler), in one run.

  1. Sampler cost per sample at 10 ms and 1 ms: each tool launches
     `sleep D` (a target that costs nothing) for D = 1 s and 3 s; the
     tool's CPU time (user+sys from wait4: the tool and its reaped
     children, the sleep's share is negligible) and its samples (MEM
     lines of its .dat) give the marginal CPU per sample as
     (cpu_3 - cpu_1) / (samples_3 - samples_1), start-up and the file's
     writing cancelled out. The delivered rate is samples / D.
  2. /proc reads per sample: the same two runs under `strace -f -c`
     (read, pread64, openat, getdents64 calls), differenced alike.
     At 10 ms, each also with -M (children looked for: none come).
  3. Target slowdown at 10 ms: a fixed amount of CPU-bound Python work,
     timed by the target itself (perf_counter and process_time), plain
     and under each tool, rounds interleaved; per round the ratio to that
     round's plain run, median of --repeat; beside it the plain runs'
     own spread (a slowdown below it is not measured).
mprof comes from PyPI (memory_profiler, in .bench/venv or any test
venv); spyglass from --exe (default: the build/ of this tree).

usage: python bench/timeline_bench.py [--exe build/spyglass]
           [--mprof .bench/venv/bin/mprof] [--repeat 5]
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from benchlib import ROOT, machine, median

WORK = ("import time\n"
        "t, c = time.perf_counter(), time.process_time()\n"
        "n = 0\n"
        "for i in range(6_000_000): n += i % 7\n"
        "print(time.perf_counter() - t, time.process_time() - c)\n")


def run_tool(argv, dat):
    """(cpu seconds, samples) of one run of argv, which writes dat."""
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    _, status, ru = os.wait4(proc.pid, 0)
    proc.stderr.close()
    assert os.waitstatus_to_exitcode(status) == 0, argv
    samples = sum(1 for line in open(dat) if line.startswith("MEM "))
    return ru.ru_utime + ru.ru_stime, samples


def strace_calls(argv, out):
    """System calls of the reading kinds made by argv and its children."""
    subprocess.run(["strace", "-f", "-c", "-o", out, "-e",
                    "trace=read,pread64,openat,getdents64", *argv],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   check=True)
    text = Path(out).read_text()
    m = re.search(r"^-+.*\n\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)", text[
        text.rfind("------"):], re.M)
    total = re.findall(r"^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?"
                       r"total$", text, re.M)
    return int(total[-1]) if total else (int(m.group(1)) if m else 0)


def commands(tool, exe, mprof, interval, secs, dat):
    """tool is "spyglass" or "mprof", with " -M" to follow children."""
    name, _, flag = tool.partition(" ")
    flags = [flag] if flag else []
    if name == "spyglass":
        return [exe, "timeline", *flags, "-i", str(interval), "-o", dat,
                "--", "sleep", str(secs)]
    return [mprof, "run", *flags, "-T", str(interval), "-o", dat, "sleep",
            str(secs)]


def cost(tool, exe, mprof, interval, tmp):
    runs = {}
    for secs in (1, 3):
        dat = f"{tmp}/{tool.replace(' ', '')}-{interval}-{secs}.dat"
        runs[secs] = run_tool(commands(tool, exe, mprof, interval, secs,
                                       dat), dat)
    (c1, n1), (c3, n3) = runs[1], runs[3]
    calls = {}
    if shutil.which("strace"):
        for secs in (1, 3):
            dat = f"{tmp}/s-{tool.replace(' ', '')}-{interval}-{secs}.dat"
            argv = commands(tool, exe, mprof, interval, secs, dat)
            calls[secs] = (strace_calls(argv, f"{tmp}/strace.txt"),
                           sum(1 for line in open(dat)
                               if line.startswith("MEM ")))
    reads = ((calls[3][0] - calls[1][0]) / max(1, calls[3][1] - calls[1][1])
             if calls else float("nan"))
    return {"us": (c3 - c1) / max(1, n3 - n1) * 1e6, "rate": n3 / 3,
            "reads": reads}


def slowdown(exe, mprof, python, repeat, tmp):
    """Per tool, the median over rounds of (wall, CPU) of the work under
    the tool over the work alone in the same round, minus 1; and the
    noise: the median distance of the plain runs' wall from their
    median, relative."""
    times = {"plain": [], "spyglass": [], "mprof": []}
    for _ in range(repeat):
        for tool in times:
            dat = f"{tmp}/w.dat"
            argv = [python, "-c", WORK]
            if tool == "spyglass":
                argv = [exe, "timeline", "-o", dat, "--", *argv]
            elif tool == "mprof":
                argv = [mprof, "run", "-T", "0.01", "-o", dat, *argv]
            out = subprocess.run(argv, capture_output=True, text=True,
                                 check=True).stdout
            times[tool].append([float(x) for x in out.split()[-2:]])
    plain = times["plain"]
    res = {}
    for tool in ("spyglass", "mprof"):
        res[tool] = [median([t[k] / p[k] for t, p in zip(times[tool], plain)])
                     - 1 for k in (0, 1)]
    walls = [p[0] for p in plain]
    mid = median(walls)
    noise = median([abs(w - mid) for w in walls]) / mid
    return res, mid, noise


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--exe", default=str(ROOT / "build" / "spyglass"))
    ap.add_argument("--mprof", default=str(ROOT / ".bench/venv/bin/mprof"))
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()
    python = str(Path(a.mprof).parent / "python")
    print(machine())
    print(f"load average at start: {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory() as tmp:
        print("\n| interval | tool | CPU per sample | samples/s | "
              "reads per sample |\n|---|---|---|---|---|")
        for interval, tools in ((0.01, ("spyglass", "mprof", "spyglass -M",
                                        "mprof -M")),
                                (0.001, ("spyglass", "mprof"))):
            for tool in tools:
                r = cost(tool, a.exe, a.mprof, interval, tmp)
                print(f"| {interval * 1e3:g} ms | {tool} | {r['us']:.1f} us "
                      f"| {r['rate']:.0f} | {r['reads']:.2f} |")
        s, base, noise = slowdown(a.exe, a.mprof, python, a.repeat, tmp)
        print(f"\ntarget slowdown at 10 ms (work alone: {base:.3f} s wall, "
              f"its runs {noise:.1%} from their median; median of "
              f"{a.repeat} rounds), wall / CPU: spyglass "
              f"{s['spyglass'][0]:+.1%} / {s['spyglass'][1]:+.1%}, mprof "
              f"{s['mprof'][0]:+.1%} / {s['mprof'][1]:+.1%}")
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    sys.exit(main())
