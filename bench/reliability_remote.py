#!/usr/bin/env python3
"""Adversarial scorecard of the remote reader (`dump`, `record`).

For each CPython version, against one spyglass executable (the reader does
not depend on the target's version, so an earlier build can be scored the
same way for a before/after table):

  * churn: a target whose main thread keeps starting short worker threads
    while both call the same functions (3.8-3.10 hand a code object's
    frame object from one thread to the next). Ground truth that load
    cannot distort: the main thread's stack ends in the target's <module>
    and main_only, a worker's in threading's _bootstrap and worker_only;
    a stack with the other's frames is under the wrong thread.
      - dump loop: `dump --repeat N --stats`, torn (dropped) thread walks
        per walk, and the last sample checked;
      - one-shot dumps: R separate runs, each checked (wrong threads, runs
        with a torn thread);
      - record: `record -r 1000 --threads --idle -f collapsed` for S
        seconds, stacks under the wrong thread, and dropped walks as the
        reader counts them (--stats-like line on stderr when present).
  * asyncio: 10,000 tasks (tests/targets/reliable_asyncio.py, modes
    await and spin by default): one-shot dumps with a torn thread, and
    the dump loop's dropped walks.
  * long names: a function and a file name of 5,000 characters: the stack
    is read whole (one-shot dump).
  * deep stack: 6,000 frames: `record` keeps the root (<module> on the
    stack in every sample) and marks the cut.

    python3 bench/reliability_remote.py --spyglass PATH
        [--versions 3.8,3.11,3.12,3.13] [--dumps 200] [--repeat 2000]
        [--seconds 5] [--markdown]
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlib import venvs

# The test suite's targets (their docstrings have the ground truth).
TARGETS = Path(__file__).resolve().parent.parent / "tests" / "targets"
CHURN = (TARGETS / "reliable_churn.py").read_text()

ASYNCIO = (TARGETS / "reliable_asyncio.py").read_text()

LONG = r'''
import sys, time
name = "f" + "x" * 5000
ns = {}
def park():
    open(sys.argv[1], "w").write("ready")
    time.sleep(3600)
exec(compile(f"def {name}():\n    park()\n", "/tmp/" + "d" * 5000 + ".py",
             "exec"), {"park": park}, ns)
ns[name]()
'''

class Target:
    def __init__(self, python, source, tmp, *args):
        self.script = Path(tmp) / "target.py"
        self.script.write_text(source)
        self.ready = Path(tmp) / "ready"
        if self.ready.exists():
            self.ready.unlink()
        self.proc = subprocess.Popen(
            [str(python), str(self.script), str(self.ready), *args],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while not self.ready.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("target did not start")
            time.sleep(0.02)

    def stop(self):
        self.proc.kill()
        self.proc.wait()


def wrong_thread(is_main, names):
    """Whether a stack (outermost first) is under the wrong thread."""
    if is_main:
        return "worker_only" in names or "_bootstrap" in names
    return "main_only" in names or (bool(names) and names[0] == "<module>")


def stats_of(stderr):
    line = stderr.split("stats: ", 1)[1].split("\n", 1)[0]
    return {k: float(v) for k, v in (kv.split("=") for kv in line.split())}


def churn(exe, python, tmp, a):
    t = Target(python, CHURN, tmp)
    out = {}
    try:
        run = subprocess.run([exe, "dump", "-p", str(t.proc.pid), "--repeat",
                              str(a.repeat), "--stats", "-f", "json"],
                             capture_output=True, text=True, timeout=600)
        st = stats_of(run.stderr)
        walks = st["samples"] * 9  # 8 threads at most, about 8-9 walks
        out["loop_dropped_%"] = 100 * st["thread_errors"] / walks
        wrong = torn = 0
        for _ in range(a.dumps):
            one = subprocess.run([exe, "dump", "-p", str(t.proc.pid), "-f",
                                  "json"], capture_output=True, text=True,
                                 timeout=60)
            if one.returncode:
                continue
            d = json.loads(one.stdout)
            torn += d["errors"] > 0
            for th in d["threads"]:
                names = [f["name"] for f in reversed(th["frames"])]
                wrong += wrong_thread(th["is_main"], names)
        out["dumps_torn_%"] = 100 * torn / a.dumps
        out["dumps_wrong_thread"] = wrong
        col = Path(tmp) / "r.collapsed"
        rec = subprocess.run([exe, "record", "-p", str(t.proc.pid), "-r",
                              "1000", "-d", str(a.seconds), "--threads",
                              "--idle", "-o", str(col)],
                             capture_output=True, text=True, timeout=600)
        total = wrong = 0
        for line in col.read_text().splitlines():
            stack, n = line.rsplit(" ", 1)
            frames = stack.split(";")
            names = [f.split(" (")[0] for f in frames[1:]]
            total += int(n)
            wrong += int(n) * wrong_thread(
                frames[0].endswith(": MainThread"), names)
        out["record_stacks"] = total
        out["record_wrong_thread"] = wrong
        m = re.search(r"(\d+) thread walks dropped", rec.stderr)
        out["record_dropped"] = int(m.group(1)) if m else 0
    finally:
        t.stop()
    return out


def asyncio_case(exe, python, tmp, a):
    out = {}
    for mode in a.asyncio_modes.split(","):
        out.update(asyncio_mode(exe, python, tmp, a, mode))
    return out


def asyncio_mode(exe, python, tmp, a, mode):
    t = Target(python, ASYNCIO, tmp, mode)
    try:
        torn = 0
        n = max(a.dumps // 4, 10)
        for _ in range(n):
            one = subprocess.run([exe, "dump", "-p", str(t.proc.pid)],
                                 capture_output=True, text=True, timeout=60)
            torn += "stack incomplete" in one.stdout or one.returncode != 0
        run = subprocess.run([exe, "dump", "-p", str(t.proc.pid), "--repeat",
                              str(a.repeat // 4), "--interval-us", "1000",
                              "--stats", "-f", "json"],
                             capture_output=True, text=True, timeout=600)
        st = stats_of(run.stderr)
        return {f"asyncio_{mode}_dumps_torn_%": 100 * torn / n,
                f"asyncio_{mode}_loop_dropped_%":
                    100 * st["thread_errors"] / st["samples"]}
    finally:
        t.stop()


def long_names(exe, python, tmp, a):
    t = Target(python, LONG, tmp)
    try:
        one = subprocess.run([exe, "dump", "-p", str(t.proc.pid), "-f",
                              "json"], capture_output=True, text=True,
                             timeout=60)
        d = json.loads(one.stdout)
        th = d["threads"][0]
        ok = not th["error"] and any(f["name"].startswith("fxxx")
                                     for f in th["frames"])
        return {"long_name_stack_read": ok}
    finally:
        t.stop()


def deep(exe, python, tmp, a):
    col = Path(tmp) / "d.collapsed"
    subprocess.run([exe, "record", "-o", str(col), "--", str(python),
                    str(TARGETS / "reliable_deep.py"), str(Path(tmp) / "r"),
                    "2"], capture_output=True, timeout=600)
    total = rooted = 0
    for line in col.read_text().splitlines():
        stack, n = line.rsplit(" ", 1)
        frames = [f.split(" (")[0] for f in stack.split(";")]
        if "rec" not in frames:
            continue  # start-up, not the recursion
        total += int(n)
        rooted += int(n) * (frames[0] == "<module>")
    return {"deep_rooted_%": 100 * rooted / max(total, 1)}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--spyglass", required=True)
    p.add_argument("--versions", default="3.8,3.11,3.12,3.13")
    p.add_argument("--dumps", type=int, default=200)
    p.add_argument("--repeat", type=int, default=2000)
    p.add_argument("--seconds", type=float, default=5)
    p.add_argument("--cases", default="churn,asyncio,long,deep")
    p.add_argument("--asyncio-modes", default="await,spin",
                   help="modes of tests/targets/reliable_asyncio.py")
    p.add_argument("--markdown", action="store_true")
    a = p.parse_args()
    cases = {"churn": churn, "asyncio": asyncio_case, "long": long_names,
             "deep": deep}
    rows = []
    for v in a.versions.split(","):
        python = venvs.find_interpreter(v)
        if not python:
            print(f"{v}: not installed", file=sys.stderr)
            continue
        row = {"version": v}
        for name in a.cases.split(","):
            with tempfile.TemporaryDirectory() as tmp:
                row.update(cases[name](a.spyglass, python, tmp, a))
        rows.append(row)
        print(json.dumps(row), flush=True)
    if a.markdown and rows:
        keys = [k for k in rows[0] if k != "version"]
        print("| version | " + " | ".join(keys) + " |")
        print("|---" * (len(keys) + 1) + "|")
        for r in rows:
            print(f"| {r['version']} | " + " | ".join(
                f"{r.get(k, ''):.2f}" if isinstance(r.get(k), float)
                else str(r.get(k, "")) for k in keys) + " |")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    main()
