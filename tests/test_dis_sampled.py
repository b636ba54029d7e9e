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
import os
import shutil

import pytest

from conftest import one_error
from venvs import VERSIONS, find_interpreter

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
    end = time.thread_time() + 0.6
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
    # 0.3 s of the methods' CPU: the interpreter's start-up (reading and
    # unmarshalling the stdlib's bytecode, slow on a cold cache under load)
    # once outweighed 0.1 s of it.
    (tmp_path / "hot.py").write_text(HOT.replace("0.6", "0.3"))
    proc = py.spy("record", "-r", "200", "--dis", "cold", "-o",
                  str(tmp_path / "x.txt"), "--python", py.python, "hot.py",
                  cwd=str(tmp_path))
    err = errors(proc)
    assert proc.returncode == 2, proc.stderr
    assert len(err) == 1 and "--dis cold: no sampled function" in err[0]
    # The busiest functions, busiest first: the two methods among the
    # first three (main's own share, its loop test, is small but not nil:
    # on a starved machine it once passed one of them in 0.1 s).
    busiest = err[0].split("; most sampled: ", 1)[1].split(", ")
    assert [n.rsplit(".", 1)[-1] for n in busiest[:3]].count("hot") == 2, \
        busiest
    assert not (tmp_path / "x.txt").exists()


def test_dis_refuses_a_format_without_listings(py, tmp_path):
    proc = py.spy("record", "--dis", "hot", "-f", "flamegraph", "-c", "1")
    one_error(proc, 2, "flamegraph")


# A short target that, once its work is done, replaces the executable it
# runs from (argv[1]) by what argv[2] names: a shell script, or a python
# of another version. The recording read the executable's path at attach.
SWAP = '''
import os, sys, time


def hot():
    end = time.thread_time() + 0.15
    while time.thread_time() < end:
        pass


hot()
new = sys.argv[1] + ".new"
if sys.argv[2] == "script":
    with open(new, "w") as f:
        f.write("#!/bin/sh\\ntouch %s\\nexit 3\\n" % sys.argv[3])
    os.chmod(new, 0o755)
else:
    os.symlink(sys.argv[2], new)
os.replace(new, sys.argv[1])
'''


def swap_run(py, tmp_path, exe_name, *swap_args):
    real = os.path.realpath(py.python)
    exe = tmp_path / exe_name
    shutil.copy(real, exe)
    (tmp_path / "swap.py").write_text(SWAP)
    env = dict(py.env)
    env["PATH"] = os.path.dirname(real) + os.pathsep + env["PATH"]
    return py.spy("record", "-r", "200", "--dis", "hot", "-o",
                  str(tmp_path / "out.json"), "--", str(exe), "swap.py",
                  str(exe), *swap_args, cwd=str(tmp_path), env=env)


def errors(proc):
    return [ln for ln in proc.stderr.splitlines()
            if ln.startswith("spyglass: error:")]


def test_never_runs_an_executable_that_is_not_a_python(any_py, tmp_path):
    """A program embedding Python is not a python: the listing is made by
    one of the target's version (beside its libpython, or from PATH),
    never by running the program itself."""
    marker = tmp_path / "host-ran"
    proc = swap_run(any_py, tmp_path, "host", "script", str(marker))
    assert proc.returncode == 0, proc.stderr
    assert not marker.exists()
    doc = json.loads((tmp_path / "out.json").read_text())
    assert [f["name"] for f in doc["functions"]] == ["hot"]


def test_refuses_a_python_of_another_version(any_py, tmp_path):
    """Offsets and opcodes are the recorded version's: a python of another
    version is refused, never used to guess."""
    other = next((v for v in VERSIONS if v != any_py.version
                  and find_interpreter(v)), None)
    if other is None:
        pytest.skip("no second CPython version found")
    proc = swap_run(any_py, tmp_path, "python3", str(find_interpreter(other)))
    assert proc.returncode == 1, proc.stderr
    [err] = errors(proc)
    assert (f"is Python {other}, the recording is of {any_py.version}: "
            "its opcodes are not known here") in err, err
    assert not (tmp_path / "out.json").exists()


def test_code_not_from_a_file(any_py):
    code = ("import time\ndef f():\n    end = time.thread_time() + 0.1\n"
            "    while time.thread_time() < end:\n        pass\nf()")
    proc = any_py.spy("record", "-r", "200", "--dis", "f", "-c", code)
    assert proc.returncode == 1, proc.stderr
    [err] = errors(proc)
    assert "the source of f is not in a file (<string>)" in err, err


MONITORED = '''
import sys
import time


def hot(x):
    return x * x


M = sys.monitoring
M.use_tool_id(3, "debugger")
M.register_callback(3, M.events.INSTRUCTION, lambda code, offset: None)
M.set_local_events(3, hot.__code__, M.events.INSTRUCTION)
x = 3 ** 20000
end = time.thread_time() + 0.3
while time.thread_time() < end:
    hot(x)
'''


def test_instrumented_code_keeps_the_instruction_name(any_py, tmp_path):
    """A sys.monitoring tool (a debugger, coverage) replaces the watched
    instructions by INSTRUMENTED_* opcodes, the real one kept aside: the
    listing names the instruction, as dis does, not the instrumentation."""
    if any_py.version in ("3.8", "3.9", "3.10", "3.11"):
        pytest.skip("sys.monitoring is 3.12+")
    (tmp_path / "mon.py").write_text(MONITORED)
    out = tmp_path / "out.json"
    proc = any_py.spy("record", "-r", "200", "--dis", "hot", "-o", str(out),
                      "--", any_py.python, "mon.py", cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    [fn] = json.loads(out.read_text())["functions"]
    ins = [r for r in fn["rows"] if r["kind"] == "instruction"]
    assert fn["total"] >= 20
    assert not [r for r in ins if "INSTRUMENTED" in r["text"]], ins
    top = max(ins, key=lambda r: r["count"])
    assert top["opname"] == "BINARY_OP" and top["count"] * 2 > fn["total"]


def test_top_keeps_the_most_sampled_instructions(any_py, tmp_path):
    (tmp_path / "hot.py").write_text(HOT.replace("0.6", "0.3"))
    out = tmp_path / "hot.json"
    proc = any_py.spy("record", "-r", "200", "--dis", "hot", "--top", "1",
                      "-o", str(out), "--python", any_py.python, "hot.py",
                      cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(out.read_text())
    assert len(doc["functions"]) == 2
    for fn in doc["functions"]:
        ins = [r for r in fn["rows"] if r["kind"] == "instruction"]
        # Only the expensive instruction is left (binomial: see the top).
        assert len(ins) == 1, ins
        line, op = EXPENSIVE[fn["line"]]
        assert ins[0]["line"] == line and op in ins[0]["opname"], ins


@pytest.mark.parametrize("args", [["--top", "3"], ["--dis", "f", "--top",
                                                   "0"]])
def test_top_is_for_a_listing(any_py, args):
    proc = any_py.spy("record", *args, "-c", "pass")
    one_error(proc, 2, "--top")
