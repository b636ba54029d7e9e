"""`spyglass profile` and `spyglass.profile` against cProfile, on every CPython.

cProfile is the oracle: each program is run under `python -m cProfile -o`
and under `spyglass profile -o x.pstats` in the same venv, both files are
loaded with that version's pstats, and the call counts (total and primitive,
per function and per caller edge) must be equal. The only entries allowed to
differ are cProfile's own: the exec() it runs the program with and its
Profiler.disable().
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import nomem
from chrometrace import check_nesting

ROOT = Path(__file__).resolve().parent.parent
JULIA = ROOT / "examples" / "julia.py"

# Runs in the venv's python: a pstats file as JSON, keys "file:line:name".
LOAD = r"""
import json, pstats, sys
st = pstats.Stats(sys.argv[1]).stats
def k(t):
    return "%s:%d:%s" % t
out = {}
for key, (cc, nc, tt, ct, callers) in st.items():
    out[k(key)] = [cc, nc, tt, ct,
                   {k(c): list(v) for c, v in callers.items()}]
print(json.dumps(out))
"""
CPROFILE_OWN = ("~:0:<built-in method builtins.exec>",
                "~:0:<method 'disable' of '_lsprof.Profiler' objects>")


def load(py, path):
    proc = py.py("-c", LOAD, str(path))
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def counts(stats, keep=None):
    """{key: (nc, cc, {caller: (nc, cc)})} without cProfile's own entries."""
    out = {}
    for key, (cc, nc, tt, ct, callers) in stats.items():
        if key in CPROFILE_OWN or (keep and not keep(key)):
            continue
        edges = {c: (v[0], v[1]) for c, v in callers.items()
                 if c not in CPROFILE_OWN and (not keep or keep(c))}
        out[key] = (nc, cc, edges)
    return out


def write(tmp_path, name, src):
    path = tmp_path / name
    path.write_text(textwrap.dedent(src))
    return path


def run_both(py, tmp_path, target, *args, cwd=None):
    """Profile target (a list of python arguments) with cProfile and with
    spyglass; return both loaded stats and spyglass's process."""
    ours, theirs = tmp_path / "ours.pstats", tmp_path / "theirs.prof"
    cwd = cwd or tmp_path
    p1 = py.py("-m", "cProfile", "-o", theirs, *target, *args, cwd=cwd)
    assert theirs.exists(), p1.stderr
    p2 = py.spy("profile", "-o", ours, *target, *args, cwd=cwd)
    assert ours.exists(), p2.stderr
    assert p2.returncode == p1.returncode, (p1.stderr, p2.stderr)
    took = re.compile(r"took [\d.e-]+ seconds")  # julia.py's own timing
    assert took.sub("", p2.stdout) == took.sub("", p1.stdout)
    return load(py, theirs), load(py, ours), p2


def assert_same_counts(theirs, ours, keep=None):
    t, o = counts(theirs, keep), counts(ours, keep)
    assert set(o) == set(t), (set(o) ^ set(t))
    for key in t:
        assert o[key][:2] == t[key][:2], (key, o[key], t[key])
        assert o[key][2] == t[key][2], (key, o[key][2], t[key][2])


RECURSION = """
def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)

def is_even(n):
    return True if n == 0 else is_odd(n - 1)

def is_odd(n):
    return False if n == 0 else is_even(n - 1)

def walk(d, depth):
    if depth:
        for k in sorted(d):
            walk({k * 2: 1, k * 2 + 1: 1}, depth - 1)

fib(18)
is_even(50)
walk({0: 1, 1: 1}, 5)
print("done")
"""

EXCEPTIONS = """
class Boom(Exception):
    pass

def inner(i):
    if i % 3 == 0:
        raise Boom(i)
    return int("x" if i % 3 == 1 else "7")

def middle(i):
    return inner(i) + 1

def outer():
    n = 0
    for i in range(30):
        try:
            n += middle(i)
        except Boom:
            n -= 1
        except ValueError:
            n += 100
    return n

print(outer())
"""

GENERATORS = """
def numbers(n):
    for i in range(n):
        yield i * i

def pipeline(n):
    yield from (x + 1 for x in numbers(n))

async def leaf(x):
    return x * 2

async def coro(n):
    total = 0
    for i in range(n):
        total += await leaf(i)
    return total

def drive(c):
    try:
        while True:
            c.send(None)
    except StopIteration as e:
        return e.value

g = numbers(5)
print(next(g), next(g))
g.close()
print(sum(pipeline(20)), list(numbers(4)))
print(drive(coro(10)))
print([x for x in numbers(3)])
"""

THREADS = """
import threading

def helper(i):
    return i * 2

def work(n):
    return sum(helper(i) for i in range(n))

threads = [threading.Thread(target=work, args=(100,)) for _ in range(3)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(work(10))
"""


def test_julia_counts_match_cprofile(py, tmp_path):
    theirs, ours, proc = run_both(py, tmp_path, [JULIA], "60", "40")
    assert_same_counts(theirs, ours)
    o = counts(ours)
    assert o["~:0:<built-in method builtins.abs>"][0] > 10000
    assert o["~:0:<method 'append' of 'list' objects>"][0] == \
        counts(theirs)["~:0:<method 'append' of 'list' objects>"][0]


def test_recursion_primitive_and_cumulative(py, tmp_path):
    script = write(tmp_path, "rec.py", RECURSION)
    theirs, ours, _ = run_both(py, tmp_path, [script])
    assert_same_counts(theirs, ours)
    fib = ours[f"{script}:2:fib"]
    cc, nc, tt, ct = fib[:4]
    assert (nc, cc) == (8361, 1)
    # cumtime is not counted twice: fib's cumulative time is at most the
    # whole program's, and at least its own time.
    module = [v for k, v in ours.items() if k.endswith(":<module>")][0]
    assert tt <= ct <= module[3] + 1e-9
    # Mutual recursion: primitive calls are the outermost only.
    even = ours[f"{script}:5:is_even"]
    assert (even[1], even[0]) == (26, 1)


SHARED_LABELS = """
import dataclasses

@dataclasses.dataclass
class Point:
    x: int = 0

@dataclasses.dataclass
class Box:
    corner: Point = dataclasses.field(default_factory=lambda: Point(1))

inc = lambda n: n + 1; twice = lambda n: inc(n) * 2
for i in range(200):
    twice(i)
    Box()
    sum(x for x in (y for y in range(3)))
for i in range(3):
    exec("def h():\\n    return 1\\nh()\\nexec('h()')")
"""

# Runs in the venv's python: cProfile's own entries, one per code object
# (getstats(), which pstats' table merges by label, the last one winning),
# summed per label: {"file:line:name": [ncalls, primitive calls]}.
PER_CODE = r"""
import cProfile, json, sys
src = open(sys.argv[1]).read()
p = cProfile.Profile()
p.enable()
exec(compile(src, sys.argv[1], "exec"), {"__name__": "__main__"})
p.disable()
out = {}
for e in p.getstats():
    c = e.code
    key = ("~:0:" + c if isinstance(c, str) else
           "%s:%d:%s" % (c.co_filename, c.co_firstlineno, c.co_name))
    n = out.setdefault(key, [0, 0])
    n[0] += e.callcount
    n[1] += e.callcount - e.reccallcount
print(json.dumps(out))
"""


def test_shared_labels_are_merged_without_false_recursion(py, tmp_path):
    """Lambdas on one line, genexprs on one line, dataclass __init__s at
    <string>:2 and exec'd code share labels. Nothing here recurses, so
    every merged entry has as many primitive calls as calls, and each is
    the sum of cProfile's entries of the code objects it merges."""
    script = write(tmp_path, "shared.py", SHARED_LABELS)
    proc = py.py("-c", PER_CODE, script)
    assert proc.returncode == 0, proc.stderr
    theirs = json.loads(proc.stdout)
    out = tmp_path / "shared.pstats"
    proc = py.spy("profile", "-o", out, script)
    assert proc.returncode == 0, proc.stderr
    ours = load(py, out)
    lam = f"{script}:12:<lambda>"
    shared = [lam, f"{script}:16:<genexpr>", "<string>:1:<module>",
              "<string>:1:h"]
    for key in shared:
        assert key in ours, (key, sorted(ours))
    # The program's own functions (imports do recurse).
    mine = [k for k in ours if k.startswith((f"{script}:", "<string>:"))]
    assert len(mine) >= 8, mine
    for key in mine:
        cc, nc = ours[key][:2]
        assert nc == cc, (key, nc, cc)
        # Code exec'd by the modules imported (dataclasses, namedtuple...)
        # depends on what the harness imported first: the script's own.
        if key.startswith(f"{script}:"):
            assert [nc, cc] == theirs[key], (key, nc, cc, theirs[key])
    # h() runs 3 times in exec'd modules, 3 times in modules they exec.
    assert ours["<string>:1:h"][:2] == [6, 6]
    assert ours["<string>:1:<module>"][1] >= 6
    assert ours[lam][1] == 400
    # Each __init__ runs 200 times, from different code objects.
    inits = [ours[k] for k in mine if k.endswith(":__init__")]
    assert inits and sum(v[1] for v in inits) == 400
    # The table says the same: no "nc/cc" anywhere.
    proc = py.spy("profile", "-s", "cumtime", script)
    assert proc.returncode == 0, proc.stderr
    rows = [r for r in proc.stdout.splitlines()
            if "shared.py:" in r or "<string>:" in r]
    assert len(rows) == len(mine), rows
    assert not [r for r in rows if "/" in r.split()[0]], rows


def test_exceptions_through_frames(py, tmp_path):
    script = write(tmp_path, "exc.py", EXCEPTIONS)
    theirs, ours, proc = run_both(py, tmp_path, [script])
    assert_same_counts(theirs, ours)
    assert ours[f"{script}:5:inner"][1] == 30
    assert ours[f"{script}:10:middle"][1] == 30
    assert ours[f"{script}:13:outer"][1] == 1


def test_generators_and_coroutines(py, tmp_path):
    script = write(tmp_path, "gen.py", GENERATORS)
    theirs, ours, _ = run_both(py, tmp_path, [script])
    assert_same_counts(theirs, ours)
    # Every resume is a call, as in cProfile: numbers(20) runs 21 times,
    # numbers(4) 5, numbers(3) 4, numbers(5) twice (+1 for close(), which
    # 3.13 no longer runs in the frame when nothing can catch it).
    assert ours[f"{script}:2:numbers"][1] in (32, 33)


def test_eval_hook_mode_same_counts(py, tmp_path):
    """SPYGLASS_PROFILE_HOOK=eval (3.12+): Python frames through the PEP 523
    hook; generators' creation is no call, each resume is."""
    if tuple(map(int, py.version.split("."))) < (3, 12):
        pytest.skip("the frame-evaluation mode is for 3.12+")
    py.env["SPYGLASS_PROFILE_HOOK"] = "eval"
    try:
        for name, src in (("gen.py", GENERATORS), ("exc.py", EXCEPTIONS),
                          ("rec.py", RECURSION)):
            script = write(tmp_path, name, src)
            theirs, ours, _ = run_both(py, tmp_path, [script])
            assert_same_counts(theirs, ours)
    finally:
        del py.env["SPYGLASS_PROFILE_HOOK"]


@pytest.mark.parametrize("depth", [12000, 200000])
def test_deep_recursion_like_plain_python(py, tmp_path, depth):
    """Recursion as deep as plain python runs it (200,000 from 3.11 on,
    which spends no C stack on Python calls): the profiler's shadow stack
    grows with it and the counts stay exact."""
    if depth > 12000 and tuple(map(int, py.version.split("."))) < (3, 11):
        pytest.skip("before 3.11 plain python needs C stack for each call")
    script = write(tmp_path, "deep.py", f"""
        import sys
        sys.setrecursionlimit({depth + 50000})
        def r(n):
            return 0 if n == 0 else 1 + r(n - 1)
        print(r({depth}))
    """)
    out = tmp_path / "deep.pstats"
    proc = py.spy("profile", "-o", out, script)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout == f"{depth}\n"
    stats = load(py, out)
    assert stats[f"{script}:4:r"][:2] == [1, depth + 1]


def test_out_of_memory_stops_the_profile_and_keeps_it(py, tmp_path):
    """When the call tree cannot grow inside an event callback (tests/
    nomem.py makes the allocation fail), the profiler stops recording,
    says so in one line, and writes what it had; the program runs on."""
    nomem.build(py, tmp_path)
    script = write(tmp_path, "oom.py", """
        import nomem
        NS = {}
        for i in range(100):
            exec(f"def g{i}():\\n    return {i}\\n", NS)
        body = "".join(f"    g{j}()\\n" for j in range(100))
        for i in range(200):
            exec(f"def f{i}():\\n{body}", NS)
        def after():
            return 1
        nomem.arm(1 << 20)  # the node table's step past 16384 nodes
        for i in range(200):
            NS[f"f{i}"]()
        nomem.disarm()
        after()
        print("done")
    """)
    out = tmp_path / "oom.pstats"
    proc = py.spy("profile", "-o", out, script, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout == "done\n"
    errors = [ln for ln in proc.stderr.splitlines()
              if ln.startswith("spyglass: error:")]
    assert errors == ["spyglass: error: profile: out of memory; the profile "
                      "stops here (what was recorded until now is kept)"]
    stats = load(py, out)
    assert stats["<string>:1:f0"][:2] == [1, 1]
    edges = sum(v[1] for k, v in stats.items() if k.startswith("<string>:1:g"))
    assert 10000 < edges < 20000, edges
    assert not [k for k in stats if k.endswith(":after")]


def test_module_mode(py, tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "__main__.py").write_text(textwrap.dedent("""
        import sys
        from pkg.work import run
        print(run(int(sys.argv[1])), sys.argv[1:])
    """))
    (pkg / "work.py").write_text(textwrap.dedent("""
        def square(x):
            return x * x

        def run(n):
            return sum(square(i) for i in range(n))
    """))
    theirs, ours, proc = run_both(py, tmp_path, ["-m", "pkg"], "50")
    assert "['50']" in proc.stdout
    # runpy's own frames differ (cProfile runs run_module from exec); the
    # program's functions must agree.
    in_pkg = lambda key: key.startswith(str(pkg))  # noqa: E731
    assert_same_counts(theirs, ours, keep=in_pkg)
    assert ours[f"{pkg}/work.py:2:square"][1] == 50


def test_threads_profiled_on_every_version(py, tmp_path):
    script = write(tmp_path, "thr.py", THREADS)
    out = tmp_path / "thr.pstats"
    proc = py.spy("profile", "-o", out, script, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    ours = load(py, out)
    # 3 threads x 100 + the main thread's 10 (cProfile sees the threads
    # only on 3.12+).
    assert ours[f"{script}:4:helper"][1] == 310
    assert ours[f"{script}:7:work"][1] == 4
    if tuple(map(int, py.version.split("."))) >= (3, 12):
        theirs = tmp_path / "theirs.prof"
        py.py("-m", "cProfile", "-o", theirs, script, cwd=tmp_path)
        t = load(py, theirs)
        for fn in ("4:helper", "7:work"):
            assert ours[f"{script}:{fn}"][1] == t[f"{script}:{fn}"][1]
    # The per-thread breakdown: one table per thread after the merged one.
    proc = py.spy("profile", "--threads", "-s", "ncalls", script,
                  cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    heads = re.findall(r"^Thread (.+) \(id \d+\): [\d.]+ s CPU$",
                       proc.stdout, re.M)
    assert "MainThread" in heads and len(heads) == 4, proc.stdout


# A thread sleeps until the main thread has computed for 0.4 s of its own
# CPU time, and 1 s more, so that sleep's cumulative time exceeds the
# computing function's however slow the machine; each thread measures its
# own CPU time (time.thread_time: what load cannot inflate) and the
# program its wall time. The truth is printed as JSON on the last line.
IDLE_THREAD = """
import time
t0 = time.perf_counter()
c0 = time.thread_time()
import json, threading
done = threading.Event()
own = {}

def nap():
    c = time.thread_time()
    while not done.is_set():
        time.sleep(0.02)
    time.sleep(1.0)
    own["napper"] = time.thread_time() - c

def compute(seconds):
    end = time.thread_time() + seconds
    n = 0
    while time.thread_time() < end:
        n += 1
    return n

t = threading.Thread(target=nap, name="napper")
t.start()
compute(0.4)
done.set()
t.join()
own["MainThread"] = time.thread_time() - c0
own["wall"] = time.perf_counter() - t0
print(json.dumps(own))
"""


def rows(table):
    """The function column of a table's rows, in order, without the file
    and line of Python functions ("idle.py:9(nap)" is "nap")."""
    out = []
    for r in table.splitlines():
        if re.match(r"^ +[\d/]+ +[\d.]+ ", r):
            f = r.split(None, 5)[5]
            out.append(re.sub(r"^[^{].*\((.*)\)$", r"\1", f))
    return out


def test_threads_wall_cpu_and_busy_order(py, tmp_path):
    """The header gives the run's wall time (not the sum over threads), a
    block gives each thread's CPU and wall time, and by default a thread
    that sleeps does not outrank the function that computes."""
    script = write(tmp_path, "idle.py", IDLE_THREAD)
    start = time.monotonic()
    proc = py.spy("profile", script, cwd=tmp_path)
    outer = time.monotonic() - start
    assert proc.returncode == 0, proc.stderr
    own = json.loads(proc.stdout.splitlines()[0])
    table = proc.stdout.split("\n", 1)[1]
    wall = float(re.search(r"function calls.* in ([\d.]+) seconds",
                           table).group(1))
    # The profiled span holds the program's own, and is within the run.
    assert own["wall"] - 0.002 <= wall <= outer, (own, wall, outer)
    assert wall >= own["MainThread"]
    cpu = {m.group(1): (float(m.group(2)), float(m.group(3)))
           for m in re.finditer(r"^   (MainThread|napper) +([\d.]+) +"
                                r"([\d.]+)$", table, re.M)}
    assert set(cpu) == {"MainThread", "napper"}, table
    for name in cpu:
        # What each thread measured of itself lies within what was
        # recorded of it: the same clock over a longer span (a little
        # longer: thread start, imports before the first line).
        assert own[name] - 0.002 <= cpu[name][0] <= own[name] + 0.1, \
            (name, own, cpu)
        assert cpu[name][1] <= wall + 0.002
    assert cpu["napper"][1] >= 1.0
    order = rows(table)
    assert "Ordered by: cumulative time outside waits" in table
    sleep = "{built-in method time.sleep}"
    compute = "compute"
    assert order.index(compute) < order.index(sleep), order
    assert order.index(compute) < order.index("nap"), order
    assert re.search(r"^ +[\d.]+  \{built-in method time.sleep\}$",
                     table.split("Waits (blocked")[1], re.M), table
    # A key that was asked for, the default's own too: pstats' order
    # exactly, sleep's cumulative time first.
    for key in ("cumulative", "cumtime"):
        proc = py.spy("profile", "-s", key, script, cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        table = proc.stdout.split("\n", 1)[1]
        assert "Ordered by: cumulative time\n" in table
        assert "Waits" not in table
        order = rows(table)
        assert order.index(sleep) < order.index(compute), (key, order)
    # --threads: each thread's table covers its own wall time and names
    # its CPU time.
    proc = py.spy("profile", "--threads", script, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    heads = re.findall(r"^Thread (\w+) \(id \d+\): ([\d.]+) s CPU\n\n"
                       r" +\d+ function calls.* in ([\d.]+) seconds",
                       proc.stdout, re.M)
    assert sorted(h[0] for h in heads) == ["MainThread", "napper"], \
        proc.stdout


def test_table_matches_cprofile_layout(py, tmp_path):
    script = write(tmp_path, "rec.py", RECURSION)
    proc = py.spy("profile", "-s", "tottime", script, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    # The program's output first, then the table, as cProfile prints it.
    assert lines[0] == "done"
    assert re.match(r"^         \d+ function calls \(\d+ primitive calls\) "
                    r"in \d+\.\d{3} seconds$", lines[1]), lines[1]
    assert lines[2] == ""
    assert lines[3] == "   Ordered by: internal time"
    assert lines[4] == ""
    assert lines[5] == ("   ncalls  tottime  percall  cumtime  percall "
                        "filename:lineno(function)")
    rows = lines[6:]
    assert re.match(r"^ +8361/1 +\d+\.\d{3} +\d+\.\d{3} +\d+\.\d{3} +"
                    r"\d+\.\d{3} rec\.py:2\(fib\)$",
                    next(r for r in rows if "fib" in r))
    assert any(r.endswith(" {built-in method builtins.sorted}")
               for r in rows)
    tot = [float(r.split()[1]) for r in rows if r.strip()]
    assert tot == sorted(tot, reverse=True)
    assert proc.stdout.endswith("\n\n\n")


def test_pstats_file_like_cprofiles_dump(py, tmp_path):
    theirs, ours, _ = run_both(py, tmp_path, [JULIA], "30", "20")
    t, o = counts(theirs), counts(ours)
    assert set(o) == set(t)
    for key, (cc, nc, tt, ct, callers) in ours.items():
        assert 0 <= tt <= ct + 1e-9
        for caller in callers:
            # gprof2dot needs every caller to be a function of its own.
            assert caller in ours
    # The same file loads in pstats' printer too.
    proc = py.py("-c", "import pstats, sys; "
                 "pstats.Stats(sys.argv[1]).sort_stats('cumulative')"
                 ".print_stats(5).print_callers(3)",
                 tmp_path / "ours.pstats")
    assert proc.returncode == 0, proc.stderr
    assert "calc_pure_python" in proc.stdout


def test_gprof2dot_reads_pstats_and_collapsed(py, tmp_path):
    if py.py("-c", "import gprof2dot").returncode != 0:
        pytest.skip("gprof2dot is not installed in this venv")
    script = write(tmp_path, "rec.py", RECURSION)
    for name, fmt in (("g.pstats", "pstats"), ("g.collapsed", "collapse")):
        out = tmp_path / name
        proc = py.spy("profile", "-o", out, script)
        assert proc.returncode == 0, proc.stderr
        proc = py.py("-m", "gprof2dot", "-f", fmt, "-n", "0", "-e", "0",
                     out)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.startswith("digraph {"), proc.stdout[:200]
        assert "fib" in proc.stdout and "is_even" in proc.stdout


def test_no_builtins(py, tmp_path):
    script = write(tmp_path, "rec.py", RECURSION)
    out = tmp_path / "nb.pstats"
    proc = py.spy("profile", "--no-builtins", "-o", out, script)
    assert proc.returncode == 0, proc.stderr
    stats = load(py, out)
    assert not [k for k in stats if k.startswith("~:")]
    assert stats[f"{script}:2:fib"][1] == 8361


def test_exit_status_and_traceback_kept(py, tmp_path):
    exiting = write(tmp_path, "ex.py", """
        import sys
        def work():
            return sum(range(100))
        work()
        sys.exit(3)
    """)
    out = tmp_path / "ex.pstats"
    proc = py.spy("profile", "-o", out, exiting)
    assert proc.returncode == 3, proc.stderr
    assert f"{exiting}:3:work" in load(py, out)

    raising = write(tmp_path, "raise.py", """
        def fail():
            raise ValueError("boom")
        fail()
    """)
    out = tmp_path / "raise.pstats"
    proc = py.spy("profile", "-o", out, raising)
    plain = py.py(raising)
    assert proc.returncode == plain.returncode == 1
    assert proc.stderr.splitlines()[:len(plain.stderr.splitlines())] == \
        plain.stderr.splitlines()
    assert f"{raising}:2:fail" in load(py, out)
    # Without -o the table is still printed.
    proc = py.spy("profile", raising)
    assert proc.returncode == 1
    assert "raise.py:2(fail)" in proc.stdout


@pytest.mark.parametrize("sig,status,message", [
    # SIGTERM: the program unwinds, the profile is written, then spyglass
    # dies of the signal as the program would have.
    (signal.SIGTERM, -signal.SIGTERM, ""),
    # Ctrl-C: KeyboardInterrupt's traceback, then killed by SIGINT, as
    # python ends.
    (signal.SIGINT, -signal.SIGINT, "KeyboardInterrupt"),
], ids=["sigterm", "sigint"])
def test_signal_still_writes_the_profile(py, tmp_path, sig, status, message):
    # "ready" once spin() has slept 5 times: however slow the machine, the
    # profile then holds at least those calls.
    script = write(tmp_path, "busy.py", """
        import time
        def spin():
            n = 0
            while True:
                time.sleep(0.01)
                n += 1
                if n == 5:
                    print("ready", flush=True)
        spin()
    """)
    out = tmp_path / "sig.pstats"
    proc = subprocess.Popen([py.spyglass, "profile", "-o", str(out),
                             str(script)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=py.env,
                            cwd="/tmp")
    assert proc.stdout.readline() == "ready\n"
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == status, err
    assert message in err
    stats = load(py, out)
    assert stats[f"{script}:3:spin"][1] == 1
    assert stats["~:0:<built-in method time.sleep>"][1] >= 5


@pytest.mark.parametrize("code", [
    "raise KeyboardInterrupt",
    "def f():\n    raise KeyboardInterrupt\nf()",
    "raise SystemExit(7)",
    "import os; os._exit(5)",
], ids=["interrupt", "interrupt-in-function", "system-exit", "os-exit"])
def test_exit_status_as_python(py, tmp_path, code):
    """Whatever ends the program, a parent sees python's status: a
    KeyboardInterrupt kills python with SIGINT (-2 here, 130 in a shell)
    after its traceback, and the profile is written before."""
    plain = py.py("-c", code)
    out = tmp_path / "x.pstats"
    proc = py.spy("profile", "-o", out, "-c", code)
    assert proc.returncode == plain.returncode, proc.stderr
    if "os._exit" in code:
        assert proc.returncode == 5 and not out.exists()
        return
    assert proc.returncode == (-signal.SIGINT if "Interrupt" in code else 7)
    # The traceback as python prints it, then where the profile went.
    assert proc.stderr.splitlines()[:-1] == plain.stderr.splitlines()
    # The program's profile, without the printing of its traceback (the
    # traceback module on 3.13).
    stats = load(py, out)
    assert "<string>:1:<module>" in stats
    assert not [k for k in stats if "traceback" in k], sorted(stats)
    # The table on stdout too.
    proc = py.spy("profile", "-c", code)
    assert proc.returncode == plain.returncode
    assert "function calls" in proc.stdout


def test_bad_input(py, tmp_path):
    proc = py.spy("profile", tmp_path / "missing.py")
    assert proc.returncode == 2
    assert "can't open file" in proc.stderr

    bad = write(tmp_path, "bad.py", "def f(:\n    pass\n")
    proc = py.spy("profile", bad)
    plain = py.py(bad)
    assert proc.returncode == plain.returncode == 1
    assert "SyntaxError" in proc.stderr
    assert proc.stderr.splitlines()[-1] == plain.stderr.splitlines()[-1]

    proc = py.spy("profile", "-s", "bogus", bad)
    assert proc.returncode == 2
    assert "unknown sort key 'bogus'" in proc.stderr
    for key in ("cumulative", "tottime", "ncalls", "stdname", "pcalls"):
        assert key in proc.stderr
    proc = py.spy("profile", "-f", "nope", bad)
    assert proc.returncode == 2 and "pstats" in proc.stderr
    proc = py.spy("profile", "-o", tmp_path / "x.unknown", bad)
    assert proc.returncode == 2 and "-f FORMAT" in proc.stderr
    # A format of the same registry that cannot hold a function profile
    # (the line profiler's) is refused before the program runs.
    proc = py.spy("profile", "-o", tmp_path / "x.lprof", "-c",
                  "print('ran')")
    assert proc.returncode == 2 and "ran" not in proc.stdout
    assert "cannot hold a function profile" in proc.stderr


def test_help_without_python(any_py):
    proc = any_py.spy("profile", "--help")
    assert proc.returncode == 0
    assert "usage: spyglass profile" in proc.stdout
    for name in ("pstats", "flamegraph", "speedscope", "collapsed",
                 "chrometrace", "text"):
        assert name in proc.stdout


API = """
import sys, pstats, io
import spyglass

def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)

with spyglass.Profile() as p:
    fib(12)
p.print_stats(sort="cumulative")
p.dump(sys.argv[1])
p.dump(sys.argv[2])          # .svg: the format follows the extension
st = pstats.Stats(p)        # like a cProfile.Profile
fib_key = [k for k in st.stats if k[2] == "fib"][0]
print("fib calls", st.stats[fib_key][1], st.stats[fib_key][0])

q = spyglass.Profile(builtins=False)

@q
def work(n):
    return [fib(i) for i in range(n)]

work(8)
work(8)
print("wrapped", work.__name__, work.__wrapped__.__name__)
qs = pstats.Stats(q).stats
counts = {k[2]: v[1] for k, v in qs.items()}
print("work", counts["work"], "builtins", any(k[0] == "~" for k in qs))
"""


def test_python_api(py, tmp_path):
    script = write(tmp_path, "api.py", API)
    out, svg = tmp_path / "api.pstats", tmp_path / "api.svg"
    proc = py.py(script, out, svg)
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"^\s+465/1 .* api\.py:5\(fib\)$", proc.stdout, re.M), \
        proc.stdout
    assert "fib calls 465 1" in proc.stdout
    assert "wrapped work work" in proc.stdout
    assert "work 2 builtins False" in proc.stdout
    assert load(py, out)[f"{script}:5:fib"][1] == 465
    ET.parse(svg)


def test_decorator_under_the_command(py, tmp_path):
    """A function decorated with a Profile, run under `spyglass profile`:
    the command's profiler records it and the decorator steps aside."""
    script = write(tmp_path, "deco.py", """
        import spyglass
        q = spyglass.Profile()

        @q
        def work(n):
            return sum(range(n))

        print(work(10), work(20), q.enabled)
    """)
    out = tmp_path / "deco.pstats"
    proc = py.spy("profile", "-o", out, script)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "45 190 False\n"
    assert load(py, out)[f"{script}:5:work"][1] == 2


XSS = '''
import os

def make(name):
    def f(n):
        return sum(range(n))
    f.__code__ = f.__code__.replace(co_name=name)
    return f

evil = make("<script>alert(1)</script>")
amp = make('a&b "quoted" \\'x\\'')
for _ in range(3):
    evil(1000)
    amp(10)
'''


def test_spyglass_profile_is_the_function_profiler(py):
    proc = py.py("-c", "import spyglass; "
                 "assert spyglass.profile is spyglass.Profile")
    assert proc.returncode == 0, proc.stderr


def test_flamegraph_svg_escapes_names(py, tmp_path):
    d = tmp_path / 'we&ird "dir"'
    d.mkdir()
    script = write(d, "xss.py", XSS)
    out = tmp_path / "x.svg"
    proc = py.spy("profile", "-o", out, script)
    assert proc.returncode == 0, proc.stderr
    tree = ET.parse(out)
    ns = "{http://www.w3.org/2000/svg}"
    scripts = tree.getroot().findall(f".//{ns}script")
    assert len(scripts) == 1  # our own, holding no data
    assert "alert(1)" not in scripts[0].text
    titles = [t.text for t in tree.getroot().iter(f"{ns}title")]
    assert any(t.startswith("<script>alert(1)</script> (") for t in titles)
    assert any(t.startswith('a&b "quoted" \'x\' (') and 'we&ird "dir"' in t
               for t in titles)
    raw = out.read_text()
    assert "<script>alert" not in raw
    groups = tree.getroot().findall(f".//{ns}g[@class='f']")
    assert len(groups) >= 4


def test_speedscope_and_collapsed_and_chrome(py, tmp_path):
    script = write(tmp_path, "thr.py", THREADS)
    ss, col, ct = (tmp_path / "p.json", tmp_path / "p.collapsed",
                   tmp_path / "p.trace.json")
    for out in (ss, col, ct):
        proc = py.spy("profile", "-o", out, script)
        assert proc.returncode == 0, proc.stderr

    doc = json.loads(ss.read_text())
    assert doc["$schema"] == \
        "https://www.speedscope.app/file-format-schema.json"
    frames = doc["shared"]["frames"]
    assert {"helper", "work"} <= {f["name"] for f in frames}
    assert len(doc["profiles"]) == 4  # one per thread
    for prof in doc["profiles"]:
        assert prof["type"] == "sampled" and prof["unit"] == "nanoseconds"
        assert len(prof["samples"]) == len(prof["weights"])
        assert all(0 <= i < len(frames) for s in prof["samples"] for i in s)
        assert prof["endValue"] == sum(prof["weights"])

    line_re = re.compile(r"^(.+) (\d+)$")
    frame_re = re.compile(r"^[^ ]+ \((?P<file>.*):(?P<line>\d+)\)$")
    stacks = {}
    for line in col.read_text().splitlines():
        m = line_re.match(line)
        assert m, line
        stacks[m.group(1)] = int(m.group(2))
        for fr in m.group(1).split(";"):
            assert frame_re.match(fr) or fr.startswith("<"), fr
    assert any(s.endswith(f"helper ({script}:4)") for s in stacks)

    trace = json.loads(ct.read_text())
    events = [e for e in trace["traceEvents"] if e["ph"] == "X"]
    assert {e["name"] for e in events} >= {"helper", "work"}
    meta = [e for e in trace["traceEvents"] if e["ph"] == "M"]
    assert len({e["tid"] for e in meta}) == 4  # reused idents kept apart
    # Children lie within their parents: per tid, events nest.
    check_nesting(events)


def _invariant_tsc():
    """Whether this CPU's time stamp counter is a clock (what CPUID's
    invariant-TSC bit says; Linux calls it nonstop_tsc)."""
    if os.uname().machine not in ("x86_64", "i686"):
        return False
    with open("/proc/cpuinfo") as f:
        return any(ln.startswith("flags") and " nonstop_tsc" in ln
                   for ln in f)


@pytest.mark.parametrize("no_tsc", [False, True], ids=["default", "no-tsc"])
def test_each_clock_measures_real_time(py, tmp_path, no_tsc):
    """The tick source and its calibration: a 0.2 s sleep is at least
    0.2 s and at most the whole run's wall time, with the TSC and with the
    vDSO clock (SPYGLASS_NO_TSC=1, what machines other than x86 use)."""
    script = write(tmp_path, "nap.py", """
        import time
        def nap():
            time.sleep(0.2)
        nap()
    """)
    out, trace = tmp_path / "nap.pstats", tmp_path / "nap.trace.json"
    if no_tsc:
        py.env["SPYGLASS_NO_TSC"] = "1"
    try:
        t0 = time.monotonic()
        proc = py.spy("profile", "-o", out, script)
        wall = time.monotonic() - t0
        assert proc.returncode == 0, proc.stderr
        proc = py.spy("profile", "-o", trace, script)
        assert proc.returncode == 0, proc.stderr
    finally:
        py.env.pop("SPYGLASS_NO_TSC", None)
    clock = json.loads(trace.read_text())["otherData"]["clock"]
    assert clock == ("tsc" if _invariant_tsc() and not no_tsc
                     else "monotonic")
    stats = load(py, out)
    cumtime = stats[f"{script}:3:nap"][3]
    assert 0.2 <= cumtime <= wall, (cumtime, wall)


def test_collectors_compile_for_aarch64(any_py):
    """The agent builds on machines that are not x86 (no TSC there, and no
    x86 header): its C sources compile for aarch64, checked with clang's
    cross target when this machine has an aarch64 libc's headers."""
    sysroot = Path("/usr/aarch64-linux-gnu/include")
    clang = shutil.which("clang")
    if not clang or not sysroot.is_dir():
        pytest.skip("needs clang and the aarch64 libc headers "
                    "(libc6-dev-arm64-cross)")
    inc = any_py.py("-c", "import sysconfig; "
                    "print(sysconfig.get_paths()['include'])").stdout.strip()
    agent = ROOT / "src" / "agent"
    sources = sorted(agent.rglob("*.c"))
    assert len(sources) > 10
    for src in sources:
        proc = subprocess.run(
            [clang, "--target=aarch64-linux-gnu", "-fsyntax-only",
             "-std=c11", "-D_GNU_SOURCE", '-DSG_VERSION="0"', "-Wall",
             "-Wextra", "-Werror", "-Wno-unused-parameter",
             "-I" + str(ROOT / "src"), "-I" + inc, "-isystem", str(sysroot),
             str(src)], capture_output=True, text=True)
        assert proc.returncode == 0, (src, proc.stderr[-3000:])


def test_monitoring_tool_ids_shared_with_other_tools(py, tmp_path):
    """3.12+: both collectors take the first free sys.monitoring tool id
    of 2-5, run side by side, name the holders when none is left, and give
    their ids back."""
    if tuple(map(int, py.version.split("."))) < (3, 12):
        pytest.skip("sys.monitoring is 3.12+")
    script = write(tmp_path, "ids.py", """
        import pstats, sys
        import spyglass
        mon = sys.monitoring
        for i, name in [(2, "dbg"), (3, "cov"), (4, "jit")]:
            mon.use_tool_id(i, name)
        def f():
            return 1
        p, lp = spyglass.Profile(), spyglass.LineProfiler(f)
        with p:
            print("profile", mon.get_tool(5))
            try:
                with lp:
                    f()
            except RuntimeError as e:
                print("lines", e)
        mon.free_tool_id(4)
        with p:
            with lp:
                print("both", mon.get_tool(4), mon.get_tool(5))
                f()
        print("after", mon.get_tool(4), mon.get_tool(5))
        calls = {k[2]: v[1] for k, v in pstats.Stats(p).stats.items()}
        print("f calls", calls["f"])
        lp.print_stats()
    """)
    proc = py.py(script)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[:5] == [
        "profile spyglass profile",
        "lines spyglass lines: no free sys.monitoring tool id (2-5 are "
        "held by dbg, cov, jit, spyglass profile)",
        "both spyglass profile spyglass lines",
        "after None None",
        "f calls 1",
    ]
    assert re.search(r"^ +8 +1 .*return 1$", proc.stdout, re.M)
