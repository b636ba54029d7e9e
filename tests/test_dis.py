"""`spyglass dis` against the version's own dis and an independent tracer.

Oracles, run in the same CPython: `dis.dis(code, depth=0)` for the listing's
text, and an instruction counter written in Python for the counts
(sys.settrace with f_trace_opcodes on 3.8-3.11, a sys.monitoring
INSTRUCTION callback on 3.12+), run over the same program in a process of
its own. Counts are exact, so they must be equal, instruction by
instruction.
"""
import json
import re

import pytest

from conftest import one_error

LOOPS = 7

PROG = f'''
import sys


def loop(n):
    t = 0
    for i in range(n):
        t += i * 3
    return t


class Cls:
    def meth(self, xs):
        return [x + 1 for x in xs if x]


def outer(k):
    def inner(v):
        return v * k
    return inner(2) + sum(inner(j) for j in range(3))


def gen(n):
    for i in range(n):
        yield i * i


def fails():
    try:
        {{}}["missing"]
    except KeyError as e:
        return str(e)


async def coro(n):
    return n + 1


def run(c):
    try:
        c.send(None)
    except StopIteration as e:
        return e.value


print(loop({LOOPS}), Cls().meth([0, 1, 2]), outer(4), list(gen(3)), fails(),
      run(coro(1)))
'''

# The oracle: every instruction executed in prog's own code objects,
# counted by Python itself, and dis's text of each of them.
ORACLE = r'''
import collections, dis, io, json, os, runpy, sys
prog = os.path.realpath(sys.argv[1])
counts = collections.Counter()
codes = {}

def note(code, offset):
    if code.co_filename == prog:
        codes[id(code)] = code
        counts[(id(code), offset)] += 1

if sys.version_info >= (3, 12):
    M = sys.monitoring
    M.use_tool_id(4, "oracle")
    M.register_callback(4, M.events.INSTRUCTION, note)
    M.set_events(4, M.events.INSTRUCTION)
else:
    def local(frame, event, arg):
        if event == "opcode":
            note(frame.f_code, frame.f_lasti)
        return local

    def tracer(frame, event, arg):
        if frame.f_code.co_filename != prog:
            return None
        frame.f_trace_opcodes = True
        return local(frame, event, arg)

    sys.settrace(tracer)
sys.argv = [prog]
runpy.run_path(prog, run_name="__main__")
if sys.version_info >= (3, 12):
    M.set_events(4, 0)
else:
    sys.settrace(None)
out = {}
for cid, code in codes.items():
    buf = io.StringIO()
    dis.dis(code, file=buf, depth=0)
    ins = [i.offset for i in dis.get_instructions(code)]
    out["%s:%d" % (code.co_name, code.co_firstlineno)] = {
        "text": buf.getvalue().splitlines(),
        "offsets": ins,
        "counts": {str(o): counts[(cid, o)] for o in ins},
    }
print("ORACLE" + json.dumps(out))
'''

HEAD = re.compile(r"^Function: (\S+) at (.+):(\d+)$")
# The three columns on the left: count (12), share (7), bar (10).
PREFIX = 12 + 1 + 7 + 1 + 10 + 1


def parse(text):
    """{(co_name, first line): [(kind, count, text)]} of a text listing;
    kind is 'instr', 'source' or 'other', count None when not shown."""
    blocks, rows = {}, None
    for ln in text.splitlines():
        m = HEAD.match(ln)
        if m:
            name = m.group(1).rsplit(".", 1)[-1]
            rows = blocks.setdefault((name, int(m.group(3))), [])
            continue
        if (rows is None or len(ln) <= PREFIX or ln[PREFIX] != "|"
                or ln.lstrip().startswith("Count ")):
            continue
        count, body = ln[:12].strip(), ln[PREFIX + 2:]
        if count:
            rows.append(("instr", None if count == "-" else int(count),
                         body))
        elif body.startswith("# "):
            rows.append(("source", None, body))
        else:
            rows.append(("other", None, body))
    return blocks


def no_address(s):
    return re.sub(r" at 0x[0-9a-f]+", " at 0x?", s.rstrip())


def oracle(py, script):
    harness = script.parent / "oracle_harness.py"
    harness.write_text(ORACLE)
    proc = py.py(str(harness), str(script), cwd=str(script.parent))
    assert proc.returncode == 0, proc.stderr
    raw = json.loads(proc.stdout.split("ORACLE", 1)[1])
    return {(k.rsplit(":", 1)[0], int(k.rsplit(":", 1)[1])): v
            for k, v in raw.items()}


@pytest.fixture
def prog(tmp_path):
    p = tmp_path / "prog.py"
    p.write_text(PROG)
    return p


def test_listing_and_counts_match_dis_and_a_python_tracer(py, prog):
    proc = py.spy("dis", str(prog), cwd=str(prog.parent))
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    # The program's own output comes first, unchanged.
    assert proc.stdout.startswith("63 [2, 3] 20 [0, 1, 4] 'missing' 2\n")
    ours = parse(proc.stdout)
    theirs = oracle(py, prog)
    names = {name for name, _ in ours}
    want = {"loop", "meth", "outer", "inner", "<genexpr>", "gen", "fails",
            "coro", "run"}
    if py.version in ("3.8", "3.9", "3.10", "3.11"):
        want.add("<listcomp>")  # its own code object before 3.12
    assert names == want, names
    for key, rows in ours.items():
        ref = theirs[key]
        # The listing's text is dis's, line for line (source rows aside).
        text = [no_address(t) for kind, _, t in rows if kind != "source"]
        assert text == [no_address(t) for t in ref["text"]], key
        # Every instruction's count equals the tracer's; one it cannot
        # see (3.12+ RESUME) is one Python's tracer does not see either.
        counts = [c for kind, c, _ in rows if kind == "instr"]
        assert len(counts) == len(ref["offsets"]), key
        for c, off in zip(counts, ref["offsets"]):
            assert (c or 0) == ref["counts"][str(off)], (key, off)
    # The loop's body ran LOOPS times: each of its instructions too.
    rows = next(v for (n, _), v in ours.items() if n == "loop")
    start = next(i for i, r in enumerate(rows)
                 if r[0] == "source" and r[2].endswith("t += i * 3"))
    body = []
    for kind, c, _ in rows[start + 1:]:
        if kind != "instr":
            break
        body.append(c)
    assert len(body) >= 4 and body == [LOOPS] * len(body), body


# Functions whose every line, each time it runs, runs all its instructions
# once: no generator (a resumed frame re-enters a line), no handler (clean-up
# code revisits the `except` line).
STRAIGHT = {"loop", "outer", "inner"}
LINES_ROW = re.compile(r"\s*(\d+)\s+(\d+)\s+[\d.]+\s+[\d.]+\s+[\d.]+\s")


def test_line_totals_are_lines_hits_times_instructions(py, prog):
    """Each line's instructions ran as often as `spyglass lines` counts
    the line, where every line event runs each of them once: a line of
    a straight function, not its first (RESUME / cell set-up run without
    a line event), not shared with a nested code object, every
    instruction counted alike (a jump inside a line breaks it)."""
    out = prog.parent / "dis.json"
    proc = py.spy("dis", "-o", str(out), str(prog), cwd=str(prog.parent))
    assert proc.returncode == 0, proc.stderr
    # Where the listing went, as every command says it.
    assert proc.stderr == f"spyglass: dis listing written to {out} (json)\n"
    proc = py.spy("lines", str(prog), cwd=str(prog.parent))
    assert proc.returncode == 0, proc.stderr
    hits = {}
    for ln in proc.stdout.splitlines():
        m = LINES_ROW.match(ln)
        if m:
            hits[int(m.group(1))] = hits.get(int(m.group(1)), 0) + \
                int(m.group(2))
    per, owners = {}, {}
    for f in json.loads(out.read_text())["functions"]:
        for r in f["rows"]:
            if r["kind"] == "instruction" and r["line"] is not None:
                per.setdefault((f["name"], f["line"], r["line"]),
                               []).append(r["count"])
                owners.setdefault(r["line"], set()).add(f["name"])
    checked = {}
    for (name, first, line), counts in per.items():
        if (name.rsplit(".", 1)[-1] not in STRAIGHT or line == first
                or len(owners[line]) > 1 or None in counts
                or len(set(counts)) > 1):
            continue
        assert sum(counts) == hits.get(line, 0) * len(counts), \
            (name, line, counts, hits.get(line))
        checked[line] = counts[0]
    src = PROG.splitlines()
    body = {src.index(s) + 1: n for s, n in [
        ("    t = 0", 1), ("        t += i * 3", LOOPS), ("    return t", 1),
        ("        return v * k", 4)]}
    assert {ln: checked.get(ln) for ln in body} == body, checked


def test_module_code(py, prog):
    """--func __main__:<module>: the script's own code, counted exactly."""
    proc = py.spy("dis", "--func", "__main__:<module>", str(prog),
                  cwd=str(prog.parent))
    assert proc.returncode == 0, proc.stderr
    ours = parse(proc.stdout)
    [key] = ours
    assert key[0] == "<module>", proc.stdout
    ref = oracle(py, prog)[key]
    rows = ours[key]
    text = [no_address(t) for kind, _, t in rows if kind != "source"]
    assert text == [no_address(t) for t in ref["text"]]
    counts = [c for kind, c, _ in rows if kind == "instr"]
    assert [c or 0 for c in counts] == [ref["counts"][str(o)]
                                        for o in ref["offsets"]]
    assert sum(c or 0 for c in counts) > 20


def test_module_run_with_m_and_another_file(py, tmp_path):
    """-m runs the module; --file selects an imported file's functions and
    --func MODULE:<module> that module's own code, counted as it imports
    (the default rule, the main module's own functions, is then off)."""
    (tmp_path / "helper.py").write_text(
        "def h(n):\n    return [i * 2 for i in range(n)]\n\n\nX = h(3)\n")
    (tmp_path / "mainmod.py").write_text(
        "import helper\n\n\ndef m():\n    return helper.h(4)\n\n\n"
        "print(m(), helper.X)\n")
    out = tmp_path / "dis.json"
    proc = py.spy("dis", "--file", "helper.py", "--func", "helper:<module>",
                  "-o", str(out), "-m", "mainmod", cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "[0, 2, 4, 6] [0, 2, 4]\n"
    doc = json.loads(out.read_text())
    names = {f["name"].rsplit(".", 1)[-1]: f for f in doc["functions"]}
    want = {"<module>", "h"}
    if py.version in ("3.8", "3.9", "3.10", "3.11"):
        want.add("<listcomp>")
    assert set(names) == want, names
    assert all(f["file"].endswith("helper.py") for f in doc["functions"])

    def runs(fn, opname):
        return [r["count"] for r in names[fn]["rows"]
                if r["kind"] == "instruction" and r["opname"] == opname]

    # The module body ran once, h twice (3 and 4 items: 7 multiplications).
    assert runs("<module>", "STORE_NAME") == [1, 1]
    assert runs("h", "RETURN_VALUE") == [2]
    mul = "BINARY_MULTIPLY" if py.version in ("3.8", "3.9", "3.10") \
        else "BINARY_OP"
    comp = "h" if "<listcomp>" not in want else "<listcomp>"
    assert runs(comp, mul) == [7]


def test_builtin_profile_top_and_json(py, tmp_path):
    code = ("@profile\ndef f(n):\n    return sum(i * i for i in range(n))\n"
            "def g():\n    return 1\nf(5); g()")
    proc = py.spy("dis", "--top", "2", "-c", code, cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    ours = parse(proc.stdout)
    # Only the decorated function and what it contains; --top 2 keeps its
    # two busiest instructions, busiest first.
    assert {n for n, _ in ours} == {"f", "<genexpr>"}, proc.stdout
    for rows in ours.values():
        counts = [c for kind, c, _ in rows if kind == "instr"]
        assert len(counts) == 2 and counts[0] >= counts[1], proc.stdout
    out = tmp_path / "dis.json"
    proc = py.spy("dis", "-o", str(out), "-c", code, cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(out.read_text())
    assert doc["python"].startswith(py.version + ".")
    genexpr = next(f for f in doc["functions"] if "genexpr" in f["name"])
    ins = [r for r in genexpr["rows"] if r["kind"] == "instruction"]
    assert genexpr["total"] == sum(r["count"] or 0 for r in ins)
    # The YIELD_VALUE ran once per item.
    assert [r["count"] for r in ins if r["opname"] == "YIELD_VALUE"] == [5]


def test_bad_func_lists_close_matches(py, prog):
    proc = py.spy("dis", "--func", "__main__:lop", str(prog))
    one_error(proc, 2, "no function 'lop'", "close matches: loop")
    assert proc.stdout == ""  # the program never ran


def test_adaptive_needs_a_specialising_version(py, prog):
    proc = py.spy("dis", "--adaptive", "--func", "__main__:loop", str(prog))
    if py.version in ("3.8", "3.9", "3.10"):
        one_error(proc, 2, "--adaptive needs CPython 3.11")
        assert proc.stdout == ""
        return
    assert proc.returncode == 0, proc.stderr
    assert "specialised instructions" in proc.stdout
    assert set(n for n, _ in parse(proc.stdout)) == {"loop"}
