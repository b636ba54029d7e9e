"""spyglass's IPython magics (spyglass/ipython.py) in IPython's own
InteractiveShell, on every CPython, against the commands' oracles:
cProfile's counts (profile), line_profiler's hits (lines), tracemalloc's
peak (memory), and timeit's statements run number * repeat times in the
user's namespace. One process per version runs every magic
(tests/targets/ipython_magics.py); record, which samples the process from
outside, runs on one version.
"""
import json
import re
import textwrap
from pathlib import Path

import pytest

TARGETS = Path(__file__).parent / "targets"
# A row of the profile table: ncalls ... filename:lineno(function).
PROFILE_ROW = re.compile(r"^ +(\S+) +\S+ +\S+ +\S+ +\S+ (\S+)\((\w+)\)$", re.M)
TIME = re.compile(r"\d[\d.]* (nsec|usec|msec|sec)")


def ipython_env(py, tmp_path):
    """py's environment with IPython's and Jupyter's files in tmp_path."""
    return dict(py.env, IPYTHONDIR=str(tmp_path / "ipython"),
                JUPYTER_RUNTIME_DIR=str(tmp_path / "jupyter"))


@pytest.fixture
def magics(py, tmp_path):
    """What the magics gave, next to their oracles, in one run."""
    proc = py.py(TARGETS / "ipython_magics.py", tmp_path,
                 env=ipython_env(py, tmp_path))
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.splitlines()[-1])


def _masked(text):
    """A timeit report with its numbers masked."""
    return re.sub(r"\d[\d.]*", "N", TIME.sub("T", text))


def test_magics(py, magics):
    # IPython is optional: importing spyglass does not import it, and the
    # magics say what is missing without it.
    assert not magics["ipython_imported"]
    assert "pip install ipython" in magics["missing"]

    # timeit: the user's namespace, every loop run, no name left behind,
    # and the command's report.
    one = magics["timeit_one"]
    assert one["error"] is None, one
    assert magics["timeit_calls"] == 7 * 3
    assert magics["timeit_calls2"] == 21 + 5 * 2 * (1 + 2)
    assert magics["timeit_names_kept"]
    cli = py.spy("timeit", "-n", "7", "-r", "3", "-s",
                 "def bump(): pass", "bump()")
    assert cli.returncode == 0, cli.stderr
    assert _masked(one["out"]) == _masked(cli.stdout)
    two = magics["timeit_two"]["out"]
    assert "[1] bump()\n" in two and "[2] bump(); bump()\n" in two
    assert "Relative to the fastest" in two
    assert magics["timeit_json_benchmarks"] == 1
    assert magics["timeit_bad_unit"]["error"] == "UsageError"
    assert "unknown unit 'parsec'" in magics["timeit_bad_unit"]["err"]
    assert "2 loops, best of 1" in magics["timeit_quoted"]["out"]
    assert "2 loops, best of 1" in magics["timeit_dashdash"]["out"]
    # The statement's own exception, with its line, and no magic frames.
    raised = magics["timeit_raises"]
    assert raised["error"] == "ZeroDivisionError"
    assert "1/0" in raised["out"] and "ipython.py" not in raised["out"]

    # profile: cProfile's counts, in the table and the pstats file.
    nc_cc = magics["cprofile_fib"]
    assert nc_cc and magics["pstats_fib"] == nc_cc
    rows = {f: n for n, _, f in PROFILE_ROW.findall(magics["profile"]["out"])}
    cc, nc = nc_cc[0]
    assert rows["fib"] == (f"{nc}/{cc}" if nc != cc else str(nc))
    # After an exception or a KeyboardInterrupt, the profile is shown, the
    # error raised, and the next run profiles again.
    assert magics["profile_raises"]["error"] == "ZeroDivisionError"
    assert "function calls" in magics["profile_raises"]["out"]
    assert magics["profile_interrupt"]["error"] == "KeyboardInterrupt"
    after = {f: n for n, _, f in
             PROFILE_ROW.findall(magics["profile_after"]["out"])}
    assert after["fib"] == "5/1"
    assert magics["profile_html_ok"]
    assert magics["profile_bad_format"]["error"] == "UsageError"

    # lines: line_profiler's hits, line by line, and the cell's source.
    assert magics["lines"]["error"] is None, magics["lines"]
    if magics["lprof_hits"] is not None:
        assert magics["lines_hits"] == magics["lprof_hits"]
    assert "total += i" in magics["lines"]["out"]
    assert magics["lines_no_func"]["error"] == "UsageError"
    assert magics["lines_raises"]["error"] == "TypeError"
    assert re.search(r"^ +11 +4 ", magics["lines_after"]["out"], re.M)

    # memory: the peak is tracemalloc's (to the 0.1 MiB printed), and
    # -f gives memory_profiler's table for the function.
    peak = re.search(r"Peak of the traced heap: ([\d.]+) MiB",
                     magics["memit"]["out"])
    assert peak, magics["memit"]["out"]
    assert abs(float(peak.group(1)) - magics["tracemalloc_peak"] / 2**20) \
        <= 0.1
    mprun = magics["mprun"]["out"]
    assert "Increment" in mprun and "keep.append(bytearray(2**20))" in mprun
    assert magics["memory_raises"]["error"] == "ZeroDivisionError"
    assert magics["memory_after"]["error"] is None
    # A function's lines are the tracer's again after its call raised.
    assert magics["mprun_raises"]["error"] == "TypeError"
    assert magics["mprun_after"]["error"] is None
    assert "keep.append(" in magics["mprun_after"]["out"]


RECORD = '''
import contextlib, io, os, sys, time
from IPython.core.interactiveshell import InteractiveShell
ip = InteractiveShell.instance()
ip.run_line_magic("load_ext", "spyglass")
ip.run_cell("""
import time
def spin(seconds):
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass
""")
scratch = sys.argv[1]
for name, cell in (("a.collapsed", "spin(0.3)"),
                   ("b.collapsed", "spin(0.1); raise KeyboardInterrupt")):
    err = io.StringIO()
    with contextlib.redirect_stderr(err), \\
            contextlib.redirect_stdout(io.StringIO()):
        r = ip.run_cell(f"%%sgrecord -r 200 -o {scratch}/{name}\\n{cell}\\n")
    print(name, type(r.error_in_exec).__name__, "samples" in err.getvalue())
# A recorder that cannot start says why, and the cell does not run.
err = io.StringIO()
with contextlib.redirect_stderr(err), \
        contextlib.redirect_stdout(io.StringIO()):
    r = ip.run_cell("%%sgrecord -r 0\\nran = True\\n")
print("refused", type(r.error_in_exec).__name__, "ran" in ip.user_ns,
      "spyglass: error:" in err.getvalue())
try:
    os.waitpid(-1, os.WNOHANG)
    print("children left")
except ChildProcessError:
    print("no children")
'''


@pytest.mark.py_versions("3.12")
def test_record_samples_the_cell_from_outside(py, tmp_path):
    """record: the cell's function sampled by `spyglass record -p`, the
    file written also when the cell is interrupted, the recorder reaped,
    and the next run records again."""
    script = tmp_path / "rec.py"
    script.write_text(textwrap.dedent(RECORD))
    proc = py.py(script, tmp_path, env=ipython_env(py, tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        "a.collapsed NoneType True", "b.collapsed KeyboardInterrupt True",
        "refused UsageError False True", "no children"], proc.stdout + proc.stderr
    for name in ("a.collapsed", "b.collapsed"):
        # Folded stacks: frames joined by ";", then the sample count.
        rows = [ln.rsplit(" ", 1) for ln in
                (tmp_path / name).read_text().splitlines()]
        assert sum(int(n) for stack, n in rows
                   if stack.split(";")[-1].startswith("spin (")) > 0, rows
