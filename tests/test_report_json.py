"""`spyglass report` of speedscope JSON: spyglass's own speedscope/json
files read back give the numbers of the same profile's pstats file;
hand-written "sampled" and "evented" files (speedscope's file format)
give the totals worked out by hand; bad JSON is refused in one line with
nothing written. And `top -o x.html` saves the table top showed."""
import json
import re
import textwrap

import pytest

from conftest import one_error
from test_html import SPIN, THREADS, document, pstats_oracle, rows

SCHEMA = "https://www.speedscope.app/file-format-schema.json"


def by_name(table, dups=None):
    """{(file, name): (tt, ct)} of rows keyed (file, line, name); a name
    defined twice in a file (two classes' __init__) goes to dups."""
    out = {}
    for (file, _, name), v in table.items():
        if (file, name) in out:
            assert dups is not None, (file, name)
            dups.add((file, name))
        out[(file, name)] = (v[-2], v[-1])
    return out


def report(any_py, tmp_path, *files, out="r.html"):
    proc = any_py.spy("report", "-o", tmp_path / out, *files)
    assert proc.returncode == 0, proc.stderr
    return document(tmp_path / out)


def test_spyglass_speedscope_is_its_pstats(any_py, tmp_path):
    """One profile (two threads, a recursion) rendered as speedscope JSON
    and as pstats: report of the JSON has each function's own and
    cumulative time of pstats.Stats of the pstats file, to the ns."""
    script = tmp_path / "prog.py"
    script.write_text(THREADS)
    code = textwrap.dedent(f'''
        import spyglass
        p = spyglass.profile()
        with p:
            exec(compile(open({str(script)!r}).read(), {str(script)!r},
                         "exec"), {{"__name__": "__main__"}})
        open("p.speedscope.json", "w").write(p.render("speedscope"))
        open("p.pstats", "wb").write(p.render("pstats"))
    ''')
    proc = any_py.py("-c", code, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    doc = report(any_py, tmp_path, tmp_path / "p.speedscope.json")
    got = by_name(rows(doc))
    stats, _ = pstats_oracle(any_py, tmp_path / "p.pstats")
    # speedscope has no definition line: such functions are one row.
    dups = set()
    want = by_name(stats, dups)
    assert got.keys() == want.keys(), (sorted(got), sorted(want))
    for k, (tt, ct) in want.items():
        if k in dups:
            continue
        assert abs(got[k][0] - tt) < 2e-9 and abs(got[k][1] - ct) < 2e-9, \
            (k, got[k], (tt, ct))
    assert (str(script), "leaf") in got and (str(script), "rec") in got
    # The two threads come back as the report's threads, by name.
    names = set(doc["strings"])
    assert "worker" in names and "MainThread" in names, names


def test_record_speedscope_read_back(any_py, tmp_path):
    """record's speedscope file (its weights in ns, a profile per thread)
    read back: each function's own time is the weights of the samples it
    is the leaf of, its total those of the samples it is on (once each),
    as Python's json reads the same file."""
    script = tmp_path / "spin.py"
    script.write_text(SPIN)
    out = tmp_path / "r.speedscope.json"
    proc = any_py.spy("record", "-r", "200", "-o", out, script,
                      cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    ss = json.loads(out.read_text())
    keys = [(f.get("file", "~"), f["name"]) for f in ss["shared"]["frames"]]
    want = {}
    for prof in ss["profiles"]:
        assert prof["unit"] == "nanoseconds", prof["unit"]
        for stack, w in zip(prof["samples"], prof["weights"]):
            for k in {keys[i] for i in stack}:
                tt, ct = want.get(k, (0, 0))
                want[k] = (tt + (w if keys[stack[-1]] == k else 0), ct + w)
    got = by_name(rows(report(any_py, tmp_path, out)))
    assert got.keys() == want.keys(), (sorted(got), sorted(want))
    for k, (tt, ct) in want.items():
        assert close(got[k], (tt * 1e-9, ct * 1e-9)), (k, got[k], tt, ct)
    assert (str(script), "inner") in got


def write(path, doc):
    path.write_text(json.dumps(doc))
    return path


# main (a.py:1) calls f (a.py:5) twice, f recursing once, and g (no
# file); a second profile leaves g open, closed by its endValue.
EVENTED = {
    "$schema": SCHEMA,
    "shared": {"frames": [{"name": "main", "file": "a.py", "line": 1},
                          {"name": "f", "file": "a.py", "line": 5},
                          {"name": "g", "file": None, "line": None}]},
    "profiles": [
        {"type": "evented", "name": "one", "unit": "milliseconds",
         "startValue": 100, "endValue": 130,
         "events": [{"type": "O", "at": 100, "frame": 0},
                    {"type": "O", "at": 102, "frame": 1},
                    {"type": "O", "at": 103, "frame": 1},
                    {"type": "C", "at": 105, "frame": 1},
                    {"type": "C", "at": 106, "frame": 1},
                    {"type": "O", "at": 110, "frame": 2},
                    {"type": "C", "at": 115, "frame": 2},
                    {"type": "O", "at": 120, "frame": 1},
                    {"type": "C", "at": 121.5, "frame": 1},
                    {"type": "C", "at": 130, "frame": 0}]},
        {"type": "evented", "name": "two", "unit": "milliseconds",
         "startValue": 0, "endValue": 7,
         "events": [{"type": "O", "at": 0, "frame": 2}]}],
    "name": "hand-written", "exporter": "test"}

# Stacks in seconds: main;f, main;g, main, main;f;f.
SAMPLED = {
    "$schema": SCHEMA,
    "shared": {"frames": [{"name": "main", "file": "a.py", "line": 1},
                          {"name": "f", "file": "a.py", "line": 3},
                          {"name": "g"}]},
    "profiles": [{"type": "sampled", "name": "t", "unit": "seconds",
                  "startValue": 0, "endValue": 1.875,
                  "samples": [[0, 1], [0, 2], [0], [0, 1, 1]],
                  "weights": [0.5, 0.25, 0.125, 1]}]}


def close(got, want):
    return all(abs(a - b) < 1e-9 for a, b in zip(got, want))


def test_evented_and_sampled_by_hand(any_py, tmp_path):
    ev = write(tmp_path / "ev.json", EVENTED)
    doc = report(any_py, tmp_path, ev)
    got = by_name(rows(doc))
    # f: 1 + 2 + 1 (the recursion counted once) + 1.5 ms; g: 5 + 7 ms;
    # main: its 30 ms less f's 5.5 and g's 5.
    want = {("a.py", "main"): (0.0195, 0.030), ("a.py", "f"): (0.0055, 0.0055),
            ("~", "g"): (0.012, 0.012)}
    assert got.keys() == want.keys(), got
    for k, v in want.items():
        assert close(got[k], v), (k, got[k], v)
    assert doc["kind"] == "sampled" and doc["metric"] == "ns"

    sa = write(tmp_path / "sa.json", SAMPLED)
    got = by_name(rows(report(any_py, tmp_path, sa)))
    want = {("a.py", "main"): (0.125, 1.875), ("a.py", "f"): (1.5, 1.5),
            ("~", "g"): (0.25, 0.25)}
    assert got.keys() == want.keys(), got
    for k, v in want.items():
        assert close(got[k], v), (k, got[k], v)
    # Several files add up; a diff of two takes BASE's cumulative times.
    got = by_name(rows(report(any_py, tmp_path, sa, sa)))
    assert close(got[("a.py", "f")], (3.0, 3.0)), got
    doc = report(any_py, tmp_path, "--diff", ev, sa)
    assert close(by_name(rows(doc))[("a.py", "f")], (1.5, 1.5))
    base = by_name(rows(doc, doc["base"]))
    assert close(base[("a.py", "f")], (0.0055, 0.0055)), base


BAD = [
    ('{"shared": {"frames": []}, "profiles": [', "line 1: unexpected end"),
    ('{"a": [1, 2,]}', "not JSON"),
    ('{"a": 1} x', "data after the document"),
    ('{"a": "\x01"}', "control character"),
    ('{"a": "\\ud800"}', "lone surrogate"),
    ('{"a": 01}', "expected ',' or '}'"),
    ('{"a": 1e999}', "out of range"),
    ('{"a":' + "[" * 100 + "]" * 100 + "}", "nested too deep"),
    ('{"shared": {"frames": []}}', "no profiles"),
    (json.dumps({**SAMPLED, "profiles": [{**SAMPLED["profiles"][0],
                                          "samples": [[0, 3]] * 4}]}),
     "not in shared.frames"),
    (json.dumps({**SAMPLED, "profiles": [{**SAMPLED["profiles"][0],
                                          "weights": [1]}]}),
     "as many weights"),
    (json.dumps({**EVENTED, "profiles": [{**EVENTED["profiles"][0],
                                          "events": [{"type": "O", "at": 101,
                                                      "frame": 0},
                                                     {"type": "C", "at": 102,
                                                      "frame": 1}]}]}),
     "innermost open"),
    (json.dumps({**EVENTED, "profiles": [{**EVENTED["profiles"][0],
                                          "events": [{"type": "O", "at": 120,
                                                      "frame": 0},
                                                     {"type": "C", "at": 110,
                                                      "frame": 0}]}]}),
     "back in time"),
    (json.dumps({**SAMPLED, "profiles": [{**SAMPLED["profiles"][0],
                                          "unit": "parsecs"}]}),
     "no profiles with a known unit"),
]


@pytest.mark.parametrize("text,why", BAD)
def test_bad_json_refused(any_py, tmp_path, text, why):
    bad = tmp_path / "bad.json"
    bad.write_bytes(text.encode("utf-8"))
    out = tmp_path / "r.html"
    one_error(any_py.spy("report", "-o", out, bad), 2, "bad.json",
              "is not speedscope JSON", why,
              "report reads pstats, speedscope JSON or folded stacks")
    assert not out.exists()


def test_bad_utf8_and_kinds_refused(any_py, tmp_path):
    bad = write(tmp_path / "bad.json", SAMPLED)
    bad.write_bytes(bad.read_bytes().replace(b'"g"', b'"g\xff"'))
    spy, out = any_py.spy, tmp_path / "r.html"
    one_error(spy("report", "-o", out, bad), 2, "invalid UTF-8")
    sa = write(tmp_path / "sa.json", SAMPLED)
    folded = tmp_path / "a.folded"
    folded.write_text("main (a.py:1);f (a.py:3) 5\n")
    one_error(spy("report", "-o", out, sa, folded), 2, "one kind of file")
    one_error(spy("report", "-o", out, "--diff", folded, sa), 2,
              "one kind", "speedscope JSON")
    mem = write(tmp_path / "m.json", {**SAMPLED, "profiles": [
        {**SAMPLED["profiles"][0], "unit": "bytes"}]})
    one_error(spy("report", "-o", out, sa, mem), 2, "unit differs")
    assert not out.exists()


def top_time(s):
    """Seconds as top prints them: fewer decimals as the figure grows (a
    run on a busy machine takes more than a second)."""
    if s > 1000:
        return f"{s:.0f}"
    return f"{s:.1f}" if s >= 100 else f"{s:.2f}" if s >= 1 else f"{s:.3f}"


ROW = re.compile(r"^\s*[\d.]+%\s+[\d.]+%\s+([\d.]+)s\s+([\d.]+)s  "
                 r"(.*) \((.*):(\d+)\)$")


def test_top_html_is_its_table(any_py, tmp_path):
    """top off a terminal prints a last snapshot of everything it sampled
    once the program ends; its -o x.html holds that table: each row's own
    and total time as top printed them."""
    script = tmp_path / "spin.py"
    script.write_text(SPIN)
    out = tmp_path / "top.html"
    proc = any_py.spy("top", "--delay", "0.3", "-r", "200", "-o", out,
                      script, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    last = proc.stdout.split("Collecting samples from ")[-1]
    assert "the program exited" in last, last
    shown = [m.groups() for m in map(ROW.match, last.splitlines()) if m]
    assert len(shown) >= 2, last
    table = rows(document(out))
    for own, total, name, path, line in shown:
        hit = [v for (f, ln, n), v in table.items()
               if n == name and ln == int(line) and f.endswith(path)]
        assert len(hit) == 1, (name, path, line, sorted(table))
        assert (top_time(hit[0][2]), top_time(hit[0][3])) == (own, total), \
            (name, hit[0], own, total)
    assert any(r[2] == "inner" for r in shown), last
