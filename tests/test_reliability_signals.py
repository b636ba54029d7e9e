"""Signals as the shell gives them, launchers, and what `record` and `time`
say when a run goes wrong: one regression test per failure of the
adversarial matrix (bench/reliability_signals.py runs each case many
times; docs/reliability.md has its scorecard).

Nothing here waits on a timing: the signal tests stop spyglass (SIGSTOP)
or watch the program's own pending signals in /proc to order events, and
the one test whose old failure needed a window runs again when the
machine was too slow to open it.
"""
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from test_time import sigint_count  # noqa: F401 (a fixture)


# A Python program that says "ready" and spins on its own CPU clock (which
# load cannot shorten) until the file argv[1] exists, then says "survived".
WAIT_FOR_FILE = (
    "import os, sys, time\n"
    "print('ready', flush=True)\n"
    "while not os.path.exists(sys.argv[1]):\n"
    "    t = time.thread_time()\n"
    "    while time.thread_time() - t < 0.005: pass\n"
    "print('survived', flush=True)\n")

# 0.3 s of its own CPU time in work(): a child too short for a poll of its
# launcher that took 2 s, however long the machine makes it last.
WORK = ("import time\n"
        "def work():\n"
        "    t = time.thread_time()\n"
        "    while time.thread_time() - t < 0.3: pass\n"
        "work()\n")


def children(pid):
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return [int(c) for c in f.read().split()]


def proc_state(pid):
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rpartition(")")[2].split()[0]


def pending(pid, sig):
    """Is sig pending in process pid (sent to it, not yet handled)?"""
    with open(f"/proc/{pid}/status") as f:
        fields = dict(line.split(":", 1) for line in f if ":" in line)
    mask = int(fields["ShdPnd"], 16) | int(fields["SigPnd"], 16)
    return bool(mask >> (sig - 1) & 1)


def wait_until(cond, what, limit=60):
    deadline = time.monotonic() + limit
    while not cond():
        assert time.monotonic() < deadline, what
        time.sleep(0.002)


def collapsed_funcs(path):
    text = Path(path).read_text() if Path(path).exists() else ""
    return {f.split(" (")[0] for line in text.splitlines()
            for f in line.rpartition(" ")[0].split(";")}


# -- record --subprocesses behind a launcher that forks ---------------------

@pytest.mark.py_versions("3.8", "3.12")
def test_child_of_a_forking_launcher_is_sampled_from_the_start(py,
                                                                 tmp_path):
    """Regression: the launcher (here sh, which forks: `; true` keeps it
    from exec'ing the child) was polled for 2 s before its children were
    looked at, so a child shorter than that gave an empty profile and exit
    0. Its children are followed from the first tick now."""
    script = tmp_path / "work.py"
    script.write_text(WORK)
    out = tmp_path / "w.collapsed"
    proc = py.spy("record", "--subprocesses", "-o", out, "--", "sh", "-c",
                  f"'{py.python}' '{script}'; true")
    assert proc.returncode == 0, proc.stderr
    assert "work" in collapsed_funcs(out), proc.stderr


def test_no_python_under_a_launcher_is_an_error(any_py, tmp_path):
    """Regression: a launcher none of whose processes was Python gave an
    empty profile and exit 0. Now one error line says what was seen, and
    the status is a failure (the program's own, when it failed)."""
    out = tmp_path / "n.collapsed"
    proc = any_py.spy("record", "--subprocesses", "-o", out, "--", "sh",
                      "-c", "sleep 0.2; true")
    assert proc.returncode == 1, proc.stderr
    errors = [ln for ln in proc.stderr.splitlines() if "error" in ln]
    assert len(errors) == 1, proc.stderr
    assert re.search(r"^spyglass: error: record: no Python process seen in "
                     r"\d+ process(es)? \(the program and its subprocesses"
                     r"\).*nothing was sampled$", errors[0]), errors[0]
    failed = any_py.spy("record", "--subprocesses", "-o", out, "--", "sh",
                        "-c", "exit 3")
    assert failed.returncode == 3, failed.stderr


# -- a stop signal before sampling starts -----------------------------------

def test_sigterm_before_sampling_is_passed_on_and_ends_cleanly(any_py,
                                                               tmp_path):
    """Regression: a SIGTERM while record waited for its program to become
    Python was passed on, and then reported as "'sh' is not a Python
    program", an error of the program's. Now the program gets it, its
    status is spyglass's, and one plain line says nothing was sampled.
    record polls a program that is not Python for 2 s: a run in which the
    signal came later than 1.5 s after the start (a very busy machine)
    tells nothing, and is tried again."""
    out = tmp_path / "t.collapsed"
    prog = ("trap 'exit 7' TERM; echo started; "
            "while :; do sleep 0.05; done")
    for _ in range(5):
        start = time.monotonic()
        spy = subprocess.Popen([any_py.spyglass, "record", "-o", str(out),
                                "--", "sh", "-c", prog],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=any_py.env)
        assert spy.stdout.readline() == "started\n"
        spy.send_signal(signal.SIGTERM)
        late = time.monotonic() - start > 1.5
        _, err = spy.communicate(timeout=60)
        if not late:
            break
    assert spy.returncode == 7, err  # the program got it, and its status
    assert "error" not in err, err
    assert "spyglass record: stopped by SIGTERM before the program could " \
           "be read: nothing was sampled" in err, err


def test_sigterm_while_the_interpreter_is_probed_ends_cleanly(any_py,
                                                             tmp_path):
    """Regression: the stop signals were caught only once the program was
    about to be launched, so a SIGTERM while record asked its --python
    what it is (a script, not a CPython executable: it is probed) killed
    spyglass by the default action, without a word. They are held from the
    command's start now: the program is not started, and record ends with
    128 + SIGTERM and a line saying why."""
    probing = tmp_path / "probing"
    interp = tmp_path / "python"
    interp.write_text(f"#!/bin/sh\ntouch '{probing}'\nsleep 0.5\n"
                      f"exec '{any_py.python}' \"$@\"\n")
    interp.chmod(0o755)
    spy = subprocess.Popen([any_py.spyglass, "record", "--python",
                            str(interp), "-o", str(tmp_path / "p.collapsed"),
                            "-c", "import time; time.sleep(30)"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, env=any_py.env)
    wait_until(probing.exists, "the interpreter is probed")
    spy.send_signal(signal.SIGTERM)
    _, err = spy.communicate(timeout=120)
    assert spy.returncode == 128 + signal.SIGTERM, err
    assert "spyglass: error" not in err, err


# -- a result that cannot be written ----------------------------------------

def test_time_verbose_report_on_a_full_stderr_is_saved(any_py, tmp_path):
    """Regression: `time -v`'s report goes to stderr, and a full or closed
    stderr lost it with exit 0. It is now delivered like any result: saved
    to a file, with exit status 74."""
    env = dict(any_py.env, TMPDIR=str(tmp_path))
    with open("/dev/full", "w") as full:
        proc = subprocess.run([any_py.spyglass, "time", "-v", "--", "true"],
                              stdout=subprocess.PIPE, stderr=full, env=env,
                              timeout=60)
    assert proc.returncode == 74
    saved = list(tmp_path.glob("spyglass-time-*.txt"))
    assert len(saved) == 1, saved
    assert 'Command being timed: "true"' in saved[0].read_text()
    # The report on stdout: an error line naming where it went, no (null).
    with open("/dev/full", "w") as full:
        proc = subprocess.run([any_py.spyglass, "time", "-n", "2", "--",
                               "true"], stdout=full, stderr=subprocess.PIPE,
                              text=True, env=env, timeout=60)
    assert proc.returncode == 74, proc.stderr
    assert re.fullmatch(r"spyglass: error: time: cannot write to stdout: "
                        r"No space left on device; saved the result to "
                        r"\S+spyglass-time-\d+\.txt instead\n", proc.stderr)


# -- the dispositions the shell set -----------------------------------------

@pytest.mark.py_versions("3.8", "3.12")
@pytest.mark.parametrize("command,sig", [
    (["record", "-f", "collapsed", "-o", "/dev/null"], signal.SIGHUP),
    (["time", "-n", "1"], signal.SIGINT)], ids=["nohup-record",
                                                 "trap-int-time"])
def test_ignored_signals_stay_ignored(py, tmp_path, command, sig):
    """`nohup spyglass record ...` and `trap '' INT`: the signal ignored
    when spyglass started stays ignored in the program, and is not passed
    on, so the program survives the group's hang-up or interrupt as it
    does without spyglass. (The signal is pending in the program before the
    file it waits for exists: a default disposition would end it.)"""
    mark = tmp_path / "sent"

    def ignore():
        signal.signal(sig, signal.SIG_IGN)

    spy = subprocess.Popen([py.spyglass, *command, "--", py.python, "-c",
                            WAIT_FOR_FILE, str(mark)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, env=py.env, start_new_session=True,
                           preexec_fn=ignore)
    assert spy.stdout.readline() == "ready\n"
    os.killpg(spy.pid, sig)
    mark.touch()
    out, err = spy.communicate(timeout=60)
    assert out.startswith("survived\n"), out + err
    assert spy.returncode == 0, err


# -- a SIGINT sent to the whole process group -------------------------------

@pytest.mark.parametrize("command", [["time", "-n", "1"],
                                     ["record", "--subprocesses", "-o",
                                      "/dev/null", "-f", "collapsed"]],
                         ids=["time", "record"])
def test_group_sigint_reaches_the_program_once(any_py, sigint_count,
                                               command):
    """Regression: kill(2) to the process group (`kill -INT -PGID`,
    os.killpg) looks to spyglass like a kill of spyglass alone, which it
    passed on: the program, which the group kill reached already, got two.
    The order that made it likely is forced here: spyglass is stopped,
    the group is sent SIGINT, the program handles its copy, and only then
    does spyglass go on."""
    spy = subprocess.Popen([any_py.spyglass, *command, "--",
                            str(sigint_count)], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True,
                           env=any_py.env, start_new_session=True)
    try:
        assert spy.stdout.readline() == "ready\n"
        (child,) = children(spy.pid)
        os.kill(spy.pid, signal.SIGSTOP)
        wait_until(lambda: proc_state(spy.pid) == "T", "spyglass stopped")
        os.killpg(spy.pid, signal.SIGINT)
        wait_until(lambda: not pending(child, signal.SIGINT),
                   "the program handled its SIGINT")
    finally:
        os.kill(spy.pid, signal.SIGCONT)
    out, err = spy.communicate(timeout=60)
    assert re.search(r"SIGINT x 1\n", out), out + err


# -- a program killed by a signal -------------------------------------------

def test_a_program_killed_by_a_signal_is_named(any_py, tmp_path):
    """Regression: `time` said "killed by signal 11" and `record` nothing
    but the status. Both name the signal now, and keep the status. (SIGUSR1:
    under the sanitizers' preload, SIGSEGV is caught and reported by them
    instead of killing the program.)"""
    usr1 = ["sh", "-c", "kill -USR1 $$"]
    proc = any_py.spy("time", "-n", "1", "--", *usr1)
    assert proc.returncode == 128 + signal.SIGUSR1, proc.stderr
    assert "time: command 'sh -c kill -USR1 $$' was killed by SIGUSR1" \
        in proc.stderr, proc.stderr
    verbose = any_py.spy("time", "-v", "--", *usr1)
    assert verbose.returncode == 128 + signal.SIGUSR1, verbose.stderr
    assert f"Command terminated by signal {int(signal.SIGUSR1)} (SIGUSR1)\n" \
        in verbose.stderr, verbose.stderr
    code = ("import os, signal, time\n"
            "t = time.thread_time()\n"
            "while time.thread_time() - t < 0.05: pass\n"
            "os.kill(os.getpid(), signal.SIGUSR1)\n")
    rec = any_py.spy("record", "-o", tmp_path / "k.collapsed", "--",
                     any_py.python, "-c", code)
    assert rec.returncode == 128 + signal.SIGUSR1, rec.stderr
    assert "spyglass record: the program was killed by SIGUSR1" \
        in rec.stderr, rec.stderr


# -- stdin of a single run --------------------------------------------------

def test_time_single_run_keeps_stdin(any_py):
    """Regression: `time -n 1` gave the program /dev/null as stdin, though
    a single run shows its output as the terminal would. Repeated runs still
    read /dev/null (the first would take all the input)."""
    one = any_py.spy("time", "-n", "1", "--", "cat", input="typed\n")
    assert one.returncode == 0, one.stderr
    assert one.stdout.startswith("typed\n"), one.stdout
    many = any_py.spy("time", "-n", "2", "--show-output", "--", "cat",
                      input="typed\n")
    assert many.returncode == 0, many.stderr
    assert "typed" not in many.stdout
