"""`spyglass dump`: stacks read from outside, checked against the target's
own faulthandler dump (the oracle), on every CPython 3.8-3.13 and Debian's
static python3.11; thread status; a stress run; bad input.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

TARGETS = Path(__file__).resolve().parent / "targets"
ORACLE = "dump_oracle.py"
UNICODE = "dump_ünï_名.py"
DEBIAN_PY = Path("/usr/bin/python3.11")


def _unescape(s):
    """faulthandler writes non-ASCII as \\xNN, \\uNNNN, \\UNNNNNNNN."""
    return re.sub(r"\\x([0-9a-f]{2})|\\u([0-9a-f]{4})|\\U([0-9a-f]{8})",
                  lambda m: chr(int(next(g for g in m.groups() if g), 16)),
                  s)


def parse_faulthandler(text):
    """{thread ident: (is_current, [(file, line, name)], truncated)}."""
    threads = {}
    cur = None
    for line in text.splitlines():
        m = re.match(r"(Current thread|Thread) (0x[0-9a-f]+) \(most recent "
                     r"call first\):", line)
        if m:
            cur = int(m.group(2), 16)
            threads[cur] = (m.group(1) == "Current thread", [], [False])
            continue
        m = re.match(r'  File "(.*)", line (\d+|\?\?\?) in (.*)$', line)
        if m and cur is not None:
            lineno = int(m.group(2)) if m.group(2) != "???" else -1
            threads[cur][1].append((_unescape(m.group(1)), lineno,
                                    _unescape(m.group(3))))
        elif line.strip() == "..." and cur is not None:
            threads[cur][2][0] = True
    return {k: (c, f, t[0]) for k, (c, f, t) in threads.items()}


def in_sleep(pid):
    """Whether the main thread of pid is blocked in a sleep (select,
    nanosleep, clock_nanosleep, pselect6 on x86_64): a target that got
    there is parked, a busy machine only takes longer to get it there."""
    try:
        with open(f"/proc/{pid}/syscall") as f:
            return f.read().split()[0] in ("23", "35", "230", "270")
    except (OSError, IndexError):
        return False


def gil_settled(pid):
    """Whether no thread of pid waits for the GIL (a timed futex wait on
    x86_64: the GIL's switch interval; a parked thread's lock wait has no
    timeout). Once the main thread sleeps, a busy thread takes the GIL back
    -- unless the machine is so busy that it has not run since: then it is
    still waiting for the GIL, which dump rightly shows as idle."""
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return True
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/syscall") as f:
                call = f.read().split()
        except OSError:
            continue  # ended
        if len(call) > 4 and call[0] == "202" and call[4] != "0x0":
            return False
    return True


def until_gil_held(take, held, attempts=200):
    """take() again until held(result), at most `attempts` times, and the
    last result. The threads scenario's spinner takes the GIL back once the
    main thread sleeps: between its futex wait and its first bytecode
    (setting the GIL's holder) it runs without holding it, and a loaded
    machine can preempt it there for a time slice. A dump that never sees
    it hold the GIL still fails."""
    for _ in range(attempts):
        result = take()
        if held(result):
            break
        time.sleep(0.01)
    return result


def wait_for(ready, proc, timeout=60):
    deadline = time.monotonic() + timeout
    while not ready():
        assert proc.poll() is None, "target died"
        assert time.monotonic() < deadline, "target never got there"
        time.sleep(0.01)


def marked_line(path, marker):
    for i, line in enumerate(Path(path).read_text().splitlines(), 1):
        if marker in line:
            return i
    raise AssertionError(marker)


class Target:
    """A target script run in a scratch dir by relative path; killed at the
    end of the test."""

    def __init__(self, python, script, args, tmp_path, env=None):
        self.dir = tmp_path
        shutil.copy(TARGETS / script, tmp_path / script)
        shutil.copy(TARGETS / "parked.py", tmp_path / "parked.py")
        self.tb = tmp_path / "tb.txt"
        self.ready = tmp_path / "ready.txt"
        self.script = tmp_path / script
        self.proc = subprocess.Popen(
            [str(python), script, *args, str(self.tb), str(self.ready)],
            cwd=tmp_path, env=env, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE)

    def wait_ready(self, timeout=30):
        deadline = time.monotonic() + timeout
        while not self.ready.exists() or not self.ready.read_text():
            if self.proc.poll() is not None:
                raise AssertionError("target died: "
                                     + self.proc.stderr.read().decode())
            assert time.monotonic() < deadline, "target never got ready"
            time.sleep(0.02)
        # From writing the file to sleeping in park().
        wait_for(lambda: in_sleep(self.proc.pid), self.proc, timeout)
        # And a busy thread back in its loop with the GIL the main thread
        # took to get there.
        wait_for(lambda: gil_settled(self.proc.pid), self.proc, timeout)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


@pytest.fixture
def target(tmp_path):
    started = []

    def start(python, script, *args, env=None):
        t = Target(python, script, args, tmp_path, env)
        started.append(t)
        t.wait_ready()
        return t

    yield start
    for t in started:
        t.kill()


def run_spyglass(exe, *args, timeout=60):
    return subprocess.run([str(exe), *map(str, args)], capture_output=True,
                          text=True, timeout=timeout)


def dump_json(exe, pid):
    proc = run_spyglass(exe, "dump", "--pid", pid, "-f", "json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def check_against_oracle(data, t, minor):
    """Every thread faulthandler saw, frame for frame, line numbers too."""
    oracle = parse_faulthandler(t.tb.read_text())
    ours = {th["thread_id"]: th for th in data["threads"]}
    assert set(oracle) == set(ours), (oracle.keys(), ours.keys())
    park_sleep = marked_line(t.script, "# PARK_SLEEP")
    for ident, (current, frames, truncated) in oracle.items():
        th = ours[ident]
        assert th["error"] is None, th
        got = [(f["filename"], f["line"], f["name"]) for f in th["frames"]]
        # faulthandler stops at 100 frames (3.13 without saying so).
        if truncated or len(frames) == 100:
            assert len(got) > len(frames)
            got = got[:len(frames)]
        assert len(got) == len(frames), (got, frames)
        for i, ((ofile, oline, oname), (file, line, name)) in enumerate(
                zip(frames, got)):
            ofile = os.path.join(str(t.dir), ofile)  # relative on 3.8
            assert file == os.path.normpath(ofile), (i, file, ofile)
            # faulthandler prints co_name; 3.11+ gives us co_qualname.
            assert name.rsplit(".", 1)[-1] == oname, (i, name, oname)
            if current and i == 0:
                # faulthandler ran in park(); now it sleeps further down.
                assert (name, line) == ("park", park_sleep)
            else:
                assert line == oline, (i, name, line, oline)
    return oracle


SCENARIOS = ["nested", "recursion", "threads", "generator", "coroutine",
             "lambda", "method", "staticmethod"]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_matches_faulthandler(py, target, scenario):
    t = target(py.python, ORACLE, scenario)
    data = until_gil_held(
        lambda: dump_json(py.spyglass, t.proc.pid),
        lambda d: scenario != "threads" or any(th["holds_gil"]
                                               for th in d["threads"]))
    assert data["python_version"].startswith(py.version + ".")
    oracle = check_against_oracle(data, t, py.version)
    main = [th for th in data["threads"] if th["is_main"]]
    assert len(main) == 1 and main[0]["thread_id"] == int(t.ready.read_text())
    names = [f["name"] for f in main[0]["frames"]]
    minor = int(py.version.split(".")[1])
    if scenario == "recursion":
        assert names.count("recurse") == 500 and len(names) == 503
    if scenario == "method":
        assert names[1] == ("Parker.method" if minor >= 11 else "method")
    if scenario == "staticmethod":
        assert names[1] == ("Parker.static" if minor >= 11 else "static")
    if scenario == "lambda":
        assert names[1] == "<lambda>" if minor < 11 else "run.<locals>.<lambda>"
    if scenario == "generator":
        assert names[1:3] == ["inner_gen", "outer_gen"]
    if scenario == "coroutine":
        assert names[1:3] == ["inner_coro", "outer_coro"]
    if scenario == "threads":
        assert len(oracle) == 4
        by_func = {th["frames"][0]["name"]: th for th in data["threads"]
                   if not th["is_main"]}
        spin = [th for th in data["threads"]
                if th["frames"] and th["frames"][0]["name"] == "spin"]
        assert len(spin) == 1
        assert spin[0]["status"] == "active+gil", spin[0]
        assert spin[0]["name"] == "spinner-ünï"
        assert sorted(th["name"] for th in data["threads"]) == [
            "MainThread", "sleeper", "sleeper-nested", "spinner-ünï"]
        others = [th for th in data["threads"] if th is not spin[0]]
        for th in others:
            assert th["status"] == "idle", th
            assert not th["holds_gil"]
        assert by_func  # every thread has a stack
    assert data["errors"] == 0
    assert data["pid"] == t.proc.pid


def test_steady_state_is_one_read(py, target):
    """The sampler's loop on a parked target: each sample replays the last
    one's blocks in a single process_vm_readv, at any depth."""
    t = target(py.python, ORACLE, "recursion")
    run = run_spyglass(py.spyglass, "dump", "--pid", t.proc.pid, "--repeat",
                       300, "--no-status", "--stats", "-f", "json")
    assert run.returncode == 0, run.stderr
    stats = dict(kv.split("=") for kv in
                 run.stderr.split("stats: ", 1)[1].split())
    assert int(stats["frames"]) == 503
    # The first sample reads cold; the other 299 replay.
    assert float(stats["reads_per_sample"]) < 1.3, stats
    assert stats["syscalls_per_sample"] == stats["reads_per_sample"]
    assert int(stats["code_misses"]) <= 5  # only the first sample's
    data = json.loads(run.stdout)
    assert all(not th["active"] for th in data["threads"])


def test_many_threads(py, target):
    """200 threads at depths 1-50: every one read and named, and the loop
    stays at a few reads per sample (the block cache grows)."""
    t = target(py.python, "dump_many.py")
    run = run_spyglass(py.spyglass, "dump", "--pid", t.proc.pid, "--repeat",
                       400, "--no-status", "--stats", "-f", "json")
    assert run.returncode == 0, run.stderr
    stats = dict(kv.split("=") for kv in
                 run.stderr.split("stats: ", 1)[1].split())
    # The cold first sample reads about 400 times, the others about 4.
    assert float(stats["reads_per_sample"]) < 8, stats
    data = json.loads(run.stdout)
    assert data["errors"] == 0
    workers = [th for th in data["threads"] if not th["is_main"]]
    assert sorted(th["name"] for th in workers) == sorted(
        f"t{i}" for i in range(200))
    for th in workers:
        i = int(th["name"][1:])
        names = [f["name"] for f in th["frames"]]
        assert names.count("deep") == i % 50 + 1, (th["name"], names)


def test_text_format(py, target):
    t = target(py.python, ORACLE, "threads")
    proc = until_gil_held(
        lambda: run_spyglass(py.spyglass, "dump", "--pid", t.proc.pid),
        lambda p: "+gil)" in p.stdout)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == f"Process {t.proc.pid}: {py.python} {ORACLE} " \
                       f"threads {t.tb} {t.ready}"
    assert re.fullmatch(rf"Python v{re.escape(py.version)}\.\d+ \(.+\)",
                        lines[1])
    assert lines[2] == ""
    heads = [l for l in lines if l.startswith("Thread ")]
    assert len(heads) == 4
    for h in heads:
        assert re.fullmatch(r"Thread 0x[0-9A-F]+ \(tid \d+\) "
                            r"\((idle|active|active\+gil|idle\+gil)\)"
                            r': "[^"]+"', h), h
    assert sum("(active+gil)" in h for h in heads) == 1
    assert sum(h.endswith(': "MainThread"') for h in heads) == 1
    assert sum(h.endswith(': "spinner-ünï"') for h in heads) == 1
    frames = [l for l in lines if l.startswith("    ")]
    assert all(re.fullmatch(r"    \S+ \(.+:\d+\)", f) for f in frames), frames
    park = marked_line(t.script, "# PARK_SLEEP")
    assert f"    park ({t.script}:{park})" in lines
    # -o writes the same thing to a file.
    out = t.dir / "dump.txt"
    proc = run_spyglass(py.spyglass, "dump", "-p", t.proc.pid, "-o", out)
    assert proc.returncode == 0 and proc.stdout == ""
    assert out.read_text().splitlines()[:2] == lines[:2]
    # -o *.json picks JSON unless -f says otherwise.
    out = t.dir / "dump.json"
    assert run_spyglass(py.spyglass, "dump", "-p", t.proc.pid, "-o",
                        out).returncode == 0
    assert json.loads(out.read_text())["pid"] == t.proc.pid
    assert run_spyglass(py.spyglass, "dump", "-p", t.proc.pid, "-o", out,
                        "-f", "text").returncode == 0
    assert out.read_text().startswith("Process ")


def test_non_ascii_names(py, target):
    t = target(py.python, UNICODE)
    data = dump_json(py.spyglass, t.proc.pid)
    check_against_oracle(data, t, py.version)
    (main,) = [th for th in data["threads"] if th["is_main"]]
    names = [f["name"] for f in main["frames"]]
    assert names == ["park", "𠀀𠀁", "函数", "grüße", "<module>"]
    assert main["frames"][0]["filename"] == str(t.script)
    assert "名" in main["frames"][0]["filename"]
    text = run_spyglass(py.spyglass, "dump", "--pid", t.proc.pid).stdout
    assert "    grüße (" in text and "    函数 (" in text


@pytest.mark.skipif(not DEBIAN_PY.exists(), reason="no /usr/bin/python3.11")
@pytest.mark.parametrize("scenario", ["threads", "recursion", "coroutine",
                                      "method"])
def test_debian_static_python(any_py, target, scenario):
    """Debian's python3.11: a static, non-PIE, stripped executable."""
    t = target(DEBIAN_PY, ORACLE, scenario)
    data = dump_json(any_py.spyglass, t.proc.pid)
    assert data["libpython"] == str(DEBIAN_PY)  # the runtime is in the exe
    assert data["python_version"].startswith("3.11.")
    check_against_oracle(data, t, "3.11")


def test_debian_static_non_ascii(any_py, target):
    if not DEBIAN_PY.exists():
        pytest.skip("no /usr/bin/python3.11")
    t = target(DEBIAN_PY, UNICODE)
    check_against_oracle(dump_json(any_py.spyglass, t.proc.pid), t, "3.11")


def test_embedded_python(py, target, tmp_path):
    """A C program that embeds libpython: not a python executable."""
    base = subprocess.run([py.python, "-c",
                           "import sys; print(sys.base_prefix)"],
                          capture_output=True, text=True).stdout.strip()
    config = Path(base) / "bin" / f"python{py.version}-config"
    if not config.exists() or not shutil.which("gcc"):
        pytest.skip("no python-config or gcc")
    flags = subprocess.run([str(config), "--cflags", "--ldflags", "--embed"],
                           capture_output=True, text=True)
    if flags.returncode != 0:
        flags = subprocess.run([str(config), "--cflags", "--ldflags"],
                               capture_output=True, text=True)
        flags.stdout += f" -lpython{py.version}"
    exe = tmp_path / "embedder"
    libdir = Path(base) / "lib"
    cc = subprocess.run(["gcc", str(TARGETS / "dump_embed.c"), "-o", str(exe),
                         *flags.stdout.split(), f"-Wl,-rpath,{libdir}"],
                        capture_output=True, text=True)
    assert cc.returncode == 0, cc.stderr
    t = target(exe, ORACLE, "threads")
    data = dump_json(py.spyglass, t.proc.pid)
    assert data["executable"] == str(exe)
    assert "libpython" in data["libpython"]
    check_against_oracle(data, t, py.version)


def test_subinterpreter(py, target):
    """3.12+: a subinterpreter's thread state is walked too, and told
    apart; names and "main" belong to the main interpreter."""
    if int(py.version.split(".")[1]) < 12:
        pytest.skip("subinterpreter modules are 3.12+")
    t = target(py.python, "dump_subinterp.py")
    data = dump_json(py.spyglass, t.proc.pid)
    subs = [th for th in data["threads"] if not th["main_interpreter"]]
    mains = [th for th in data["threads"] if th["main_interpreter"]]
    assert len(subs) == 1 and len(mains) == 2
    assert [(f["name"], f["filename"], f["line"]) for f in
            subs[0]["frames"]] == [("sub_park", "<string>", 6),
                                   ("<module>", "<string>", 7)]
    assert subs[0]["name"] is None and not subs[0]["is_main"]
    by_name = {th["name"]: th for th in mains}
    assert set(by_name) == {"MainThread", "runner"}
    assert by_name["MainThread"]["is_main"]
    assert by_name["MainThread"]["frames"][0]["name"] == "park"
    assert by_name["runner"]["frames"][0]["name"] == "runner"
    text = run_spyglass(py.spyglass, "dump", "--pid", t.proc.pid).stdout
    assert text.count("[subinterpreter 0x") == 1


# -- stress -----------------------------------------------------------------

STRESS_DUMPS = int(os.environ.get("SPYGLASS_STRESS_DUMPS", "1000"))


def test_stress_churn(py, tmp_path):
    """Dump a target that keeps starting and ending threads and redefining
    functions: no crash, no hang; torn reads are counted, not fatal."""
    shutil.copy(TARGETS / "dump_churn.py", tmp_path)
    ready = tmp_path / "ready"
    proc = subprocess.Popen([py.python, "dump_churn.py", str(ready)],
                            cwd=tmp_path, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while not ready.exists():
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.02)
        # One process, STRESS_DUMPS samples in a row: the sampler's loop.
        # Paced (1 ms apart) so the replayed blocks meet a changed target.
        run = run_spyglass(py.spyglass, "dump", "--pid", proc.pid,
                           "--repeat", STRESS_DUMPS, "--interval-us", 1000,
                           "--stats", "-f", "json", timeout=120)
        assert run.returncode == 0, run.stderr
        stats = dict(kv.split("=") for kv in
                     run.stderr.split("stats: ", 1)[1].split())
        assert int(stats["samples"]) == STRESS_DUMPS
        # Torn samples are allowed but must stay rare and be counted.
        assert int(stats["failed"]) < STRESS_DUMPS // 10, stats
        data = json.loads(run.stdout)
        for th in data["threads"]:  # what was read is what the target runs
            if th["error"]:
                assert th["frames"] == []  # torn: dropped, not made up
            for f in th["frames"]:
                if f["name"] and re.fullmatch(r"f\d+|<module>", f["name"]) \
                        and f["filename"] == "<string>":  # exec'd source
                    assert f["first_line"] in (1, 2), f
                elif f["name"] and re.fullmatch(r"f\d+", f["name"]):
                    assert f["filename"] == "<string>", f
                else:
                    assert f["filename"] is None or f["filename"].endswith(
                        ("dump_churn.py", "threading.py")), f
        assert data["errors"] == int(stats["failed"]) + \
            int(stats["thread_errors"])
        print(f"\n{py.version}: {STRESS_DUMPS} samples, "
              f"failed={stats['failed']} "
              f"thread_errors={stats['thread_errors']} "
              f"code_invalidated={stats['code_invalidated']} "
              f"us_per_sample={stats['us_per_sample']}")
        # And STRESS_DUMPS separate `spyglass dump` runs in a row (attach,
        # sample, detach each time), spread over the target's churn.
        failed_runs = torn = 0
        t0 = time.monotonic()
        for _ in range(STRESS_DUMPS):
            one = run_spyglass(py.spyglass, "dump", "--pid", proc.pid,
                               "-f", "json", timeout=30)
            assert one.returncode in (0, 1), one.stderr
            assert one.stderr.count("\n") <= 1, one.stderr
            if one.returncode:
                failed_runs += 1
            else:
                torn += json.loads(one.stdout)["errors"] > 0
        print(f"{py.version}: {STRESS_DUMPS} dump runs in "
              f"{time.monotonic() - t0:.1f} s, failed={failed_runs} "
              f"with_torn_threads={torn}")
        # A thread recursing hot while being read can tear every retry of
        # its walk (on <=3.10 its frame objects are freed and reused within
        # microseconds); that thread is then marked, the rest of the dump
        # stands. Measured: 3.8-3.10 about 1-4 % of one-shot dumps (more
        # with an ASan build of spyglass, slower between reads), 3.11+
        # almost never.
        assert failed_runs == 0
        minor = int(py.version.split(".")[1])
        assert torn < STRESS_DUMPS * (0.15 if minor <= 10 else 0.02)
        assert proc.poll() is None  # the target was not disturbed
    finally:
        proc.kill()
        proc.wait()


# -- bad input ----------------------------------------------------------------

def test_dead_pid(any_py):
    p = subprocess.Popen(["true"])
    p.wait()
    proc = any_py.spy("dump", "--pid", str(p.pid))
    assert proc.returncode == 1
    assert proc.stderr == f"spyglass: error: no such process: {p.pid}\n"


def test_not_python(any_py):
    p = subprocess.Popen(["sleep", "60"])
    try:
        wait_for(lambda: in_sleep(p.pid), p)  # sleep(1) runs, not our fork
        proc = any_py.spy("dump", "--pid", str(p.pid))
        assert proc.returncode == 1
        sleep = os.path.realpath(shutil.which("sleep"))
        assert proc.stderr == (
            f"spyglass: error: pid {p.pid} runs {sleep}, not CPython (no "
            "_PyRuntime in its executable or libraries)\n")
    finally:
        p.kill()
        p.wait()


# A C process that maps a file and waits: stands for a process whose Python
# is built for another machine (which cannot run here).
MAPPER_C = r"""
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>
int main(int argc, char **argv)
{
    int fd = open(argv[1], O_RDONLY);
    if (argc < 3 || fd < 0 ||
        mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0) == MAP_FAILED)
        return 1;
    FILE *f = fopen(argv[2], "w");
    fputs("1", f);
    fclose(f);
    pause();
    return 0;
}
"""


def test_foreign_architecture(any_py, tmp_path):
    """A Python image built for another machine (here: an x86_64 ELF with
    e_machine set to aarch64's) is named as such, not as "not a Python
    process"."""
    if not shutil.which("gcc"):
        pytest.skip("needs gcc")
    (tmp_path / "mapper.c").write_text(MAPPER_C)
    exe = tmp_path / "mapper"
    subprocess.run(["gcc", "-o", str(exe), str(tmp_path / "mapper.c")],
                   check=True)
    lib = tmp_path / "libpython3.12.so.1.0"
    image = bytearray(exe.read_bytes())
    image[18:20] = (183).to_bytes(2, "little")  # EM_AARCH64
    lib.write_bytes(image)
    ready = tmp_path / "ready"
    p = subprocess.Popen([str(exe), str(lib), str(ready)])
    try:
        deadline = time.monotonic() + 10
        while not ready.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert ready.exists() and p.poll() is None
        proc = any_py.spy("dump", "--pid", str(p.pid))
        assert proc.returncode == 1
        assert proc.stderr == (
            f"spyglass: error: process {p.pid} (mapper): {lib} is built for "
            "aarch64: spyglass reads x86_64 programs only\n"), proc.stderr
    finally:
        p.kill()
        p.wait()


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"),
                    reason="needs root and setpriv to drop privileges")
def test_permission_denied(any_py, tmp_path):
    """As another user, without ptrace rights: one line saying what is
    needed."""
    # A copy the unprivileged user can reach (the venv may sit under a
    # directory only root can enter).
    import tempfile
    exe_dir = Path(tempfile.mkdtemp(prefix="sg-perm-"))
    exe_dir.chmod(0o755)
    exe = exe_dir / "spyglass"
    shutil.copy(any_py.spyglass, exe)
    exe.chmod(0o755)
    p = subprocess.Popen([any_py.python, "-c", "import time; "
                          "time.sleep(60)"])
    try:
        proc = subprocess.run(
            ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
             str(exe), "dump", "--pid", str(p.pid)],
            capture_output=True, text=True, timeout=30, cwd="/")
        assert proc.returncode == 1
        assert proc.stderr.startswith("spyglass: error: permission denied "
                                      "reading"), proc.stderr
        assert f"process {p.pid}" in proc.stderr
        assert "CAP_SYS_PTRACE" in proc.stderr and "ptrace_scope" in \
            proc.stderr
        assert proc.stderr.count("\n") == 1
    finally:
        p.kill()
        p.wait()
        shutil.rmtree(exe_dir, ignore_errors=True)


def test_launcher_points_to_python_child(any_py, tmp_path):
    """A shell that runs Python as a child: the error names the child."""
    p = subprocess.Popen(["sh", "-c", f"'{any_py.python}' -c 'import time; "
                          f"time.sleep(60)'; true"])
    child = None
    try:
        deadline = time.monotonic() + 10
        while child is None and time.monotonic() < deadline:
            kids = Path(f"/proc/{p.pid}/task/{p.pid}/children").read_text()
            child = int(kids.split()[0]) if kids.split() else None
            time.sleep(0.05)
        wait_for(lambda: in_sleep(child), p)  # Python runs its code
        proc = any_py.spy("dump", "--pid", str(p.pid))
        assert proc.returncode == 1
        m = re.fullmatch(r"spyglass: error: pid \d+ runs \S*sh, not "
                         r"CPython .*; its child (\d+) runs Python: "
                         r"spyglass dump --pid (\d+)\n", proc.stderr)
        assert m and int(m.group(1)) == int(m.group(2)) == child, proc.stderr
        assert any_py.spy("dump", "--pid", str(child)).returncode == 0
    finally:
        if child:
            try:
                os.kill(child, signal.SIGKILL)
            except ProcessLookupError:
                pass
        p.kill()
        p.wait()


def test_python_starting_up_is_retried(py, tmp_path):
    """dump right after launch: retried while Python initialises."""
    shutil.copy(TARGETS / ORACLE, tmp_path)
    p = subprocess.Popen([py.python, ORACLE, "nested", tmp_path / "tb",
                          tmp_path / "ready"], cwd=tmp_path)
    try:
        proc = py.spy("dump", "--pid", str(p.pid), "-f", "json")
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout)["threads"]
    finally:
        p.kill()
        p.wait()


def _pyenv_python(version):
    from venvs import find_interpreter
    exe = find_interpreter(version)
    return exe if exe and version in str(exe) else None


@pytest.mark.parametrize("version,message", [
    ("3.7", r"Python 3\.7\.\d+ is not supported \(spyglass reads CPython "
            r"3\.8-3\.13\)"),
    ("2.7", r"process \d+ runs (lib)?python2\.7\S*: not supported "
            r"\(spyglass reads CPython 3\.8-3\.13\)"),
])
def test_unsupported_version(any_py, version, message):
    exe = _pyenv_python(version)
    if not exe:
        pytest.skip(f"no CPython {version}")
    p = subprocess.Popen([str(exe), "-c", "import time; time.sleep(60)"])
    try:
        wait_for(lambda: in_sleep(p.pid), p)
        proc = any_py.spy("dump", "--pid", str(p.pid))
        assert proc.returncode == 1
        assert re.fullmatch("spyglass: error: " + message + "\n",
                            proc.stderr), proc.stderr
    finally:
        p.kill()
        p.wait()


@pytest.mark.parametrize("args,message", [
    ([], "dump: --pid PID is required"),
    (["--pid"], "dump: option '--pid' needs a value"),
    (["--pid", "x1"], "dump: --pid takes a whole number from 1 to"),
    (["--pid", "0"], "dump: --pid takes a whole number from 1 to"),
    (["--pid", "-5"], "dump: --pid takes a whole number from 1 to"),
    (["--pid", "1", "-f", "xml"], "dump: unknown format 'xml'"),
    (["--pid", "1", "-o", "x.svg"], "dump: the flamegraph format of 'x.svg' "
                                    "cannot hold a stack dump"),
    (["--pid", "1", "extra"], "dump: unexpected argument 'extra'"),
    (["--bogus"], "dump: unknown option '--bogus'"),
])
def test_garbage_arguments(any_py, args, message):
    proc = any_py.spy("dump", *args)
    assert proc.returncode == 2
    assert proc.stderr.startswith("spyglass: error: " + message), proc.stderr
    assert proc.stderr.count("\n") == 1


def test_help(any_py):
    proc = any_py.spy("dump", "--help")
    assert proc.returncode == 0
    assert proc.stdout.startswith("usage: spyglass dump -p PID")  # py-spy's
    assert "dump" in any_py.spy("--help").stdout


def test_unwritable_output(py, target):
    t = target(py.python, ORACLE, "nested")
    proc = py.spy("dump", "--pid", str(t.proc.pid), "-o", "/nonexistent/x")
    assert proc.returncode == 2  # refused before reading (test_output.py)
    assert proc.stderr.startswith("spyglass: error: dump: cannot write")


# -- the generated layout table ------------------------------------------------

def test_layout_table_is_generated_from_headers(root):
    """src/remote/layouts_gen.h is what tools/gen_layouts.py makes from the
    installed CPythons' headers."""
    if not shutil.which("pyenv") or not shutil.which("gcc"):
        pytest.skip("needs pyenv and gcc")
    gen = subprocess.run([sys.executable, str(root / "tools/gen_layouts.py")],
                         capture_output=True, text=True, timeout=300)
    assert gen.returncode == 0, gen.stderr
    committed = (root / "src/remote/layouts_gen.h").read_text()
    if "3.13.0:" not in gen.stdout or "3.8.18:" not in gen.stdout:
        pytest.skip("other CPython patch releases installed here")
    assert gen.stdout == committed, "regenerate src/remote/layouts_gen.h"


def libpython_or_skip(py):
    """The path of py's libpython; skips a static build."""
    q = ("import sysconfig, os; print(os.path.join("
         "sysconfig.get_config_var('LIBDIR'), "
         "sysconfig.get_config_var('INSTSONAME') or ''))")
    lib = subprocess.run([py.python, "-c", q], capture_output=True,
                         text=True).stdout.strip()
    if not lib.endswith(".so.1.0") or not os.path.exists(lib):
        pytest.skip(f"CPython {py.version} here has no libpython (static)")
    if not shutil.which("gcc"):
        pytest.skip("no gcc")
    return lib


def half_loaded_exe(tmp_path):
    exe = tmp_path / "half_loaded"
    subprocess.run(["gcc", str(TARGETS / "half_loaded.c"), "-o", str(exe)],
                   check=True)
    return exe


def test_a_python_image_still_being_loaded(py, tmp_path):
    """Regression: the loader maps an image's whole file read-only first and
    its segments over it afterwards; a launched 3.13 read in between had no
    _Py_DebugOffsets cookie where _PyRuntime would be, and `record` ended
    at once with "unsupported build". Such a process is a Python that is
    starting: dump says so, record waits for it (here it never comes: the
    program ends, and its recording is empty, with its exit status)."""
    lib = libpython_or_skip(py)
    exe = half_loaded_exe(tmp_path)
    p = subprocess.Popen([str(exe), lib, "600"], stdout=subprocess.PIPE,
                         text=True)
    try:
        assert p.stdout.readline() == "ready\n"
        proc = run_spyglass(py.spyglass, "dump", "-p", p.pid)
        assert proc.returncode != 0
        lines = proc.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("spyglass: error: ")
        assert "still being loaded" in lines[0], lines[0]
    finally:
        p.kill()
        p.wait()
    out = tmp_path / "h.collapsed"
    proc = run_spyglass(py.spyglass, "record", "-o", out, "--", exe, lib,
                        "0.5")
    assert proc.returncode == 0, proc.stderr
    assert "unsupported" not in proc.stderr
    assert "ended before its interpreter could be read" in proc.stderr
    assert out.exists() and out.read_text() == ""


def test_a_launched_child_caught_exiting(py, tmp_path):
    """Regression: a launched child read while it exits (its memory gone,
    not yet a zombie) refuses the read with ESRCH; `record` took that for a
    process that is not there and failed ("no such process"), though the
    child, not yet reaped, cannot be gone. It now waits for the exit and
    reports the program's status. The window is narrow: 100 children
    that each end 20 ms in (about 3 in 100 met it before the fix)."""
    lib = libpython_or_skip(py)
    exe = half_loaded_exe(tmp_path)
    out = tmp_path / "h.collapsed"
    for _ in range(100):
        proc = run_spyglass(py.spyglass, "record", "-o", out, "--", exe, lib,
                            "0.02")
        assert proc.returncode == 0, proc.stderr
        assert out.read_text() == ""


def _kernel_thread():
    """A kernel thread's pid (PF_KTHREAD in its stat flags), or None."""
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{name}/stat").read_text()
        except OSError:
            continue
        flags = int(stat[stat.rindex(")") + 2:].split()[6])
        if flags & 0x00200000:
            return int(name)
    return None


@pytest.mark.parametrize("cmd", ["dump", "record"])
def test_a_process_that_exited_is_not_called_non_python(any_py, cmd):
    """Regression: a process whose exit released its memory (here a zombie
    not yet reaped; a launched child caught exiting is the same) was
    reported as having no mappings "(exited, or a kernel thread)", a
    program that is not Python: `record` launching a short Python program
    on a busy machine failed with "is not a Python program" instead of
    reporting its exit status. It has exited, and says so."""
    child = subprocess.Popen(["true"])
    deadline = time.monotonic() + 10
    while Path(f"/proc/{child.pid}/stat").read_text().split(")")[1].split()[0] \
            != "Z" and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        proc = run_spyglass(any_py.spyglass, cmd, "-p", child.pid)
        lines = proc.stderr.splitlines()
        assert proc.returncode != 0 and len(lines) == 1, proc.stderr
        assert "has exited" in lines[0] and "kernel" not in lines[0], lines
    finally:
        child.wait()


def test_a_kernel_thread_is_named(any_py):
    pid = _kernel_thread()
    if pid is None:
        pytest.skip("no kernel thread visible in this pid namespace")
    proc = run_spyglass(any_py.spyglass, "dump", "-p", pid)
    lines = proc.stderr.splitlines()
    assert proc.returncode != 0 and len(lines) == 1, proc.stderr
    assert f"process {pid} is a kernel thread" in lines[0], lines
