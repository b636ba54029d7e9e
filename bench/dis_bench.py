"""Cost of `spyglass dis`'s exact instruction counts, per CPython.

usage: python3 bench/dis_bench.py [--venvs DIR] [--versions 3.8,...]
                                  [--repeat N]

Each venv under DIR/<version> needs spyglass installed (tests/venvs.py
makes them; default DIR: the worktree's .venvs). Workloads, the counted
function decorated with @profile:
  (a) julia: examples/julia.py's inner function (100x100 grid, 200 iter);
  (b) fib: a recursive fib(24), every call counted.
For each, the whole process is timed: plain python (a no-op `profile`),
`spyglass dis`, and the only alternative, an instruction counter in pure
Python on the same functions (sys.settrace with f_trace_opcodes on
3.8-3.11, a sys.monitoring INSTRUCTION callback on the function's code
object on 3.12+). Runs are interleaved, repeated, and the median taken;
slowdown = median / plain median.

Sampled mode (`record --dis NAME`) does not slow the target (it is read
from outside); its cost is spyglass's own CPU: a julia run is attached with
`record -p PID -d 2 -r 500`, once writing the flame graph and once with
--dis (the samples per instruction, the opcode reads, and the listing
rendered by a python of the target's version), and the CPU time of the
record process and its children (os.wait4) is compared.
"""
import os
import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

FIB = '''
@profile
def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)

fib(24)
'''

NOOP = "import builtins; builtins.profile = lambda f: f\n"

# The pure-Python counter: `profile` marks a function's code as counted.
TRACER = '''
import builtins, collections, sys
counts = collections.Counter()
if sys.version_info >= (3, 12):
    M = sys.monitoring
    M.use_tool_id(4, "bench")
    def on_instruction(code, offset):
        counts[code, offset] += 1
    M.register_callback(4, M.events.INSTRUCTION, on_instruction)
    def profile(f):
        M.set_local_events(4, f.__code__, M.events.INSTRUCTION)
        return f
else:
    selected = set()
    def local(frame, event, arg):
        if event == "opcode":
            counts[frame.f_code, frame.f_lasti] += 1
        return local
    def tracer(frame, event, arg):
        if frame.f_code not in selected:
            return None
        frame.f_trace_opcodes = True
        return local
    sys.settrace(tracer)
    def profile(f):
        selected.add(f.__code__)
        return f
builtins.profile = profile
'''


def julia_source():
    src = (ROOT / "examples" / "julia.py").read_text()
    return src.replace("def calculate_z_serial_purepython",
                       "@profile\ndef calculate_z_serial_purepython")


def run(cmd, cwd):
    t = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t


def bench_version(venv, repeat, workdir):
    py = str(venv / "bin" / "python")
    sg = str(venv / "bin" / "spyglass")
    rows = []
    for name, src, args in (("julia", julia_source(), ["100", "200"]),
                            ("fib", FIB, [])):
        prog = workdir / f"{name}.py"
        prog.write_text(src)
        plain = workdir / f"{name}_plain.py"
        plain.write_text(NOOP + src)
        traced = workdir / f"{name}_traced.py"
        traced.write_text(TRACER + src)
        cmds = {
            "plain": [py, str(plain), *args],
            "spyglass dis": [sg, "dis", str(prog), *args],
            "python tracer": [py, str(traced), *args],
        }
        times = {k: [] for k in cmds}
        for _ in range(repeat):
            for k, c in cmds.items():
                times[k].append(run(c, workdir))
        med = {k: statistics.median(v) for k, v in times.items()}
        rows.append((name, med))
    return rows


def record_cpu(venv, workdir, dis, repeat):
    """Median CPU seconds of `record -p PID -d 2 -r 500` on a julia run."""
    py = str(venv / "bin" / "python")
    sg = str(venv / "bin" / "spyglass")
    prog = workdir / "julia_rec.py"
    prog.write_text(julia_source().replace("@profile\n", ""))
    cpu = []
    for _ in range(repeat):
        target = subprocess.Popen([py, str(prog), "400", "300"],
                                  stdout=subprocess.DEVNULL)
        time.sleep(0.3)
        cmd = [sg, "record", "-p", str(target.pid), "-d", "2", "-r", "500"]
        cmd += (["--dis", "calculate_z_serial_purepython", "-o",
                 str(workdir / "l.txt")] if dis else
                ["-o", str(workdir / "f.svg")])
        rec = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
        _, status, ru = os.wait4(rec.pid, 0)
        rec.returncode = os.waitstatus_to_exitcode(status)
        target.kill()
        target.wait()
        assert rec.returncode == 0, cmd
        cpu.append(ru.ru_utime + ru.ru_stime)
    return statistics.median(cpu)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--venvs", default=str(ROOT / ".venvs"))
    ap.add_argument("--versions", default="3.8,3.9,3.10,3.11,3.12,3.13")
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    print("| CPython | workload | plain (s) | spyglass dis | "
          "Python tracer |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as d:
        for v in a.versions.split(","):
            venv = Path(a.venvs) / v
            if not (venv / "bin" / "spyglass").exists():
                print(f"skipped {v}: no venv with spyglass", file=sys.stderr)
                continue
            for name, med in bench_version(venv, a.repeat, Path(d)):
                p = med["plain"]
                print(f"| {v} | {name} | {p:.2f} | "
                      f"x{med['spyglass dis'] / p:.1f} | "
                      f"x{med['python tracer'] / p:.1f} |", flush=True)
    print("\n| CPython | record CPU, flame graph (s) | record --dis CPU (s) |")
    print("|---|---|---|")
    with tempfile.TemporaryDirectory() as d:
        for v in a.versions.split(","):
            venv = Path(a.venvs) / v
            if not (venv / "bin" / "spyglass").exists():
                continue
            base = record_cpu(venv, Path(d), False, a.repeat)
            dis = record_cpu(venv, Path(d), True, a.repeat)
            print(f"| {v} | {base:.3f} | {dis:.3f} |", flush=True)


if __name__ == "__main__":
    main()
