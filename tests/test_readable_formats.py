"""Output a person (and the next tool) can read: record's Chrome trace is a
timeline, folded stacks carry no control characters, the .lprof names
functions as line_profiler does, and extensions are matched whatever their
case, in every command.
"""
import json
import re
import textwrap
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape

import pytest

from chrometrace import check_nesting
from truth import spin_code

# The main thread imports a module that computes for 0.4 s of its own CPU
# time at import, then starts two workers that compute 0.3 s each. Nothing
# a worker runs can be sampled before the import has finished.
HEAVY = textwrap.dedent('''
    import time
    def crunch(seconds):
        end = time.thread_time() + seconds
        while time.thread_time() < end:
            pass
    crunch(0.4)
''')
MAIN = textwrap.dedent('''
    import sys, threading
    sys.path.insert(0, sys.argv[1])
    import heavy
    def worker():
        heavy.crunch(0.3)
    ts = [threading.Thread(target=worker, name="w%d" % i) for i in range(2)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
''')


def test_chrome_trace_places_threads_when_they_ran(py, tmp_path):
    (tmp_path / "heavy.py").write_text(HEAVY)
    (tmp_path / "main.py").write_text(MAIN)
    out = tmp_path / "t.trace.json"
    proc = py.spy("record", "-r", "200", "-o", out, "--", py.python,
                  tmp_path / "main.py", tmp_path)
    assert proc.returncode == 0, proc.stderr
    trace = json.loads(out.read_text())
    assert trace["otherData"]["layout"].startswith("timeline of samples")
    interval_us = trace["otherData"]["sample_interval_ns"] / 1e3
    events = [e for e in trace["traceEvents"] if e["ph"] == "X"]
    names = {e["tid"]: e["args"]["name"] for e in trace["traceEvents"]
             if e["ph"] == "M"}
    # The workers are the other threads (not by name: a thread first
    # sampled while it starts may not have its threading name yet).
    main = {t for t, n in names.items() if n.startswith("MainThread")}
    workers = {e["tid"] for e in events} - main
    assert len(workers) == 2 and len(main) == 1, names
    heavy = [e for e in events if e["tid"] in main
             and e["name"] == "<module>"
             and e["args"].get("file", "").endswith("heavy.py")]
    assert heavy, sorted({e["name"] for e in events})
    import_end = max(e["ts"] + e["dur"] for e in heavy)
    import_start = min(e["ts"] for e in heavy)
    assert import_end - import_start >= 0.4e6 - 2 * interval_us
    for tid in workers:
        mine = [e for e in events if e["tid"] == tid]
        assert any(e["name"] == "crunch" for e in mine), mine[:3]
        # After the import, give or take the sample that ends it (the
        # last sample of the import stands for the interval after it).
        first = min(e["ts"] for e in mine)
        assert first >= import_end - 1.5 * interval_us, (first, import_end)
        # Each worker computes for 0.3 s: its crunch events cover about
        # that many samples' worth of time, never more than it existed.
        crunch = sum(e["dur"] for e in mine if e["name"] == "crunch")
        last = max(e["ts"] + e["dur"] for e in mine)
        assert 0 < crunch <= last - first + 1e-3
    check_nesting(events)
    # The call tree of a deterministic profile stays an aggregate.
    out2 = tmp_path / "p.trace.json"
    proc = py.spy("profile", "-o", out2, tmp_path / "main.py", tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(out2.read_text())["otherData"]["layout"].startswith(
        "aggregated call tree")


# Names and a file name holding control characters, as exec'd code or a
# code object's replace() can make them.
CONTROL = textwrap.dedent(r'''
    import sys
    src = "def f():\n    return sum(range(200000))\n"
    ns = {}
    exec(compile(src, "gen\x02erated.py", "exec"), ns)
    f = ns["f"]
    name = "bell\x07tab\tnl\nesc\x1b[31m"
    kw = {"co_name": name}
    if sys.version_info >= (3, 11):
        kw["co_qualname"] = name
    f.__code__ = f.__code__.replace(**kw)
    import time
    end = time.process_time() + 0.3  # long enough for record to sample
    while time.process_time() < end:
        f()
''')


def flamegraph_pl_svg(collapsed):
    """What flamegraph.pl makes of folded stacks, as far as XML goes: each
    frame's name in a <title> and a <text>, with &, <, > and " escaped and
    nothing else (flamegraph.pl's own escaping)."""
    parts = ['<?xml version="1.0" standalone="no"?>\n<svg version="1.1" '
             'xmlns="http://www.w3.org/2000/svg">']
    for line in collapsed.splitlines():
        stack, _, n = line.rpartition(" ")
        for frame in stack.split(";"):
            name = escape(frame, {'"': "&quot;"})
            parts.append(f"<g><title>{name} ({n} samples)</title>"
                         f"<text>{name}</text></g>")
    parts.append("</svg>")
    return "\n".join(parts)


@pytest.mark.parametrize("command", ["profile", "record"])
def test_control_characters_in_names(py, tmp_path, command):
    script = tmp_path / "ctl.py"
    script.write_text(CONTROL)
    col, svg = tmp_path / "c.collapsed", tmp_path / "c.svg"
    for out in (col, svg):
        if command == "profile":
            proc = py.spy("profile", "-o", out, script)
        else:
            proc = py.spy("record", "-r", "1000", "-o", out, "--",
                          py.python, script)
        assert proc.returncode == 0, proc.stderr
    text = col.read_text()
    assert not re.search(r"[\x00-\x09\x0b-\x1f\x7f]", text), repr(text)
    lines = text.splitlines()
    # One stack per line: a newline inside a name would break one in two.
    assert all(re.fullmatch(r".+ \d+", line) for line in lines), lines
    weird = [line for line in lines if "bell" in line]
    if command == "profile" or weird:  # record may miss a short function
        # (record shows the line running, and the path made absolute.)
        assert any(re.search(r"bell\\x07tab\\tnl\\nesc\\x1b\[31m \((.*/)?"
                             r"gen\\x02erated\.py:[12]\)", line)
                   for line in weird), weird
    ET.fromstring(flamegraph_pl_svg(text))
    root = ET.parse(svg).getroot()
    titles = [t.text for t in root.iter("{http://www.w3.org/2000/svg}title")]
    if command == "profile":
        assert any(t.startswith(r"bell\x07tab\tnl\nesc\x1b[31m (gen\x02"
                                r"erated.py:1)") for t in titles), titles


TREE = textwrap.dedent('''
    class Tree:
        def __init__(self):
            self.keys = []

        @profile
        def _insert(self, k):
            self.keys.append(k)
            self.keys.sort()

    t = Tree()
    for k in range(200):
        t._insert(k)
''')


def test_lprof_names_functions_as_line_profiler(py, tmp_path):
    if py.py("-c", "import line_profiler").returncode != 0:
        pytest.skip("line_profiler is not installed in this venv")
    (tmp_path / "tree.py").write_text(TREE)
    proc = py.spy("lines", "-o", "ours.lprof", "tree.py", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    # line_profiler's own LineProfiler, on the same function.
    theirs = py.py("-c", textwrap.dedent('''
        import builtins, line_profiler, runpy
        lp = line_profiler.LineProfiler()
        builtins.profile = lp
        runpy.run_path("tree.py", run_name="__main__")
        lp.dump_stats("theirs.lprof")
    '''), cwd=tmp_path)
    assert theirs.returncode == 0, theirs.stderr
    keys = py.py("-c", textwrap.dedent('''
        import pickle, sys
        for name in sys.argv[1:]:
            st = pickle.load(open(name, "rb"))
            print(sorted(n for _, _, n in st.timings))
    '''), "ours.lprof", "theirs.lprof", cwd=tmp_path)
    assert keys.returncode == 0, keys.stderr
    ours, reference = keys.stdout.splitlines()
    assert ours == reference
    # line_profiler's label(): co_qualname from 3.11 on, co_name before.
    qualified = int(py.version.split(".")[1]) >= 11
    name = "Tree._insert" if qualified else "_insert"
    assert ours == repr([name])
    shown = py.py("-m", "line_profiler", "ours.lprof", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert f"Function: {name} at line 6" in shown.stdout, shown.stdout


def test_extensions_in_any_case_in_every_command(py, tmp_path):
    """X.SVG is a flame graph in profile (test_formats.py); so are
    record's and lines' extensions, whatever their case."""
    out = tmp_path / "R.COLLAPSED"
    proc = py.spy("record", "-r", "200", "-o", out, "--", py.python, "-c",
                  spin_code())
    assert proc.returncode == 0, proc.stderr
    assert "(collapsed)" in proc.stderr
    assert re.match(r"^.+ \d+$", out.read_text().splitlines()[0])
    out = tmp_path / "R.Trace.Json"
    proc = py.spy("record", "-r", "200", "-o", out, "--", py.python, "-c",
                  spin_code())
    assert proc.returncode == 0, proc.stderr
    assert "(chrometrace)" in proc.stderr
    assert "traceEvents" in json.loads(out.read_text())
    (tmp_path / "l.py").write_text("def f():\n    return 1\nf()\n")
    proc = py.spy("lines", "-o", "L.LPROF", "l.py", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "L.LPROF").read_bytes()[:2] == b"\x80\x04"
