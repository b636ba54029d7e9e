"""`spyglass timeit` against `python -m timeit`, on every CPython."""
import json
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
    # Each step's time in the unit that reads (python says "secs" in
    # scientific notation: "1 loop -> 1.2e-05 secs").
    steps = re.findall(r"^(\d+) loops? -> ([\d.]+) (nsec|usec|msec|sec)$",
                       proc.stdout, re.M)
    numbers = [int(n) for n, _, _ in steps]
    times = [float(t) * SCALE[u] for _, t, u in steps]
    # 1, 2, 5, 10, 20, 50, ... until a step takes 0.2 s: where it stops
    # depends on the machine's speed and load, the rule does not.
    series = [k * 10 ** e for e in range(12) for k in (1, 2, 5)]
    assert numbers and numbers == series[:len(numbers)], numbers
    assert times[-1] >= 0.2
    # Printed to 3 digits: a step of 0.1996 s, which does not stop the
    # range, reads "200 msec".
    assert all(t <= 0.2 for t in times[:-1])
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


def test_other_interpreter_with_python(py, any_py):
    # Run the statements under `py`'s interpreter from another venv's
    # spyglass: the statement checks which Python runs it.
    major, minor = py.version.split(".")
    proc = any_py.spy("timeit", "--python", py.python, "-n", "1", "-r", "1",
                      "-s",
                      "import sys", f"assert sys.version_info[:2] == "
                      f"({major}, {minor})")
    assert proc.returncode == 0, proc.stderr


def test_python_without_spyglass_is_a_clear_error(any_py):
    bare = find_interpreter(any_py.version)  # pyenv's, no spyglass in it
    proc = any_py.spy("timeit", "--python", bare, "pass")
    assert proc.returncode == 2
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert "cannot import spyglass._agent" in lines[0]
    # A way that works: the tree this executable was built from (spyglass
    # is not on PyPI).
    release = any_py.spy("--version").stdout.split()[1]
    assert lines[0].endswith(f"install spyglass {release} for it: {bare} -m "
                             f"pip install {ROOT}"), lines[0]
    proc = any_py.spy("timeit", "--python", "/no/such/python", "pass")
    assert proc.returncode == 127
    assert "not found" in proc.stderr


# ---- -p is --process, as in python -m timeit --------------------------------

SLEEP = ["-n", "3", "-r", "3", "-s", "import time", "time.sleep(0.01)"]


@pytest.mark.parametrize("flag", ["-p", "--process"])
def test_p_measures_process_time(py, flag):
    # A sleep takes 10 ms of wall time (more under load, never less) and
    # next to no CPU time (load cannot add CPU time to a sleeping
    # process): -p is time.process_time, as python -m timeit's -p is.
    wall = py.spy("timeit", *SLEEP)
    cpu = py.spy("timeit", flag, *SLEEP)
    theirs = py.py("-m", "timeit", "-p", *SLEEP)
    for proc in (wall, cpu, theirs):
        assert proc.returncode == 0, proc.stderr
    assert per_loop(wall.stdout)[2] >= 0.00995  # 3 digits: "9.95 msec"
    assert per_loop(cpu.stdout)[2] < 0.002
    assert per_loop(theirs.stdout)[2] < 0.002


def test_python_is_long_only_and_help_says_so(any_py):
    proc = any_py.spy("timeit", "--help")
    assert proc.returncode == 0
    usage = proc.stdout.split("\n\n")[0]
    for item in ("[-p]", "[-o FILE]", "[-f FORMAT]", "[--python PYTHON]"):
        assert item in usage, usage
    assert "  -p, --process " in proc.stdout
    assert "      --python P " in proc.stdout
    proc = any_py.spy("timeit", "--python")
    assert proc.returncode == 2
    assert proc.stderr.startswith("spyglass: error: ")


def test_old_habit_p_python_gets_a_hint(any_py, tmp_path):
    """`-p PYTHON` from before -p meant --process would time the path as a
    statement (a SyntaxError traceback): one line says what -p is now,
    before any Python runs."""
    marker = tmp_path / "ran"
    proc = any_py.spy("timeit", "-p", any_py.python,
                      f"open({str(marker)!r}, 'w')")
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("spyglass: error: "), \
        proc.stderr
    assert "-p is --process" in lines[0] and "--python" in lines[0]
    assert not marker.exists()
    # A statement with a '/' is still a statement.
    proc = any_py.spy("timeit", "-p", "-n", "1", "-r", "1", "x = 6/3")
    assert proc.returncode == 0, proc.stderr


# ---- times read like python -m timeit's, never in scientific notation ------

# One slow repeat out of five: the best is a few nsec per loop, the mean
# at least 20 usec (a sleep only grows under load), the spread larger.
SLOW_LAST = ("import builtins, time; "
             "builtins.k_ = getattr(builtins, 'k_', 0) + 1; "
             "d = 0.1 if builtins.k_ == 5 else 0")
TIME = r"(\d+(?:\.\d+)?) (nsec|usec|msec|sec)"


def test_mean_and_spread_read_in_their_own_unit(py):
    proc = py.spy("timeit", "-v", "-n", "1000", "-r", "5", "-s", SLOW_LAST,
                  "if d: time.sleep(d); d = 0")
    assert proc.returncode == 0, proc.stderr
    assert not re.search(r"\de[+-]\d", proc.stdout), proc.stdout
    m = re.search(rf"^mean ± std\. dev\. of 5: {TIME} ± {TIME} per loop$",
                  proc.stdout, re.M)
    assert m, proc.stdout
    mean, unit, spread, spread_unit = m.groups()
    # The mean in the unit that reads (1 to 999 of it); its spread in the
    # same unit, whatever its size.
    assert unit == spread_unit
    assert 1 <= float(mean) < 1000
    assert float(mean) * SCALE[unit] >= 19.9e-6  # 0.1 s / 5 / 1000
    # Every other time printed, too: the best, and each raw time.
    shown = re.findall(TIME, proc.stdout.split("mean ±")[0])
    assert len(shown) == 5 + 1
    assert all(1 <= float(v) < 1000 for v, _ in shown), shown


def test_forced_unit_prints_as_python_does(py):
    # -u is python's own "%.3g" in that unit: 10 ms in nsec is "1.01e+07".
    args = ["-u", "nsec", "-n", "1", "-r", "1", "-s", "import time",
            "time.sleep(0.01)"]
    ours = py.spy("timeit", *args)
    theirs = py.py("-m", "timeit", *args)
    line = r"^1 loop, best of 1: \d(\.\d+)?e\+07 nsec per loop$"
    assert re.search(line, theirs.stdout, re.M), theirs.stdout
    assert re.search(line, ours.stdout, re.M), ours.stdout


def test_each_more_v_adds_a_digit_as_in_timeit(py):
    # python -m timeit -vv prints every time with 4 significant digits.
    args = ["-vv", "-n", "3", "-r", "3", "-s", "import time",
            "time.sleep(0.001)"]
    ours = py.spy("timeit", *args)
    theirs = py.py("-m", "timeit", *args)
    assert ours.returncode == 0, ours.stderr

    def digits(text):
        return [len(v.replace(".", "").lstrip("0"))
                for v, _ in re.findall(TIME, text)]

    assert digits(theirs.stdout) and max(digits(theirs.stdout)) <= 4
    # Trailing zeros are dropped, as %g drops them: six times, each with a
    # 1 in 10 chance of ending in 0, so at least one shows all 4.
    mine = digits(ours.stdout)
    assert len(mine) == 3 + 3 and max(mine) == 4, ours.stdout


# ---- -o / -f: where the results go, and pyperf's JSON -----------------------

# Run by a statement or setup: proves that it ran.
MARK = "open({!r}, 'w').close()"


@pytest.mark.parametrize("args,holds", [
    (["-o", "{out}/x.svg"], "flamegraph format of"),
    (["-o", "{out}/x.pstats"], "pstats format of"),
    (["-o", "{out}/x.SPEEDSCOPE.json"], "speedscope format of"),
    (["-f", "csv"], "csv format"),
])
def test_format_that_cannot_hold_timeit_results_is_refused(any_py, tmp_path,
                                                           args, holds):
    marker = tmp_path / "ran"
    argv = [a.format(out=tmp_path) for a in args]
    proc = any_py.spy("timeit", *argv, "-s", MARK.format(str(marker)),
                      "pass", cwd=tmp_path)
    assert proc.returncode == 2
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"spyglass: error: timeit: the {holds}")
    assert "cannot hold timeit results (it holds " in lines[0]
    assert lines[0].endswith("; formats for timeit results: text, json")
    assert list(tmp_path.iterdir()) == []


def test_unwritable_output_is_refused_before_running(any_py, tmp_path):
    marker = tmp_path / "ran"
    for out in (tmp_path / "no" / "dir" / "x.json", tmp_path):
        proc = any_py.spy("timeit", "-o", out, "-s",
                          MARK.format(str(marker)), "pass")
        assert proc.returncode == 2
        assert proc.stderr.startswith(
            f"spyglass: error: timeit: cannot write '{out}'"), proc.stderr
        assert not marker.exists()


def test_text_to_a_file(py, tmp_path):
    out = tmp_path / "r.txt"
    proc = py.spy("timeit", "-n", "10", "-r", "2", "-o", out, "pass")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    assert f"spyglass: wrote {out}\n" in proc.stderr
    assert per_loop(out.read_text())[:2] == (10, 2)


PYPERF = """\
import json, sys
import pyperf
suite = pyperf.BenchmarkSuite.load(sys.argv[1])
print(json.dumps([{
    "name": b.get_name(), "loops": b.get_loops(), "nrun": b.get_nrun(),
    "values": list(b.get_values()), "mean": b.mean(), "stdev": b.stdev(),
    "median": b.median(), "unit": b.get_unit(),
    "metadata": {k: v for k, v in b.get_metadata().items()
                 if isinstance(v, (str, int, float))},
} for b in suite]))
"""

STMTS = ["sum(range(100))", "x = 1\ny = 2", "pass", "pass \n"]


def load_with_pyperf(py, path):
    """What pyperf, the reader of the format, makes of a file."""
    if py.py("-c", "import pyperf").returncode != 0:
        pytest.skip("pyperf is not installed in this venv")
    proc = py.py("-c", PYPERF, path)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_json_is_pyperf_with_every_repeat(py, tmp_path):
    out = tmp_path / "r.json"
    proc = py.spy("timeit", "-n", "200", "-r", "4", "-s", "import os",
                  "-s", "z = 3", "-o", out, *STMTS)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    assert f"spyglass: wrote {out}\n" in proc.stderr
    ours = json.loads(out.read_text())
    theirs = load_with_pyperf(py, out)
    # One benchmark per statement, named by its text on one line; the
    # second "pass" (pyperf strips names) is told apart by its place.
    assert [b["name"] for b in theirs] == [
        "sum(range(100))", "x = 1\\ny = 2", "pass", "[4] pass"]
    version = py.py("-c", "import platform; print(platform.python_version())"
                    ).stdout.strip()
    settings = ours["spyglass"]
    assert settings["python_version"] == version
    assert settings["timer"] == "perf_counter"
    assert (settings["number"], settings["repeat"]) == (200, 4)
    assert settings["setup"] == ["import os", "z = 3"]
    assert settings["unit"] is None
    for stmt, bench, mine in zip(STMTS, theirs, ours["benchmarks"]):
        sg = mine["spyglass"]
        assert sg["stmt"] == stmt and sg["number"] == 200
        assert bench["loops"] == 200 and bench["nrun"] == 1
        assert bench["unit"] == "second"
        assert bench["metadata"]["python_version"].startswith(version + " ")
        assert bench["metadata"]["timer"] == "clock_gettime(CLOCK_MONOTONIC)"
        # Every repeat: its loops, total seconds and seconds per loop, the
        # latter being pyperf's values.
        reps = sg["repeats"]
        assert len(reps) == 4
        assert all(r["loops"] == 200 for r in reps)
        assert [r["seconds"] / 200 for r in reps] == \
            [r["per_loop"] for r in reps] == bench["values"]
        # The summary is pyperf's, computed from the same values.
        assert sg["best"] == min(bench["values"])
        assert sg["worst"] == max(bench["values"])
        assert sg["mean"] == pytest.approx(bench["mean"], rel=1e-12)
        assert sg["stddev"] == pytest.approx(bench["stdev"], rel=1e-9)
        assert sg["median"] == pytest.approx(bench["median"], rel=1e-12)


def test_json_on_stdout_with_autorange_and_process_time(py, tmp_path):
    # -f json without -o: the JSON alone on stdout; -v's autorange steps
    # go to stderr, so that stdout stays JSON.
    proc = py.spy("timeit", "-v", "-p", "-r", "2", "-f", "json", "pass")
    assert proc.returncode == 0, proc.stderr
    ours = json.loads(proc.stdout)
    assert re.search(r"^\d+ loops -> ", proc.stderr, re.M), proc.stderr
    settings = ours["spyglass"]
    assert settings["number"] is None  # autorange
    assert settings["timer"] == "process_time"
    path = tmp_path / "r.json"
    path.write_text(proc.stdout)
    [bench] = load_with_pyperf(py, path)
    assert bench["metadata"]["timer"] == \
        "clock_gettime(CLOCK_PROCESS_CPUTIME_ID)"
    loops = ours["benchmarks"][0]["spyglass"]["number"]
    assert bench["loops"] == loops and loops >= 1
    # Autorange stopped at the first step that took 0.2 s.
    steps = re.findall(r"^(\d+) loops? -> ", proc.stderr, re.M)
    assert int(steps[-1]) == loops


def test_json_that_cannot_be_written_is_saved_elsewhere(py, tmp_path):
    # /dev/full passes every check and fails at the write: the results
    # are saved in $TMPDIR, one line says where, and the status says it.
    env = dict(py.env, TMPDIR=str(tmp_path))
    proc = py.spy("timeit", "-n", "10", "-r", "2", "-f", "json", "-o",
                  "/dev/full", "pass", env=env)
    assert proc.returncode == 74, proc.stderr
    [saved] = list(tmp_path.iterdir())
    assert saved.name.startswith("spyglass-timeit-")
    assert saved.suffix == ".json"
    assert str(saved) in proc.stderr
    assert json.loads(saved.read_text())["benchmarks"][0]["metadata"][
        "loops"] == 10
