"""The in-process commands (profile, lines, memory) under the adversarial
cases of the reliability matrix: a stop signal, a deep recursion on a
small thread stack, a program with its own tracer, python's own ways of
running a program (a directory, a zip app, safe_path) and its stack.

Each test compares with plain python or with the program's own view of
itself (coverage.py's lines, a thread's recursion depth), never with a
timing; bench/reliability_agent.py runs the same cases many times.
"""
import signal
import subprocess
import textwrap
import zipfile

import pytest

def own_lines(stderr):
    """stderr without spyglass's own lines (where it wrote the result)."""
    return [x for x in stderr.splitlines() if not x.startswith("spyglass: ")]


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def hits(table, line):
    """The Hits column of `line` in kernprof's table (0 when absent)."""
    for row in table.splitlines():
        cols = row.split()
        if len(cols) > 2 and cols[0] == str(line) and cols[1].isdigit():
            return int(cols[1])
    return 0


# The program stops itself with the signal from inside a selected
# function, after counting a known number of lines: no sleep, no race.
STOPPED = """
import os, signal

def work(n):
    s = 0
    for i in range(n):
        s += i
    os.kill(os.getpid(), signal.SIGTERM)
    while True:
        s += 1

work(1000)
"""


@pytest.mark.parametrize("cmd", ["lines", "memory"])
def test_sigterm_writes_the_table_then_dies_of_it(py, tmp_path, cmd):
    """SIGTERM unwinds the program like sys.exit (lines used to die with
    nothing written), the table is written, and the process ends killed
    by SIGTERM as the program would have."""
    prog = write(tmp_path, "stopped.py", STOPPED)
    proc = py.spy(cmd, prog, timeout=60)
    assert proc.returncode == -signal.SIGTERM, proc.stderr
    assert "Line #" in proc.stdout, proc.stderr
    if cmd == "lines":
        assert hits(proc.stdout, 7) == 1000  # s += i
        assert hits(proc.stdout, 8) == 1  # os.kill(...)


@pytest.mark.py_versions("3.8", "3.13")
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_timeit_stopped_reports_the_repeats_done(py, sig):
    """timeit died of SIGTERM (a traceback on Ctrl-C) with nothing
    reported; the whole repeats done are reported, said so, and the
    process then ends of the signal as python would."""
    setup = ("import os, signal, builtins; "
             "n = builtins.__dict__.setdefault('n', [0])")
    # The 25th loop of 10 per repeat: in the third repeat.
    stmt = f"n[0] += 1; n[0] == 25 and os.kill(os.getpid(), {int(sig)})"
    proc = py.spy("timeit", "-n", "10", "-r", "5", "-s", setup, stmt,
                  preexec_fn=lambda: signal.signal(
                      signal.SIGINT, signal.default_int_handler) and None)
    assert proc.returncode == -sig, proc.stderr
    assert proc.stdout.startswith("10 loops, best of 2: ")
    assert "stopped after 2 of 5 repeats" in proc.stderr


def test_an_ignored_sigterm_stays_ignored(py, tmp_path):
    """Under `nohup` or `trap '' TERM` the program is not stopped: spyglass
    catches SIGTERM only when it would have killed the program."""
    prog = write(tmp_path, "ignored.py", """
        import os, signal
        def work():
            os.kill(os.getpid(), signal.SIGTERM)
            return 7
        print(work())
    """)
    proc = py.spy("lines", prog, timeout=60, preexec_fn=lambda: signal.signal(
        signal.SIGTERM, signal.SIG_IGN))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("7\n") and hits(proc.stdout, 4) == 1


@pytest.mark.py_versions("3.11")
def test_deep_recursion_on_a_small_thread_stack(py, tmp_path):
    """3.11 inlines Python calls, so plain python recurses 20,000 deep on a
    thread of 512 KB; the line profiler's frame hook cost C stack per
    frame and the process died of SIGSEGV. The hook now leaves when the
    thread has used half its stack."""
    prog = write(tmp_path, "deep.py", """
        import sys, threading
        sys.setrecursionlimit(30000)
        threading.stack_size(512 * 1024)

        def rec(n):
            if n == 0:
                return 0
            return rec(n - 1) + 1

        out = []
        t = threading.Thread(target=lambda: out.append(rec(20000)))
        t.start()
        t.join()
        print(out)
    """)
    assert py.py(prog).stdout == "[20000]\n"
    proc = py.spy("lines", prog, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("[20000]\n")
    assert hits(proc.stdout, 7) == 20001  # if n == 0


@pytest.mark.py_versions("3.12", "3.13")
def test_the_opt_in_frame_hook_refuses_before_the_c_stack_overflows(
        py, tmp_path):
    """profile's opt-in frame-evaluation mode costs C stack per call: a
    recursion on a 256 KB thread overflowed it (SIGSEGV) before the
    interpreter's C recursion limit. It now raises RecursionError, as
    that limit does, when half the thread's stack is used."""
    prog = write(tmp_path, "deep.py", """
        import sys, threading
        sys.setrecursionlimit(30000)
        threading.stack_size(256 * 1024)

        def rec(n):
            return 0 if n == 0 else rec(n - 1) + 1

        t = threading.Thread(target=rec, args=(20000,))
        t.start()
        t.join()
        print("done")
    """)
    out = tmp_path / "deep.pstats"
    proc = py.spy("profile", "-o", out, prog, timeout=120,
                  env=dict(py.env, SPYGLASS_PROFILE_HOOK="eval"))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "done\n"
    assert "RecursionError: maximum recursion depth exceeded" in proc.stderr
    assert "SPYGLASS_PROFILE_HOOK" in proc.stderr and out.stat().st_size


@pytest.mark.py_versions("3.8", "3.9", "3.10", "3.11")
def test_coverage_measures_a_program_under_lines(py, tmp_path):
    """coverage.py's C tracer, started by the program, sees the same lines
    under `spyglass lines` as without it: the line profiler's tracer used
    to take its place while a selected function ran (3.8-3.11)."""
    prog = write(tmp_path, "cov.py", """
        import json, os
        import coverage
        cov = coverage.Coverage(data_file=None)
        cov.start()


        def f(n):
            s = 0
            for i in range(n):
                if i % 3:
                    s += i
                else:
                    s -= 1
            return s


        def g():
            return f(10) + f(4)


        g()
        cov.stop()
        print(json.dumps(sorted(cov.get_data().lines(os.path.abspath(
            __file__)))))
    """)
    plain = py.py(prog)
    assert plain.returncode == 0, plain.stderr
    proc = py.spy("lines", prog, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0] == plain.stdout.strip()
    assert hits(proc.stdout, 11) == 14  # if i % 3:
    assert hits(proc.stdout, 19) == 1  # return f(10) + f(4)


HOOKS = """
import sys, threading
seen = []
def hook(frame, event, arg):
    if event == "call":
        seen.append(frame.f_code.co_name)
threading.setprofile(hook)
def worker_fn():
    return 1
t = threading.Thread(target=worker_fn)
t.start()
t.join()
sys.setprofile(hook)
assert sys.getprofile() is hook
def main_fn():
    return 2
main_fn()
sys.setprofile(None)
print(sorted(set(seen) & {"worker_fn", "main_fn"}))
"""


@pytest.mark.py_versions("3.8", "3.9", "3.10", "3.11")
def test_profile_sees_threads_and_calls_under_the_programs_own_hooks(
        py, tmp_path):
    """A program's threading.setprofile and sys.setprofile replaced the
    profiler's function (3.8-3.11): worker threads and the calls after
    were missing from the profile. Both now run, the program's hook
    behind the profiler's, and sys.getprofile() is still the program's."""
    prog = write(tmp_path, "hooks.py", HOOKS)
    plain = py.py(prog)
    proc = py.spy("profile", prog)
    assert proc.returncode == 0, proc.stderr
    assert plain.stdout == "['main_fn', 'worker_fn']\n"
    assert proc.stdout.startswith(plain.stdout)
    assert "hooks.py:8(worker_fn)" in proc.stdout
    assert "hooks.py:15(main_fn)" in proc.stdout


STACK = """
import sys, traceback, warnings
def f():
    traceback.print_stack()
f()
warnings.warn("top", stacklevel=2)
"""


def test_the_programs_stack_is_its_own(py):
    """Under python a -c program's first frame has no caller; spyglass's
    bootstrap frame ('<string>', line 11) showed in print_stack and took
    warnings' stacklevel (3.13 even showed a line of the program for it)."""
    plain = py.py("-c", STACK)
    proc = py.spy("profile", "-f", "pstats", "-o", "/dev/null", "-c", STACK)
    assert proc.returncode == 0, proc.stderr
    assert own_lines(proc.stderr) == plain.stderr.splitlines()
    # The warning names no frame of the program's ("sys:1", "<sys>:0").
    assert "UserWarning: top" in plain.stderr
    assert not any(x.startswith("<string>:")
                   for x in plain.stderr.splitlines())


@pytest.mark.py_versions("3.11", "3.13")
def test_safe_path_adds_no_path0(py, tmp_path):
    """PYTHONSAFEPATH: python puts neither the script's directory, nor the
    current one, nor '' first on sys.path; nor does spyglass."""
    show = "import sys; print(sys.path[0])"
    prog = write(tmp_path, "show.py", show)
    (tmp_path / "showmod.py").write_text(show)
    env = dict(py.env, PYTHONSAFEPATH="1",
               PYTHONPATH=str(tmp_path))  # so that -m finds showmod
    for args in ([str(prog)], ["-m", "showmod"], ["-c", show]):
        plain = py.py(*args, env=env)
        proc = py.spy("profile", "-f", "pstats", "-o", "/dev/null", *args,
                      env=env)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout == plain.stdout, args


MAIN = """
import sys
def work():
    return sum(range(10))
work()
print(sys.argv, sys.path[0], __file__, __name__)
"""


@pytest.mark.py_versions("3.8", "3.13")
def test_a_directory_and_a_zip_app_run_as_python_runs_them(py, tmp_path):
    """`python DIR` and `python app.pyz` run their __main__.py with the
    path as sys.path[0]; spyglass read them as scripts (IsADirectoryError,
    a null byte's SyntaxError) and wrote an empty table."""
    app = tmp_path / "app"
    app.mkdir()
    (app / "__main__.py").write_text(MAIN)
    pyz = tmp_path / "app.pyz"
    with zipfile.ZipFile(pyz, "w") as z:
        z.writestr("__main__.py", MAIN)
    for cmd, target in (("profile", "app"), ("lines", "app.pyz")):
        plain = py.py(target, "x", cwd=tmp_path)
        assert plain.returncode == 0, plain.stderr
        proc = py.spy(cmd, target, "x", cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.startswith(plain.stdout), proc.stdout
        table = proc.stdout[len(plain.stdout):]
        if cmd == "profile":
            assert "__main__.py:3(work)" in table
        else:
            assert hits(table, 4) == 1, table


def test_no_result_is_lost_to_a_full_stdout(py):
    """lines' table and timeit's results, refused by a full stdout, are an
    error naming where they went, and exit 74."""
    for args in (["lines", "-c", "def f():\n    return 1\nf()"],
                 ["timeit", "-n", "10", "-r", "2", "pass"]):
        with open("/dev/full", "w") as full:
            proc = py.spy(*args, stdout=full, stderr=subprocess.PIPE,
                          capture_output=False)
        assert proc.returncode == 74, proc.stderr
        assert "cannot write to stdout" in proc.stderr
        saved = proc.stderr.split("saved the result to ")[1].split()[0]
        with open(saved) as f:
            assert f.read()
