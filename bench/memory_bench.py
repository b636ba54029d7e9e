"""Slowdown and peak RSS of `spyglass memory` vs the memory profilers it
replaces, side by side in one run.

usage: python3 bench/memory_bench.py [--venv DIR] [--tools T1,T2,...]
           [--workloads W1,...] [--repeat N] [--small-repeat N]
           [--sample BYTES] [--json FILE] [--callgrind]
           [--baseline SPYGLASS]

DIR (default .bench/venv, made by `make bench-venv`) holds one CPython with
spyglass, memray, scalene, memory_profiler and numpy installed. Tools:

  plain            python SCRIPT (the baseline of every ratio)
  spyglass         spyglass memory SCRIPT (exact)
  spyglass-sample  spyglass memory --sample BYTES SCRIPT (default 512KiB)
  spyglass-native  spyglass memory --native SCRIPT (malloc/mmap too)
  spyglass-lines   spyglass lines SCRIPT: the line events of the @profile
                   functions alone, without memory tracing (the part of
                   spyglass memory's cost that the per-line table takes)
  memray           memray run -o TMP/capture.bin SCRIPT
  memray-native    memray run --native ...
  memray-pyalloc   memray run --trace-python-allocators ... (every Python
                   object, memray's closest mode to exact tracing)
  scalene          scalene run SCRIPT (CPU + memory: Scalene 2.x has no
                   memory-only mode; --cpu-only is its only switch)
  tracemalloc      a wrapper: tracemalloc.start(1), then runpy the script
  memory_profiler  python -m memory_profiler SCRIPT, only on the small sizes
  before, before-sample
                   spyglass memory (exact, --sample BYTES) of another
                   build, --baseline SPYGLASS (its executable, next to the
                   python whose agent it runs): a change measured before
                   -> after in the same run

Workloads (bench/memory_workloads.py and examples/julia.py): julia (the
book's script with @profile on its two functions, as in its
julia1_memoryprofiler.py), alloc (dicts, strings, lists of small objects),
numpy, mixed (a log-processing job); and empty (the same file doing
nothing: each tool's fixed start-up and exit cost). Functions carry
@profile: memory_profiler and spyglass report those lines (the same
selection for both), Scalene restricts its report to them, the others
ignore it (a no-op). Each workload runs at a full size for every tool but
memory_profiler, and at a small size (the one memory_profiler can finish)
for plain, spyglass and memory_profiler.

Whole processes are timed (start-up, the profiler's output and exit
included: what a user waits for), tools interleaved in an order rotated
each round, repeated. Slowdown = median(T_tool) / median(T_plain); the
spread is the lowest and highest of the per-round ratios T_tool / T_plain
of the same round. "Net of start-up" takes each tool's fixed cost out,
using the empty workload's medians: (T_tool - T_tool,empty) /
(T_plain - T_plain,empty), the slowdown a long run would see. Peak RSS is the process's maximum resident set (wait4's
rusage, which includes descendants it reaped); for spyglass and memray, whose
tracing lives in the target process, the difference to plain's is the
profiler's own memory. memray's capture file size is reported too.

On a loaded machine wall time also counts the time a process waits for a
core, so the tables give the slowdown in CPU time too (user + system of
the process, wait4's rusage: every thread of an in-process tracer, such
as memray's writer, counts), which the load distorts much less.
--callgrind instead runs each tool once at medium sizes (CALLGRIND_ARGS) under
`valgrind --tool=callgrind --trace-children=yes` and reports instructions
executed (all processes summed) against plain Python's: exact and immune
to load, but blind to what an instruction costs (a cache miss, reading the
time stamp counter).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from benchlib import machine  # noqa: E402

WORKLOADS_PY = ROOT / "bench" / "memory_workloads.py"

# name -> (script kind, full-size args, small-size args for memory_profiler)
WORKLOADS = {
    "empty": ("workloads", ["alloc", "0"], None),
    "julia": ("julia", ["400", "300"], ["20", "300"]),
    "alloc": ("workloads", ["alloc", "150000"], ["3000"]),
    "numpy": ("workloads", ["numpy", "50"], ["5"]),
    "mixed": ("workloads", ["mixed", "150000"], ["3000"]),
}

# Sizes for --callgrind: long enough that start-up is a small part, short
# enough for valgrind's 50x.
CALLGRIND_ARGS = {"julia": ["100", "300"], "alloc": ["alloc", "20000"],
                  "numpy": ["numpy", "10"], "mixed": ["mixed", "20000"]}

TOOLS = ["plain", "spyglass", "spyglass-sample", "spyglass-native",
         "spyglass-lines", "memray", "memray-native", "memray-pyalloc", "scalene",
         "tracemalloc", "memory_profiler", "before", "before-sample"]
SMALL_TOOLS = ["plain", "spyglass", "memory_profiler"]

# Go's runtime.MemProfileRate default: one sample per 512 KiB allocated on
# average, a rate proven on long-running servers; tcmalloc samples every
# 2 MiB, Scalene's threshold window is 1 MiB.
DEFAULT_SAMPLE = "512KiB"

GUARD = ("try:\n    profile  # noqa: B018\nexcept NameError:\n"
         "    import builtins\n    builtins.profile = lambda f: f\n")

TRACEMALLOC_WRAPPER = """\
import os, runpy, sys, tracemalloc
tracemalloc.start(1)
script = sys.argv[1]
sys.argv = sys.argv[1:]
sys.path[0] = os.path.dirname(os.path.abspath(script))
runpy.run_path(script, run_name="__main__")
"""


def julia_script(workdir):
    """examples/julia.py decorated as the book's julia1_memoryprofiler.py:
    @profile on the driver and on the inner function."""
    src = (ROOT / "examples" / "julia.py").read_text()
    for fn in ("calc_pure_python", "calculate_z_serial_purepython"):
        src = src.replace(f"\ndef {fn}(", f"\n@profile  # noqa: F821\ndef {fn}(")
    path = workdir / "julia_mp.py"
    path.write_text(src.replace("\nimport sys\n", "\nimport sys\n" + GUARD, 1))
    return path


def workload_argv(name, workdir, small):
    kind, full, small_args = WORKLOADS[name]
    if kind == "julia":
        return [str(julia_script(workdir)), *(small_args if small else full)]
    args = [full[0], small_args[0]] if small else full
    return [str(WORKLOADS_PY), *args]


def tool_argv(tool, venv, spyglass, sample, script_argv, workdir,
              baseline=None):
    """The command line of one tool on script_argv, and the capture file it
    writes (None when it writes none we measure)."""
    py = str(venv / "bin" / "python")
    if tool.startswith("before"):
        tool, spyglass = tool.replace("before", "spyglass"), baseline
    capture = workdir / "capture.bin"
    memray = [str(venv / "bin" / "memray"), "run", "-q", "-f", "-o",
              str(capture)]
    if tool == "plain":
        return [py, *script_argv], None
    if tool == "spyglass":
        return [spyglass, "memory", *script_argv], None
    if tool == "spyglass-sample":
        return [spyglass, "memory", "--sample", sample, *script_argv], None
    if tool == "spyglass-native":
        return [spyglass, "memory", "--native", *script_argv], None
    if tool == "spyglass-lines":
        return [spyglass, "lines", *script_argv], None
    if tool == "memray":
        return [*memray, *script_argv], capture
    if tool == "memray-native":
        return [*memray, "--native", *script_argv], capture
    if tool == "memray-pyalloc":
        return [*memray, "--trace-python-allocators", *script_argv], capture
    if tool == "scalene":
        return [str(venv / "bin" / "scalene"), "run", "-o",
                str(workdir / "scalene.json"), script_argv[0], "---",
                *script_argv[1:]], None
    if tool == "tracemalloc":
        wrapper = workdir / "tracemalloc_wrapper.py"
        wrapper.write_text(TRACEMALLOC_WRAPPER)
        return [py, str(wrapper), *script_argv], None
    if tool == "memory_profiler":
        return [py, "-m", "memory_profiler", *script_argv], None
    raise ValueError(tool)


def run_once(argv, workdir, capture, env=None):
    """(wall seconds, peak RSS bytes, capture bytes or None, CPU seconds)
    of one run."""
    if capture is not None and capture.exists():
        capture.unlink()
    with open(workdir / "stderr.txt", "w+") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=workdir, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=err,
                                env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        dt = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            tail = err.read()[-1500:]
            raise RuntimeError(f"exit {proc.returncode}: {' '.join(argv)}"
                               f"\n{tail}")
    size = None
    if capture is not None:
        size = capture.stat().st_size
        capture.unlink()
    return dt, usage.ru_maxrss * 1024, size, usage.ru_utime + usage.ru_stime


def bench(tools, workload, small, args, venv, workdir):
    """Runs every tool `repeat` rounds on one workload; returns
    {tool: {"t": [...], "rss": [...], "size": [...]}} or {"error": ...}."""
    script = workload_argv(workload, workdir, small)
    cmds = {t: tool_argv(t, venv, args.spyglass, args.sample, script, workdir,
                         args.baseline)
            for t in tools}
    res = {t: {"t": [], "rss": [], "size": [], "cpu": []} for t in tools}
    failed = {}
    repeat = args.small_repeat if small else args.repeat
    for r in range(repeat):
        order = tools[r % len(tools):] + tools[:r % len(tools)]
        for t in order:
            if t in failed:
                continue
            argv, capture = cmds[t]
            env = args.native_env if t == "spyglass-native" else None
            try:
                dt, rss, size, cpu = run_once(argv, workdir, capture, env)
            except RuntimeError as e:
                failed[t] = str(e)
                print(f"  {workload}: {t} failed: {e}", file=sys.stderr)
                continue
            res[t]["t"].append(dt)
            res[t]["rss"].append(rss)
            res[t]["cpu"].append(cpu)
            if size is not None:
                res[t]["size"].append(size)
    for t, why in failed.items():
        res[t] = {"error": why.splitlines()[-1] if why else "failed"}
    return res


def summarise(res):
    """Per tool: median seconds, slowdown and its per-round spread, RSS."""
    plain = res["plain"]
    out = {}
    for t, r in res.items():
        if "error" in r:
            out[t] = r
            continue
        n = min(len(r["t"]), len(plain["t"]))
        ratios = [r["t"][i] / plain["t"][i] for i in range(n)]
        out[t] = {
            "median_s": statistics.median(r["t"]),
            "slowdown": statistics.median(r["t"]) /
            statistics.median(plain["t"]),
            "ratio_min": min(ratios), "ratio_max": max(ratios),
            "cpu_slowdown": statistics.median(r["cpu"]) /
            statistics.median(plain["cpu"]),
            "rss_mib": statistics.median(r["rss"]) / 2**20,
            "rss_over_plain_mib": (statistics.median(r["rss"]) -
                                   statistics.median(plain["rss"])) / 2**20,
            "capture_mib": (statistics.median(r["size"]) / 2**20
                            if r["size"] else None),
            "runs": len(r["t"]),
        }
    return out


def net_slowdown(summary, empty):
    """Adds "net": the slowdown without each tool's fixed start-up and exit
    cost, (T_tool - T_tool,empty) / (T_plain - T_plain,empty), from the
    empty workload's medians (None when it was not measured)."""
    base = summary.get("plain", {}).get("median_s")
    e_base = empty.get("plain", {}).get("median_s")
    for t, s in summary.items():
        e = empty.get(t, {}).get("median_s")
        if "error" in s or None in (base, e_base, e) or base <= e_base:
            s["net"] = None
        else:
            s["net"] = (s["median_s"] - e) / (base - e_base)


def size_text(b):
    return f"{b:.1f} MiB" if b >= 1 else f"{b * 1024:.0f} KiB"


def print_table(title, summary):
    print(f"\n### {title}\n")
    print("| tool | median | slowdown | per-round range | net of start-up "
          "| CPU slowdown | peak RSS | RSS - plain | capture |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for t, s in summary.items():
        if "error" in s:
            print(f"| {t} | failed: {s['error']} | | | | | | | |")
            continue
        cap = size_text(s["capture_mib"]) if s["capture_mib"] is not None \
            else ""
        net = f"{s['net']:.2f}x" if s.get("net") is not None else ""
        print(f"| {t} | {s['median_s']:.2f} s | {s['slowdown']:.2f}x "
              f"| {s['ratio_min']:.2f}-{s['ratio_max']:.2f} | {net} "
              f"| {s['cpu_slowdown']:.2f}x "
              f"| {s['rss_mib']:.0f} MiB | {s['rss_over_plain_mib']:+.0f} MiB "
              f"| {cap} |", flush=True)


def print_matrix(report):
    """Every tool's slowdown on every workload, one table: "slowdown (net of
    start-up)"; memory_profiler's and the small sizes' figures are marked."""
    names = [w for w in report if w != "empty" and not w.endswith("-small")]
    tools = []
    for w in report.values():
        tools += [t for t in w if t not in tools and t != "plain"]
    print("\n### Slowdown, all workloads (net of start-up in parentheses; "
          "* = at the small size)\n")
    print("| tool | " + " | ".join(names) + " |")
    print("|---|" + "---:|" * len(names))
    for t in tools:
        cells = []
        for w in names:
            s, mark = report[w].get(t), ""
            if s is None and t in report.get(w + "-small", {}):
                s, mark = report[w + "-small"][t], "*"
            if s is None:
                cells.append("")
            elif "error" in s:
                cells.append("failed")
            else:
                net = f" ({s['net']:.2f}x)" if s.get("net") is not None \
                    else ""
                cells.append(f"{s['slowdown']:.2f}x{net}{mark}")
        print(f"| {t} | " + " | ".join(cells) + " |")


def print_cpu_matrix(report):
    """Every tool's CPU-time slowdown on every full-size workload."""
    names = [w for w in report if w != "empty" and not w.endswith("-small")]
    tools = []
    for w in names:
        tools += [t for t in report[w] if t not in tools and t != "plain"]
    print("\n### CPU-time slowdown, all workloads\n")
    print("| tool | " + " | ".join(names) + " |")
    print("|---|" + "---:|" * len(names))
    for t in tools:
        cells = []
        for w in names:
            s = report[w].get(t)
            cells.append("" if s is None else "failed" if "error" in s
                         else f"{s['cpu_slowdown']:.2f}x")
        print(f"| {t} | " + " | ".join(cells) + " |")


def callgrind_ir(argv, workdir, env=None):
    """Instructions executed by argv and every process it starts."""
    out = workdir / "cg"
    out.mkdir(exist_ok=True)
    for f in out.iterdir():
        f.unlink()
    proc = subprocess.run(
        ["valgrind", "--tool=callgrind", "--trace-children=yes",
         f"--callgrind-out-file={out}/cg.%p", *argv], cwd=workdir,
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"exit {proc.returncode}: {' '.join(argv)}\n"
                           f"{proc.stderr[-1500:]}")
    total = 0
    for f in out.iterdir():
        for line in f.read_text(errors="replace").splitlines():
            if line.startswith("summary:") or line.startswith("totals:"):
                total += int(line.split()[1])
                break
    return total


def callgrind_report(tools, args, venv, workdir):
    """Each tool once per workload at CALLGRIND_ARGS' size, under
    callgrind."""
    names = [w for w in args.workloads.split(",") if w != "empty"]
    print("\n### Instructions executed (callgrind), relative to plain "
          "Python\n")
    print("| tool | " + " | ".join(
        f"{w} ({' '.join(CALLGRIND_ARGS[w])})" for w in names) + " |")
    print("|---|" + "---:|" * len(names))
    rows = {t: [] for t in tools if t != "memory_profiler"}
    for w in names:
        script = workload_argv(w, workdir, False)
        script = script[:1] + CALLGRIND_ARGS[w]
        base = None
        for t in rows:
            argv, _ = tool_argv(t, venv, args.spyglass, args.sample, script,
                                workdir, args.baseline)
            env = args.native_env if t == "spyglass-native" else None
            try:
                ir = callgrind_ir(argv, workdir, env)
            except RuntimeError as e:
                print(f"  {w}: {t} failed: {e}", file=sys.stderr)
                rows[t].append("failed")
                continue
            if t == "plain":
                base = ir
            rows[t].append(f"{ir / base:.2f}x" if base else f"{ir:,}")
    for t, cells in rows.items():
        print(f"| {t} | " + " | ".join(cells) + " |", flush=True)


def versions(venv, spyglass):
    py = str(venv / "bin" / "python")
    code = ("import sys, importlib.metadata as m\n"
            "print('CPython', sys.version.split()[0])\n"
            "for d in ('memray', 'scalene', 'memory_profiler', 'numpy',"
            " 'psutil', 'spyglass'):\n"
            "    try: print(d, m.version(d))\n"
            "    except m.PackageNotFoundError: print(d, 'not installed')\n")
    out = subprocess.run([py, "-c", code], capture_output=True, text=True)
    return out.stdout.strip().replace("\n", "; ")


def spyglass_has_memory(spyglass):
    try:
        p = subprocess.run([spyglass, "memory", "--help"],
                           capture_output=True, text=True)
    except OSError:
        return False
    return p.returncode == 0


def native_env(spyglass, venv):
    """None when `spyglass memory --native` preloads its shim itself; else
    the environment that preloads it as the agent's re-execution would
    (LD_PRELOAD=spyglass/_native.so, SPYGLASS_NATIVE=1), so that the shim's
    cost can still be measured: one interpreter start-up less."""
    probe = subprocess.run([spyglass, "memory", "--native", "-c", "pass"],
                           capture_output=True, text=True)
    if probe.returncode == 0:
        return None
    found = subprocess.run(
        [str(venv / "bin" / "python"), "-I", "-c",
         "import os, spyglass; print(os.path.join("
         "os.path.dirname(spyglass.__file__), '_native.so'))"],
        capture_output=True, text=True).stdout.strip()
    env = dict(os.environ, SPYGLASS_NATIVE="1")
    env["LD_PRELOAD"] = ":".join(
        p for p in (found, os.environ.get("LD_PRELOAD")) if p)
    print(f"spyglass memory --native failed without a preload "
          f"({probe.stderr.strip()}): spyglass-native runs with "
          f"LD_PRELOAD={found} SPYGLASS_NATIVE=1", file=sys.stderr)
    return env


def main():
    # One BLAS thread: OpenBLAS's idle workers spin, and that spinning (not
    # any tool's work) would dominate the CPU time and the instruction
    # counts of the numpy workload. Every tool runs with the same setting.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    ap = argparse.ArgumentParser()
    ap.add_argument("--venv", default=str(ROOT / ".bench" / "venv"))
    ap.add_argument("--spyglass", help="default: VENV/bin/spyglass")
    ap.add_argument("--tools", default=",".join(TOOLS))
    ap.add_argument("--workloads", default="empty,julia,alloc,numpy,mixed")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--small-repeat", type=int, default=3,
                    help="rounds at the small (memory_profiler) sizes")
    ap.add_argument("--sample", default=DEFAULT_SAMPLE)
    ap.add_argument("--json", help="also write the summaries to this file")
    ap.add_argument("--callgrind", action="store_true",
                    help="count instructions under callgrind instead")
    ap.add_argument("--baseline", help="spyglass executable of the build "
                    "the tools 'before' and 'before-sample' run")
    args = ap.parse_args()
    venv = Path(args.venv).resolve()
    args.spyglass = args.spyglass or str(venv / "bin" / "spyglass")
    tools = [t for t in args.tools.split(",") if t]
    for t in tools:
        if t not in TOOLS:
            ap.error(f"unknown tool {t!r} (tools: {', '.join(TOOLS)})")
    if any(t.startswith("spyglass") for t in tools) and \
            not spyglass_has_memory(args.spyglass):
        print(f"{args.spyglass} has no 'memory' command: spyglass left out",
              file=sys.stderr)
        tools = [t for t in tools if not t.startswith("spyglass")]
    if not args.baseline:
        tools = [t for t in tools if not t.startswith("before")]
    tools = ["plain"] + [t for t in tools if t != "plain"]
    args.native_env = (native_env(args.spyglass, venv)
                       if "spyglass-native" in tools else None)
    print(f"Machine: {machine()}; load average "
          f"{' '.join('%.1f' % x for x in os.getloadavg())}")
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short",
                           "HEAD"], capture_output=True, text=True)
    print(f"Versions: {versions(venv, args.spyglass)} "
          f"(tree at {head.stdout.strip() or 'unknown'})")
    print(f"repeat {args.repeat} (small sizes {args.small_repeat}); "
          f"--sample {args.sample}")
    report = {}
    if args.callgrind:
        with tempfile.TemporaryDirectory(prefix="memory_bench.") as d:
            callgrind_report(tools, args, venv, Path(d))
        return
    with tempfile.TemporaryDirectory(prefix="memory_bench.") as d:
        workdir = Path(d)
        for w in args.workloads.split(","):
            kind, fargs, sargs = WORKLOADS[w]
            # memory_profiler runs the full size only of the empty workload.
            full = [t for t in tools
                    if t != "memory_profiler" or sargs is None]
            summary = summarise(bench(full, w, False, args, venv, workdir))
            net_slowdown(summary, report.get("empty", {}))
            print_table(f"{w} ({' '.join(fargs)})", summary)
            report[w] = summary
            small = [t for t in tools if t in SMALL_TOOLS]
            if sargs is None or "memory_profiler" not in small:
                continue
            summary = summarise(bench(small, w, True, args, venv, workdir))
            net_slowdown(summary, report.get("empty", {}))
            print_table(f"{w}, small ({' '.join(sargs)}), with "
                        "memory_profiler", summary)
            report[w + "-small"] = summary
    print_matrix(report)
    print_cpu_matrix(report)
    print(f"\nload average at the end "
          f"{' '.join('%.1f' % x for x in os.getloadavg())}")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
