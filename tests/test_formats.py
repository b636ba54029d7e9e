"""Output formats: every command picks its format through the one writer
registry, before any program runs. A format that cannot hold what the
command produces is refused with exit status 2 and one line listing the
formats that can; an extension means the same format in every command.
"""
import json
import os

import pytest

from conftest import MARK, one_error


def refused(proc, *needles):
    return one_error(proc, 2, *needles)


@pytest.mark.parametrize("args,holds,kind,formats", [
    (["record", "-o", "{out}/x.lprof", "--", "{python}"],
     "lprof format of", "a sampled profile", "flamegraph, speedscope"),
    (["record", "-f", "kernprof", "--", "{python}"],
     "kernprof format", "a sampled profile", "flamegraph, speedscope"),
    (["profile", "-o", "{out}/x.lprof"],
     "lprof format of", "a function profile", "pstats, text, json"),
    (["profile", "-f", "csv"],
     "csv format", "a function profile", "pstats, text, json"),
    (["lines", "-o", "{out}/x.svg"],
     "flamegraph format of", "a line profile", "text, lprof, kernprof"),
    (["lines", "-o", "{out}/x.pstats"],
     "pstats format of", "a line profile", "text, lprof, kernprof"),
    (["lines", "-f", "flamegraph"],
     "flamegraph format", "a line profile", "text, lprof, kernprof"),
    (["lines", "-f", "pstats", "-o", "{out}/x.lprof"],
     "pstats format", "a line profile", "text, lprof, kernprof"),
    (["time", "-o", "{out}/x.svg", "--", "{python}"],
     "flamegraph format of", "timing results", "text, json, csv, markdown"),
    (["time", "-f", "lprof", "--", "{python}"],
     "lprof format", "timing results", "text, json, csv, markdown"),
])
def test_refused_before_the_program_starts(any_py, tmp_path, args, holds,
                                           kind, formats):
    """The program would create a marker file: it never runs, and no
    output file is left behind."""
    marker = tmp_path / "ran"
    argv = [a.format(out=tmp_path, python=any_py.python) for a in args]
    argv += ["-c", MARK, str(marker)]  # python's -c, or profile's
    proc = any_py.spy(*argv, cwd=tmp_path)
    line = refused(proc, f"spyglass: error: {argv[0]}: the {holds}",
                   f"cannot hold {kind}", f"formats for {kind}: ", formats)
    assert "(it holds " in line
    assert not marker.exists()
    assert list(tmp_path.iterdir()) == []


def test_dump_refuses_before_attaching(any_py, tmp_path):
    # No process is read: pid 1 is never attached to.
    proc = any_py.spy("dump", "--pid", "1", "-o", tmp_path / "x.svg")
    refused(proc, "dump: the flamegraph format of", "a stack dump",
            "formats for a stack dump: text, json")
    assert list(tmp_path.iterdir()) == []


def test_unknown_format_lists_the_command_formats(any_py, tmp_path):
    line = refused(any_py.spy("lines", "-o", tmp_path / "x.csv", "-c",
                              "pass"))
    assert "lines: the csv format" in line
    line = refused(any_py.spy("time", "-f", "svgz", "true"))
    assert line == ("spyglass: error: time: unknown format 'svgz' (formats "
                    "for timing results: text, json, csv, markdown)")
    # An alias is refused under the name of the format it stands for.
    line = refused(any_py.spy("time", "-f", "svg", "true"))
    assert line.startswith("spyglass: error: time: the flamegraph format "
                           "cannot hold timing results"), line


def test_format_aliases_of_other_tools(any_py, tmp_path):
    # py-spy's -f raw is collapsed stacks; -f svg is a flame graph.
    for alias, start in (("raw", "<module> ("), ("svg", "<?xml")):
        out = tmp_path / f"out.{alias}"
        proc = any_py.spy("profile", "-f", alias, "-o", out, "-c",
                          "sum(range(10))")
        assert proc.returncode == 0, proc.stderr
        name = {"raw": "collapsed", "svg": "flamegraph"}[alias]
        assert f"({name})" in proc.stderr, proc.stderr
        assert out.read_text().startswith(start), out.read_text()[:200]


def test_uppercase_extension(py, tmp_path):
    out = tmp_path / "X.SVG"
    proc = py.spy("profile", "-o", out, "-c", "sum(range(10))")
    assert proc.returncode == 0, proc.stderr
    assert "(flamegraph)" in proc.stderr
    assert out.read_text().startswith("<?xml")
    out = tmp_path / "R.JSON"
    proc = py.spy("time", "-n", "2", "-o", out, "true")
    assert proc.returncode == 0, proc.stderr
    assert len(json.loads(out.read_text())["results"]) == 1


def test_json_of_each_kind(py, tmp_path):
    """.json is JSON in every command, each kind in its own JSON: a
    profile's is speedscope's (as .speedscope.json), time's hyperfine's."""
    prof = tmp_path / "p.json"
    proc = py.spy("profile", "-o", prof, "-c", "sum(range(10))")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(prof.read_text())["$schema"].startswith(
        "https://www.speedscope.app/")
    timing = tmp_path / "t.json"
    assert py.spy("time", "-n", "2", "-o", timing, "true").returncode == 0
    assert "results" in json.loads(timing.read_text())


def test_lines_text_and_unknown_extension(py, tmp_path):
    """lines writes its table for .txt and for a name that says nothing,
    as before; `-o -` is stdout."""
    for name in ("out.txt", "out"):
        proc = py.spy("lines", "-o", name, "-c", "pass", cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        assert (tmp_path / name).read_text().startswith("Timer unit:")
    assert sorted(os.listdir(tmp_path)) == ["out", "out.txt"]


LOAD_LPROF = ("import sys, line_profiler\n"
              "s = line_profiler.load_stats(sys.argv[1])\n"
              "print(sorted((k[2], t) for k, v in s.timings.items() "
              "for t in v if t[1]))\n")


def test_lines_format(py, tmp_path):
    """lines takes -f as every command that writes a profile does: the
    format of -o whatever its name, or without -o what goes to stdout in
    place of the table."""
    script = tmp_path / "s.py"
    script.write_text("def f():\n    return 1\nf()\nf()\n")
    out = tmp_path / "x.out"  # by its name, a text table
    proc = py.spy("lines", "-f", "lprof", "-o", out, script)
    assert proc.returncode == 0, proc.stderr
    assert "Timer unit:" in proc.stdout  # the table as well, as before
    loaded = py.py("-c", LOAD_LPROF, out)
    if "No module named" in loaded.stderr:
        pytest.fail("line_profiler is missing from the test venv")
    assert loaded.returncode == 0, loaded.stderr
    assert [(f, line, hits) for f, (line, hits, _) in
            eval(loaded.stdout)] == [("f", 2, 2)]
    for fmt, head in (("text", "Timer unit:"), ("kernprof", "Timer unit:"),
                      ("lprof", "\x80")):
        proc = py.spy("lines", "-f", fmt, script, text=False)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.startswith(head.encode("latin-1")), fmt
        assert proc.stdout.count(b"Timer unit:") <= 1  # no second table
        assert b"Wrote" not in proc.stdout


def test_python_api_refuses_a_format_it_cannot_hold(py, tmp_path):
    code = ("import spyglass, sys\n"
            "p = spyglass.profile()\n"
            "with p: sum(range(10))\n"
            "for name in ('x.lprof', 'x.csv'):\n"
            "    try:\n"
            "        p.dump(name)\n"
            "    except ValueError as e:\n"
            "        print(e)\n"
            "p.dump('x.SVG')\n")
    proc = py.py("-c", code, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0].startswith(
        "the lprof format of 'x.lprof' cannot hold a function profile")
    assert proc.stdout.splitlines()[1].startswith(
        "the csv format of 'x.csv' cannot hold a function profile")
    assert proc.stderr == ""
    assert sorted(os.listdir(tmp_path)) == ["x.SVG"]
