"""`spyglass memory` from the command line: what the executable checks
before any program runs (bad values, unknown options, a missing script,
formats that cannot hold a memory profile), its help, the request it hands
to the agent, and end to end runs of memory_profiler's own example.

The truth of the numbers (per line against tracemalloc, the peak, threads,
Python API) is tests/test_memory.py's; the formats' layouts are
tests/test_memory_formats.py's. The end to end tests here (test_run_*)
check what the command line promises: the program unchanged, its output
and status kept, the table where asked, the sizes of two lists on their
lines.
"""
import json
import re
import xml.etree.ElementTree as ET

import pytest

from conftest import MARK, ROOT, one_error
from test_cli import captured_launch
from venvs import find_interpreter

MIB = 1024 * 1024

# memory_profiler's README example, as it is: `profile` is a builtin under
# `python -m memory_profiler`, and under spyglass memory.
EXAMPLE = '''\
@profile
def my_func():
    a = [1] * (10 ** 6)
    b = [2] * (2 * 10 ** 7)
    del b
    return a

if __name__ == '__main__':
    my_func()
'''
LINE_A, LINE_B, LINE_DEL = 3, 4, 5

# memory_profiler's row: line number, Mem usage, Increment, Occurrences
# (its own columns, first; spyglass's follow them).
ROW = re.compile(r"^ *(\d+) +(-?[\d.]+) MiB +(-?[\d.]+) MiB +(\d+) ", re.M)


def run_marked(py, tmp_path, *options):
    """`spyglass memory OPTIONS -c MARK marker`: whether the program ran."""
    marker = tmp_path / "ran"
    proc = py.spy("memory", *options, "-c", MARK, marker, cwd=tmp_path)
    return proc, marker.exists()


# ---- before anything runs (the executable alone) ---------------------------

def test_help_needs_no_python(any_py, tmp_path):
    for flag in ("--help", "-h"):
        proc = any_py.spy("memory", "--python", tmp_path / "no-python",
                          flag, "x.py")
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.startswith("usage: spyglass memory [-o FILE] "
                                      "[-f FORMAT] [--func MODULE:QUALNAME]")
        for option in ("--file PATH", "--native", "--rss", "--sample BYTES",
                       "--allocated", "--flame", "--python PYTHON",
                       "memory_profiler", "1-exp(-s/BYTES)"):
            assert option in proc.stdout, option
        assert proc.stderr == ""
    assert any_py.spy("help", "memory").stdout == proc.stdout
    listing = any_py.spy("--help").stdout
    assert "\n  memory     " in listing


@pytest.mark.parametrize("args,needles", [
    ([], ["memory: nothing to run: give SCRIPT, -m MODULE or -c CODE"]),
    (["--func", "nocolon", "-c", "pass"], ["--func takes MODULE:QUALNAME",
                                            "not 'nocolon'"]),
    (["--func", ":f", "-c", "pass"], ["not ':f'"]),
    (["--func", "mod:", "-c", "pass"], ["not 'mod:'"]),
    (["--frob", "-c", "pass"], ["memory: unknown option '--frob'"]),
    (["-z", "-c", "pass"], ["memory: unknown option '-z'"]),
    (["--sample"], ["option '--sample' needs a value"]),
    (["-o"], ["option '-o' needs a value"]),
    (["-p", "1", "-c", "pass"], ["-p is not an option here; the "
                                 "interpreter is --python PYTHON"]),
    (["missing.py"], ["memory: can't open file 'missing.py': [Errno 2] "
                      "No such file or directory"]),
    (["-f", "nosuch", "-c", "pass"], ["unknown format 'nosuch'"]),
    (["-o", "no/such/dir/x.txt", "-c", "pass"], ["no/such/dir"]),
])
def test_bad_input_is_refused_before_the_run(any_py, tmp_path, args,
                                             needles):
    proc = any_py.spy("memory", *args, cwd=tmp_path)
    one_error(proc, 2, "spyglass: error: memory: ", *needles)
    assert proc.stdout == ""


@pytest.mark.parametrize("value", [
    "0", "-1", "+5", " 5", "5 ", "abc", "", "1.5M", "4X", "4MiBs", "4Mi",
    "KiB", "0KiB", "2TiB", "1099511627777", "99999999999999999999",
    "0x100",
])
def test_bad_sample_is_refused(any_py, tmp_path, value):
    proc, ran = run_marked(any_py, tmp_path, "--sample", value)
    one_error(proc, 2, "memory: --sample takes a positive number of bytes",
              f"not '{value}'")
    assert not ran


@pytest.mark.parametrize("how", ["-f", "-o"])
@pytest.mark.parametrize("fmt,path", [
    ("pstats", "x.pstats"), ("lprof", "x.lprof"),
    ("kernprof", "x.lprof.txt"), ("chrometrace", "x.trace.json"),
    ("csv", "x.csv"), ("markdown", "x.md"),
])
def test_formats_that_cannot_hold_memory_are_refused(any_py, tmp_path, how,
                                                      fmt, path):
    args = ["-f", fmt] if how == "-f" else ["-o", path]
    proc, ran = run_marked(any_py, tmp_path, *args)
    one_error(proc, 2, f"memory: the {fmt} format",
              "cannot hold a memory profile")
    assert not ran
    assert not (tmp_path / path).exists()


@pytest.mark.parametrize("python,status,says", [
    ("/bin/true", 2, "'/bin/true' is not a Python interpreter"),
    ("{tmp}/no-such-python", 127, "Python interpreter '{tmp}/no-such-python'"
     " not found"),
])
def test_python_that_is_not_a_python(any_py, tmp_path, python, status, says):
    proc, ran = run_marked(any_py, tmp_path, "--python",
                           python.format(tmp=tmp_path))
    one_error(proc, status, "spyglass: error: memory: ",
              says.format(tmp=tmp_path))
    assert not ran


def test_python_without_spyglass_says_how_to_install(any_py, tmp_path):
    bare = find_interpreter(any_py.version)  # pyenv's, no spyglass in it
    proc, ran = run_marked(any_py, tmp_path, "--python", bare)
    one_error(proc, 2, f"{bare} (Python {any_py.version}) cannot import "
              "spyglass._agent", f"-m pip install {ROOT}")
    assert not ran


# ---- the request handed to the agent ----------------------------------------

def request_of(py, tmp_path, *args):
    _, request = captured_launch(py, tmp_path, "memory", *args)
    return request


def fields(request, key):
    return [a.split(b"=", 1)[1].decode() for a in request
            if a.startswith(key.encode() + b"=")]


@pytest.mark.parametrize("value,bytes_", [
    ("1", 1), ("100B", 100), ("1k", 1024), ("512KiB", 512 * 1024),
    ("4KB", 4000), ("1MiB", MIB), ("4M", 4 * MIB), ("4mb", 4000000),
    ("2G", 2 << 30), ("1TiB", 1 << 40), ("1T", 1 << 40),
])
def test_sample_units(any_py, tmp_path, value, bytes_):
    request = request_of(any_py, tmp_path, "--sample", value, "-c", "pass")
    assert fields(request, "sample") == [str(bytes_)]


def test_request_carries_every_option(any_py, tmp_path):
    (tmp_path / "app.py").write_text("pass\n")
    request = request_of(any_py, tmp_path, "--func", "__main__:main",
                         "--file", "lib.py", "--func", "pkg.mod:C.m",
                         "--native", "--rss", "--allocated", "--flame",
                         str(tmp_path / "app.py"), "--native", "-x")
    assert request[3] == b"command=memory"
    assert fields(request, "func") == ["__main__:main", "pkg.mod:C.m"]
    assert fields(request, "file") == ["lib.py"]
    for flag in ("native", "rss", "allocated", "flame"):
        assert fields(request, flag) == ["1"], flag
    assert fields(request, "sample") == ["0"]  # exact
    # No -o: the table on stdout, no format chosen.
    assert fields(request, "output") == [] and fields(request, "format") == []
    assert fields(request, "run") == ["script"]
    assert fields(request, "target") == [str(tmp_path / "app.py")]
    # What follows SCRIPT is the program's, options or not.
    assert fields(request, "arg") == ["--native", "-x"]
    # Validated values, not the user's flags: the agent parses no options.
    assert not any(a.startswith(b"-") for a in request)


def test_request_defaults_and_last_flame_flag_wins(any_py, tmp_path):
    request = request_of(any_py, tmp_path, "--flame", "--inverted", "-m",
                         "pkg.mod", "--flame")
    for flag in ("native", "rss", "allocated", "flame"):
        assert fields(request, flag) == ["0"], flag
    assert fields(request, "run") == ["module"]
    assert fields(request, "arg") == ["--flame"]


@pytest.mark.parametrize("args,fmt", [
    (["-o", "x.SVG"], "flamegraph"),
    (["-o", "x.speedscope.json"], "speedscope"),
    (["-o", "x.json"], "json"),
    (["-o", "x.collapsed"], "collapsed"),
    (["-o", "x.txt"], "text"),
    (["-o", "x.out"], "text"),
    (["-f", "collapsed", "-o", "x"], "collapsed"),
    (["-f", "text"], "text"),
])
def test_request_carries_the_chosen_format(any_py, tmp_path, args, fmt):
    # Needs the registry's memory formats (src/writers).
    request = request_of(any_py, tmp_path, *args, "-c", "pass")
    assert fields(request, "format") == [fmt]


# ---- end to end (the agent's memory command) --------------------------------

def example(py, tmp_path):
    (tmp_path / "mp.py").write_text(EXAMPLE)
    sizes = py.py("-c", "import sys; print(sys.getsizeof([1] * 10 ** 6), "
                  "sys.getsizeof([2] * (2 * 10 ** 7)))")
    assert sizes.returncode == 0, sizes.stderr
    return [int(s) for s in sizes.stdout.split()]


def rows(text):
    """{line: (mem usage MiB, increment MiB, occurrences)}."""
    return {int(m[1]): (float(m[2]), float(m[3]), int(m[4]))
            for m in ROW.finditer(text)}


UNITS = {"B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}
SIZE = re.compile(r"(-?[\d.]+) (B|KiB|MiB|GiB)\b")


def nbytes(text):
    """Bytes of a size as the report prints it ("160.2 MiB")."""
    number, unit = SIZE.fullmatch(text).groups()
    return float(number) * UNITS[unit]


def sizes(text, line):
    """The sizes on the table's row of `line`, left to right, in bytes."""
    row = re.search(r"^ *%d +(.*)$" % line, text, re.M)[1]
    return [nbytes(m[0]) for m in SIZE.finditer(row)]


def close_mib(shown, nbytes):
    """A MiB figure printed with memory_profiler's one decimal."""
    return abs(shown - nbytes / MIB) <= 0.05 + 0.01 * abs(nbytes) / MIB


def test_run_memory_profiler_example_unchanged(py, tmp_path):
    size_a, size_b = example(py, tmp_path)
    proc = py.spy("memory", "mp.py", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert re.search(r"^Filename: .*mp\.py$", out, re.M), out
    header = next(line for line in out.splitlines()
                  if line.lstrip().startswith("Line #"))
    for column in ("Mem usage", "Increment", "Occurrences",
                   "Line Contents"):
        assert column in header, header
    got = rows(out)
    assert close_mib(got[LINE_A][1], size_a), got
    assert close_mib(got[LINE_B][1], size_b), got
    assert close_mib(got[LINE_DEL][1], -size_b), got
    assert all(got[n][2] == 1 for n in (LINE_A, LINE_B, LINE_DEL)), got
    # Mem usage is the traced total after the line: b's line adds b.
    assert close_mib(got[LINE_B][0] - got[LINE_A][0], size_b), got
    # The peak: a and b live, reached by b's allocation; exact tracing.
    peak = re.search(r"^Peak of the traced heap: ([\d.]+ \w+), .* reached "
                     r"at .*mp\.py:%d \(my_func\)$" % LINE_B, out, re.M)
    assert peak, out
    # Printed with one decimal: 0.05 of its unit either way.
    assert size_a + size_b - 0.05 * MIB <= nbytes(peak[1]) <= \
        1.02 * (size_a + size_b)
    assert "Sampled" not in out


def test_run_keeps_output_and_exit_status(py, tmp_path):
    (tmp_path / "st.py").write_text(
        "import sys\n"
        "@profile\n"
        "def grow(n):\n"
        "    out = []\n"
        "    for i in range(n):\n"
        "        out.append(' ' * 1000)\n"
        "    return out\n"
        "print('program says', grow(7)[0].count(' '), sys.argv[1:])\n"
        "sys.exit(3)\n")
    proc = py.spy("memory", "st.py", "a", "-b", cwd=tmp_path)
    assert proc.returncode == 3, proc.stderr
    assert proc.stdout.startswith("program says 1000 ['a', '-b']\n")
    # The loop's body ran 7 times: its Occurrences.
    assert rows(proc.stdout)[6][2] == 7, proc.stdout


def test_run_module_and_code(py, tmp_path):
    (tmp_path / "mod.py").write_text(
        "@profile\ndef f():\n    return [0] * 10 ** 5\nf()\n")
    proc = py.spy("memory", "-m", "mod", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert 3 in rows(proc.stdout), proc.stdout
    proc = py.spy("memory", "-c", "@profile\ndef f():\n    return [0] * 10\n"
                  "f()\n", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert 3 in rows(proc.stdout), proc.stdout


def test_run_bad_selection_refused_before_the_program(py, tmp_path):
    # What only the agent can tell (the modules and files named), as
    # `lines` tells it, before the program runs.
    (tmp_path / "ok.py").write_text("def work():\n    pass\n"
                                    "def worker():\n    pass\n"
                                    "print('ran')\n")
    for args, needles in [
        (["--func", "__main__:wrok"], ["memory: --func __main__:wrok: no "
                                       "function 'wrok'",
                                       "close matches: work, worker"]),
        (["--func", "nosuchmod:f"], ["memory: --func nosuchmod:f: no module "
                                     "named 'nosuchmod'"]),
        (["--file", "nope.py"], ["memory: --file 'nope.py'"]),
    ]:
        proc = py.spy("memory", *args, "ok.py", cwd=tmp_path)
        one_error(proc, 2, *needles)
        assert proc.stdout == ""


def collapsed(path):
    """{stack: weight} of a collapsed file."""
    out = {}
    for line in path.read_text().splitlines():
        stack, weight = line.rsplit(" ", 1)
        out[stack] = out.get(stack, 0) + int(weight)
    return out


def leaf_weight(stacks, line):
    """The weight of the stacks whose leaf is my_func at line."""
    leaf = re.compile(r"my_func \(.*mp\.py:%d\)$" % line)
    return sum(w for s, w in stacks.items() if leaf.search(s.split(";")[-1]))


def test_run_collapsed_weighs_bytes_at_the_peak(py, tmp_path):
    size_a, size_b = example(py, tmp_path)
    proc = py.spy("memory", "-o", "peak.collapsed", "mp.py", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "peak.collapsed" in proc.stderr
    stacks = collapsed(tmp_path / "peak.collapsed")
    # At the peak both lists are live: b's line holds b, a's line a.
    assert abs(leaf_weight(stacks, LINE_B) - size_b) <= 0.01 * size_b
    assert abs(leaf_weight(stacks, LINE_A) - size_a) <= 0.01 * size_a


CHURN = """\
import sys
def churn():
    for _ in range(100):
        x = bytearray(100000)
    return sys.getsizeof(x)
print(churn())
"""


def test_run_allocated_weighs_all_bytes_allocated(py, tmp_path):
    # One buffer live at a time (two while x is rebound), 100 allocated.
    (tmp_path / "churn.py").write_text(CHURN)
    leaf = re.compile(r"churn \(.*churn\.py:4\)$")
    weight = {}
    for how in ("peak", "allocated"):
        opts = ["--allocated"] * (how == "allocated")
        proc = py.spy("memory", *opts, "-f", "collapsed", "-o", how + ".txt",
                      "churn.py", cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        size = int(proc.stdout.split()[0])
        stacks = collapsed(tmp_path / (how + ".txt"))
        weight[how] = sum(w for s, w in stacks.items()
                          if leaf.search(s.split(";")[-1]))
    assert abs(weight["allocated"] - 100 * size) <= 0.01 * 100 * size
    assert size <= weight["peak"] <= 2 * size + 1000


def test_run_text_svg_and_speedscope_files(py, tmp_path):
    example(py, tmp_path)
    proc = py.spy("memory", "-o", "out.txt", "mp.py", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "out.txt" in proc.stderr
    assert LINE_B in rows((tmp_path / "out.txt").read_text())
    proc = py.spy("memory", "-o", "peak.svg", "mp.py", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    svg = (tmp_path / "peak.svg").read_text()
    ET.fromstring(svg)
    assert "my_func" in svg
    proc = py.spy("memory", "-o", "p.speedscope.json", "mp.py", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads((tmp_path / "p.speedscope.json").read_text())
    assert doc["profiles"] and all(p["unit"] == "bytes"
                                   for p in doc["profiles"])


def test_run_sampled_and_rss(py, tmp_path):
    size_a, size_b = example(py, tmp_path)
    # A block far larger than the mean interval is always sampled, at its
    # own size: b's line is exact even when sampling.
    proc = py.spy("memory", "--sample", "64KiB", "mp.py", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert close_mib(rows(proc.stdout)[LINE_B][1], size_b), proc.stdout
    assert "Sampled (one block per 64.0 KiB allocated on average)" in \
        proc.stdout
    proc = py.spy("memory", "--rss", "mp.py", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    header = next(line for line in proc.stdout.splitlines()
                  if line.lstrip().startswith("Line #"))
    assert header.split()[-3:] == ["RSS", "Line", "Contents"], header
    # Resident after b's line: at least b, whose every page was written.
    assert sizes(proc.stdout, LINE_B)[-1] >= size_b, proc.stdout


def test_run_memory_profiler_keywords(py, tmp_path):
    """memory_profiler's `@profile(precision=4)` and `profile(func=f,
    stream=...)` run unchanged (the keywords are accepted; the table is
    spyglass's); a second positional argument is still refused."""
    (tmp_path / "kw.py").write_text(
        "import sys\n"
        "@profile(precision=4)\n"
        "def grow(n):\n"
        "    return [' ' * 1000 for _ in range(n)]\n"
        "def shrink(n):\n"
        "    return bytes(n)\n"
        "shrink = profile(func=shrink, stream=sys.stdout)\n"
        "grow(100), shrink(10)\n"
        "try:\n"
        "    profile(grow, sys.stdout)\n"
        "except TypeError as e:\n"
        "    print('refused:', e)\n")
    proc = py.spy("memory", "kw.py", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "refused:" in proc.stdout
    got = rows(proc.stdout)
    # grow's comprehension line ran once; shrink's body once.
    assert got[4][2] == 1 and got[6][2] == 1, got
