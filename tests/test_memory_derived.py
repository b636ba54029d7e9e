"""The memory table's Occurrences and line columns where its line events
are derived (3.12-3.13: a line reached only by falling through
straight-line code is counted from the frame's position, with its event
switched off; lines/derive.c).

Oracles: `spyglass lines` (which takes every line event) on real code --
stdlib modules full of loops, comprehensions, generators, coroutines, try
blocks and early returns -- and hand-counted hits where an exception leaves
straight-line code half-way, in the frame or in a callee. On 3.8-3.11
nothing is derived and the same comparisons hold, so they run there too.
"""
import json

from test_memory import marks, run_command


def memory_hits(py, tmp_path, prog, *args, derived=None):
    """{(file, function, line): hits} of `spyglass memory` on prog; with
    derived (a list), the number of hits counted without a line event is
    appended to it."""
    stats = tmp_path / "stats.json"
    py.env["MEM_STATS"] = str(stats)
    try:
        proc = py.spy("memory", "-o", str(tmp_path / "memory.txt"), *args,
                      str(prog))
    finally:
        del py.env["MEM_STATS"]
    assert proc.returncode == 0, proc.stderr
    stats = json.loads(stats.read_text())
    if derived is not None:
        derived.append(stats["derived"])
    out = {}
    for f, name, line, hits in stats["lines"]:
        if hits:
            out[f, name, line] = out.get((f, name, line), 0) + hits
    return out


def table(py, tmp_path, src):
    """`spyglass memory` on src, which prints its table's rows last:
    {line: (hits, metrics)}, and src's markers."""
    prog = tmp_path / "prog.py"
    prog.write_text(src)
    proc = run_command(py, tmp_path, prog)
    assert proc.returncode == 0, proc.stderr
    rows = {line: v for line, v in json.loads(proc.stdout.splitlines()[-1])}
    return rows, marks(src)


def lines_hits(py, tmp_path, prog, *args):
    """The same from `spyglass lines`' line_profiler pickle."""
    lprof = tmp_path / "out.lprof"
    proc = py.spy("lines", "-o", str(lprof), *args, str(prog))
    assert proc.returncode == 0, proc.stderr
    # The pickle's classes are line_profiler's: read it in the venv.
    proc = py.py("-c", "import json, pickle, sys; t = pickle.load(open("
                 "sys.argv[1], 'rb')).timings; print(json.dumps([[k, v] "
                 "for k, v in t.items()]))", str(lprof))
    assert proc.returncode == 0, proc.stderr
    out = {}
    for (f, _, name), rows in json.loads(proc.stdout):
        for line, hits, _ in rows:
            if hits:
                out[f, name, line] = out.get((f, name, line), 0) + hits
    return out


DUMP = '''
if os.environ.get("MEM_STATS"):
    from spyglass import _agent
    st = _agent._memory_stats()
    with open(os.environ["MEM_STATS"], "w") as out:
        json.dump({"derived": int(st["meta"]["derived_line_hits"]),
                   "lines": [[k[0], k[1], k[2], v[0]]
                             for k, v in st["lines"].items()]}, out)
'''

STDLIB = '''
import argparse, asyncio, configparser, difflib, fractions, io, json, os
import pprint, shlex, textwrap, tokenize

a = ["line %d %s" % (i, "x" * (i % 7)) for i in range(400)]
b = [s.replace("3", "4") if i % 5 else s for i, s in enumerate(a)]
n = len(list(difflib.unified_diff(a, b, lineterm="")))
n += len(list(difflib.ndiff(a[:80], b[:80])))
n += int(difflib.SequenceMatcher(None, " ".join(a[:200]),
                                 " ".join(b[:200])).ratio() * 100)
n += len(difflib.get_close_matches("line 37 x", a, n=5))
n += len(textwrap.fill(" ".join(a), 37)) + len(textwrap.wrap(a[5] * 9, 11))
n += len(textwrap.dedent("    x\\n      y\\n    z\\n"))
n += len(textwrap.shorten(" ".join(a[:50]), 60))
for s in ["a 'b c' d", 'x "y z" \\\\w', "p q=r 's t'"] * 40:
    n += len(shlex.split(s)) + len(shlex.quote(s))
    try:
        shlex.split(s + " 'unterminated")
    except ValueError:
        n += 1
f = fractions.Fraction(0)
for i in range(1, 120):
    f += fractions.Fraction(i, i + 3) * fractions.Fraction("1.25")
    f = f.limit_denominator(10**6)
    try:
        fractions.Fraction("not a number %d" % i)
    except ValueError:
        n += 1
p = argparse.ArgumentParser(prog="x")
p.add_argument("--a", type=int, default=3)
p.add_argument("b", nargs="*")
for i in range(20):
    n += p.parse_args(["--a", str(i), "x"]).a
    try:
        p.parse_args(["--a", "not an int"])
    except SystemExit:
        n += 1
src = open(textwrap.__file__).read()
n += sum(1 for _ in tokenize.generate_tokens(io.StringIO(src).readline))
cp = configparser.ConfigParser()
cp.read_string("[s]\\na = 1\\nb = %(a)s2\\n[t]\\nc = 3\\n")
n += len(cp.get("s", "b")) + len(pprint.pformat({i: list(range(i)) for i in range(30)}))

async def sub(k):
    await asyncio.sleep(0)
    if k % 5 == 0:
        raise ValueError(k)
    return k

async def main():
    r = await asyncio.gather(*[sub(k) for k in range(40)], return_exceptions=True)
    return sum(x for x in r if isinstance(x, int))

n += asyncio.run(main())
print(n, f)
''' + DUMP


def test_hits_on_stdlib_code_are_those_of_spyglass_lines(py, tmp_path):
    prog = tmp_path / "prog.py"
    prog.write_text(STDLIB)
    files = py.py("-c", "import argparse, asyncio.base_events, asyncio.tasks, "
                  "configparser, difflib, fractions, pprint, shlex, textwrap, "
                  "tokenize; import sys; print(' '.join(sys.modules[m].__file__"
                  " for m in ('argparse', 'asyncio.base_events', "
                  "'asyncio.tasks', 'configparser', 'difflib', 'fractions', "
                  "'pprint', 'shlex', 'textwrap', 'tokenize')))").stdout.split()
    sel = [a for f in files for a in ("--file", f)]
    ours = memory_hits(py, tmp_path, prog, *sel)
    theirs = lines_hits(py, tmp_path, prog, *sel)
    # Hundreds of lines in ten modules.
    assert len(files) == 10 and len(theirs) > 600
    differ = {k: (ours.get(k), theirs.get(k)) for k in set(ours) | set(theirs)
              if ours.get(k) != theirs.get(k)}
    assert not differ


RAISES = '''
import json, os

def check(i):
    if i % 3 == 0:
        raise ValueError(i)
    return i

@profile
def step(i):
    x = [0] * 10  # L:s1
    y = check(i)  # L:s2
    z = [0] * 20  # L:s3
    return x, y, z  # L:s4

@profile
def inner(n):
    c = 0
    for i in range(n):
        try:
            a = [i] * 3  # L:t1
            b = 10 // (i % 4)  # L:t2
            c += b + len(a)  # L:t3
        except ZeroDivisionError:
            c -= 1  # L:h
        c += 1  # L:after
    return c

@profile
def drive(n):
    caught = 0
    for i in range(n):
        try:
            step(i)  # L:call
        except ValueError:
            caught += 1  # L:caught
    return caught + inner(n)

print(drive(30))
''' + DUMP


def test_an_exception_that_leaves_straight_line_code_half_way(py, tmp_path):
    prog = tmp_path / "prog.py"
    prog.write_text(RAISES)
    ours = memory_hits(py, tmp_path, prog)
    m = marks(RAISES)
    got = {name: ours.get((str(prog), fn, m[name]), 0)
           for fn, names in (("step", "s1 s2 s3 s4"),
                             ("inner", "t1 t2 t3 h after"),
                             ("drive", "call caught"))
           for name in names.split()}
    # check raises for 10 of 30 calls, inside line s2; 10 // 0 raises for
    # 8 of 30 values of i inside line t2.
    assert got == {"s1": 30, "s2": 30, "s3": 20, "s4": 20,
                   "t1": 30, "t2": 30, "t3": 22, "h": 8, "after": 30,
                   "call": 30, "caught": 10}
    assert ours == lines_hits(py, tmp_path, prog)


RESTART = '''
import json, os, sys

restart = getattr(getattr(sys, "monitoring", None), "restart_events",
                  lambda: None)

@profile
def f(n):
    t = 0
    for i in range(n):
        t += 1  # L:a
        t += 2  # L:b
        t += 3  # L:c
        if i % 10 == 0:
            restart()  # L:restart
    return t

print(f(100))
''' + DUMP


def test_derived_lines_and_events_switched_on_again(py, tmp_path):
    """On 3.12 and 3.13, the lines after `t += 1` (straight-line code) are
    counted without their line events: the profile's metadata says how
    many hits were; before 3.12 every hit is an event. And
    sys.monitoring.restart_events() gives back every event a tool
    switched off: a derived line's event then comes again, and must not
    be counted twice."""
    prog = tmp_path / "prog.py"
    prog.write_text(RESTART)
    derived = []
    ours = memory_hits(py, tmp_path, prog, derived=derived)
    m = marks(RESTART)
    assert [ours[str(prog), "f", m[k]] for k in "abc"] == [100, 100, 100]
    assert ours[str(prog), "f", m["restart"]] == 10
    assert ours == lines_hits(py, tmp_path, prog)
    if tuple(map(int, py.version.split("."))) >= (3, 12):
        # b, c and the `if` of every iteration (a is the loop's jump
        # target), and the `for` line's start, which follows `t = 0`.
        assert 300 <= derived[0] <= 302
    else:
        assert derived == [0]


COLUMNS = '''
import json, os

def raises(n):
    raise KeyError(n)

@profile
def f():
    a = bytearray(3000000)  # L:a
    b = bytearray(1000000)  # L:b
    c = bytearray(500000)  # L:c
    del b  # L:del
    keep = [a, c]  # L:keep
    try:
        d = bytearray(2000000)  # L:d
        raises(len(d))  # L:raise
        e = bytearray(7000000)  # L:never
    except KeyError:
        del d  # L:handler
    return keep

for _ in range(3):  # after the first call, derived events are off
    keep = f()
from spyglass import _agent
st = _agent._memory_stats()
print(json.dumps([[k[2], v] for k, v in st["lines"].items()]))
'''


def test_line_columns_in_straight_line_code(py, tmp_path):
    """Increment, Mem usage and the peak inside the line of consecutive
    lines with no event between them (derived on 3.12+), one of them left
    by an exception raised in a callee."""
    rows, m = table(py, tmp_path, COLUMNS)
    # (hits, (peak, alloc, allocs, free, leak, inc, usage, line_peak, rss))
    col = {k: rows[m[k]][1] for k in m if m[k] in rows}
    hits = {k: rows[m[k]][0] for k in m if m[k] in rows}
    assert hits.get("never", 0) == 0
    assert all(hits[k] == 3 for k in ("a", "b", "c", "del", "keep", "d",
                                      "raise", "handler")), hits
    for k, size in (("a", 3000000), ("b", 1000000), ("c", 500000),
                    ("d", 2000000), ("del", -1000000),
                    ("handler", -2000000)):
        lo, hi = sorted((3 * size, 3 * size + 30000 * (1 if size > 0 else -1)))
        assert lo <= col[k][5] <= hi, (k, col[k][5])  # Increment, summed
    assert abs(col["keep"][5]) < 30000 and abs(col["raise"][5]) < 30000
    # Mem usage rises with each allocation, falls at each del; the peak
    # inside a line is at least its usage.
    assert col["b"][6] - col["a"][6] >= 1000000
    assert col["c"][6] - col["b"][6] >= 500000
    assert col["c"][6] - col["del"][6] >= 1000000
    assert col["d"][6] - col["keep"][6] >= 2000000
    assert all(col[k][7] >= col[k][6] for k in col)
    # d's 2 MB is still held while the line that raises runs.
    assert col["raise"][7] >= col["d"][6]


ABOVE_256 = "import json\n" + "#\n" * 300 + '''
@profile
def f(n):
    for i in range(n):
        x = 5  # L:a
        y = x  # L:b
        z = [y]  # L:list
    for j in range(300, 300 + n):  # L:ints
        pass
    return z

f(1000)
from spyglass import _agent
st = _agent._memory_stats()
print(json.dumps([[k[2], v] for k, v in st["lines"].items()]))
'''


def test_lines_above_256_allocate_nothing_they_do_not(py, tmp_path):
    """CPython passes a line event's line number as an int, which it
    allocates for each event when the line is above 256: the table must
    not charge that to the line (its Allocated was 28 bytes per run). The
    ints a line's first instruction makes still count: the loop's
    FOR_ITER, at a line event, makes 1000 of them."""
    rows, m = table(py, tmp_path, ABOVE_256)
    assert m["a"] > 256
    # (hits, (peak, alloc, allocs, free, leak, inc, usage, line_peak, rss))
    for k in ("a", "b"):
        hits, col = rows[m[k]]
        assert hits == 1000 and col[1] == 0 and col[2] == 0, (k, col)
    hits, col = rows[m["list"]]
    assert hits == 1000 and col[2] == 1000  # one list per run, nothing else
    hits, col = rows[m["ints"]]
    assert hits == 1001 and 1000 <= col[2] <= 1010  # 300..1299, the range


FLAT = '''import json

@profile
def g(n):
    keep = []
    for i in range(n):
        keep.append(bytearray(100000)) if i < n // 2 else keep.pop()  # L:change
        x = i  # L:flat1
        y = x  # L:flat2
    return keep

g(100)
from spyglass import _agent
st = _agent._memory_stats()
print(json.dumps([[k[2], v] for k, v in st["lines"].items()]))
'''


def test_lines_that_change_nothing_in_a_loop(py, tmp_path):
    """A loop whose first line allocates, then frees, and whose other
    lines change nothing: on 3.12+ those are derived and counted in bulk
    at the loop's next event, so their columns must still be those of
    each run. A line that changes nothing begins and ends at the total
    the line before it left, so its Mem usage is the highest of those
    (half-way through the loop, neither the first run's nor the last's):
    the first line's own Mem usage. Its Increment is 0, and the peak
    inside it is its Mem usage."""
    rows, m = table(py, tmp_path, FLAT)
    # (hits, (peak, alloc, allocs, free, leak, inc, usage, line_peak, rss))
    change = rows[m["change"]][1]
    assert change[2] >= 50  # 50 bytearrays, and the list's growth
    for k in ("flat1", "flat2"):
        hits, col = rows[m[k]]
        assert hits == 100 and col[1] == col[3] == col[5] == 0, (k, col)
        assert col[6] == col[7] == change[6], (k, col, change)
