"""Adversarial scorecard of the in-process commands (profile, lines, memory,
timeit): each case many times on each CPython, every run classified as
ok, crash (killed by a signal it was not sent), hang (no end in time),
lost (the result is nowhere) or wrong (the result differs from plain
python's or from the program's own view).

    python bench/reliability_agent.py [--runs N] [--versions 3.8,3.12]
        [--venvs DIR] [--extra-path DIR]

--venvs runs the spyglass already installed in DIR/<version> (another
tree's venvs, for a before/after comparison) instead of this tree's;
--extra-path DIR/<version> is put on the programs' PYTHONPATH (coverage.py
for venvs that lack it). The figures go in docs/reliability.md.
"""
import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import machine  # noqa: E402
import venvs  # noqa: E402  (benchlib put tests/ on the path)
# The programs the regression tests run, with python's view as the oracle.
from test_reliability_agent import HOOKS, MAIN, STACK  # noqa: E402

TIMEOUT = 60
CRASH_SIGNALS = {signal.SIGSEGV, signal.SIGABRT, signal.SIGBUS,
                 signal.SIGILL, signal.SIGFPE}

STOPPED = """
import os, signal, sys

def work(n):
    s = 0
    for i in range(n):
        s += i
    os.kill(os.getpid(), getattr(signal, sys.argv[1]))
    while True:
        s += 1

work(1000)
"""

BUSY = """
import sys
open(sys.argv[1], "w").close()

def work():
    s = 0
    for i in range(10 ** 9):
        s += i

work()
"""

DEEP = """
import sys, threading
sys.setrecursionlimit(100000)
size = int(sys.argv[2]) if len(sys.argv) > 2 else 512 * 1024
threading.stack_size(size)

def rec(n):
    if n == 0:
        return 0
    return rec(n - 1) + 1

out = []
t = threading.Thread(target=lambda: out.append(rec(int(sys.argv[1]))))
t.start()
t.join()
print(out)
"""

COVERAGE = """
import json, os
import coverage
cov = coverage.Coverage(data_file=None)
cov.start()

def f(n):
    s = 0
    for i in range(n):
        if i % 3:
            s += i
    return s

f(10)
cov.stop()
print(json.dumps(sorted(cov.get_data().lines(os.path.abspath(__file__)))))
"""

def own_err(text):
    return "\n".join(x for x in text.splitlines()
                     if not x.startswith("spyglass: "))


class Case:
    """One adversarial case: how to run it and how to judge a run."""

    def __init__(self, name, run):
        self.name = name
        self.run = run  # (py, work dir) -> outcome string


def outcome_of(proc, expected_signal=None):
    """crash for a signal nobody sent, else None (judge the output)."""
    rc = proc.returncode
    if rc < 0 and -rc != (expected_signal or 0) and -rc in CRASH_SIGNALS:
        return "crash"
    return None


def spy(py, *args, **kw):
    kw.setdefault("timeout", TIMEOUT)
    return py.spy(*args, **kw)


def case_signal(cmd, sig):
    def run(py, wd):
        prog = wd / "stopped.py"
        out = wd / "sig.pstats"
        args = [cmd, prog, sig.name] if cmd != "profile" else \
            [cmd, "-o", out, prog, sig.name]
        proc = spy(py, *args, preexec_fn=lambda: signal.signal(
            sig, signal.SIG_DFL))
        bad = outcome_of(proc, sig)
        if bad:
            return bad
        if proc.returncode != -sig:
            return "wrong"
        if cmd == "profile":
            return "ok" if out.exists() and out.stat().st_size else "lost"
        return "ok" if "Line #" in proc.stdout else "lost"
    return Case(f"{cmd} {sig.name} from the program", run)


def case_timeit_signal(sig):
    """A stop in timeit's third repeat of five: the two done reported."""
    def run(py, wd):
        setup = ("import os, signal, builtins; "
                 "n = builtins.__dict__.setdefault('n', [0])")
        stmt = f"n[0] += 1; n[0] == 25 and os.kill(os.getpid(), {int(sig)})"
        proc = spy(py, "timeit", "-n", "10", "-r", "5", "-s", setup, stmt,
                   preexec_fn=lambda: signal.signal(
                       signal.SIGINT, signal.default_int_handler) and None)
        bad = outcome_of(proc, sig)
        if bad:
            return bad
        if "best of" not in proc.stdout:
            return "lost"
        ok = proc.returncode == -sig and "best of 2:" in proc.stdout
        return "ok" if ok else "wrong"
    return Case(f"timeit {sig.name} in its third repeat", run)


def case_external_sigterm(cmd):
    """SIGTERM from outside at a random moment of the first 0.4 s: once
    the program has started (its marker exists) its results must be
    written; before, nothing of it ran and there is nothing to lose."""
    def run(py, wd):
        marker = wd / "started"
        if marker.exists():
            marker.unlink()
        p = subprocess.Popen([py.spyglass, cmd, str(wd / "busy.py"),
                              str(marker)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=py.env,
                             cwd=wd, preexec_fn=lambda: signal.signal(
                                 signal.SIGTERM, signal.SIG_DFL))
        time.sleep(random.uniform(0, 0.4))
        p.send_signal(signal.SIGTERM)
        try:
            out, _ = p.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            p.kill()
            p.communicate()
            return "hang"
        if outcome_of(p, signal.SIGTERM):
            return "crash"
        if p.returncode != -signal.SIGTERM:
            return "wrong"
        if marker.exists() and "Line #" not in out:
            return "lost"
        return "ok"
    return Case(f"{cmd} SIGTERM from outside, any moment", run)


def case_full_stdout(args, label):
    def run(py, wd):
        env = dict(py.env, TMPDIR=str(wd))
        with open("/dev/full", "w") as full:
            proc = py.spy(*args, stdout=full, stderr=subprocess.PIPE,
                          capture_output=False, env=env, timeout=TIMEOUT,
                          cwd=wd)
        bad = outcome_of(proc)
        if bad:
            return bad
        saved = proc.stderr.split("saved the result to ")
        if proc.returncode == 0 or len(saved) < 2:
            return "lost"
        path = Path(saved[1].split()[0])
        ok = path.exists() and path.stat().st_size > 0
        if path.exists():
            path.unlink()
        return "ok" if ok else "lost"
    return Case(f"{label} > /dev/full", run)


def case_deep(depth):
    def run(py, wd):
        plain = py.py(wd / "deep.py", str(depth), timeout=TIMEOUT, cwd=wd)
        if plain.returncode != 0:
            return "n/a"  # before 3.11 python itself needs C stack
        proc = spy(py, "lines", wd / "deep.py", str(depth))
        bad = outcome_of(proc)
        if bad:
            return bad
        if proc.returncode != 0 or "Line #" not in proc.stdout:
            return "lost"
        return "ok" if proc.stdout.startswith(f"[{depth}]\n") else "wrong"
    return Case(f"lines, recursion {depth} deep on a 512 KB thread", run)


def case_eval_hook_deep():
    """profile's opt-in frame hook (3.12+) on a recursion deeper than half
    a 256 KB thread's stack: RecursionError in the thread, never a crash."""
    def run(py, wd):
        if py.version in ("3.8", "3.9", "3.10", "3.11"):
            return "n/a"
        env = dict(py.env, SPYGLASS_PROFILE_HOOK="eval")
        proc = spy(py, "profile", "-f", "pstats", "-o", "/dev/null",
                   wd / "deep.py", "20000", str(256 * 1024), env=env)
        bad = outcome_of(proc)
        if bad:
            return bad
        return "ok" if proc.returncode == 0 else "wrong"
    return Case("profile (eval hook), recursion 20000, 256 KB thread", run)


def case_as_python(name, cmd, prog, in_table=(), env=None,
                   stream="stdout"):
    """The program's own output under `spyglass CMD` equals plain
    python's (stdout, or stderr less spyglass's lines), and the table
    after it names each of in_table. prog(wd): the program's arguments."""
    def run(py, wd):
        e = dict(py.env, **(env or {}))
        plain = py.py(*prog(wd), env=e, timeout=TIMEOUT, cwd=wd)
        if plain.returncode != 0:
            return "n/a"
        proc = spy(py, *cmd, *prog(wd), env=e, cwd=wd)
        bad = outcome_of(proc)
        if bad:
            return bad
        if proc.returncode != 0:
            return "wrong"
        if stream == "stderr":
            same = own_err(proc.stderr) == plain.stderr.rstrip("\n")
            return "ok" if same else "wrong"
        if not proc.stdout.startswith(plain.stdout):
            return "wrong"
        table = proc.stdout[len(plain.stdout):]
        return "ok" if all(x in table for x in in_table) else "wrong"
    return Case(name, run)


def cases():
    out = []
    for cmd in ("profile", "lines", "memory"):
        out.append(case_signal(cmd, signal.SIGTERM))
    out.append(case_signal("lines", signal.SIGINT))
    out.append(case_external_sigterm("lines"))
    out.append(case_timeit_signal(signal.SIGTERM))
    out.append(case_timeit_signal(signal.SIGINT))
    out.append(case_full_stdout(["lines", "-c", "def f():\n return 1\nf()"],
                                "lines"))
    out.append(case_full_stdout(["timeit", "-n", "10", "-r", "2", "pass"],
                                "timeit"))
    out.append(case_deep(20000))
    out.append(case_eval_hook_deep())
    out.append(case_as_python("lines with coverage.py measuring", ["lines"],
                              lambda wd: [wd / "cov.py"]))
    out.append(case_as_python("profile with threading.setprofile",
                              ["profile"], lambda wd: [wd / "hooks.py"],
                              ("(worker_fn)", "(main_fn)")))
    # python's own view of the program (argv, sys.path[0], __file__).
    # (A zip app's source is not a file: kernprof's table then has no
    # function name, only the counts.)
    for cmd, target, shows in (("profile", "app", "work"),
                               ("lines", "app.pyz", "Total time"),
                               ("memory", "app", "work")):
        out.append(case_as_python(f"{cmd} {target} (python runs __main__)",
                                  [cmd], lambda wd, t=target: [t, "x"],
                                  (shows,)))
    quiet = ["profile", "-f", "pstats", "-o", "/dev/null"]
    out.append(case_as_python(
        "profile -c: print_stack and warnings' stacklevel", quiet,
        lambda wd: ["-c", STACK], stream="stderr"))
    out.append(case_as_python(
        "profile -c under PYTHONSAFEPATH: sys.path[0]", quiet,
        lambda wd: ["-c", "import sys; print(sys.path[0])"],
        env={"PYTHONSAFEPATH": "1"}))
    return out


def setup(wd):
    for name, text in (("stopped.py", STOPPED), ("busy.py", BUSY),
                       ("deep.py", DEEP), ("cov.py", COVERAGE),
                       ("hooks.py", HOOKS)):
        (wd / name).write_text(textwrap.dedent(text))
    (wd / "app").mkdir()
    (wd / "app" / "__main__.py").write_text(MAIN)
    with zipfile.ZipFile(wd / "app.pyz", "w") as z:
        z.writestr("__main__.py", MAIN)


def one(case, py, wd):
    try:
        return case.run(py, wd)
    except subprocess.TimeoutExpired:
        return "hang"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--versions", default="3.8,3.12")
    ap.add_argument("--venvs", help="use the spyglass installed there")
    ap.add_argument("--extra-path", help="DIR/<version> on PYTHONPATH")
    ap.add_argument("--only", default="", help="the cases whose name has it")
    args = ap.parse_args()
    kinds = ["ok", "crash", "hang", "lost", "wrong", "n/a"]
    print(f"# {machine()}; {args.runs} runs per case")
    print(f"{'version':8} {'case':52} " + " ".join(f"{k:>5}" for k in kinds))
    totals = {k: 0 for k in kinds}
    for v in args.versions.split(","):
        if args.venvs:
            py = venvs.Py(v, Path(args.venvs) / v)
        else:
            py = venvs.install(v)
        if py is None or not Path(py.spyglass).exists():
            print(f"{v:8} (not installed)")
            continue
        if args.extra_path:
            py.env["PYTHONPATH"] = str(Path(args.extra_path) / v)
        with tempfile.TemporaryDirectory(prefix="sg-reliab-") as d:
            wd = Path(d)
            setup(wd)
            for case in (c for c in cases() if args.only in c.name):
                counts = {k: 0 for k in kinds}
                for _ in range(args.runs):
                    counts[one(case, py, wd)] += 1
                for k in kinds:
                    totals[k] += counts[k]
                print(f"{v:8} {case.name:52} " +
                      " ".join(f"{counts[k]:5}" for k in kinds), flush=True)
    runs = sum(totals.values())
    print(f"total: {runs} runs; " +
          ", ".join(f"{totals[k]} {k}" for k in kinds))


if __name__ == "__main__":
    sys.exit(main())
