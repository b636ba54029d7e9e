"""`spyglass lines` against independent oracles, on every CPython.

Oracles: line events counted with sys.settrace inside the test's own
harness, and line_profiler's kernprof when the venv has it (tests/venvs.py
installs it). Hits must be equal, line by line.
"""
import json
import pickle
import re
import shutil
import signal
import sys
import textwrap
from pathlib import Path

import pytest

import nomem

ROW = re.compile(r"^ *(\d+) +(\S+) +(\S+) +(\S+) +(\S+)  ", re.M)
FUNC = re.compile(r"^Function: (\S+) at line (\d+)$", re.M)

PROG = '''
import functools
import threading
import time

import helper


def deco(f):
    @functools.wraps(f)
    def wrapper(*a, **k):
        return f(*a, **k)
    return wrapper


@profile
def multi(n):
    x = (n +
         1)
    y = [i
         for i in range(n)]
    d = {
        'a': 1,
        'b': n,
    }
    return x, y, d


@profile
def loops(n):
    t = 0
    for i in range(n):
        if i % 3 == 0:
            continue
        t += i
    while n > 0:
        n -= 1
    return t


@profile
def comps(n):
    a = [i * 2 for i in range(n)]
    b = {i: i for i in range(n) if i % 2}
    c = sum(i for i in range(n))
    return a, b, c


@profile
def exc(n):
    caught = 0
    for i in range(n):
        try:
            if i % 2:
                raise ValueError(i)
            caught -= 1
        except ValueError:
            caught += 1
        finally:
            caught += 0
    return caught


@profile
def raiser(x):
    y = x + 1
    raise KeyError(y)


@profile
def gen(n):
    for i in range(n):
        yield i
    return


@profile
def recurse(n):
    if n <= 0:
        return 0
    return n + recurse(n - 1)


class K:
    @profile
    def method(self, n):
        out = []
        for _ in range(n):
            out.append(self)
        return out

    @staticmethod
    @profile
    def static(n):
        return n + 1


@deco
@profile
def decorated(n):
    return n * 2


def main():
    for _ in range(3):
        multi(5)
        loops(10)
        comps(6)
        exc(6)
        try:
            raiser(1)
        except KeyError:
            pass
        list(gen(4))
        g = gen(3)
        next(g)
        g.close()
        recurse(4)
        K().method(3)
        K.static(2)
        decorated(4)
        helper.helper_fn(5)
    t = threading.Thread(target=loops, args=(7,))
    t.start()
    t.join()


main()
'''

HELPER = '''
@profile
def helper_fn(n):
    total = 0
    for i in range(n):
        total += i
    return total


def other(n):
    return n
'''

# The oracle: count line events of code objects of the given files (all
# threads) while the program runs as __main__ with a no-op `profile`. Up to
# 3.11 with sys.settrace; from 3.12 with sys.monitoring LINE events, which is
# what line_profiler counts there (settrace also reports backward jumps
# within one line, e.g. each iteration of a one-line comprehension).
ORACLE = '''
import builtins, json, runpy, sys, threading
files = set(sys.argv[2].split(","))
counts = {}
def count(co, line):
    key = "%s:%d:%s" % (co.co_filename, co.co_firstlineno, co.co_name)
    d = counts.setdefault(key, {})
    d[line] = d.get(line, 0) + 1
def local(frame, event, arg):
    if event == "line":
        count(frame.f_code, frame.f_lineno)
    return local
def glob(frame, event, arg):
    if frame.f_code.co_filename in files:
        return local
    return None
def on_line(code, line):
    if code.co_filename in files:
        count(code, line)
    else:
        return sys.monitoring.DISABLE
builtins.profile = lambda f: f
sys.argv = sys.argv[1:2] + sys.argv[3:]
sys.path.insert(0, sys.argv[0].rsplit("/", 1)[0])
if sys.version_info >= (3, 12):
    mon = sys.monitoring
    mon.use_tool_id(3, "oracle")
    mon.register_callback(3, mon.events.LINE, on_line)
    mon.set_events(3, mon.events.LINE)
else:
    threading.settrace(glob)
    sys.settrace(glob)
try:
    runpy.run_path(sys.argv[0], run_name="__main__")
finally:
    sys.settrace(None)
    if sys.version_info >= (3, 12):
        mon.set_events(3, 0)
    print("ORACLE" + json.dumps(counts))
'''


def parse(text):
    """{(name, first_line): {line: (hits, time)}} and the totals."""
    out, totals = {}, {}
    blocks = re.split(r"^Total time: ", text, flags=re.M)[1:]
    for b in blocks:
        total = float(b.split(" s", 1)[0])
        m = FUNC.search(b)
        rows = {}
        for r in ROW.finditer(b):
            if r.group(2) == "Hits":
                continue
            rows[int(r.group(1))] = (int(float(r.group(2))),
                                     float(r.group(3)))
        # Without the source file there is no "Function:" line.
        key = (m.group(1), int(m.group(2))) if m else (
            "?", int(re.search(r"^=+\n *(\d+)", b, re.M).group(1)))
        out[key] = rows
        totals[key] = total
    return out, totals


def hits_only(parsed):
    return {k: {ln: h for ln, (h, _) in v.items()} for k, v in
            parsed.items()}


@pytest.fixture
def prog(tmp_path):
    (tmp_path / "prog.py").write_text(PROG)
    (tmp_path / "helper.py").write_text(HELPER)
    return tmp_path


def oracle(py, script, files, *args, cwd=None):
    harness = Path(cwd or script.parent) / "oracle_harness.py"
    harness.write_text(ORACLE)
    proc = py.py(str(harness), str(script), ",".join(map(str, files)),
                 *args, cwd=str(cwd or script.parent))
    assert proc.returncode == 0, proc.stderr
    raw = json.loads(proc.stdout.split("ORACLE", 1)[1])
    out = {}
    for key, lines in raw.items():
        fn, first, name = key.rsplit(":", 2)
        out[(fn, int(first), name)] = {int(k): v for k, v in lines.items()}
    return out


def spy_lines(py, *args, cwd):
    proc = py.spy("lines", *args, cwd=str(cwd))
    return proc, hits_only(parse(proc.stdout)[0])


def by_line(results, first):
    """The one function starting at `first` in parsed results."""
    found = [v for (name, f), v in results.items() if f == first]
    assert len(found) == 1, (first, results.keys())
    return found[0]


def need_line_profiler(py):
    """Skip, visibly, when the venv lacks the oracle (tests/venvs.py
    installs it; a venv made without it must not pass these tests)."""
    if py.py("-c", "import line_profiler").returncode != 0:
        pytest.skip("line_profiler is not installed in this venv")


def test_hits_equal_line_event_oracle(py, prog):
    script = prog / "prog.py"
    proc, ours = spy_lines(py, "prog.py", cwd=prog)
    assert proc.returncode == 0, proc.stderr
    want = oracle(py, script, [script, prog / "helper.py"])
    names = {name.split(".")[-1] for name, _ in ours}
    # Everything decorated, and the function under the stacked decorator.
    for n in ["multi", "loops", "comps", "exc", "raiser", "gen", "recurse",
              "method", "static", "decorated", "helper_fn"]:
        assert n in names, (n, names)
    checked = 0
    for (fn, first, name), lines in want.items():
        if name not in names or name == "wrapper":
            continue
        got = by_line(ours, first) if "helper" not in fn else by_line(
            {k: v for k, v in ours.items() if k[0] == "helper_fn"}, first)
        assert got == lines, (name, got, lines)
        checked += 1
    assert checked >= 11


def test_hits_equal_line_profiler(py, prog):
    # PROG has no function whose body is on its def line: there, on 3.13,
    # line_profiler shows no hits and spyglass counts them (the next test).
    need_line_profiler(py)
    kernprof = Path(py.venv) / "bin" / "kernprof"
    theirs = py.run([str(kernprof), "-l", "-v", "prog.py"], cwd=str(prog))
    assert theirs.returncode == 0, theirs.stderr
    proc, ours = spy_lines(py, "prog.py", cwd=prog)
    assert proc.returncode == 0, proc.stderr
    want = hits_only(parse(theirs.stdout)[0])
    assert want
    for key, lines in want.items():
        assert key in ours, (key, ours.keys())
        assert ours[key] == lines, (key, ours[key], lines)


ONE_LINE = """
def sq(x): return x * x
sq = profile(sq)

def two(x):
    return x + 1
two = profile(two)

for i in range(7):
    sq(i)
    two(i)
"""


def test_one_line_function_counted_unlike_line_profiler_on_3_13(py,
                                                                tmp_path):
    """A body on the def line (the code's first line) runs 7 times:
    spyglass counts 7 on every version. line_profiler agrees on 3.8-3.12;
    on 3.13 line_profiler 5.x shows no hits for that line (docs/lines.md),
    and spyglass keeps the true count."""
    need_line_profiler(py)
    (tmp_path / "one.py").write_text(ONE_LINE)
    kernprof = Path(py.venv) / "bin" / "kernprof"
    theirs = py.run([str(kernprof), "-l", "-v", "one.py"], cwd=str(tmp_path))
    assert theirs.returncode == 0, theirs.stderr
    want = hits_only(parse(theirs.stdout)[0])
    proc, ours = spy_lines(py, "one.py", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert by_line(ours, 2) == {2: 7}
    assert by_line(ours, 5) == want[("two", 5)] == {6: 7}
    version = py.py("-c", "import sys; print(sys.version_info[:2])").stdout
    if version.strip() == "(3, 13)":
        assert want.get(("sq", 2), {}) == {}
    else:
        assert want[("sq", 2)] == {2: 7}


def test_select_by_func_and_file(py, prog):
    plain = re.sub(r"^ *@profile\n", "", PROG, flags=re.M)
    (prog / "prog.py").write_text(plain)
    (prog / "helper.py").write_text(re.sub(r"^ *@profile\n", "", HELPER,
                                           flags=re.M))
    want = oracle(py, prog / "prog.py", [prog / "prog.py",
                                         prog / "helper.py"])
    proc, ours = spy_lines(py, "--func", "__main__:K.method", "--func",
                           "helper:helper_fn", "prog.py", cwd=prog)
    assert proc.returncode == 0, proc.stderr
    assert sorted(n.split(".")[-1] for n, _ in ours) == ["helper_fn",
                                                         "method"]
    for (fn, first, name), lines in want.items():
        if name in ("method", "helper_fn"):
            got = [v for (n, f), v in ours.items()
                   if f == first and n.endswith(name)]
            assert got == [lines]

    proc, ours = spy_lines(py, "--file", "helper.py", "prog.py", cwd=prog)
    assert proc.returncode == 0, proc.stderr
    # Only what ran of helper.py: helper_fn, not other().
    assert [n for n, _ in ours] == ["helper_fn"]

    # The default: every function of the script's own file that ran.
    proc, ours = spy_lines(py, "prog.py", cwd=prog)
    assert proc.returncode == 0, proc.stderr
    names = {n.split(".")[-1] for n, _ in ours}
    assert {"main", "deco", "wrapper", "multi", "loops", "gen",
            "method"} <= names
    assert "helper_fn" not in names
    for (fn, first, name), lines in want.items():
        if fn.endswith("prog.py") and name != "K" and name[0] != "<":
            assert by_line(ours, first) == lines, name


def test_threads_counted(py, tmp_path):
    (tmp_path / "t.py").write_text(textwrap.dedent('''
        import threading
        def work(n):
            t = 0
            for i in range(n):
                t += i
            return t
        ts = [threading.Thread(target=work, args=(100,)) for _ in range(4)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
    '''))
    proc, ours = spy_lines(py, "--func", "__main__:work", "t.py",
                           cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert by_line(ours, 3) == {4: 4, 5: 404, 6: 400, 7: 4}


def test_times_add_up_and_sleep(py, tmp_path):
    # Each perf_counter() pair brackets what spyglass measures: the sleep
    # line's time holds the program's own a..b and lies within w0..w1 (the
    # lines before and after it), the function's total within t0..t1. A
    # busy machine stretches all of them alike.
    (tmp_path / "s.py").write_text(textwrap.dedent('''
        import time
        @profile
        def f():
            x = 0
            for i in range(20000):
                x += i
            w0 = time.perf_counter()
            a = time.perf_counter(); time.sleep(0.05); b = time.perf_counter()
            w1 = time.perf_counter()
            return a, b, w0, w1
        t0 = time.perf_counter(); a, b, w0, w1 = f(); t1 = time.perf_counter()
        print("measured us", *(x * 1e6 for x in (b - a, w1 - w0, t1 - t0)))
    '''))
    proc = py.spy("lines", "s.py", cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    parsed, totals = parse(proc.stdout)
    (key, rows), = parsed.items()
    total_us = totals[key] * 1e6
    row_sum = sum(t for _, t in rows.values())
    # Each row is rounded to 0.1 us.
    assert abs(row_sum - total_us) <= 0.05 * len(rows) + 1e-6 * total_us
    sleep_us = rows[9][1]
    slept, between, whole = map(float, proc.stdout.split("measured us ")[1]
                                .splitlines()[0].split())
    # Two clocks (spyglass's, calibrated against CLOCK_MONOTONIC, and
    # perf_counter): a few parts in ten thousand, and the rounding.
    slack = 2e-3 * whole + 1
    assert 50000 <= slept and slept - slack <= sleep_us <= between + slack, (
        slept, sleep_us, between)
    assert sleep_us <= total_us <= whole + slack, (sleep_us, total_us, whole)
    assert re.search(r"^Line #      Hits         Time  Per Hit   % Time  "
                     r"Line Contents\n={62}\n", proc.stdout, re.M)
    assert "     3                                           @profile\n" \
        in proc.stdout


def test_exit_status_kept_and_results_printed(py, tmp_path):
    (tmp_path / "e.py").write_text(textwrap.dedent('''
        import sys
        @profile
        def f(n):
            if n:
                sys.exit(n)
            raise RuntimeError("boom")
        f(int(sys.argv[1]))
    '''))
    proc, ours = spy_lines(py, "e.py", "3", cwd=tmp_path)
    assert proc.returncode == 3
    assert by_line(ours, 3) == {5: 1, 6: 1}
    proc, ours = spy_lines(py, "e.py", "0", cwd=tmp_path)
    assert proc.returncode == 1
    assert "RuntimeError: boom" in proc.stderr
    assert by_line(ours, 3) == {5: 1, 7: 1}


@pytest.mark.parametrize("code,status", [
    ("raise KeyboardInterrupt", -signal.SIGINT),
    ("raise SystemExit(7)", 7),
    ("import os; os._exit(5)", 5),
], ids=["interrupt", "system-exit", "os-exit"])
def test_exit_status_as_python(py, tmp_path, code, status):
    """A KeyboardInterrupt kills python with SIGINT after its traceback
    (-2 seen from here): spyglass lines ends the same way, its results
    written first."""
    prog = "def g():\n    return 1\ng()\n" + code + "\n"
    plain = py.py("-c", prog)
    assert plain.returncode == status
    proc = py.spy("lines", "-o", tmp_path / "x.lprof", "-c", prog,
                  cwd=str(tmp_path))
    assert proc.returncode == status, proc.stderr
    assert (tmp_path / "x.lprof").exists() == (status != 5)
    if status < 0:
        assert "KeyboardInterrupt" in proc.stderr.splitlines()
    proc, ours = spy_lines(py, "-c", prog, cwd=tmp_path)
    assert proc.returncode == status
    if status != 5:
        assert by_line(ours, 1) == {2: 1}


def test_module_and_code_targets(py, tmp_path):
    (tmp_path / "modx.py").write_text("def f(n):\n    return n * 2\n"
                                      "print(f(21))\n")
    proc, ours = spy_lines(py, "-m", "modx", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("42\n")
    assert by_line(ours, 1) == {2: 1}
    proc, ours = spy_lines(py, "-c", "def g():\n    return 1\ng()\ng()\n",
                           cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert by_line(ours, 1) == {2: 2}
    assert "Could not find file <string>" in proc.stdout


def test_lprof_loads_in_line_profiler(py, prog):
    need_line_profiler(py)
    proc = py.spy("lines", "-o", "out.lprof", "prog.py", cwd=str(prog))
    assert proc.returncode == 0, proc.stderr
    assert "Wrote profile results to 'out.lprof'" in proc.stdout
    ours = hits_only(parse(proc.stdout)[0])
    data = (prog / "out.lprof").read_bytes()
    check = py.py("-c", textwrap.dedent('''
        import pickle, sys
        import line_profiler
        st = pickle.load(open(sys.argv[1], "rb"))
        # line_profiler's own class, as its show_text() reads it.
        assert type(st).__module__.startswith("line_profiler"), type(st)
        assert st.unit == 1e-9
        for (fn, first, name), rows in st.timings.items():
            print(first, name, sum(h for _, h, _ in rows), sum(
                t for _, _, t in rows))
    '''), str(prog / "out.lprof"), cwd=str(prog))
    assert check.returncode == 0, check.stderr
    for line in check.stdout.splitlines():
        first, name, hits, ns = line.split()
        # Named as the table names it: qualified on 3.11+, as
        # line_profiler's own label() does.
        row = [v for (n, f), v in ours.items()
               if f == int(first) and n == name]
        assert row and sum(row[0].values()) == int(hits)
    assert data[:2] == b"\x80\x04"
    shown = py.py("-m", "line_profiler", "out.lprof", cwd=str(prog))
    assert shown.returncode == 0, shown.stderr
    theirs = hits_only(parse(shown.stdout)[0])
    assert {k[1]: v for k, v in theirs.items()} == \
        {k[1]: v for k, v in ours.items()}


def test_python_api(py, tmp_path):
    (tmp_path / "api.py").write_text(textwrap.dedent('''
        import spyglass

        @spyglass.line_profile
        def f(n):
            t = 0
            for i in range(n):
                t += i
            return t

        def g(n):
            return [i for i in range(n)]

        with spyglass.lines(g):
            g(3)
        print("between")
        lp = spyglass.LineProfiler(g)
        with lp:
            g(2)
            g(2)
        st = lp.get_stats()
        (rows,) = st.timings.values()
        assert [(ln, h) for ln, h, _ in rows] == [(12, 2)], rows
        f(5)
    '''))
    proc = py.py("api.py", cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    first, rest = proc.stdout.split("between\n")
    assert by_line(hits_only(parse(first)[0]), 11) == {12: 1}
    assert by_line(hits_only(parse(rest)[0]), 4) == {6: 1, 7: 6, 8: 5,
                                                      9: 1}


def test_julia_small_grid(py, root, tmp_path):
    julia = root / "examples" / "julia.py"
    proc, ours = spy_lines(py, "--func",
                           "__main__:calculate_z_serial_purepython",
                           str(julia), "60", "40", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    want = oracle(py, julia, [julia], "60", "40", cwd=tmp_path)
    (lines,) = [v for k, v in want.items()
                if k[2] == "calculate_z_serial_purepython"]
    (got,) = ours.values()
    assert got == lines
    src = julia.read_text().splitlines()
    loop = src.index("        while abs(z) < 2 and n < maxiter:") + 1
    assert got[loop] - got[loop + 1] == 60 * 60


def test_bad_input(py, tmp_path):
    (tmp_path / "ok.py").write_text("def work():\n    pass\n"
                                    "def worker():\n    pass\nwork()\n")
    proc = py.spy("lines", "--func", "__main__:wrok", "ok.py",
                  cwd=str(tmp_path))
    assert proc.returncode == 2
    assert "no function 'wrok'" in proc.stderr
    assert "close matches: work, worker" in proc.stderr
    proc = py.spy("lines", "--func", "nosuchmod:f", "ok.py",
                  cwd=str(tmp_path))
    assert proc.returncode == 2
    assert "no module named 'nosuchmod'" in proc.stderr
    (tmp_path / "bad.py").write_text("def f(:\n    pass\n")
    proc = py.spy("lines", "bad.py", cwd=str(tmp_path))
    assert proc.returncode == 1
    assert "SyntaxError" in proc.stderr
    proc = py.spy("lines", "missing.py", cwd=str(tmp_path))
    assert proc.returncode == 2
    assert "can't open file 'missing.py'" in proc.stderr
    proc = py.spy("lines", "--file", "nope.py", "ok.py", cwd=str(tmp_path))
    assert proc.returncode == 2
    assert "nope.py" in proc.stderr


def test_cli_usage(any_py):
    proc = any_py.spy("lines", "--help")
    assert proc.returncode == 0
    assert "kernprof" in proc.stdout and "--func" in proc.stdout
    proc = any_py.spy("lines")
    assert proc.returncode == 2
    proc = any_py.spy("lines", "--func", "nocolon", "x.py")
    assert proc.returncode == 2 and "MODULE:QUALNAME" in proc.stderr


def test_profile_looks_through_decorators(py, tmp_path):
    (tmp_path / "d.py").write_text(textwrap.dedent('''
        import functools

        class C:
            @profile
            @staticmethod
            def s(n):
                return n

            @profile
            @classmethod
            def c(cls, n):
                return n

            @profile
            @property
            def p(self):
                return 1

        @profile
        @functools.lru_cache(maxsize=None)
        def cached(n):
            return n

        C.s(1); C.c(2); C().p; C().p; cached(1); cached(1); cached(2)
    '''))
    proc, ours = spy_lines(py, "-u", "1e-3", "d.py", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("Timer unit: 0.001 s\n\n")
    # Each function starts at its first decorator's line.
    assert by_line(ours, 5) == {8: 1}
    assert by_line(ours, 10) == {13: 1}
    assert by_line(ours, 15) == {18: 2}
    # lru_cache: only the calls that missed the cache run the function.
    assert by_line(ours, 20) == {23: 2}


def test_text_output_file(py, tmp_path):
    (tmp_path / "o.py").write_text("@profile\ndef f():\n    return 1\nf()\n")
    proc = py.spy("lines", "-o", "out.txt", "o.py", cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    text = (tmp_path / "out.txt").read_text()
    assert proc.stdout == "Wrote profile results to 'out.txt'\n" + text
    assert "Function: f at line 1" in text


DEEP = '''
import sys
sys.setrecursionlimit(250000)

def leaf(n):
    return n + 1

def down(n):
    if n == 0:
        return leaf(0)
    return down(n - 1)

print(down(200000))
print(sum(leaf(i) for i in range(5)))
'''


@pytest.mark.parametrize("select", [[], ["--func", "__main__:leaf"]],
                         ids=["recursion-profiled", "leaf-profiled"])
def test_deep_recursion_like_plain_python(py, tmp_path, select):
    """A recursion 200,000 deep, which plain python runs from 3.11 on (it
    no longer spends C stack on Python calls): under `spyglass lines` it
    must run too, with exact counts, whether the recursive function is
    profiled or only a function called at the bottom."""
    if tuple(map(int, py.version.split("."))) < (3, 11):
        pytest.skip("before 3.11 plain python needs C stack for each call")
    (tmp_path / "deep.py").write_text(DEEP)
    plain = py.py("deep.py", cwd=str(tmp_path))
    assert plain.returncode == 0 and plain.stdout == "1\n15\n", plain.stderr
    proc, ours = spy_lines(py, *select, "deep.py", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.startswith("1\n15\n")
    assert by_line(ours, 5) == {6: 6}
    if not select:
        assert by_line(ours, 8) == {9: 200001, 10: 1, 11: 200000}


def test_out_of_memory_stops_the_profile_and_keeps_it(py, tmp_path):
    """When a thread's frame stack cannot grow inside an event callback
    (tests/nomem.py makes the allocation fail), the line profiler stops
    recording, says so in one line, and prints what it had; the program
    runs on."""
    nomem.build(py, tmp_path)
    (tmp_path / "oom.py").write_text(textwrap.dedent('''
        import sys
        import nomem
        sys.setrecursionlimit(20000)
        def down(n):
            if n == 0:
                return 0
            return down(n - 1)
        down(100)
        nomem.arm(128 * 1024)  # the frame stack's step past 2048 frames
        down(5000)
        nomem.disarm()
        down(100)
        print("done")
    '''))
    proc, ours = spy_lines(py, "oom.py", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.startswith("done\n")
    errors = [ln for ln in proc.stderr.splitlines()
              if ln.startswith("spyglass: error:")]
    assert errors == ["spyglass: error: lines: out of memory; the profile "
                      "stops here (what was recorded until now is kept)"]
    hits = by_line(ours, 5)
    # All of down(100), part of down(5000), none of the last down(100).
    assert 101 + 1000 < hits[6] < 101 + 5001, hits


def test_threads_counted_after_leaving_the_hook(py, tmp_path):
    """3.8-3.11: after a recursion deeper than the backend's hook allows
    (2000 frames), every thread is traced instead, those started later
    too (through threading.settrace); counts stay exact. On 3.12+ the
    same program checks nothing more than the usual."""
    # DEEP's functions (leaf at line 5), another depth and threads.
    src = DEEP.split("print(down")[0].replace("250000", "10000")
    (tmp_path / "t.py").write_text(src + textwrap.dedent('''
        import threading
        down(3000)
        def work():
            for i in range(10):
                leaf(i)
        ts = [threading.Thread(target=work) for _ in range(3)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        print("done")
    '''))
    proc, ours = spy_lines(py, "--func", "__main__:leaf", "t.py",
                           cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.startswith("done\n")
    assert by_line(ours, 5) == {6: 31}
