"""`spyglass memory --timeline FILE`: the traced heap and RSS over time,
sampled inside the program, with the selected functions' calls as
brackets (memory_profiler's FUNC lines), on every CPython (the brackets
ride on the line profiler's events, whose backends differ by version).
"""
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conftest import MARK, one_error
from venvs import SANITIZE

TARGETS = Path(__file__).resolve().parent / "targets"
MIB = 1 << 20


def test_heap_series_and_brackets(py, tmp_path):
    out = tmp_path / "t.json"
    proc = py.spy("memory", "--timeline", out, "--timeline-interval", "5ms",
                  TARGETS / "timeline_memory.py")
    assert proc.returncode == 0, proc.stderr
    # The program's line comes before the memory table.
    truth = json.loads(next(line for line in proc.stdout.splitlines()
                            if line.startswith('{"call"')))
    (t0, t1), (t2, t3) = truth["call"], truth["freed"]
    (run,) = json.loads(out.read_text())["runs"]
    kinds = {s["kind"]: s for s in run["series"]}
    assert set(kinds) == {"heap", "RSS"}
    heap = list(zip(kinds["heap"]["time"], kinds["heap"]["bytes"]))
    before = [b for t, b in heap if t < t0]
    held = [b for t, b in heap if t1 <= t <= t2]
    after = [b for t, b in heap if t > t3]
    assert before and held and after, (truth, heap[:3])
    for b in held:
        assert abs(b - before[-1] - 50 * MIB) <= 2.5 * MIB, (b, before[-1])
    for b in after:
        assert abs(b - before[-1]) <= 2.5 * MIB
    # One bracket: grow's call, inside the caller's clock readings, its
    # heap up by the 50 MiB it returned (memory_profiler's FUNC, plus the
    # traced heap at both ends).
    (f,) = run["functions"]
    assert f["name"] == "__main__.grow"
    assert t0 <= f["start"] <= f["end"] <= t1
    assert abs(f["end_heap"] - f["start_heap"] - 50 * MIB) <= 2.5 * MIB
    assert f["end_rss"] - f["start_rss"] >= 45 * MIB
    assert f["level"] == 0
    assert "memory timeline written to" in proc.stderr


def test_dat_with_func_lines_in_mprofs_reader(any_py, tmp_path):
    dat = tmp_path / "m.dat"
    proc = any_py.spy("memory", "--timeline", dat,
                      TARGETS / "timeline_memory.py")
    assert proc.returncode == 0, proc.stderr
    code = ("import json, sys, mprof\n"
            "d = mprof.read_mprofile_file(sys.argv[1])\n"
            "print(json.dumps([d['func_timestamp'], len(d['mem_usage'])]))")
    funcs, n = json.loads(any_py.py("-c", code, dat).stdout)
    (call,) = funcs["__main__.grow"]
    start, end, m0, m1, level = call
    assert start <= end and m1 - m0 >= 45 and level == 0 and n > 10
    # The memory profile itself is printed as without --timeline.
    assert "Line #" in proc.stdout


def test_a_run_shorter_than_an_interval_has_its_start_and_end(any_py,
                                                               tmp_path):
    # The sampling thread samples when it starts and once more at the
    # stop, whenever it is first scheduled: a run over before that (a busy
    # machine) had no sample at all, and a plot of it no line.
    dat = tmp_path / "m.dat"
    proc = any_py.spy("memory", "--timeline", dat, "-c", "pass")
    assert proc.returncode == 0, proc.stderr
    stamps = [float(l.split()[2]) for l in dat.read_text().splitlines()
              if l.startswith("MEM ")]
    assert len(stamps) >= 2 and stamps == sorted(stamps), stamps


def test_one_plot_of_heap_rss_and_brackets(any_py, tmp_path):
    """--timeline x.svg: one picture with the heap and RSS lines, the
    peak of RSS marked, and grow's call bracketed."""
    svg = tmp_path / "t.svg"
    proc = any_py.spy("memory", "--timeline", svg,
                      TARGETS / "timeline_memory.py")
    assert proc.returncode == 0, proc.stderr
    ns = "{http://www.w3.org/2000/svg}"
    root = ET.parse(svg).getroot()
    lines = {p.find(f"{ns}title").text: p
             for p in root.iter(f"{ns}polyline")}
    assert set(lines) == {"heap", "RSS"}, lines
    for p in lines.values():
        assert len(p.get("points").split()) > 10
    (peak,) = root.findall(f".//{ns}g[@class='peak']")
    assert "peak" in peak.find(f"{ns}text").text
    (bracket,) = root.findall(f".//{ns}path[@class='bracket']")
    assert bracket.find(f"{ns}title").text.startswith("__main__.grow: ")


def test_a_forked_child_leaves_the_timeline_to_its_parent(any_py,
                                                         tmp_path):
    """Regression: a child forked by the program (which then ran to its
    end) wrote its copy of the timeline over the parent's, and could wait
    forever on the sampling thread's lock if the fork caught it held."""
    out = tmp_path / "f.json"
    code = ("import os, time\n"
            "pid = os.fork()\n"
            "if pid:\n"
            "    os.waitpid(pid, 0)\n"
            "    time.sleep(0.05)\n")
    env = dict(any_py.env)
    if SANITIZE:
        # LSan's leak check at the exit of a child forked from a process
        # with threads (the sampling thread) can wait forever on an ASan
        # allocator lock the child's copy holds (about 1 run in 10 on
        # 3.13): the child is not leak-checked.
        env["ASAN_OPTIONS"] = env["ASAN_OPTIONS"].replace(
            "detect_leaks=1", "detect_leaks=0")
    proc = any_py.spy("memory", "--timeline", out, "-c", code, env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count("memory timeline written to") == 1, proc.stderr
    (run,) = json.loads(out.read_text())["runs"]
    assert all(s["bytes"] for s in run["series"]), run


@pytest.mark.parametrize("args, needles", [
    (["--timeline", "x.prof"], ["cannot hold a memory timeline"]),
    (["--timeline", "x.unknown"], ["cannot tell the format"]),
    (["--timeline-interval", "5ms"], ["needs --timeline"]),
    (["--timeline", "x.dat", "--timeline-interval", "0.1ms"],
     ["--timeline-interval", "0.1ms"]),
    (["--timeline", "/nonexistent/x.dat"], ["memory: cannot write"]),
])
def test_bad_timeline_options(any_py, tmp_path, args, needles):
    mark = tmp_path / "ran"
    proc = any_py.spy("memory", *args, "-c", MARK, mark, cwd=tmp_path)
    # In memory's name, as every error line of the command.
    one_error(proc, 2, "error: memory: ", *needles)
    assert not mark.exists()
