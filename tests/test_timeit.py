"""`spyglass timeit` against `python -m timeit`, on every CPython."""
import re

import pytest

from conftest import ROOT, find_interpreter

RESULT = re.compile(r"^(\d+) loops?, best of (\d+): ([\d.e+-]+) "
                    r"(nsec|usec|msec|sec) per loop$", re.M)
SCALE = {"nsec": 1e-9, "usec": 1e-6, "msec": 1e-3, "sec": 1.0}
SEED = ["'-'.join(str(n) for n in range(100))",
        "'-'.join([str(n) for n in range(100)])",
        "'-'.join(map(str, range(100)))"]


def per_loop(text):
    m = RESULT.search(text)
    assert m, text
    return int(m.group(1)), int(m.group(2)), float(m.group(3)) * SCALE[
        m.group(4)]


# The timeit module timing the same statement in the same process, once
# before each of our repeats (a setup line runs once per repeat): a peer
# measured under the same load as we are, whatever the machine does.
PEER = ("import timeit; print('peer', min(timeit.Timer('sum(range(1000))')"
        ".repeat(3, 2000)) / 2000, flush=True)")


def raw_times(text):
    raw = re.search(r"^raw times: (.*)$", text, re.M).group(1)
    return [float(v) * SCALE[u] for v, u in
            (t.split() for t in raw.split(", "))]


def test_single_statement_line_matches_timeit(py):
    ours = py.spy("timeit", "-v", "-n", "2000", "-r", "5", "-s", PEER,
                  "sum(range(1000))")
    theirs = py.py("-m", "timeit", "-n", "2000", "-r", "5",
                   "sum(range(1000))")
    assert ours.returncode == 0, ours.stderr
    n, r, t_ours = per_loop(ours.stdout)
    assert (n, r) == (2000, 5)
    per_loop(theirs.stdout)  # the same line
    # Best of the repeats, per loop, as timeit says it (3 digits).
    raw = raw_times(ours.stdout)
    assert len(raw) == 5
    assert abs(t_ours - min(raw) / n) <= 5e-3 * t_ours, (t_ours, raw)
    m = re.search(r"^mean ± std. dev. of 5: ([\d.]+) (\S+) ± ", ours.stdout,
                  re.M)
    assert m, ours.stdout
    mean = float(m.group(1)) * SCALE[m.group(2)]
    assert abs(mean - sum(raw) / 5 / n) <= 5e-3 * mean, (mean, raw)
    # Same loop, same clock, same moment: equal within the machine's
    # noise. A unit, per-repeat/per-loop or sum/best mix-up would be off
    # by 1000x, 2000x or 5x.
    peer = min(float(l.split()[1]) for l in ours.stdout.splitlines()
               if l.startswith("peer "))
    assert 1 / 3 < t_ours / peer < 3, (t_ours, peer)


def test_autorange_reaches_0_2_seconds(py):
    proc = py.spy("timeit", "-v", "-r", "3", "sum(range(100))")
    assert proc.returncode == 0, proc.stderr
    steps = re.findall(r"^(\d+) loops? -> ([\d.e+-]+) secs$", proc.stdout,
                       re.M)
    numbers = [int(n) for n, _ in steps]
    # 1, 2, 5, 10, 20, 50, ... until a step takes 0.2 s: where it stops
    # depends on the machine's speed and load, the rule does not.
    series = [k * 10 ** e for e in range(12) for k in (1, 2, 5)]
    assert numbers and numbers == series[:len(numbers)], numbers
    assert float(steps[-1][1]) >= 0.2
    assert all(float(t) < 0.2 for _, t in steps[:-1])
    n, r, _ = per_loop(proc.stdout)
    assert n == numbers[-1] and r == 3
    assert len(raw_times(proc.stdout)) == 3


def test_seed_three_statements_side_by_side(py):
    proc = py.spy("timeit", "-r", "3", *SEED)
    assert proc.returncode == 0, proc.stderr
    for i, stmt in enumerate(SEED, 1):
        assert f"[{i}] {stmt}\n" in proc.stdout
    assert len(RESULT.findall(proc.stdout.replace("    ", ""))) == 3
    # The rows, after the table's header line.
    table = proc.stdout.split("Relative to the fastest")[1].split("\n", 1)[1]
    fastest = re.findall(r"^  \[(\d)\] +\S+ \S+ +1.00 \(fastest\)  (.*)$",
                         table, re.M)
    rows = re.findall(r"^  \[(\d)\] +\S+ \S+ +([\d.]+) ± ([\d.]+)  (.*)$",
                      table, re.M)
    assert len(fastest) == 1 and len(rows) == 2, table
    assert sorted(int(r[0]) for r in rows + fastest) == [1, 2, 3]
    assert all(float(r[1]) >= 1.0 for r in rows)
    # Sorted fastest first.
    assert table.index("(fastest)") < table.index(" ± ")


def test_setup_lines_and_unit(py):
    proc = py.spy("timeit", "-n", "100", "-r", "2", "-u", "msec", "-s",
                  "import random", "-s", "x = [random.random() for _ in "
                  "range(1000)]", "sorted(x)")
    assert proc.returncode == 0, proc.stderr
    assert " msec per loop" in proc.stdout


def test_setup_runs_outside_the_timed_region(py):
    # A slow setup must not count: 0.05 s per repeat would show as 50 msec.
    proc = py.spy("timeit", "-n", "1", "-r", "3", "-s",
                  "import time; time.sleep(0.05)", "pass")
    n, r, t = per_loop(proc.stdout)
    assert t < 0.001


def test_statement_exception_shows_traceback(py):
    proc = py.spy("timeit", "-n", "1", "x = 1/0")
    assert proc.returncode == 1
    assert "Traceback (most recent call last)" in proc.stderr
    assert "x = 1/0" in proc.stderr  # the statement's own line
    assert "ZeroDivisionError" in proc.stderr


def test_setup_exception_and_syntax_error(py):
    proc = py.spy("timeit", "-s", "import no_such_module_xyz", "pass")
    assert proc.returncode == 1
    assert "ModuleNotFoundError" in proc.stderr
    proc = py.spy("timeit", "x = ")
    assert proc.returncode == 1
    assert "SyntaxError" in proc.stderr


def test_statement_exit_is_an_error_not_an_exit(py):
    proc = py.spy("timeit", "-n", "1", "import sys; sys.exit(7)")
    assert proc.returncode == 1
    assert "SystemExit" in proc.stderr


@pytest.mark.parametrize("args,msg", [
    ([], "no statement to time"),
    (["-n", "0", "pass"], "-n/--number takes a whole number"),
    (["-r", "-1", "pass"], "-r/--repeat takes a whole number"),
    (["-u", "psec", "pass"], "unknown unit 'psec'"),
    (["--frob", "pass"], "unknown option '--frob'"),
])
def test_bad_input(any_py, args, msg):
    proc = any_py.spy("timeit", *args)
    assert proc.returncode == 2
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("spyglass: error: ")
    assert msg in lines[0]


def test_other_interpreter_with_p(py, any_py):
    # Run the statements under `py`'s interpreter from another venv's
    # spyglass: the statement checks which Python runs it.
    major, minor = py.version.split(".")
    proc = any_py.spy("timeit", "-p", py.python, "-n", "1", "-r", "1", "-s",
                      "import sys", f"assert sys.version_info[:2] == "
                      f"({major}, {minor})")
    assert proc.returncode == 0, proc.stderr


def test_p_without_spyglass_is_a_clear_error(any_py):
    bare = find_interpreter(any_py.version)  # pyenv's, no spyglass in it
    proc = any_py.spy("timeit", "-p", bare, "pass")
    assert proc.returncode == 2
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert "cannot import spyglass._agent" in lines[0]
    # A way that works: the tree this executable was built from (spyglass
    # is not on PyPI).
    release = any_py.spy("--version").stdout.split()[1]
    assert lines[0].endswith(f"install spyglass {release} for it: {bare} -m "
                             f"pip install {ROOT}"), lines[0]
    proc = any_py.spy("timeit", "-p", "/no/such/python", "pass")
    assert proc.returncode == 127
    assert "not found" in proc.stderr
