"""Overhead of `spyglass profile` vs cProfile, yappi and pyinstrument.

usage: python3 bench/profile_bench.py [--venvs DIR] [--versions 3.8,...]
                                      [--repeat N] [--no-callgrind]
                                      [--write-docs]

Overhead = T_profiled / T_plain - 1 on three workloads
(bench/profile_workloads.py): (a) fib, call-heavy recursion; (b) the Julia
set; (c) a mixed program (dataclasses, json, regex, sorting).

Wall clock: each measurement is one fresh process that warms the workload
up, then times one run with the tool enabled around it (in-process, so
interpreter start-up is not in it): spyglass.Profile, cProfile.Profile,
yappi (wall clock, builtins=True, so that it records what cProfile
records), pyinstrument.Profiler (1 ms interval), and "floor"
(bench/floor_hook.c): a profiler that receives the events spyglass uses and
does nothing with them, so its overhead is what the interpreter charges for
delivering them -- the least any profiler built on those events can cost.
Tools are interleaved and
repeated; the fastest run of each is compared (on a shared machine other
load only ever adds time, so the minimum is the least disturbed figure).

Instructions (callgrind): the machine is shared and noisy, so the same is
measured in instructions, which do not depend on the load: the process runs
at sizes N and 2N and the difference of the two counts is the cost of the
workload alone (start-up cancels out). The children run in an empty
directory, with address randomisation off (setarch -R), which makes the
counts repeat to within a few thousand instructions.

Venvs: DIR/<version> gets spyglass (tests/venvs.py, `pip install .`) plus
yappi and pyinstrument from PyPI, and floor_hook compiled with cc.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from benchlib import machine  # noqa: E402  (bench/ is on sys.path)

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

TOOLS = ["none", "spyglass", "cprofile", "floor", "yappi", "pyinstrument"]
WALL_SIZES = {"fib": 25, "julia": 200, "mixed": 10000}
CG_SIZES = {"fib": (16, 20), "julia": (20, 40), "mixed": (300, 600)}

CHILD = r"""
import gc, json, sys, time
tool, workload, size, reps = (sys.argv[1], sys.argv[2], int(sys.argv[3]),
                              int(sys.argv[4]))
sys.path[:0] = [sys.argv[5], sys.argv[6]]
import profile_workloads
fn = profile_workloads.get(workload, size)

def make():
    if tool == "none":
        return None, None
    if tool == "spyglass":
        import spyglass
        p = spyglass.Profile()
        return p.enable, p.disable
    if tool == "cprofile":
        import cProfile
        p = cProfile.Profile()
        return p.enable, p.disable
    if tool == "floor":
        import floor_hook
        return floor_hook.install, floor_hook.uninstall
    if tool == "yappi":
        import yappi
        yappi.clear_stats()
        yappi.set_clock_type("wall")
        return (lambda: yappi.start(builtins=True)), yappi.stop
    if tool == "pyinstrument":
        from pyinstrument import Profiler
        p = Profiler(interval=0.001)
        return p.start, p.stop
    raise SystemExit("unknown tool " + tool)

if reps:
    fn()  # warm-up: imports, caches, specialisation
times = []
for _ in range(max(reps, 1)):
    on, off = make()
    gc.collect()
    t0 = time.perf_counter()
    if on:
        on()
    fn()
    if off:
        off()
    times.append(time.perf_counter() - t0)
print(json.dumps(times))
"""


def quiet_cwd():
    """An empty directory to run the children in. `python -c` imports
    from its working directory, so the import system lists it: in /tmp,
    whose contents other programs change, that listing made instruction
    counts differ by up to 3M between two runs of the same workload."""
    global _QUIET_CWD
    if _QUIET_CWD is None:
        _QUIET_CWD = tempfile.mkdtemp(prefix="spyglass-bench-")
    return _QUIET_CWD


_QUIET_CWD = None


def child_argv(py, tool, workload, size, reps):
    return [str(py), "-c", CHILD, tool, workload, str(size), str(reps),
            str(HERE), str(floor_dir(py))]


def floor_dir(py):
    return Path(py).parent.parent / "floor_hook"


def build_floor_hook(py):
    """Compile bench/floor_hook.c against py's headers (see that file)."""
    q = ("import sysconfig; print(sysconfig.get_paths()['include']); "
         "print(sysconfig.get_config_var('EXT_SUFFIX'))")
    inc, suffix = subprocess.run([str(py), "-c", q], capture_output=True,
                                 text=True, check=True).stdout.split()
    out = floor_dir(py) / ("floor_hook" + suffix)
    src = HERE / "floor_hook.c"
    if out.exists() and out.stat().st_mtime >= src.stat().st_mtime:
        return
    out.parent.mkdir(exist_ok=True)
    subprocess.run(["cc", "-O2", "-shared", "-fPIC", "-Wall", "-Wextra",
                    "-I" + inc, str(src), "-o", str(out)], check=True)


def wall(py, tool, workload, size):
    proc = subprocess.run(child_argv(py, tool, workload, size, 1),
                          capture_output=True, text=True, cwd=quiet_cwd())
    if proc.returncode != 0:
        raise RuntimeError(f"{tool} {workload}: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])[0]


def no_aslr():
    """The prefix that runs a command without address randomisation: object
    addresses feed id-based hashes (and spyglass's pointer-keyed tables),
    so with it the instruction counts of two runs differ by about 0.0001%
    instead of about 1%."""
    arch = os.uname().machine
    if shutil.which("setarch"):
        return ["setarch", arch, "-R"]
    return []


def instructions(py, tool, workload, size):
    argv = [*no_aslr(), "valgrind", "--tool=callgrind",
            "--callgrind-out-file=/dev/null",
            *child_argv(py, tool, workload, size, 0)]
    # A fixed hash seed makes the two runs execute the same instructions
    # (dict layouts, hence the collector's work, depend on it).
    env = dict(os.environ, PYTHONHASHSEED="0")
    proc = subprocess.run(argv, capture_output=True, text=True,
                          cwd=quiet_cwd(), env=env)
    m = re.search(r"Collected : (\d+)", proc.stderr)
    if proc.returncode != 0 or not m:
        raise RuntimeError(f"callgrind {tool} {workload}: "
                           f"{proc.stderr[-2000:]}")
    return int(m.group(1))


def setup_venv(version, venvs_dir):
    import venvs  # tests/venvs.py, already imported by benchlib
    # benchlib imported it before --venvs was known.
    venvs.VENVS = Path(venvs_dir)
    py = venvs.install(version)
    if py is None:
        return None
    have = subprocess.run([py.python, "-c", "import yappi, pyinstrument"],
                          capture_output=True).returncode == 0
    if not have:
        subprocess.run([py.python, "-m", "pip", "install", "-q",
                        "yappi", "pyinstrument"], check=True)
    build_floor_hook(py.python)
    return Path(py.python)


def bench_version(py, repeat, callgrind, log):
    res = {}
    for workload, size in WALL_SIZES.items():
        times = {t: [] for t in TOOLS}
        for _ in range(repeat):
            for tool in TOOLS:
                times[tool].append(wall(py, tool, workload, size))
        base = min(times["none"])
        res[workload] = {"wall_plain": base}
        for tool in TOOLS[1:]:
            res[workload][tool] = min(times[tool]) / base - 1
        log(f"  {workload:6} wall " + " ".join(
            f"{t}={res[workload][t]:+.2f}" for t in TOOLS[1:]))
        if callgrind:
            n1, n2 = CG_SIZES[workload]
            cg = {}
            for tool in TOOLS:
                if tool == "pyinstrument":
                    continue  # a sampler: its cost is per ms, not per call
                cg[tool] = (instructions(py, tool, workload, n2) -
                            instructions(py, tool, workload, n1))
            for tool in cg:
                if tool != "none":
                    res[workload]["cg_" + tool] = cg[tool] / cg["none"] - 1
            log(f"  {workload:6} instr " + " ".join(
                f"{t}={res[workload]['cg_' + t]:+.2f}"
                for t in cg if t != "none"))
    return res


def table(results):
    lines = ["| CPython | workload | spyglass | cProfile | floor | "
             "yappi (wall) | pyinstrument | spyglass / cProfile | "
             "floor / cProfile | instr. spyglass | instr. cProfile | "
             "instr. floor | instr. yappi | instr. ratio | "
             "instr. floor / cProfile |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for v, res in results.items():
        for w, r in res.items():
            def pct(k):
                return f"{100 * r[k]:.0f}%" if k in r else "–"

            def ratio(a, b):
                return f"{r[a] / r[b]:.2f}" if r.get(b) and a in r else "–"
            lines.append(
                f"| {v} | {w} | {pct('spyglass')} | {pct('cprofile')} | "
                f"{pct('floor')} | {pct('yappi')} | {pct('pyinstrument')} | "
                f"{ratio('spyglass', 'cprofile')} | "
                f"{ratio('floor', 'cprofile')} | "
                f"{pct('cg_spyglass')} | {pct('cg_cprofile')} | "
                f"{pct('cg_floor')} | {pct('cg_yappi')} | "
                f"{ratio('cg_spyglass', 'cg_cprofile')} | "
                f"{ratio('cg_floor', 'cg_cprofile')} |")
    return "\n".join(lines)


def write_docs(text):
    doc = ROOT / "docs" / "benchmarks.md"
    old = doc.read_text() if doc.exists() else "# Benchmarks\n"
    head = "## profile"
    section = f"{head}\n\n{text.strip()}\n"
    if head in old:
        before, rest = old.split(head, 1)
        nxt = rest.find("\n## ")
        after = rest[nxt + 1:] if nxt >= 0 else ""
        new = before + section + ("\n" + after if after else "")
    else:
        new = old.rstrip("\n") + "\n\n" + section
    doc.write_text(new)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--venvs", default="/work/venvs-profile-bench")
    ap.add_argument("--versions", default="3.8,3.9,3.10,3.11,3.12,3.13")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--no-callgrind", action="store_true")
    ap.add_argument("--write-docs", action="store_true")
    args = ap.parse_args()
    results = {}
    for v in args.versions.split(","):
        py = setup_venv(v, Path(args.venvs))
        if py is None:
            print(f"CPython {v}: not found, skipped", file=sys.stderr)
            continue
        print(f"CPython {v}", file=sys.stderr)
        results[v] = bench_version(py, args.repeat, not args.no_callgrind,
                                   lambda s: print(s, file=sys.stderr))
    out = table(results)
    print(out)
    if args.write_docs:
        sizes = ", ".join(f"{w} {s}" for w, s in WALL_SIZES.items())
        cg = ", ".join(f"{w} {a}→{b}" for w, (a, b) in CG_SIZES.items())
        write_docs(
            f"`python3 bench/profile_bench.py --repeat {args.repeat}` on "
            f"{machine()}.\n\nOverhead = T_profiled / T_plain − 1 (wall: "
            f"fastest of {args.repeat} interleaved fresh processes, the "
            f"workload timed in-process; sizes {sizes}). \"instr.\" is the "
            f"same overhead in callgrind instructions (difference between "
            f"sizes {cg}, so start-up cancels), which the machine's load "
            f"does not disturb; pyinstrument, a sampler, is left out there. "
            f"yappi runs with its wall clock and builtins=True (what "
            f"cProfile records). Goal: spyglass at most half of cProfile's "
            f"overhead (ratio ≤ 0.50).\n\n{out}\n")


if __name__ == "__main__":
    main()
