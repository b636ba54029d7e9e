"""The memory profiler's numbers (spyglass.memory, `spyglass memory`'s
agent side) against independent oracles, on every CPython.

Oracles: tracemalloc, run in the same test program (its snapshot's
statistics by line, its traced peak), and `spyglass lines` for the hits
(Occurrences). The numbers are read as Python data: m._stats() of the
Python API, and _agent._memory_stats() inside a program the command runs.
Lines are found by their `# L:name` markers.
"""
import json
import textwrap

import pytest


def marks(src):
    """{name: line} of the `# L:name` markers in src."""
    out = {}
    for i, line in enumerate(src.splitlines(), 1):
        if "# L:" in line:
            out[line.split("# L:")[1].strip()] = i
    return out


def run_json(py, tmp_path, src, *args, name="prog.py"):
    """Run src (which prints one JSON line last) with py; the JSON."""
    prog = tmp_path / name
    prog.write_text(src)
    proc = py.py(str(prog), *args)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.splitlines()[-1])


def run_command(py, tmp_path, script, rss=False):
    """`spyglass memory SCRIPT`, its table written to a file so that
    stdout holds only what the program printed."""
    args = ["memory", "-o", str(tmp_path / "memory.txt")]
    if rss:
        args.append("--rss")
    return py.spy(*args, str(script))


TRUTH = '''
import json, tracemalloc, spyglass

def work():
    a = list(range(10**6))  # L:list
    b = b"x" * (50 * 2**20)  # L:bytes
    d = {}
    for i in range(100000):
        d[i] = str(i) * 3  # L:dict
    return a, b, d

tracemalloc.start()
with spyglass.memory() as m:
    keep = work()
snap = tracemalloc.take_snapshot()
tm = {}
for s in snap.statistics("lineno"):
    if s.traceback[0].filename == __file__:
        tm[s.traceback[0].lineno] = s.size
st = m._stats()
ours = {}
for (f, name, line), v in st["leaves"].items():
    if f == __file__:
        ours[line] = [v[1], v[3], v[4]]  # allocated, freed, live
print(json.dumps({"tm": tm, "ours": ours}))
'''


def test_net_bytes_per_line_match_tracemalloc(py, tmp_path):
    r = run_json(py, tmp_path, TRUTH)
    m = marks(TRUTH)
    for name in ("list", "bytes", "dict"):
        line = str(m[name])
        tm = r["tm"][line]
        alloc, freed, live = r["ours"][line]
        assert live == alloc - freed
        assert abs(live - tm) <= 0.01 * tm, (name, live, tm)
    assert r["tm"][str(m["bytes"])] >= 50 * 2**20


PEAK = '''
import json, tracemalloc, spyglass

def grow():
    chunks = []
    for i in range(20):
        chunks.append(bytearray(1000000))  # L:peak
    del chunks
    small = [bytearray(1000) for _ in range(100)]
    return small

tracemalloc.start()
base = tracemalloc.get_traced_memory()[0]
with spyglass.memory() as m:
    keep = grow()
peak = tracemalloc.get_traced_memory()[1] - base
st = m._stats()
print(json.dumps({"tm_peak": peak, "meta": st["meta"]}))
'''


def test_peak_and_the_line_that_reached_it(py, tmp_path):
    r = run_json(py, tmp_path, PEAK)
    peak = int(r["meta"]["memory.peak_bytes"])
    assert 20 * 1000000 <= peak <= 1.01 * 20 * 1000000
    assert abs(peak - r["tm_peak"]) <= 0.01 * r["tm_peak"]
    line = marks(PEAK)["peak"]
    assert r["meta"]["memory.peak_where"].endswith(f":{line} (grow)")
    assert 0 < int(r["meta"]["memory.peak_ns"]) <= int(
        r["meta"]["memory.total_ns"])
    # What is left at the end: the 100 small bytearrays, not the peak.
    end = int(r["meta"]["memory.end_bytes"])
    assert 100 * 1000 <= end < 1000000


PRE = '''
import json, spyglass
big = [bytearray(10**6) for _ in range(10)]
with spyglass.memory() as m:
    del big  # L:del
    x = [0] * 1000  # L:small
st = m._stats()
print(json.dumps({"meta": st["meta"], "leaves": [
    [k[2], v] for k, v in st["leaves"].items() if k[0] == __file__]}))
'''


def test_frees_of_blocks_from_before_tracing_change_nothing(py, tmp_path):
    r = run_json(py, tmp_path, PRE)
    end = int(r["meta"]["memory.end_bytes"])
    # Unsigned: a free counted against nothing would wrap to ~2**64.
    assert 8000 <= end < 100000
    leaves = dict((line, v) for line, v in r["leaves"])
    assert leaves.get(marks(PRE)["del"], [0] * 9)[3] == 0


KINDS = '''
import json, threading, spyglass
import helper

def in_thread():
    global t_keep
    t_keep = bytearray(3000000)  # L:thread

def gen():
    for i in range(3):
        yield bytearray(1000000)  # L:gen

def fails():
    try:
        raise ValueError("x")
    except ValueError:
        return bytearray(2000000)  # L:except

with spyglass.memory() as m:
    t = threading.Thread(target=in_thread, name="worker")
    t.start()
    t.join()
    g = list(gen())
    e = fails()
    h = helper.make()

st = m._stats()
print(json.dumps([[[k[0], k[1], k[2], v[4]] for k, v in st["leaves"].items()],
                  st["threads"]]))
'''

HELPER = '''
def make():
    return bytearray(4000000)  # L:helper
'''


def test_threads_generators_exceptions_and_imported_modules(py, tmp_path):
    (tmp_path / "helper.py").write_text(HELPER)
    rows, threads = run_json(py, tmp_path, KINDS)
    # A thread root each, named as threading names them (the worker has
    # ended by the time the results are built).
    assert sorted(threads) == ["MainThread", "worker"]
    live = {}
    for f, name, line, v in rows:
        key = (f.rsplit("/", 1)[-1], line)
        live[key] = live.get(key, 0) + v
    m = marks(KINDS)
    for mark, size in (("thread", 3000000), ("gen", 3000000),
                       ("except", 2000000)):
        got = live.get(("prog.py", m[mark]), 0)
        assert size <= got <= size * 1.01, (mark, got)
    got = live.get(("helper.py", marks(HELPER)["helper"]), 0)
    assert 4000000 <= got <= 4000000 * 1.01


OWN_TRACEMALLOC = '''
import json, os, tracemalloc
tracemalloc.start()
def work():
    return b"y" * (20 * 2**20)  # L:bytes
keep = work()
snap = tracemalloc.take_snapshot()
tm = [s.size for s in snap.statistics("lineno")
      if s.traceback[0].filename == __file__
      and s.traceback[0].lineno == LINE]
from spyglass import _agent
st = _agent._memory_stats()
ours = sum(v[4] for k, v in st["leaves"].items()
           if k[0] == __file__ and k[2] == LINE)
print(json.dumps({"tm": tm, "ours": ours}))
'''


def test_a_program_that_starts_tracemalloc_itself(py, tmp_path):
    src = OWN_TRACEMALLOC.replace("LINE", str(marks(OWN_TRACEMALLOC)["bytes"]))
    prog = tmp_path / "prog.py"
    prog.write_text(src)
    proc = run_command(py, tmp_path, prog)
    assert proc.returncode == 0, proc.stderr
    r = json.loads(proc.stdout.splitlines()[-1])
    # tracemalloc, installed over spyglass's hooks, still sees the block.
    assert r["tm"] and abs(r["tm"][0] - 20 * 2**20) <= 0.01 * 20 * 2**20
    assert abs(r["ours"] - 20 * 2**20) <= 0.01 * 20 * 2**20


OWN_HOOKS = '''
import json, spyglass
import _testcapi
def work():
    return bytearray(5000000)  # L:alloc
with spyglass.memory() as m:
    # The program's own allocator hooks, over spyglass's (they fail no
    # allocation before the billionth), then taken away again.
    _testcapi.set_nomemory(10**9)
    keep = work()
    _testcapi.remove_mem_hooks()
st = m._stats()
print(json.dumps(sum(v[4] for k, v in st["leaves"].items()
                     if k[0] == __file__ and k[2] == LINE)))
'''


def test_a_program_with_its_own_allocator_hooks(py, tmp_path):
    if py.py("-c", "import _testcapi").returncode != 0:
        pytest.skip("no _testcapi in this CPython")
    src = OWN_HOOKS.replace("LINE", str(marks(OWN_HOOKS)["alloc"]))
    live = run_json(py, tmp_path, src)
    assert 5000000 <= live <= 5000000 * 1.01


HITS = '''
import os

@profile
def f(n):
    s = []
    for i in range(n):
        s.append(str(i) * 10)
        if i % 3 == 0:
            s.pop()
    try:
        raise KeyError(n)
    except KeyError:
        s.append(bytearray(1000))
    return len(s)

def g():
    for k in range(7):
        yield f(k)

total = sum(g())
if os.environ.get("MEM_STATS"):
    import json
    from spyglass import _agent
    st = _agent._memory_stats()
    with open(os.environ["MEM_STATS"], "w") as out:
        json.dump([[k[2], v[0]] for k, v in st["lines"].items()
                   if k[1] == "f"], out)
'''


def test_occurrences_are_the_hits_of_spyglass_lines(py, tmp_path):
    prog = tmp_path / "prog.py"
    prog.write_text(HITS)
    stats = tmp_path / "stats.json"
    py.env["MEM_STATS"] = str(stats)
    try:
        proc = run_command(py, tmp_path, prog)
    finally:
        del py.env["MEM_STATS"]
    assert proc.returncode == 0, proc.stderr
    ours = {line: hits for line, hits in json.loads(stats.read_text())
            if hits}
    lprof = tmp_path / "out.lprof"
    proc = py.spy("lines", "-o", lprof, prog)
    assert proc.returncode == 0, proc.stderr
    # The pickle's classes are line_profiler's: read it in the venv.
    proc = py.py("-c", "import json, pickle, sys; t = pickle.load(open("
                 "sys.argv[1], 'rb')).timings; print(json.dumps([v for k, v "
                 "in t.items() if k[2] == 'f']))", lprof)
    assert proc.returncode == 0, proc.stderr
    (rows,) = json.loads(proc.stdout)
    assert ours == {line: hits for line, hits, _ in rows}


COLUMNS = '''
import os, json

@profile
def f():
    a = bytearray(3000000)  # L:a
    b = bytearray(1000000)  # L:b
    del b  # L:del
    return a

keep = f()
from spyglass import _agent
st = _agent._memory_stats()
print(json.dumps([[k[2], v] for k, v in st["lines"].items()]))
'''


def test_memory_profiler_columns(py, tmp_path):
    prog = tmp_path / "prog.py"
    prog.write_text(COLUMNS)
    proc = run_command(py, tmp_path, prog, rss=True)
    assert proc.returncode == 0, proc.stderr
    rows = {line: v for line, v in json.loads(proc.stdout.splitlines()[-1])}
    m = marks(COLUMNS)
    # (hits, (peak, alloc, allocs, free, leak, inc, usage, line_peak, rss))
    a, b, d = rows[m["a"]][1], rows[m["b"]][1], rows[m["del"]][1]
    assert 3000000 <= a[5] <= 3000000 * 1.01  # Increment
    assert 1000000 <= b[5] <= 1000000 * 1.01
    assert -1000000 * 1.01 <= d[5] <= -1000000  # the del frees b
    assert a[1] >= 3000000 and a[4] >= 3000000  # its own block, live
    assert b[1] >= 1000000 and b[3] >= 1000000 and b[4] < 1000  # freed
    # Mem usage, the peak inside the line: after b, during b.
    assert b[6] - a[6] >= 1000000 and d[6] < b[6]
    assert b[7] >= b[6]
    assert a[8] > 3000000  # RSS, in bytes
    assert all(rows[line][0] == 1 for line in (m["a"], m["b"], m["del"]))


PEAKS = '''
import json, threading

@profile
def callee():
    t = bytearray(5000000)  # L:callee
    del t
    return 1

def unselected():
    return len(bytearray(3000000))

def other_thread():
    go.wait()
    held.append(bytearray(6000000))
    done.set()

@profile
def f():
    x = bytearray(2000000)  # L:x
    n = len(bytearray(4000000))  # L:temp
    n += callee()  # L:call
    n += unselected()  # L:unselected
    n += (go.set() is None) + done.wait(60)  # L:thread
    return x

go, done, held = threading.Event(), threading.Event(), []
worker = threading.Thread(target=other_thread)
worker.start()
keep = f()
worker.join()
from spyglass import _agent
st = _agent._memory_stats()
print(json.dumps([[k[2], v] for k, v in st["lines"].items()]))
'''


def test_the_peak_inside_a_line_includes_its_calls(py, tmp_path):
    """A line's peak is the highest traced total while it ran: its own
    temporaries, what the selected and unselected functions it calls
    allocate and free, and what other threads hold meanwhile."""
    prog = tmp_path / "prog.py"
    prog.write_text(PEAKS)
    proc = run_command(py, tmp_path, prog)
    assert proc.returncode == 0, proc.stderr
    rows = {line: v for line, v in json.loads(proc.stdout.splitlines()[-1])}
    m = marks(PEAKS)
    usage, peak = 6, 7
    base = rows[m["x"]][1][usage]  # the total with x held

    def above(name, what):
        return rows[m[name]][1][what] - base

    assert 4000000 <= above("temp", peak) <= 4000000 * 1.01 + 10000
    assert abs(above("temp", usage)) < 10000  # the temporary is gone
    assert 5000000 <= above("call", peak) <= 5000000 * 1.01 + 10000
    assert 3000000 <= above("unselected", peak) <= 3000000 * 1.01 + 10000
    # The other thread's block, allocated while the line waits.
    assert above("thread", peak) >= 6000000 - 10000
    assert rows[m["callee"]][1][peak] - base >= 5000000


CALLERS = '''
def f(n):
    return [0] * n  # L:alloc

def g1():
    f(1000)  # L:g1

def g2():
    f(3000)  # L:g2

for _ in range(200):
    g1()
    g2()
'''


def test_one_function_called_from_two_callers_in_turn(py, tmp_path):
    """f's frame is made at the same place for each call, by g1 and g2
    in turn, with nothing allocated between the two calls (g1 and g2
    return None): each allocation must still be charged to the stack
    that made it, not to the stack of the allocation before, whose
    innermost frame is at the same instruction."""
    prog = tmp_path / "prog.py"
    prog.write_text(CALLERS)
    out = tmp_path / "out.collapsed"
    proc = py.spy("memory", "--allocated", "-f", "collapsed", "-o", str(out),
                  str(prog))
    assert proc.returncode == 0, proc.stderr
    m = marks(CALLERS)
    by_caller = {}
    for row in out.read_text().splitlines():
        stack, weight = row.rsplit(" ", 1)
        frames = stack.split(";")
        if frames[-1].endswith(":%d)" % m["alloc"]):
            by_caller[frames[-2]] = by_caller.get(frames[-2], 0) + int(weight)
    g1 = "g1 (%s:%d)" % (prog, m["g1"])
    g2 = "g2 (%s:%d)" % (prog, m["g2"])
    assert set(by_caller) == {g1, g2}, by_caller
    assert 200 * 8000 <= by_caller[g1] <= 200 * 8000 * 1.02
    assert 200 * 24000 <= by_caller[g2] <= 200 * 24000 * 1.02


def test_exit_status_is_kept(py, tmp_path):
    prog = tmp_path / "prog.py"
    prog.write_text("x = bytearray(10)\nraise SystemExit(3)\n")
    proc = run_command(py, tmp_path, prog)
    assert proc.returncode == 3, proc.stderr


SAMPLED = '''
import json, spyglass
def work():
    big = bytearray(30000000)  # L:big
    small = [str(i) * 20 for i in range(200000)]  # L:small
    return big, small
with spyglass.memory() as exact:
    keep = work()
del keep
with spyglass.memory(sample=4096) as m:
    keep = work()
def live(st):
    return {k[2]: v[4] for k, v in st["leaves"].items() if k[0] == __file__}
print(json.dumps([live(exact._stats()), live(m._stats()),
                  m._stats()["meta"]["memory.sample_bytes"]]))
'''


def test_sampling_estimates_what_exact_tracing_counts(py, tmp_path):
    exact, sampled, mean = run_json(py, tmp_path, SAMPLED)
    assert mean == "4096"
    m = marks(SAMPLED)
    big, small = str(m["big"]), str(m["small"])
    # A block much larger than the mean interval is always sampled, and
    # counted at its size.
    assert abs(sampled[big] - exact[big]) <= 0.01 * exact[big]
    # About 1500 sample points in the small strings: the estimate's
    # standard deviation is under 3%; 15% is five of them.
    assert abs(sampled[small] - exact[small]) <= 0.15 * exact[small]


def test_a_decorated_function_is_traced_on_each_call(py, tmp_path):
    src = textwrap.dedent('''
        import json, spyglass
        m = spyglass.memory()
        @m
        def f(n):
            return bytearray(n)  # L:alloc
        assert f.__name__ == "f"
        f(1000)
        x = f(2000000)
        st = m._stats()
        print(json.dumps([[k[2], v] for k, v in st["lines"].items()]))
    ''')
    rows = {line: v for line, v in run_json(py, tmp_path, src)}
    hits, metrics = rows[marks(src)["alloc"]]
    assert hits == 1  # the last call's tracing
    assert 2000000 <= metrics[1] <= 2000000 * 1.01


NOGIL = '''
import bz2, json, lzma, threading, spyglass
data = bytes(range(256)) * 400
def compress():
    for _ in range(3):
        lzma.compress(data, preset=0)
        bz2.compress(data, 1)
with spyglass.memory() as m:
    threads = [threading.Thread(target=compress) for _ in range(4)]
    for t in threads:
        t.start()
    junk = [bytearray(100) for i in range(100000)]  # L:junk
    for t in threads:
        t.join()
st = m._stats()
print(json.dumps([[k[0], k[1], k[2], v] for k, v in st["leaves"].items()]))
'''


def test_raw_allocations_without_the_gil(py, tmp_path):
    # lzma and bz2 allocate through PyMem_RawMalloc with the GIL released,
    # from four threads at once while the main thread allocates: those
    # blocks have no Python frame to go to, and the rest stays exact.
    rows = run_json(py, tmp_path, NOGIL)
    frameless = [v for f, name, line, v in rows
                 if name == "[no Python frame]"]
    assert frameless and sum(v[2] for v in frameless) >= 1
    line = marks(NOGIL)["junk"]
    # The module's line and, before 3.12, its list comprehension's.
    junk = [sum(v[k] for f, name, line_, v in rows
                if f.endswith("prog.py") and line_ == line)
            for k in range(9)]
    # 100000 bytearrays of 100 bytes and the list holding them.
    assert 100000 * 100 <= junk[4] <= 100000 * 200
    assert junk[1] - junk[3] == junk[4]


AGAIN = '''
import json, tracemalloc, spyglass
def work(n):
    return bytearray(n)  # L:alloc
with spyglass.memory() as first:
    tracemalloc.start()  # over spyglass's hooks, which stay under it
    a = work(1000000)
with spyglass.memory() as second:  # under tracemalloc still
    b = work(2000000)
tracemalloc.stop()
with spyglass.memory() as third:  # on top again
    c = work(3000000)
print(json.dumps([sum(v[4] for k, v in m._stats()["leaves"].items()
                      if k[0] == __file__ and k[2] == LINE)
                  for m in (first, second, third)]))
'''


def test_tracing_again_under_a_tool_that_chained_over_it(py, tmp_path):
    src = AGAIN.replace("LINE", str(marks(AGAIN)["alloc"]))
    first, second, third = run_json(py, tmp_path, src)
    assert 1000000 <= first <= 1010000
    assert 2000000 <= second <= 2020000
    assert 3000000 <= third <= 3030000


DEEP = '''
import json, spyglass
def down(n):
    if n == 0:
        return bytearray(1000000)  # L:leaf
    return down(n - 1)
with spyglass.memory() as m:
    keep = [down(600), down(10)]
st = m._stats()
print(json.dumps(sum(v[4] for k, v in st["leaves"].items()
                     if k[0] == __file__ and k[2] == LINE)))
'''


def test_stacks_deeper_than_the_kept_frames(py, tmp_path):
    # 600 frames: the outermost are not kept, the leaf is.
    src = DEEP.replace("LINE", str(marks(DEEP)["leaf"]))
    live = run_json(py, tmp_path, src)
    assert 2000000 <= live <= 2000000 * 1.01


API = '''
import spyglass

def build():
    return [bytes(1000) for _ in range(1000)]  # L:build

with spyglass.memory(build) as m:
    keep = build()
print("---")
m.print_stats()
m.dump(TARGET_SVG)
m.dump(TARGET_TXT)
try:
    m.dump(TARGET_PSTATS)
except Exception as e:
    print("refused:", type(e).__name__, e)
'''


def test_python_api_prints_dumps_and_refuses(py, tmp_path):
    """print_stats() prints the table the command prints; dump() writes the
    format its path names and refuses one that cannot hold a memory
    profile (pstats), without losing the profile."""
    svg, txt, pstats = (tmp_path / n for n in ("m.svg", "m.txt", "m.pstats"))
    src = (f"TARGET_SVG, TARGET_TXT, TARGET_PSTATS = {str(svg)!r}, "
           f"{str(txt)!r}, {str(pstats)!r}\n" + API)
    prog = tmp_path / "api.py"
    prog.write_text(src)
    proc = py.py(str(prog))
    assert proc.returncode == 0, proc.stderr
    printed = proc.stdout.split("---\n", 1)[1]
    line = marks(src)["build"]
    assert f"Filename: {prog}" in printed
    row = [r for r in printed.splitlines() if r.split()[:1] == [str(line)]]
    assert row, printed
    # A thousand 1000-byte objects: about 1 MB on the line, once.
    cells = row[0].split()
    assert cells[5] == "1" and cells[2] == "MiB", row[0]
    assert 0.95 <= float(cells[3]) <= 1.1, row[0]
    assert "Live at the peak" in printed
    assert svg.read_bytes().startswith(b"<?xml")
    assert b"spyglass memory" in svg.read_bytes()
    assert txt.read_text().startswith("Filename: ")
    assert "refused:" in proc.stdout and "pstats" in proc.stdout
    assert not pstats.exists()


SAMPLED_FREES = '''
import json, spyglass
def churn():
    for i in range(50):
        b = bytearray(1000000)  # L:big
        del b
    many = [(i, str(i)) for i in range(300000)]  # L:many
    del many
with spyglass.memory(sample=BYTES) as m:
    churn()
def leaves(st):
    return {k[2]: v for k, v in st["leaves"].items() if k[0] == __file__}
print(json.dumps(leaves(m._stats())))
'''


@pytest.mark.parametrize("sample", [4096, 1])
def test_sampling_sees_the_frees_of_sampled_blocks(py, tmp_path, sample):
    # A free is told apart from the frees of unsampled blocks by a filter
    # of sampled addresses; at 1 byte every block is sampled, enough for
    # the filter to be rebuilt from the live blocks on the way.
    got = run_json(py, tmp_path, SAMPLED_FREES.replace("BYTES", str(sample)))
    m = marks(SAMPLED_FREES)
    big, many = got[str(m["big"])], got[str(m["many"])]
    # [peak, allocated, blocks, freed, still live]
    assert abs(big[1] - 50 * 1000000) <= 0.01 * 50 * 1000000, big
    assert big[3] == big[1] and big[4] == 0, big
    # What stays is CPython's free lists (tuples kept for reuse), as
    # exact tracing shows too.
    assert many[1] > 300000 * 50 and many[4] <= 0.01 * many[1], many
