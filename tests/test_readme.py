"""The README's sample outputs are what this version of spyglass prints.

Every fenced block of README.md whose first line is `$ spyglass ...` is a
command (continued on the next line after a trailing backslash) followed by
the output it shows. The command is run as written, by bash, in a directory
holding a copy of examples/, with the venv's bin/ first on PATH (so that
`spyglass` and `python` are the installed ones); what it prints (stdout and
stderr, in one stream as a terminal shows them) must have the sample's
shape: the same lines in the same order, where a line `...` stands for any
number of lines. Numbers and their units, the directories of absolute
paths, hex addresses and runs of blanks are masked on both sides, so that
no machine's speed or load can fail the test, while a heading, field,
column or line that changed does.
"""
import difflib
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
ELLIPSIS = "..."

UNITS = r"(?:nsec|usec|msec|sec|ns|µs|us|ms|s|KiB|MiB|GiB|kB|B|%)"
MASKS = [
    # The directory of an absolute path: the machine's, not spyglass's.
    (re.compile(r"(?<![\w.])(?:/[\w.@+-]+)+/"), "…/"),
    (re.compile(r"\b0x[0-9a-fA-F]+\b"), "N"),
    # A number, with its thousands separators, exponent and unit: 20.64 ms,
    # 34,219,980, 3.91e+04 nsec, 82.9%, 1.6 MiB.
    (re.compile(r"(?<![\w.])[-+]?\d+(?:,\d{3})*(?:\.\d+)?(?:e[-+]?\d+)?"
                r"(?:\s?" + UNITS + r")?(?![\w])"), "N"),
    (re.compile(r"[ \t]+"), " "),
]


def mask(line):
    for pattern, repl in MASKS:
        line = pattern.sub(repl, line)
    return line.strip()


def samples(text):
    """[(command, expected lines)] of the README's `$ spyglass` blocks, in
    order."""
    out, block = [], None
    for line in text.splitlines():
        if line.startswith("```"):
            if block is None:
                block = []
                continue
            if block and block[0].startswith("$ spyglass "):
                cmd = [block.pop(0)[2:]]
                while cmd[-1].endswith("\\"):
                    cmd.append(block.pop(0))
                out.append(("\n".join(cmd), block))
            block = None
        elif block is not None:
            block.append(line)
    return out


def sample_id(cmd):
    """The command's name: time, record, ..."""
    return cmd.split()[1]


def matches(expected, actual):
    """Whether the masked lines `actual` have the shape of `expected`
    (ELLIPSIS: any number of lines), and how far into `expected` the best
    alignment got (the first line it could not place)."""
    n, m = len(expected), len(actual)
    # ok[i][j]: expected[i:] matches actual[j:].
    ok = [[False] * (m + 1) for _ in range(n + 1)]
    ok[n][m] = True
    for i in range(n - 1, -1, -1):
        for j in range(m, -1, -1):
            if expected[i] == ELLIPSIS:
                ok[i][j] = ok[i + 1][j] or (j < m and ok[i][j + 1])
            else:
                ok[i][j] = j < m and expected[i] == actual[j] and \
                    ok[i + 1][j + 1]
    if ok[0][0]:
        return True, n
    # The longest prefix of expected that some prefix of actual matches.
    reach = [[False] * (m + 1) for _ in range(n + 1)]
    reach[0][0] = True
    best = 0
    for i in range(n):
        for j in range(m + 1):
            if not reach[i][j]:
                continue
            best = max(best, i)
            if expected[i] == ELLIPSIS:
                reach[i + 1][j] = True
                if j < m:
                    reach[i][j + 1] = True
            elif j < m and expected[i] == actual[j]:
                reach[i + 1][j + 1] = True
    if any(reach[n]):
        best = n  # every line placed, but spyglass printed more after
    return False, best


def explain(cmd, expected, actual, raw, reached):
    lines = [f"README sample of `{cmd}` no longer matches what spyglass "
             "prints (numbers, units, paths' directories and blanks "
             "masked; `...` is any number of lines)."]
    if reached < len(expected):
        lines.append(f"First README line that could not be placed in "
                     f"order: {expected[reached]!r}")
    else:
        lines.append("Every README line was found, but spyglass prints "
                     "more lines after the last one (end the sample with "
                     "`...`, or show them).")
    lines.append("--- diff, masked (- README, + spyglass):")
    lines += difflib.unified_diff(expected, actual, "README.md", "spyglass",
                                  lineterm="", n=2)
    lines.append("--- what spyglass printed:")
    lines.append(raw)
    return "\n".join(lines)


SAMPLES = samples(README.read_text())


def test_readme_has_samples():
    ids = [sample_id(c) for c, _ in SAMPLES]
    assert {"time", "record"} <= set(ids), ids


UNRELIABLE = re.compile(r"spyglass: warning: (\[\d+\] )?the test results "
                        r"are likely unreliable")


# The sampler's priority depends on what the machine allows (root or
# CAP_SYS_NICE gives a real-time one): a word of the report and a note.
PRIORITY = re.compile(r"at (real-time \(SCHED_FIFO\)|nice -10|normal) "
                      r"priority")
PRIORITY_NOTE = re.compile(r"spyglass \w+: sampled at normal priority ")


def unprioritised(line):
    return PRIORITY.sub("at PRIORITY priority", line)


@pytest.mark.parametrize("cmd,expected", SAMPLES,
                         ids=[sample_id(c) for c, _ in SAMPLES])
def test_sample_output_is_what_spyglass_prints(any_py, tmp_path, cmd,
                                               expected):
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    env = dict(any_py.env)
    env["PATH"] = str(Path(any_py.python).parent) + ":" + env["PATH"]
    proc = subprocess.run(["bash", "-c", cmd], cwd=tmp_path, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          stdin=subprocess.DEVNULL, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout
    want = [ELLIPSIS if l.strip() == ELLIPSIS else mask(unprioritised(l))
            for l in expected]
    # timeit's warning that the results are unreliable (as python -m timeit
    # warns) says how busy the machine was, not what spyglass prints.
    got = [mask(unprioritised(l))
           for l in proc.stdout.rstrip("\n").splitlines()
           if not UNRELIABLE.match(l) and not PRIORITY_NOTE.match(l)]
    ok, reached = matches(want, got)
    assert ok, explain(cmd, want, got, proc.stdout, reached)


# The comparison itself: a test that could not fail would be a defect.
TIME_SAMPLE = """\
Benchmark 1: sleep 0.02
  Time (mean ± σ):  20.64 ms ±  0.128 ms  [User: 0.519 ms, System: 0.000 ms]
  Median:              20.66 ms      Off-CPU: 20.12 ms (wall - user - sys)
  Max RSS:              1.6 MiB      Page faults: 0 major, 77 minor (mean)
""".splitlines()


def check(expected, actual):
    want = [ELLIPSIS if l == ELLIPSIS else mask(l) for l in expected]
    return matches(want, [mask(l) for l in actual])[0]


def test_the_comparison_masks_numbers_but_not_words():
    other = [l.replace("20.64 ms", "1.203 s").replace("1.6 MiB", "880 KiB")
             .replace("0.128 ms", "12.5 µs").replace("77", "1,204")
             for l in TIME_SAMPLE]
    assert other != TIME_SAMPLE and check(TIME_SAMPLE, other)
    renamed = [l.replace("Off-CPU", "I/O wait") for l in TIME_SAMPLE]
    assert not check(TIME_SAMPLE, renamed)
    assert not check(TIME_SAMPLE, TIME_SAMPLE[:2] + TIME_SAMPLE[3:])
    assert not check(TIME_SAMPLE, TIME_SAMPLE + ["more"])
    assert check(TIME_SAMPLE[:1] + [ELLIPSIS], TIME_SAMPLE + ["more"])
    assert check([ELLIPSIS] + TIME_SAMPLE[2:], TIME_SAMPLE)
    assert not check(TIME_SAMPLE[2:] + TIME_SAMPLE[:1], TIME_SAMPLE)
    assert mask("julia.py:16 /work/main/examples/julia.py:30 [2]") == \
        "julia.py:N …/julia.py:N [N]"
    assert mask("x86_64 3.91e+04 nsec 82.9% py3") == "x86_64 N N py3"
