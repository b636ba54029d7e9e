"""A 200,000-deep recursion, profiled and written in every format: no writer
recurses per frame (the flame graph's did, and crashed), every output is made
in memory proportional to its size (the collapsed writer's grew past 20 GB),
and the stack formats cut the depth with a visible "[N frames elided]" frame.

Memory is the peak RSS of the writing process (ru_maxrss of the child, from
os.wait4), compared with the same run writing pstats, whose output is tiny:
the recursion and the profiler's data are the same in both, so the
difference is the writer's. Load cannot distort it.
"""
import json
import os
import pstats
import re
import resource
import subprocess
import xml.etree.ElementTree as ET

from venvs import SANITIZE

DEPTH = 200_000
CUT = 1024  # SG_WRITER_MAX_DEPTH (src/writers/writers.h)

# f and g call each other DEPTH times. 3.11+ runs Python calls without C
# recursion; before, each level takes C stack too, so the recursion runs in
# a thread with a big stack.
DEEP = f"""\
import sys, threading

def f(n):
    return g(n - 1) if n else 0

def g(n):
    return f(n - 1) if n else 0

def main():
    f({DEPTH})

sys.setrecursionlimit({DEPTH} + 1000)
if sys.version_info >= (3, 11):
    main()
else:
    threading.stack_size(1 << 30)
    t = threading.Thread(target=main)
    t.start()
    t.join()
"""

FORMATS = ["pstats", "text", "json", "flamegraph", "speedscope", "collapsed",
           "chrometrace"]


def run_measured(py, args, cwd):
    """Run spyglass: its exit status, stderr and peak RSS in bytes."""
    def limit():
        # A writer growing without bound fails fast instead of taking the
        # machine with it (ASan reserves terabytes of address space).
        if not SANITIZE:
            resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))
    proc = subprocess.Popen([str(py.spyglass), *map(str, args)], cwd=cwd,
                            env=py.env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, preexec_fn=limit)
    err = proc.stderr.read().decode(errors="replace")
    _, status, ru = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, err, ru.ru_maxrss * 1024


ELIDED = re.compile(r"\[(\d+) frames elided\]")


def elided_count(names):
    """N of the one "[N frames elided]" among names: nearly all of the
    recursion (the frames above it differ between versions)."""
    ns = [int(m.group(1)) for m in map(ELIDED.search, names) if m]
    assert len(ns) == 1, ns
    assert DEPTH - CUT < ns[0] <= DEPTH, ns
    return ns[0]


def check_output(fmt, path):
    if fmt == "pstats":
        st = pstats.Stats(str(path)).stats
        (f,) = [v for k, v in st.items() if k[2] == "f"]
        assert f[:2] == (1, DEPTH // 2 + 1)  # primitive calls, all calls
        return
    text = path.read_text()
    if fmt == "text":
        assert f"{DEPTH // 2 + 1}/1" in text
    elif fmt == "flamegraph":
        root = ET.fromstring(text)
        svg = "{http://www.w3.org/2000/svg}"
        elided_count([t.text for t in root.iter(svg + "title")])
        levels = {r.get("y") for g in root.iter(svg + "g")
                  if g.get("class") == "f" for r in g.iter(svg + "rect")}
        assert CUT - 5 < len(levels) <= CUT + 1
    elif fmt == "collapsed":
        lines = [ln.rsplit(" ", 1)[0] for ln in text.splitlines()]
        elided_count([ln.rsplit(";", 1)[-1] for ln in lines])
        assert CUT - 5 < max(ln.count(";") + 1 for ln in lines) <= CUT + 1
    elif fmt == "chrometrace":
        names = [e["name"] for e in json.loads(text)["traceEvents"]]
        elided_count(names)
        assert len(names) < 3 * CUT  # one event per calling context
    else:  # json, speedscope
        data = json.loads(text)
        elided_count([fr["name"] for fr in data["shared"]["frames"]])
        depth = max(len(s) for p in data["profiles"] for s in p["samples"])
        assert CUT - 5 < depth <= CUT + 1


def test_every_format_within_bounded_memory(py, tmp_path):
    (tmp_path / "deep.py").write_text(DEEP)
    rss = {}
    for fmt in FORMATS:
        out = tmp_path / f"deep.{fmt}"
        code, err, rss[fmt] = run_measured(
            py, ["profile", "-f", fmt, "-o", out, "deep.py"], tmp_path)
        assert code == 0, (fmt, err)
        check_output(fmt, out)
    if SANITIZE:
        return  # ASan's shadow and quarantine swamp RSS
    for fmt in FORMATS:
        size = (tmp_path / f"deep.{fmt}").stat().st_size
        grew = rss[fmt] - rss["pstats"]
        assert grew <= 4 * size + (64 << 20), (fmt, grew, size, rss)


API = """\
import spyglass
p = spyglass.profile()
with p:
    exec(open("deep.py").read())
for name in ("d.svg", "d.collapsed", "d.trace.json", "d.speedscope.json"):
    p.dump(name)
print("ok")
"""


def test_python_api_writes_deep_profiles(py, tmp_path):
    """Inside the user's process: spyglass.profile().dump() of the same
    recursion in the stack formats."""
    (tmp_path / "deep.py").write_text(DEEP)
    (tmp_path / "api.py").write_text(API)
    proc = py.py("api.py", cwd=tmp_path, timeout=600)
    assert proc.returncode == 0 and proc.stdout == "ok\n", proc.stderr
    check_output("flamegraph", tmp_path / "d.svg")
    check_output("collapsed", tmp_path / "d.collapsed")
    check_output("chrometrace", tmp_path / "d.trace.json")
    check_output("speedscope", tmp_path / "d.speedscope.json")
