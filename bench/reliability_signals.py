"""The adversarial scorecard of signals, launchers and lost results for
`record` and `time` (docs/reliability.md, "signals and launch").

Each case runs --runs times (on each --versions CPython where Python is
the program) and is scored: crashes (spyglass ended by a signal nobody
sent it, or a sanitizer report), hangs (no end within --timeout), lost
outputs (a result or a program's output that did not arrive, or arrived
wrong: an empty profile, a report lost, a misleading error, a program left
running), and double deliveries (the program got one signal twice). Where
the same case means something without spyglass (a group kill of plain
python), that baseline is scored beside it.

  launcher/*     record --subprocesses behind sh -c, bash -c, a wrapper
                 script and timeout; the Python child spins 0.3 s of its
                 own CPU time. Lost: no sample of its work().
  no-python      record --subprocesses of a launcher with no Python below
                 it. Lost: exit 0 without an error line.
  early-term     SIGTERM to record 0-20 ms after it started. Lost: the
                 program still running afterwards, or an error line.
  full/*         time's report to a full stdout, -v's to a full stderr, -o
                 /dev/full. Lost: exit 0, or no saved file.
  group-int/*    SIGINT to the whole process group (os.killpg) of time -n 1
                 and record running a C counter and a Python program whose
                 `except KeyboardInterrupt:` cleanup a second one breaks;
                 timeout -s INT of the C counter. Double: two deliveries.
  ignored/*      nohup (SIGHUP ignored) record and trap '' INT time; the
                 group gets the ignored signal. Lost: the program died.
  segv/*         time -n 1 and record of a program killed by SIGSEGV.
                 Lost: the signal not named, or the status not 139.
  stdin          time -n 1 -- cat with input. Lost: the input not echoed.

usage: python bench/reliability_signals.py [--runs 50] [--versions 3.8,3.12]
           [--spyglass PATH] [--only CASE-PREFIX] [--timeout 60]
--spyglass runs another build (e.g. main's, for the figures before a fix)
with the versions' interpreters.
"""
import argparse
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlib import ROOT, installed, machine

TARGETS = ROOT / "tests" / "targets"

WORK = ("import time\n"
        "def work():\n"
        "    t = time.thread_time()\n"
        "    while time.thread_time() - t < 0.3: pass\n"
        "work()\n")

# Says ready, waits for SIGINT; its cleanup must not be interrupted again.
KI = ("import time\n"
      "try:\n"
      "    print('ready', flush=True)\n"
      "    while True: time.sleep(0.005)\n"
      "except KeyboardInterrupt:\n"
      "    try:\n"
      "        time.sleep(0.3)\n"
      "    except KeyboardInterrupt:\n"
      "        print('double', flush=True); raise SystemExit(3)\n"
      "    print('clean', flush=True)\n")

WAIT_FOR_FILE = (
    "import os, sys, time\n"
    "print('ready', flush=True)\n"
    "while not os.path.exists(sys.argv[1]): time.sleep(0.002)\n"
    "print('survived', flush=True)\n")


class Score:
    FIELDS = ("crashes", "hangs", "lost", "double")

    def __init__(self, name):
        self.name, self.runs = name, 0
        self.counts = dict.fromkeys(self.FIELDS, 0)
        self.example = ""

    def add(self, field, why=""):
        self.counts[field] += 1
        if not self.example:
            self.example = why[:160].replace("\n", " | ")


def crashed(rc, err, sent=()):
    """spyglass ended by a signal it was not sent, or a sanitizer spoke."""
    if rc is not None and rc < 0 and -rc not in sent:
        return True
    return "Sanitizer" in err or "runtime error:" in err


def run(argv, timeout, **kw):
    """(returncode or None on a hang, stdout, stderr)."""
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, **kw)
    try:
        out, err = p.communicate(timeout=timeout)
        return p.returncode, out, err
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL) if kw.get("start_new_session") \
            else p.kill()
        out, err = p.communicate()
        return None, out, err


def funcs(path):
    try:
        text = Path(path).read_text()
    except OSError:
        return set()
    return {f.split(" (")[0] for line in text.splitlines()
            for f in line.rpartition(" ")[0].split(";")}


def launcher(sg, py, tmp, how, a):
    script = tmp / "work.py"
    script.write_text(WORK)
    wrapper = tmp / "wrap.sh"
    wrapper.write_text(f"#!/bin/sh\n'{py.python}' '{script}'\nexit $?\n")
    wrapper.chmod(0o755)
    cmd = {"sh": ["sh", "-c", f"'{py.python}' '{script}'; true"],
           "bash": ["bash", "-c", f"'{py.python}' '{script}'; true"],
           "wrapper": [str(wrapper)],
           "timeout": ["timeout", "60", py.python, str(script)]}[how]
    s = Score(f"launcher/{how} {py.version}")
    out = tmp / "l.collapsed"
    for _ in range(a.runs):
        out.unlink(missing_ok=True)
        s.runs += 1
        rc, _, err = run([sg, "record", "--subprocesses", "-o", str(out),
                          "--", *cmd], a.timeout, env=py.env)
        if rc is None:
            s.add("hangs")
        elif crashed(rc, err):
            s.add("crashes", err)
        elif rc != 0 or "work" not in funcs(out):
            s.add("lost", err)
    return s


def no_python(sg, py, tmp, a):
    s = Score("no-python")
    for _ in range(a.runs):
        s.runs += 1
        rc, _, err = run([sg, "record", "--subprocesses", "-o",
                          str(tmp / "n.collapsed"), "--", "sh", "-c",
                          "sleep 0.05; true"], a.timeout, env=py.env)
        if rc is None:
            s.add("hangs")
        elif crashed(rc, err):
            s.add("crashes", err)
        elif rc == 0 or "no Python process seen" not in err:
            s.add("lost", err)
    return s


def alive(pid):
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[
        0] != "Z"


def early_term(sg, py, tmp, a):
    s = Score(f"early-term {py.version}")
    mark = tmp / "pid"
    code = ("import os, sys, time\n"
            "open(sys.argv[1], 'w').write(str(os.getpid()))\n"
            "time.sleep(5)\n")
    for _ in range(a.runs):
        mark.unlink(missing_ok=True)
        s.runs += 1
        p = subprocess.Popen([sg, "record", "-o", str(tmp / "e.collapsed"),
                              "--", py.python, "-c", code, str(mark)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, env=py.env)
        time.sleep(random.uniform(0, 0.02))
        p.send_signal(signal.SIGTERM)
        try:
            _, err = p.communicate(timeout=a.timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.communicate()
            s.add("hangs")
            continue
        child = None
        try:
            child = int(mark.read_text() or 0) or None
        except (OSError, ValueError):
            pass
        if crashed(p.returncode, err, sent=(signal.SIGTERM,)):
            s.add("crashes", err)
        elif child and alive(child):
            os.kill(child, signal.SIGKILL)
            s.add("lost", "the program was left running")
        elif "spyglass: error:" in err:
            s.add("lost", err)
    return s


def full(sg, py, tmp, how, a):
    s = Score(f"full/{how}")
    env = dict(py.env, TMPDIR=str(tmp / "fb"))
    (tmp / "fb").mkdir(exist_ok=True)
    argv, out, errf = {
        "stdout": ([sg, "time", "-n", "2", "--", "true"], "/dev/full", None),
        "verbose-stderr": ([sg, "time", "-v", "--", "true"], None,
                           "/dev/full"),
        "o-dev-full": ([sg, "time", "-n", "2", "-o", "/dev/full", "--",
                        "true"], None, None)}[how]
    for _ in range(a.runs):
        for f in (tmp / "fb").iterdir():
            f.unlink()
        s.runs += 1
        with open(out or os.devnull, "w") as o, \
                open(errf or os.devnull, "w") as e:
            p = subprocess.run(argv, stdout=o if out else subprocess.DEVNULL,
                               stderr=e if errf else subprocess.PIPE,
                               text=True, env=env, timeout=a.timeout)
        err = p.stderr or ""
        if crashed(p.returncode, err):
            s.add("crashes", err)
        elif p.returncode != 74 or not list((tmp / "fb").iterdir()) or \
                "(null)" in err:
            s.add("lost", f"exit {p.returncode} {err}")
    return s


def group_int(sg, py, tmp, how, a, counter):
    """os.killpg(SIGINT) of spyglass's group (or of plain python's)."""
    python_target = how.endswith("-py")
    prog = [py.python, "-c", KI] if python_target else [str(counter)]
    wrap = {"time": [sg, "time", "-n", "1", "--"],
            "record": [sg, "record", "-o", "/dev/null", "-f", "collapsed",
                       *([] if python_target else ["--subprocesses"]),
                       "--"],
            "plain": []}[how.split("-")[0]]
    s = Score(f"group-int/{how}" + (f" {py.version}" if python_target
                                     else ""))
    for _ in range(a.runs):
        s.runs += 1
        p = subprocess.Popen([*wrap, *prog], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=py.env,
                             start_new_session=True)
        if p.stdout.readline() != "ready\n":
            p.kill()
            s.add("lost", "no ready")
            continue
        os.killpg(p.pid, signal.SIGINT)
        try:
            out, err = p.communicate(timeout=a.timeout)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.communicate()
            s.add("hangs")
            continue
        m = re.search(r"SIGINT x (\d+)", out)
        if crashed(p.returncode, err, sent=(signal.SIGINT,)):
            s.add("crashes", err)
        elif "double" in out or (m and int(m.group(1)) > 1):
            s.add("double", out)
        elif not ("clean" in out or m):
            s.add("lost", out + err)
    return s


def timeout_int(sg, py, tmp, how, a, counter):
    wrap = [] if how == "plain" else [sg, "time", "-n", "1", "--"]
    s = Score(f"group-int/timeout-{how}")
    for _ in range(a.runs):
        s.runs += 1
        rc, out, err = run(["timeout", "-s", "INT", "0.3", *wrap,
                            str(counter)], a.timeout, env=py.env,
                           start_new_session=True)
        m = re.search(r"SIGINT x (\d+)", out)
        if rc is None:
            s.add("hangs")
        elif crashed(rc, err):
            s.add("crashes", err)
        elif m and int(m.group(1)) > 1:
            s.add("double", out)
        elif not m:
            s.add("lost", out + err)
    return s


def ignored(sg, py, tmp, how, a):
    sig = signal.SIGHUP if how == "nohup-record" else signal.SIGINT
    cmd = ([sg, "record", "-f", "collapsed", "-o", "/dev/null"]
           if how == "nohup-record" else [sg, "time", "-n", "1"])
    s = Score(f"ignored/{how} {py.version}")
    mark = tmp / "sent"
    for _ in range(a.runs):
        mark.unlink(missing_ok=True)
        s.runs += 1
        p = subprocess.Popen([*cmd, "--", py.python, "-c", WAIT_FOR_FILE,
                              str(mark)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=py.env,
                             start_new_session=True,
                             preexec_fn=lambda: signal.signal(sig,
                                                              signal.SIG_IGN))
        if p.stdout.readline() != "ready\n":
            p.kill()
            s.add("lost", "no ready")
            continue
        os.killpg(p.pid, sig)
        mark.touch()
        try:
            out, err = p.communicate(timeout=a.timeout)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.communicate()
            s.add("hangs")
            continue
        if crashed(p.returncode, err):
            s.add("crashes", err)
        elif "survived" not in out or p.returncode != 0:
            s.add("lost", f"exit {p.returncode} {err}")
    return s


def segv(sg, py, tmp, how, a):
    s = Score(f"segv/{how}")
    code = "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)"
    argv = ([sg, "time", "-n", "1", "--", "sh", "-c", "kill -SEGV $$"]
            if how == "time" else
            [sg, "record", "-o", str(tmp / "s.collapsed"), "--", py.python,
             "-c", "import time; time.sleep(0.05); " + code])
    for _ in range(a.runs):
        s.runs += 1
        rc, _, err = run(argv, a.timeout, env=py.env)
        if rc is None:
            s.add("hangs")
        elif crashed(rc, err):
            s.add("crashes", err)
        elif rc != 139 or "SIGSEGV" not in err:
            s.add("lost", f"exit {rc} {err}")
    return s


def stdin(sg, py, tmp, a):
    s = Score("stdin")
    for _ in range(a.runs):
        s.runs += 1
        p = subprocess.run([sg, "time", "-n", "1", "--", "cat"],
                           input="typed\n", capture_output=True, text=True,
                           env=py.env, timeout=a.timeout)
        if crashed(p.returncode, p.stderr):
            s.add("crashes", p.stderr)
        elif not p.stdout.startswith("typed\n"):
            s.add("lost", "stdin was not the caller's")
    return s


def cases(a, pys, counter, tmp):
    """(name, thunk) of every case, in the order of the table."""
    py0 = pys[-1]
    sg = lambda py: a.spyglass or py.spyglass  # noqa: E731
    out = []
    for py in pys:
        for how in ("sh", "bash", "wrapper", "timeout"):
            out.append((f"launcher/{how}", lambda py=py, how=how:
                        launcher(sg(py), py, tmp, how, a)))
    out.append(("no-python", lambda: no_python(sg(py0), py0, tmp, a)))
    for py in pys:
        out.append(("early-term", lambda py=py: early_term(sg(py), py, tmp,
                                                           a)))
    for how in ("stdout", "verbose-stderr", "o-dev-full"):
        out.append((f"full/{how}", lambda how=how: full(sg(py0), py0, tmp,
                                                        how, a)))
    for how in ("plain", "time", "record"):
        out.append((f"group-int/{how}", lambda how=how: group_int(
            sg(py0), py0, tmp, how, a, counter)))
    for py in pys:
        for how in ("plain-py", "time-py", "record-py"):
            out.append((f"group-int/{how}", lambda py=py, how=how: group_int(
                sg(py), py, tmp, how, a, counter)))
    for how in ("plain", "spyglass"):
        out.append((f"group-int/timeout-{how}", lambda how=how: timeout_int(
            sg(py0), py0, tmp, how, a, counter)))
    for py in pys:
        for how in ("nohup-record", "trap-int-time"):
            out.append((f"ignored/{how}", lambda py=py, how=how: ignored(
                sg(py), py, tmp, how, a)))
    for how in ("time", "record"):
        out.append((f"segv/{how}", lambda how=how: segv(sg(py0), py0, tmp,
                                                        how, a)))
    out.append(("stdin", lambda: stdin(sg(py0), py0, tmp, a)))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--versions", default="3.8,3.12")
    ap.add_argument("--spyglass", help="another spyglass executable")
    ap.add_argument("--only", default="", help="cases whose name starts so")
    ap.add_argument("--timeout", type=float, default=60)
    a = ap.parse_args()
    pys = installed(a.versions.split(","))
    if not pys:
        sys.exit("no CPython of --versions found")
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        counter = tmp / "sigint_count"
        subprocess.run(["cc", "-O1", "-o", str(counter),
                        str(TARGETS / "sigint_count.c")], check=True)
        print(f"# {machine()}; spyglass: {a.spyglass or 'each venv'}; "
              f"{a.runs} runs per case")
        print(f"{'case':34} {'runs':>5} {'crashes':>8} {'hangs':>6} "
              f"{'lost':>5} {'double':>7}  first failure")
        total = Score("total")
        for name, thunk in cases(a, pys, counter, tmp):
            if not name.startswith(a.only):
                continue
            s = thunk()
            if "plain" not in s.name:  # baselines without spyglass
                total.runs += s.runs
                for k in Score.FIELDS:
                    total.counts[k] += s.counts[k]
            c = s.counts
            print(f"{s.name:34} {s.runs:5} {c['crashes']:8} {c['hangs']:6} "
                  f"{c['lost']:5} {c['double']:7}  {s.example}", flush=True)
        c = total.counts
        print(f"{'total (spyglass)':34} {total.runs:5} {c['crashes']:8} {c['hangs']:6} "
              f"{c['lost']:5} {c['double']:7}")


if __name__ == "__main__":
    main()
