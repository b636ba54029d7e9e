"""`spyglass record --dis NAME`: samples per instruction, from outside.

Ground truth load cannot distort: the target spends its own CPU time
(time.thread_time) multiplying two 31,700-bit integers, one multiplication
taking hundreds of microseconds against the few tens of nanoseconds of
each other instruction of the loop. Whenever a sample finds the thread
running, it is inside that multiplication with probability well above 0.99;
with at least 20 samples, the chance that it gets no more than half of
them is below 1e-30 (binomial tail). The instruction is told by its line
and opcode, never by timing.
"""
import json

from conftest import one_error

HOT = '''
import time


def hot(x):
    return x * x


def main():
    x = 3 ** 20000
    end = time.thread_time() + 0.6
    while time.thread_time() < end:
        hot(x)


main()
'''

HOT_LINE = 6  # return x * x


def test_one_expensive_instruction_gets_most_samples(py, tmp_path):
    (tmp_path / "hot.py").write_text(HOT)
    out = tmp_path / "hot.json"
    proc = py.spy("record", "-r", "200", "--dis", "hot", "-o", str(out),
                  "--python", py.python, "hot.py", cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(out.read_text())
    assert doc["python"].startswith(py.version + ".")
    [fn] = doc["functions"]
    assert fn["name"] == "hot" and fn["line"] == 5
    ins = [r for r in fn["rows"] if r["kind"] == "instruction"]
    total = sum(r["count"] for r in ins)
    assert total == fn["total"] >= 20, fn["total"]
    top = max(ins, key=lambda r: r["count"])
    assert top["line"] == HOT_LINE and top["opname"].startswith("BINARY_")
    assert top["count"] * 2 > total, (top, total)
    if py.version in ("3.8", "3.9", "3.10"):
        assert top["opname"] == "BINARY_MULTIPLY"
    else:
        # The specialised instruction the code object holds, read from
        # the target: dis alone says BINARY_OP. (A function called this
        # often is specialised on 3.11 too: RESUME warms it up.)
        assert top["opname"] == "BINARY_OP_MULTIPLY_INT", top
    # The row's text is dis's, with that name in place of dis's own.
    assert top["opname"] in top["text"]


def test_dis_names_no_sampled_function(py, tmp_path):
    (tmp_path / "hot.py").write_text(HOT.replace("0.6", "0.1"))
    proc = py.spy("record", "-r", "200", "--dis", "cold", "-o",
                  str(tmp_path / "x.txt"), "--python", py.python, "hot.py",
                  cwd=str(tmp_path))
    err = [ln for ln in proc.stderr.splitlines()
           if ln.startswith("spyglass: error:")]
    assert proc.returncode == 2, proc.stderr
    assert len(err) == 1 and "--dis cold: no sampled function" in err[0]
    assert "most sampled: hot" in err[0]
    assert not (tmp_path / "x.txt").exists()


def test_dis_refuses_a_format_without_listings(py, tmp_path):
    proc = py.spy("record", "--dis", "hot", "-f", "flamegraph", "-c", "1")
    one_error(proc, 2, "flamegraph")
