"""`spyglass record --dis NAME`: samples per instruction, from outside.

Ground truth load cannot distort: the target spends its own CPU time
(time.thread_time) in two methods called `hot`, each dominated by one
known expensive instruction: Mul.hot multiplies two 31,700-bit integers,
Call.hot calls the builtin sorted on 8,000 unordered integers. Either
operation takes hundreds of microseconds against the few tens of
nanoseconds of each other instruction of its method. Whenever a sample
finds the thread in one of them, it is at that instruction with
probability well above 0.99; with at least 20 samples, the chance that it
gets no more than half of them is below 1e-30 (binomial tail). The
instruction is told by its line and opcode, never by timing. A call into C
counts on the calling instruction: the innermost Python frame is there.
"""
import json

from conftest import one_error

HOT = '''
import time


class Mul:
    def hot(self, x):
        return x * x


class Call:
    def hot(self, xs):
        return sorted(xs)


def main():
    x = 3 ** 20000
    xs = [(i * 7919) % 8009 for i in range(8000)]
    m, c = Mul(), Call()
    end = time.thread_time() + 0.8
    while time.thread_time() < end:
        m.hot(x)
        c.hot(xs)


main()
'''

# first line of each method -> (the line of its expensive instruction,
# what its opcode name holds)
EXPENSIVE = {6: (7, "BINARY_"), 11: (12, "CALL")}


def test_one_expensive_instruction_gets_most_samples(py, tmp_path):
    (tmp_path / "hot.py").write_text(HOT)
    out = tmp_path / "hot.json"
    proc = py.spy("record", "-r", "200", "--dis", "hot", "-o", str(out),
                  "--python", py.python, "hot.py", cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(out.read_text())
    assert doc["python"].startswith(py.version + ".")
    # Both methods called hot, each with its own listing.
    names = {fn["line"]: fn["name"] for fn in doc["functions"]}
    if py.version in ("3.8", "3.9", "3.10"):
        assert names == {6: "hot", 11: "hot"}  # no qualified names
    else:
        assert names == {6: "Mul.hot", 11: "Call.hot"}
    for fn in doc["functions"]:
        line, op = EXPENSIVE[fn["line"]]
        ins = [r for r in fn["rows"] if r["kind"] == "instruction"]
        total = sum(r["count"] for r in ins)
        assert total == fn["total"] >= 20, fn["total"]
        top = max(ins, key=lambda r: r["count"])
        assert top["line"] == line and op in top["opname"], top
        assert top["count"] * 2 > total, (top, total)
        # The row's text is dis's, with the name the listing gives.
        assert top["opname"] in top["text"]
        if fn["line"] != 6:
            continue
        if py.version in ("3.8", "3.9", "3.10"):
            assert top["opname"] == "BINARY_MULTIPLY"
        else:
            # The specialised instruction the code object holds, read
            # from the target: dis alone says BINARY_OP. (A method called
            # this often is specialised on 3.11 too: RESUME warms it up.)
            assert top["opname"] == "BINARY_OP_MULTIPLY_INT", top


def test_dis_names_no_sampled_function(py, tmp_path):
    (tmp_path / "hot.py").write_text(HOT.replace("0.8", "0.1"))
    proc = py.spy("record", "-r", "200", "--dis", "cold", "-o",
                  str(tmp_path / "x.txt"), "--python", py.python, "hot.py",
                  cwd=str(tmp_path))
    err = [ln for ln in proc.stderr.splitlines()
           if ln.startswith("spyglass: error:")]
    assert proc.returncode == 2, proc.stderr
    assert len(err) == 1 and "--dis cold: no sampled function" in err[0]
    # The busiest functions, busiest first: the two methods lead.
    busiest = err[0].split("; most sampled: ", 1)[1].split(", ")
    assert [n.rsplit(".", 1)[-1] for n in busiest[:2]] == ["hot", "hot"]
    assert not (tmp_path / "x.txt").exists()


def test_dis_refuses_a_format_without_listings(py, tmp_path):
    proc = py.spy("record", "--dis", "hot", "-f", "flamegraph", "-c", "1")
    one_error(proc, 2, "flamegraph")
