"""The layout of `spyglass memory`'s table against memory_profiler's own.

spyglass prints memory_profiler's table with its own columns between
Occurrences and Line Contents. The oracle is memory_profiler's
show_results itself: given the figures spyglass printed (line, Mem usage,
Increment, Occurrences), it must print, row for row, what spyglass printed
with spyglass's columns taken out: the same `Filename:` line, the same
header up to Occurrences, a rule as long as the header, the same cells at
the same places, and the same source text after three spaces.

memory_profiler must be installed in the test venvs (tests/venvs.py);
the writer's own unit test (tests/c/test_memory_writers.c) checks the same
layout on figures chosen to overflow columns and round to -0.0.
"""
import json
import re
from pathlib import Path

import pytest

SCRIPT = """\
@profile
def my_func():
    a = [1] * (10 ** 6)
    b = [2] * (2 * 10 ** 7)
    del b
    return a


@profile
def grow(n):
    out = []
    for i in range(n):
        out.append(' ' * 1000)
    return len(out)


if __name__ == '__main__':
    my_func()
    grow(50)
"""

# One row of spyglass's table: memory_profiler's four columns first.
ROW = re.compile(r"^ *(\d+) +(-?[\d.]+) MiB +(-?[\d.]+) MiB +(\d+) ")

# Run in the venv: memory_profiler's show_results over the tables parsed
# from spyglass's output (a JSON list of [filename, [[line, figures]]]).
SHOW = """\
import io, json, sys
from memory_profiler import show_results

class CodeMap:
    def __init__(self, tables):
        self.tables = tables
    def items(self):
        for filename, rows in self.tables:
            yield filename, ((ln, tuple(f) if f else None) for ln, f in rows)

class Prof:
    def __init__(self, tables):
        self.code_map = CodeMap(tables)

out = io.StringIO()
show_results(Prof(json.load(open(sys.argv[1]))), out, precision=3)
sys.stdout.write(out.getvalue())
"""


def tables(text):
    """[(filename, header, rule, rows)] of spyglass's report, rows as
    (line, figures or None, the row's text)."""
    out = []
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if not line.startswith("Filename: "):
            continue
        header, rule = lines[i + 2], lines[i + 3]
        rows = []
        for row in lines[i + 4:]:
            if not row:
                break
            m = ROW.match(row)
            if m:
                figures = [float(m[3]), float(m[2]), int(m[4])]
                rows.append((int(m[1]), figures, row))
            else:
                rows.append((int(row.split()[0]), None, row))
        out.append((line[len("Filename: "):], header, rule, rows))
    return out


def compare(ours, theirs):
    """Check spyglass's report against memory_profiler's table printed from
    the same figures."""
    got = tables(ours)
    blocks = theirs.split("Filename: ")[1:]
    assert len(blocks) == len(got)
    for (filename, header, rule, rows), block in zip(got, blocks):
        mp = block.split("\n")
        assert mp[0] == filename and mp[1] == ""
        # The header: memory_profiler's up to Occurrences, ours, then
        # "Line Contents" after three spaces.
        mp_head = mp[2][:-len("   Line Contents")]
        assert mp[2].endswith("   Line Contents")
        assert header.startswith(mp_head) and header.endswith(
            "   Line Contents"), (header, mp[2])
        assert rule == "=" * len(header) and mp[3] == "=" * len(mp[2])
        text = Path(filename).read_text().split("\n")
        # The rows, each ending in "\n", then "\n\n".
        assert len(rows) == len(mp) - 4 - 3 and mp[-3:] == ["", "", ""]
        for (line, _, row), mp_row in zip(rows, mp[4:]):
            content = text[line - 1]
            assert mp_row.endswith("   " + content) and row.endswith(
                "   " + content), (row, mp_row)
            cells = mp_row[:len(mp_row) - len(content) - 3]
            assert row.startswith(cells), (row, mp_row)


def test_table_layout_is_memory_profilers(py, tmp_path):
    probe = py.py("-c", "import memory_profiler")
    if probe.returncode != 0:
        pytest.skip("memory_profiler is not installed in the test venvs")
    script = tmp_path / "mp.py"
    script.write_text(SCRIPT)
    proc = py.spy("memory", str(script), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    got = tables(proc.stdout)
    assert [len(rows) for _, _, _, rows in got] == [6, 6], proc.stdout
    # Every line that ran has its figures; the loop's body ran 50 times.
    occurrences = {ln: f[2] for _, _, _, rows in got for ln, f, _ in rows
                   if f}
    assert occurrences[13] == 50, proc.stdout
    (tmp_path / "tables.json").write_text(json.dumps(
        [[f, [[ln, fig] for ln, fig, _ in rows]] for f, _, _, rows in got]))
    (tmp_path / "show.py").write_text(SHOW)
    mp = py.py(str(tmp_path / "show.py"), str(tmp_path / "tables.json"),
               cwd=tmp_path)
    assert mp.returncode == 0, mp.stderr
    compare(proc.stdout, mp.stdout)
