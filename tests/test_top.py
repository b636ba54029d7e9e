"""`spyglass top`: the live view, driven in tmux as a user would (keys
sent with send-keys, the screen read with capture-pane), on CPython 3.8 and
3.13 (the reader is record's, tested on every version in test_record.py).
The figures are checked against what the target measured of itself in the
same run (tests/truth.py); docs/top.md says what each key does."""
import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

import truth
from conftest import MARK, one_error

TARGETS = Path(__file__).resolve().parent / "targets"
SPLIT = TARGETS / "top_split.py"
# The terminal tests run on the versions the issue asks for (tmux is slow);
# a missing one is a visible skip, as for every test of `py`.
TOP_VERSIONS = ("3.8", "3.13")
on_top_versions = pytest.mark.py_versions(*TOP_VERSIONS)
NAMES = ("hot", "warm", "cold")
ROW = re.compile(r"^\s*([\d.]+)%\s+([\d.]+)%\s+([\d.]+)s\s+([\d.]+)s  (.*)$")


class Tmux:
    """A shell in a detached tmux session of its own server."""

    def __init__(self, env, cwd, cols=120, rows=40):
        if not shutil.which("tmux"):
            pytest.skip("tmux is not installed: top is not checked on a "
                        "terminal (apt-get install tmux)")
        self.sock = f"sg-top-{os.getpid()}-{id(self)}"
        self.env = dict(env)
        self.env.pop("NO_COLOR", None)
        # The shell's settings on its own command line (a tmux server
        # passes on only some of its environment). LC_ALL=C: ASCII
        # markers, which capture-pane keeps as they are.
        self.tmux("new-session", "-d", "-x", str(cols), "-y", str(rows),
                  "-c", str(cwd), "env PS1='PROMPT$ ' LC_ALL=C TERM=screen "
                  "sh")
        self.wait(lambda s: "PROMPT$" in s)

    def tmux(self, *args):
        return subprocess.run(["tmux", "-L", self.sock, "-f", "/dev/null",
                               *args], env=self.env, capture_output=True,
                              text=True, check=True).stdout

    def keys(self, *keys):
        self.tmux("send-keys", "-t", "0", *keys)

    def type(self, line):
        self.tmux("send-keys", "-t", "0", "-l", line)
        self.tmux("send-keys", "-t", "0", "Enter")

    def screen(self):
        return self.tmux("capture-pane", "-p", "-t", "0")

    def wait(self, pred, timeout=90):
        """The screen once pred(screen) holds (polled); fails with the
        last screen after timeout seconds, which only a hang reaches."""
        deadline = time.monotonic() + timeout
        while True:
            s = self.screen()
            if pred(s):
                return s
            assert time.monotonic() < deadline, s
            time.sleep(0.05)

    def pane_pid(self):
        return int(self.tmux("display-message", "-p", "-t", "0",
                             "#{pane_pid}"))

    def close(self):
        subprocess.run(["tmux", "-L", self.sock, "kill-server"],
                       capture_output=True)


@pytest.fixture
def tmux_factory():
    made = []

    def make(*a, **kw):
        made.append(Tmux(*a, **kw))
        return made[-1]
    yield make
    for t in made:
        t.close()


def rows(screen):
    """{label: (own %, total %, own s, total s)} of the table's rows."""
    out = {}
    for line in screen.splitlines():
        m = ROW.match(line)
        if m:
            out.setdefault(m.group(5).strip(),
                           tuple(float(x) for x in m.groups()[:4]))
    return out


def first_row(screen):
    return next((m.group(5) for m in map(ROW.match, screen.splitlines())
                 if m), None)


def samples(screen, window=False):
    """Total Samples, or those of the last window."""
    m = re.search(r"Total Samples (\d+) \((\d+) in the last", screen)
    return int(m.group(2 if window else 1)) if m else -1


def by_func(table):
    """Own % and own seconds of hot, warm and cold (function rows)."""
    got = {}
    for label, vals in table.items():
        name = label.split(" (")[0]
        if name in NAMES:
            got[name] = vals
    return got


def check_split(screen, truth_file):
    """The hot function leads and each share of own time is the target's
    measured share of wall time (the sampler counts a thread that runs or
    waits for a CPU), within 3 points or what the samples can tell."""
    assert first_row(screen).startswith("hot ("), screen
    got = by_func(rows(screen))
    assert set(got) == set(NAMES), screen
    wall = {k: v["wall"] for k, v in json.loads(truth_file.read_text())
            .items()}
    cpu = {k: v["cpu"] for k, v in json.loads(truth_file.read_text())
           .items()}
    # The target did what it says, whatever the load.
    assert abs(cpu["hot"] / sum(cpu.values()) - 0.7) < 0.01, cpu
    # OwnTime (since the start), then %Own (the last window).
    for col, n in ((2, samples(screen)), (0, samples(screen, True))):
        total = sum(v[col] for v in got.values())
        for k in NAMES:
            share, want = got[k][col] / total, wall[k] / sum(wall.values())
            tol = max(0.03, truth.halfwidth(want, n))
            assert abs(share - want) <= tol, (k, col, share, want, tol,
                                              screen)


@on_top_versions
def test_keys_split_resize_and_quit(py, tmp_path, tmux_factory):
    """One run of top on the 70/20/10 target: the split, each key, a
    resize, the program's end, q; then -o against record's profile."""
    stop, tf = tmp_path / "stop", tmp_path / "truth.json"
    out = tmp_path / "top.collapsed"
    t = tmux_factory(py.env, tmp_path)
    t.type("stty -a > before.txt")
    t.type(f"{py.spyglass} top -r 1000 --delay 1 -o {out} -- {py.python} "
           f"{SPLIT} {tf} {stop}; echo status=$?; stty -a > after.txt")
    # Enough samples that the cumulative shares can tell 3 points.
    s = t.wait(lambda s: samples(s) >= 3800 and first_row(s) is not None)
    check_split(s, tf)
    assert "*OwnTime" in s and "Function (file:def line)" in s

    def after(key, pred):
        t.keys(key)
        return t.wait(pred)

    # 1-4: the sort column, marked.
    s = after("1", lambda s: "*%Own" in s)
    assert first_row(s).startswith("hot (")
    s = after("4", lambda s: "*TotalTime" in s)
    assert re.match(r"(<module>|main) \(", first_row(s)), s
    s = after("2", lambda s: "*%Total" in s)
    s = after("3", lambda s: "*OwnTime" in s)
    assert first_row(s).startswith("hot (")
    # L: rows per line, the spin loop's lines; back per function.
    s = after("L", lambda s: "Function (file:line)" in s)
    lines = [l for l in rows(s) if l.startswith("hot (")]
    assert re.fullmatch(r"hot \(top_split.py:(1[89]|20)\)", lines[0]), s
    s = after("L", lambda s: "(file:def line)" in s)
    assert "hot (top_split.py:16)" in rows(s), s
    # t: one thread, then all again.
    s = after("t", lambda s: "Thread: MainThread" in s)
    s = after("t", lambda s: "Thread:" not in s)
    # /: a filter by function name, then cleared.
    t.keys("/")
    t.tmux("send-keys", "-t", "0", "-l", "warm")
    s = after("Enter", lambda s: "Filter: warm" in s and
              "Enter applies" not in s)
    assert {l.split(" (")[0] for l in rows(s)} == {"warm"}, s
    t.keys("/")
    s = after("C-u", lambda s: "Filter: _" in s)
    s = after("Enter", lambda s: "Filter:" not in s and "cold (" in s)
    # ?: the help, closed by any key.
    s = after("?", lambda s: "reset the counts" in s)
    s = after("x", lambda s: "*OwnTime" in s)
    # P: the view stays as it is while sampling goes on; space resumes.
    s = after("P", lambda s: "[paused]" in s)
    frozen = samples(s)
    time.sleep(1.5)  # more than a refresh delay
    assert samples(t.screen()) == frozen
    s = after("Space", lambda s: "[paused]" not in s)
    s = t.wait(lambda s: samples(s) > frozen)
    # R: the counts start again.
    before = samples(s)
    s = after("R", lambda s: 0 <= samples(s) < before)
    # Resize: the frame fits the new size, footer on the last line.
    t.tmux("resize-window", "-t", "0", "-x", "60", "-y", "16")
    s = t.wait(lambda s: len(s.splitlines()[0]) <= 60 and
               s.splitlines()[-1].startswith("Press q"))
    assert all(len(l) <= 60 for l in s.splitlines()), s
    assert len(s.splitlines()) == 16
    # The program ends: the view says so and keeps its data until q.
    stop.touch()
    s = t.wait(lambda s: "the program exited with status 0" in s)
    assert rows(s)
    t.keys("q")
    s = t.wait(lambda s: "status=0" in s and s.rstrip().endswith("PROMPT$"))
    assert_terminal_unchanged(t, tmp_path)
    check_same_shape(py, tmp_path, out)


def assert_terminal_unchanged(t, tmp_path):
    """`stty -a` after top as before (the window's size aside, which a
    resize changes)."""
    t.type("echo done")
    t.wait(lambda s: "\ndone" in s)

    def settings(name):
        return re.sub(r"rows \d+; columns \d+;", "",
                      (tmp_path / name).read_text())
    assert settings("after.txt") == settings("before.txt")


def functions_paths(path):
    """{stack of function names: samples}, the frames of the three
    functions and their callers only (imports and reports left out)."""
    out = {}
    for line in Path(path).read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        names = tuple(f.split(" (")[0] for f in stack.split(";"))
        if names[-1] in NAMES:
            out[names] = out.get(names, 0) + int(n)
    return out


def check_same_shape(py, tmp_path, top_out):
    """-o of top holds the stacks record writes for the same target, in
    the same proportions (each a likely draw of its run's truth)."""
    stop, tf = tmp_path / "stop2", tmp_path / "truth2.json"
    rec = tmp_path / "rec.collapsed"
    timer = threading.Timer(2.0, stop.touch)
    timer.start()
    proc = py.spy("record", "-r", "1000", "-o", rec, "--", py.python, SPLIT,
                  tf, stop)
    timer.cancel()
    assert proc.returncode == 0, proc.stderr
    a, b = functions_paths(top_out), functions_paths(rec)
    assert set(a) == set(b) == {("<module>", "main", k) for k in NAMES}, \
        (a, b)
    wall = {k: v["wall"] for k, v in json.loads(tf.read_text()).items()}
    counts = {p[-1]: n for p, n in b.items()}
    assert not truth.share_misses(counts, wall), (counts, wall)


def spy_pid(t):
    """The spyglass the tmux shell runs."""
    shell = t.pane_pid()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for task in Path(f"/proc/{shell}/task").iterdir():
            for pid in (task / "children").read_text().split():
                if "spyglass" in Path(f"/proc/{pid}/cmdline").read_text():
                    return int(pid)
        time.sleep(0.05)
    raise AssertionError("spyglass did not start")


@pytest.mark.py_versions(TOP_VERSIONS[-1])  # terminal handling: any one
@pytest.mark.parametrize("how,status", [("q", 0), ("ctrl-c", 130),
                                        ("sigterm", 143)])
def test_terminal_restored_on_signals(py, tmp_path, tmux_factory, how,
                                      status):
    """q (which stops the launched program), Ctrl-C (the terminal's SIGINT
    to the program and spyglass) and a SIGTERM to spyglass (passed on to
    the program) end top while the program runs: the shell's prompt is
    back, the terminal's settings as they were; after a signal the
    program's status is spyglass's, after q spyglass succeeds."""
    t = tmux_factory(py.env, tmp_path, cols=80, rows=24)
    t.type("stty -a > before.txt")
    t.type(f"{py.spyglass} top -- {py.python} -c 'while True: pass'; "
           "echo status=$?; stty -a > after.txt")
    t.wait(lambda s: "Total Samples" in s and samples(s) > 0)
    if how == "q":
        t.keys("q")
    elif how == "ctrl-c":
        t.keys("C-c")
    else:
        os.kill(spy_pid(t), signal.SIGTERM)
    t.wait(lambda s: f"status={status}" in s and
           s.rstrip().endswith("PROMPT$"))
    assert_terminal_unchanged(t, tmp_path)


@pytest.mark.py_versions(TOP_VERSIONS[-1])
def test_ctrl_z_gives_the_terminal_back_until_fg(py, tmp_path, tmux_factory):
    """Ctrl-Z stops top (and the program) with the terminal as it was; fg
    brings the view back, redrawn; q ends it."""
    t = tmux_factory(py.env, tmp_path, cols=80, rows=24)
    t.type("stty -a > before.txt")
    # Alone on its line: a stopped job would let a list go on.
    t.type(f"{py.spyglass} top -- {py.python} -c 'while True: pass'")
    t.wait(lambda s: samples(s) > 0)
    t.keys("C-z")
    t.wait(lambda s: "Stopped" in s and s.rstrip().endswith("PROMPT$"))
    t.type("stty -a > after.txt")
    assert_terminal_unchanged(t, tmp_path)
    t.type("fg")
    t.wait(lambda s: "Press q to quit" in s and samples(s) > 0)
    t.keys("q")
    t.wait(lambda s: s.rstrip().endswith("PROMPT$"))
    t.type("echo status=$?; stty -a > after.txt")
    t.wait(lambda s: "status=0" in s)
    assert_terminal_unchanged(t, tmp_path)


def test_plain_snapshots_off_a_terminal(any_py, tmp_path):
    """stdout a pipe: a plain snapshot every --delay, no escape sequence,
    the last one saying the program ended; its status is spyglass's."""
    # The spinning function's file name holds escape sequences (a clear
    # screen, a window title): the view shows them as '?'.
    code = ("import time\nt = time.time() + 1.2\n"
            "src = 'def spin():\\n    while time.time() < t: pass\\n'\n"
            "exec(compile(src, 'evil\\x1b[2J\\x1b]0;x\\x07.py', 'exec'))\n"
            "spin()\nraise SystemExit(3)\n")
    proc = any_py.spy("top", "--delay", "0.4", "-c", code)
    assert proc.returncode == 3, proc.stderr
    assert "\x1b" not in proc.stdout and "\x07" not in proc.stdout
    assert "spin (evil?[2J?]0;x?.py:1)" in proc.stdout
    shots = proc.stdout.split("Collecting samples from ")
    assert len(shots) >= 3, proc.stdout
    assert "the program exited with status 3" in shots[-1]
    assert re.search(r"^\s*[\d.]+%\s+[\d.]+%\s+[\d.]+s\s+[\d.]+s  spin \(",
                     shots[-1], re.M), shots[-1]


def test_subprocesses_live_across_children(any_py, tmp_path):
    """--subprocesses: the pool's workers are sampled and counted as they
    run; the snapshot's table holds their function."""
    proc = any_py.spy("top", "--subprocesses", "--delay", "0.3", "--",
                      any_py.python, TARGETS / "record_pool.py")
    assert proc.returncode == 0, proc.stderr
    counts = [int(n) for n in re.findall(r"Processes: (\d+)", proc.stdout)]
    assert max(counts) >= 2, proc.stdout  # the pool's workers, at least
    last = proc.stdout.split("Collecting samples from ")[-1]
    assert first_row(last).startswith("pool_task ("), last


@pytest.mark.parametrize("args,msg", [
    ([], "nothing to watch"),
    (["--delay", "0", "-p", "1"], "--delay takes a number"),
    (["-r", "x", "-p", "1"], "-r/--rate"),
    (["-f", "svg", "-p", "1"], "-f/--format is the format of -o FILE"),
    (["-o", "x.nope", "-p", "1"], "x.nope"),
    (["-o", "/no/such/dir/x.svg", "-c", MARK, "mark"], "/no/such/dir"),
    (["-p", "1", "--", "true"], "not both"),
    (["--python", "/bin/true", "-p", "1"], "--python is the interpreter"),
    (["--frob"], "unknown option '--frob'"),
])
def test_bad_input(any_py, args, msg, tmp_path):
    proc = any_py.spy("top", *args, cwd=tmp_path)
    one_error(proc, 2, "top: ", msg)
    assert not list(tmp_path.iterdir())  # nothing ran, nothing written
