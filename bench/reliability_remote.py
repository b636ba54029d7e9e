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
        with a torn thread, runs without the main thread, which lives
        throughout, or with two);
      - record: `record -r 1000 --threads --idle -f collapsed` for S
        seconds, stacks under the wrong thread, and dropped walks as the
        reader counts them (--stats-like line on stderr when present).
  * asyncio: 10,000 tasks (tests/targets/reliable_asyncio.py, modes
    await, spin, calls and nested by default): one-shot dumps with a torn
    thread, the dump loop's and `record`'s dropped walks, and, with
    --py-spy PATH, py-spy's dump (which pauses the target) and dump
    --nonblocking on the same process, runs that failed.
  * long names: a function and a file name of 5,000 characters: the stack
    is read whole (one-shot dump).
  * deep stack: 6,000 frames: `record` keeps the root (<module> on the
    stack in every sample) and marks the cut.

With --pin, the target runs on one CPU and spyglass on another, both at
once, as on an idle multi-core machine: the reader then races a target
that never stops, which is when a busy thread's walks tear (on a loaded
machine they share CPUs and the target rarely runs while it is read).
--churn-args THREADS,ROUNDS,NAP runs the churn target with many threads
that live a while (reliable_churn.py's docstring).

    python3 bench/reliability_remote.py --spyglass PATH
        [--versions 3.8,3.11,3.12,3.13] [--dumps 200] [--repeat 2000]
        [--seconds 5] [--pin] [--churn-args 50,20,0.001]
        [--py-spy PATH] [--markdown]
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

# CPUs of --pin: the target's and the reader's (None: not pinned).
PIN = None


def pin_reader():
    if PIN:
        os.sched_setaffinity(0, {PIN[0]})


def spy(exe, *args, timeout=600):
    """Run spyglass (or py-spy) on the reader's CPU."""
    return subprocess.run([exe, *args], capture_output=True, text=True,
                          timeout=timeout, preexec_fn=pin_reader)


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
        if PIN:
            os.sched_setaffinity(self.proc.pid, {PIN[1]})

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
    extra = a.churn_args.split(",") if a.churn_args else []
    t = Target(python, CHURN, tmp, *extra)
    out = {}
    try:
        run = spy(exe, "dump", "-p", str(t.proc.pid), "--repeat",
                  str(a.repeat), "--stats", "-f", "json")
        st = stats_of(run.stderr)
        # 8 threads at most (about 8-9 walks), or THREADS of --churn-args
        walks = st["samples"] * (int(extra[0]) if extra else 9)
        out["loop_dropped_%"] = 100 * st["thread_errors"] / walks
        out["loop_lists_cut"] = int(st.get("lists_cut", -1))
        wrong = torn = no_main = two_mains = 0
        for _ in range(a.dumps):
            one = spy(exe, "dump", "-p", str(t.proc.pid), "-f", "json",
                      timeout=60)
            if one.returncode:
                continue
            d = json.loads(one.stdout)
            torn += d["errors"] > 0
            mains = sum(th["is_main"] for th in d["threads"])
            no_main += mains == 0
            two_mains += mains > 1
            for th in d["threads"]:
                names = [f["name"] for f in reversed(th["frames"])]
                wrong += wrong_thread(th["is_main"], names)
        out["dumps_torn_%"] = 100 * torn / a.dumps
        out["dumps_wrong_thread"] = wrong
        out["dumps_no_main"] = no_main
        out["dumps_two_mains"] = two_mains
        col = Path(tmp) / "r.collapsed"
        rec = spy(exe, "record", "-p", str(t.proc.pid), "-r", "1000", "-d",
                  str(a.seconds), "--threads", "--idle", "-o", str(col))
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


def record_dropped(exe, pid, seconds, out):
    """`record`'s thread stacks and dropped walks, from its summary."""
    rec = spy(exe, "record", "-p", str(pid), "-r", "1000", "-d",
              str(seconds), "-f", "collapsed", "-o", str(out))
    m = re.search(r"(\d+) thread walks dropped", rec.stderr)
    dropped = int(m.group(1)) if m else 0
    m = re.search(r"(\d+) samples from", rec.stderr)
    return (int(m.group(1)) if m else 0), dropped


def asyncio_mode(exe, python, tmp, a, mode):
    t = Target(python, ASYNCIO, tmp, mode)
    pid = str(t.proc.pid)
    try:
        torn = 0
        n = max(a.dumps // 4, 10)
        for _ in range(n):
            one = spy(exe, "dump", "-p", pid, timeout=60)
            torn += "stack incomplete" in one.stdout or one.returncode != 0
        run = spy(exe, "dump", "-p", pid, "--repeat", str(a.repeat // 4),
                  "--interval-us", "1000", "--stats", "-f", "json")
        st = stats_of(run.stderr)
        stacks, dropped = record_dropped(exe, pid, a.seconds,
                                         Path(tmp) / "a.collapsed")
        out = {f"asyncio_{mode}_dumps_torn_%": 100 * torn / n,
               f"asyncio_{mode}_loop_dropped_%":
                   100 * st["thread_errors"] / st["samples"],
               f"asyncio_{mode}_record_dropped_%":
                   100 * dropped / max(stacks + dropped, 1)}
        if a.py_spy:
            for flag in ("", "--nonblocking"):
                fails = sum(spy(a.py_spy, "dump", "-p", pid,
                                *([flag] if flag else []),
                                timeout=60).returncode != 0
                            for _ in range(n))
                out[f"asyncio_{mode}_py-spy{flag}_failed"] = f"{fails}/{n}"
        return out
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
    p.add_argument("--asyncio-modes", default="await,spin,calls,nested",
                   help="modes of tests/targets/reliable_asyncio.py")
    p.add_argument("--pin", action="store_true",
                   help="target and spyglass on CPUs of their own")
    p.add_argument("--churn-args", default="",
                   help="THREADS,ROUNDS,NAP of reliable_churn.py")
    p.add_argument("--py-spy", default="",
                   help="a py-spy to run beside on the asyncio targets")
    p.add_argument("--markdown", action="store_true")
    a = p.parse_args()
    if a.pin:
        global PIN
        cpus = sorted(os.sched_getaffinity(0))
        if len(cpus) < 2:
            p.error("--pin needs two CPUs")
        PIN = cpus[:2]
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
