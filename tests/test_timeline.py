"""`spyglass timeline` and `spyglass plot`: memory over time from outside,
as mprof run / plot / peak, checked against the target's own clock and
against memory_profiler's own reader.

The sampler reads /proc from outside, so nothing here depends on the
CPython version: the tests run once, on the newest installed (any_py);
memory_profiler's reader runs on two versions.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conftest import MARK, get_py, one_error, selected_versions

TARGETS = Path(__file__).resolve().parent / "targets"
MIB = 1 << 20


def read_dat(path):
    """{'MEM': [(MiB, t)], 'CHLD': {pid: [(MiB, t)]}, 'FUNC': [...],
    'CMDLINE': str}, read independently of spyglass."""
    out = {"MEM": [], "CHLD": {}, "FUNC": [], "CMDLINE": None}
    for line in Path(path).read_text().splitlines():
        field, _, value = line.partition(" ")
        v = value.split(" ")
        if field == "MEM":
            out["MEM"].append((float(v[0]), float(v[1])))
        elif field == "CHLD":
            out["CHLD"].setdefault(int(v[0]), []).append(
                (float(v[1]), float(v[2])))
        elif field == "FUNC":
            out["FUNC"].append(v)
        elif field == "CMDLINE":
            out["CMDLINE"] = value
    return out


@pytest.fixture(scope="module")
def step(any_py, tmp_path_factory):
    """One run of the step target, sampled every 10 ms (the default): the
    .dat, the target's own timestamps, spyglass's stderr."""
    d = tmp_path_factory.mktemp("step")
    dat = d / "step.dat"
    proc = any_py.spy("timeline", "-o", dat, TARGETS / "timeline_step.py")
    assert proc.returncode == 0, proc.stderr
    return dat, json.loads(proc.stdout), proc.stderr


def test_step_seen_within_5_percent_at_its_time(step):
    dat, truth, err = step
    mem = read_dat(dat)["MEM"]
    (t1, t2), (t3, t4) = truth["alloc"], truth["free"]
    # The samples the target's own clock places before, during and after
    # the 100 MiB were held (a read follows its timestamp, so "before"
    # keeps clear of the allocation's start).
    before = [m for m, t in mem if t < t1 - 0.05]
    held = [m for m, t in mem if t2 <= t <= t3]
    after = [m for m, t in mem if t > t4]
    assert len(before) >= 3 and held and after, (truth, mem)
    base = before[-1]
    for m in held:
        assert abs((m - base) - 100) <= 5, (m, base)
    for m in after:
        assert abs(m - base) <= 5, (m, base)
    # The first sample taken after the allocation ended sees all of it,
    # the first after the free sees it gone.
    first_held = next(m for m, t in mem if t >= t2)
    first_after = next(m for m, t in mem if t >= t4)
    assert first_held - base >= 95 and first_after - base <= 5
    # The run began at the launch and ended with the program.
    assert mem[0][1] < t1 and mem[-1][1] > t4, (mem[0], mem[-1], truth)
    assert "spyglass timeline: wrote" in err


def test_step_within_two_intervals_when_on_time(step):
    """Where the sampler kept its deadlines (no gap over 15 ms around the
    step), the first sample showing the step was taken within two
    intervals (20 ms) of the moment the target finished it."""
    dat, truth, _ = step
    mem = read_dat(dat)["MEM"]
    (t1, t2), (t3, t4) = truth["alloc"], truth["free"]
    base = next(m for m, t in reversed(mem) if t < t1 - 0.05)
    checked = 0
    for start, end, held in ((t1, t2, True), (t3, t4, False)):
        near = [k for k, (_, t) in enumerate(mem)
                if start - 0.05 <= t <= end + 0.05]
        gaps = [mem[k + 1][1] - mem[k][1] for k in near if k + 1 < len(mem)]
        if not gaps or max(gaps) > 0.015:
            continue  # late ticks (a busy machine): not a test of the rate
        seen = next(t for m, t in mem if t >= start and
                    ((m - base >= 95) if held else (m - base <= 5)))
        assert seen - end <= 0.02, (seen, start, end)
        checked += 1
    if not checked:
        pytest.skip("every tick near the steps came late (a busy machine): "
                    "the 5% test above still holds")


def test_dat_loads_in_memory_profilers_reader(step, tmp_path):
    """mprof's own read_mprofile_file, on the oldest and newest installed
    CPython: the same values and timestamps as spyglass's reader gives."""
    dat = step[0]
    versions = selected_versions()
    mine = json.loads(subprocess.run(
        [get_py(versions[-1]).spyglass, "plot", "-f", "json", dat],
        capture_output=True, text=True, check=True).stdout)
    series = mine["runs"][0]["series"][0]
    for v in sorted({versions[0], versions[-1]}):
        py = get_py(v)
        code = ("import json, sys, mprof\n"
                "d = mprof.read_mprofile_file(sys.argv[1])\n"
                "print(json.dumps([d['mem_usage'], d['timestamp'], "
                "d['cmd_line']]))\n")
        proc = py.py("-c", code, dat)
        assert proc.returncode == 0, proc.stderr
        mem, ts, cmd = json.loads(proc.stdout)
        assert len(mem) == len(series["bytes"]) > 10
        assert [round(m * MIB) for m in mem] == series["bytes"]
        assert ts == pytest.approx(series["time"], abs=1e-4)
        assert cmd.strip().endswith("timeline_step.py")


def mprof_plot_venv(any_py):
    """A venv of the newest CPython with memory_profiler and matplotlib
    (mprof plot's own dependency, which the suite's venvs do not carry),
    made once and kept beside them."""
    from venvs import VENVS
    venv = VENVS / "mprof-plot"
    mprof = venv / "bin" / "mprof"
    done = venv / ".ready"
    if not done.exists():
        base = Path(any_py.python).resolve()
        subprocess.run([str(base), "-m",
                        "venv", "--clear", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "python"), "-m", "pip",
                        "install", "-q", "--disable-pip-version-check",
                        "memory_profiler", "matplotlib"], check=True)
        done.write_text("memory_profiler matplotlib\n")
    return mprof


def test_mprof_plot_draws_our_file(step, any_py, tmp_path):
    """memory_profiler's own `mprof plot` (matplotlib, no display) draws
    spyglass's .dat: it reads it, plots it and saves the picture."""
    dat = step[0]
    mprof = mprof_plot_venv(any_py)
    png = tmp_path / "plot.png"
    env = dict(os.environ, MPLBACKEND="Agg")
    proc = subprocess.run([str(mprof), "plot", "-o", str(png), str(dat)],
                          capture_output=True, text=True, env=env,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000


def test_peak_report_as_mprof_peak(step, any_py):
    dat, truth, _ = step
    mem = read_dat(dat)["MEM"]
    peak, at = max(mem, key=lambda x: x[0])
    proc = any_py.spy("plot", "-f", "text", dat)
    assert proc.returncode == 0, proc.stderr
    row = next(line for line in proc.stdout.splitlines()
               if line.strip().startswith("RSS"))
    _, got, when, n = row.split()
    assert float(got) == pytest.approx(peak, abs=0.001)
    assert float(when) == pytest.approx(at - mem[0][1], abs=0.002)
    assert int(n) == len(mem)


def check_svg(path):
    """Valid XML, an SVG, its polylines' points inside the plot."""
    root = ET.parse(path).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    return root


def test_svg_plot_in_the_browser(step, any_py, tmp_path, root):
    from browser import Browser, find_chromium
    dat = step[0]
    svg = tmp_path / "plot.svg"
    proc = any_py.spy("plot", dat, "-o", svg)  # options after the files
    assert proc.returncode == 0, proc.stderr
    check_svg(svg)
    mem = read_dat(dat)["MEM"]
    peak = max(m for m, _ in mem)
    assert f"peak {peak:.1f} MiB" in svg.read_text()
    exe = find_chromium()
    if not exe:
        pytest.skip("chromium is not installed: the plot is not checked in "
                    "a browser (apt-get install chromium)")
    b = Browser(exe)
    try:
        b.open(svg.as_uri(), width=1000, height=600)
        shown = b.js("""(() => {
            const box = e => { const r = e.getBoundingClientRect();
                return [r.left, r.top, r.width, r.height]; };
            const dot = document.querySelector('.peak circle');
            return {line: box(document.querySelector('polyline.series')),
                    dot: dot && box(dot),
                    label: document.querySelector('.peak text').textContent};
        })()""")
        _, _, rows = b.screenshot(tmp_path / "plot.png")
    finally:
        b.close()
    # The line spans most of the plot; the marker is drawn, on screen.
    assert shown["line"][2] > 500 and shown["line"][3] > 200, shown
    x, y, w, h = shown["dot"]
    assert 0 < x < 1000 and 0 < y < 600 and w > 5, shown
    assert shown["label"].startswith(f"peak {peak:.1f} MiB"), shown
    # Seen as pixels too: the series' blue, in quantity.
    blue = sum(1 for row in rows for p in row if abs(p[0] - 0x1f) < 24 and
               abs(p[1] - 0x77) < 24 and abs(p[2] - 0xb4) < 24)
    assert blue > 500, blue


def test_multiprocess_pool_one_series_per_child(any_py, tmp_path):
    """-M: each pool worker its own CHLD series, showing its own 30 MiB;
    -C: the program's MEM line sums them (same timestamps)."""
    dat = tmp_path / "pool.dat"
    proc = any_py.spy("timeline", "-M", "-C", "-o", dat,
                      TARGETS / "timeline_pool.py")
    assert proc.returncode == 0, proc.stderr
    truth = json.loads(proc.stdout)
    d = read_dat(dat)
    assert set(truth["workers"]) <= set(d["CHLD"]), (truth, list(d["CHLD"]))
    # Each worker's step over the resident set it read itself just before
    # allocating (the sampler may first see a worker mid-allocation).
    for pid, before in truth["ran"]:
        vals = [m for m, _ in d["CHLD"][pid]]
        assert 28.5 <= max(vals) - before / MIB <= 33, (pid, before, vals)
    mem = dict((t, m) for m, t in d["MEM"])
    for pid, samples in d["CHLD"].items():
        for m, t in samples:
            assert mem[t] >= m, (pid, t)
    # memory_profiler reads the children as we wrote them.
    code = ("import json, sys, mprof\n"
            "d = mprof.read_mprofile_file(sys.argv[1])\n"
            "print(json.dumps({k: [m for m, t in v] "
            "for k, v in d['children'].items()}))\n")
    theirs = json.loads(any_py.py("-c", code, dat).stdout)
    assert {int(k): v for k, v in theirs.items()} == \
        {pid: [m for m, _ in v] for pid, v in d["CHLD"].items()}


def children_run(any_py, tmp_path, flag):
    """A run of the target whose children come and go: its .dat, read
    independently, and the target's own account."""
    dat = tmp_path / "children.dat"
    proc = any_py.spy("timeline", flag, "-o", dat,
                      TARGETS / "timeline_children.py")
    assert proc.returncode == 0, proc.stderr
    truth = json.loads(proc.stdout)
    a, b, c = sorted(truth["procs"], key=lambda p: p.get("mib", 25))
    assert a["parent"] == b["parent"] == truth["root"], truth
    assert c["parent"] == b["pid"], truth
    return read_dat(dat), truth, (a, b, c)


def test_children_come_and_go_each_its_own_series(any_py, tmp_path):
    """-M: a child found while it lives and read until it ends, then
    another one born later, and that one's own child: each its own series
    showing its own step; the one that ended keeps its series, and has no
    sample after it ended. Without -C the program's series is its own."""
    d, truth, (a, b, c) = children_run(any_py, tmp_path, "-M")
    assert {a["pid"], c["pid"]} <= set(d["CHLD"]), (truth, list(d["CHLD"]))
    # The peaks, as mprof peak, per child too: each child's highest
    # sample and when, from the run's first sample.
    text = any_py.spy("plot", "-f", "text", tmp_path / "children.dat")
    assert text.returncode == 0, text.stderr
    t0 = min([t for _, t in d["MEM"]] +
             [t for v in d["CHLD"].values() for _, t in v])
    for pid, v in d["CHLD"].items():
        peak, at = max(v, key=lambda x: x[0])
        row = re.search(rf"RSS of child {pid} +([\d.]+) +([\d.]+) +(\d+)",
                        text.stdout)
        assert row, text.stdout
        assert float(row[1]) == pytest.approx(peak, abs=0.001)
        assert float(row[2]) == pytest.approx(at - t0, abs=0.002)
        assert int(row[3]) == len(v)
    # While each held its block, its series is its resident set as it read
    # it itself, within 5% of the block.
    for p in (a, c):
        held = [m for m, t in d["CHLD"][p["pid"]] if p["t2"] <= t <= p["t3"]]
        assert held, (p, d["CHLD"][p["pid"]])
        for m in held:
            assert abs(m - p["rss"] / MIB) <= 0.05 * p["mib"], (p, held)
    # a ended (and was reaped) before b was born, so before c allocated.
    assert d["CHLD"][a["pid"]][-1][1] < c["t1"], (truth, d["CHLD"])
    mem = [m for m, t in d["MEM"] if truth["start"] <= t <= truth["done"]]
    assert max(mem) - min(mem) < 5, mem


def test_include_children_sums_them_as_they_come(any_py, tmp_path):
    """-C alone: no CHLD lines; while a child holds its memory the
    program's series is its own plus the children's resident sets (as
    each read it itself), within 5%; once the children are gone it is the
    program's own again."""
    d, truth, (a, b, c) = children_run(any_py, tmp_path, "-C")
    assert not d["CHLD"]
    mem = d["MEM"]
    base = [m for m, t in mem if t < truth["start"]][-1]
    for kids, (t2, t3) in (([a], (a["t2"], a["t3"])),
                           ([b, c], (c["t2"], c["t3"]))):
        step = sum(k["rss"] / MIB for k in kids)
        held = [m for m, t in mem if t2 <= t <= t3]
        assert held, (truth, mem)
        for m in held:
            assert abs(m - base - step) <= 0.05 * step, (m, base, step)
    # Until the program is done: its teardown is not its steady state.
    after = [m for m, t in mem if truth["end"] < t <= truth["done"]]
    assert after, (truth, mem)
    assert [m for m in after if abs(m - base) >= 2] == [], (base, after)


def test_reads_mprof_runs_and_overlays(step, any_py, tmp_path):
    """A .dat that mprof run wrote is read back (its peak as mprof's
    reader gives it) and overlaid with ours, as mprof plot a.dat b.dat."""
    mprof = Path(any_py.python).parent / "mprof"
    theirs = tmp_path / "theirs.dat"
    code = "b = bytearray(30 << 20); import time; time.sleep(0.3)"
    proc = any_py.run([mprof, "run", "-T", "0.02", "-o", theirs,
                       any_py.python, "-c", code])
    assert proc.returncode == 0, proc.stderr
    reader = ("import json, sys, mprof\n"
              "print(max(mprof.read_mprofile_file(sys.argv[1])"
              "['mem_usage']))\n")
    peak = float(any_py.py("-c", reader, theirs).stdout)
    text = any_py.spy("plot", "-f", "text", theirs)
    assert text.returncode == 0, text.stderr
    row = next(r for r in text.stdout.splitlines() if "RSS" in r)
    assert float(row.split()[1]) == pytest.approx(peak, abs=0.001)
    svg = tmp_path / "both.svg"
    proc = any_py.spy("plot", "-o", svg, step[0], theirs)
    assert proc.returncode == 0, proc.stderr
    root = check_svg(svg)
    ns = "{http://www.w3.org/2000/svg}"
    assert len(root.findall(f".//{ns}polyline")) == 2
    assert len(root.findall(f".//{ns}g[@class='peak']")) == 2
    legend = " ".join(t.text or "" for t in root.iter(f"{ns}text"))
    assert "step.dat" in legend and "theirs.dat" in legend


def test_without_o_writes_mprofs_name_and_plot_finds_it(any_py, tmp_path):
    proc = any_py.spy("timeline", "-c", "pass", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    (dat,) = tmp_path.glob("mprofile_*.dat")
    assert len(dat.stem) == len("mprofile_YYYYmmddHHMMSS")
    proc = any_py.spy("plot", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    check_svg(dat.with_suffix(".svg"))


@pytest.mark.parametrize("args, needles", [
    (["-i", "0.5ms"], ["-i/--interval", "0.5ms"]),
    (["-i", "0"], ["-i/--interval"]),
    (["-T", "0.2ms"], ["-i/--interval", "0.2ms"]),  # mprof's spelling
    (["--interval", "fast"], ["fast"]),
    (["-p", "999999999"], ["-p/--pid"]),
    (["-f", "lprof"], ["cannot hold a memory timeline"]),
    (["-o", "x.prof"], ["cannot hold a memory timeline"]),
    (["-o", "/nonexistent/x.dat"], ["/nonexistent"]),
])
def test_bad_input_refused_before_the_run(any_py, tmp_path, args, needles):
    mark = tmp_path / "ran"
    proc = any_py.spy("timeline", *args, "--", any_py.python, "-c", MARK,
                      mark, cwd=tmp_path)
    one_error(proc, 2, *needles)
    assert not mark.exists()


def test_bad_input_of_plot_and_pid(any_py, tmp_path):
    gone = subprocess.Popen(["true"])
    gone.wait()
    one_error(any_py.spy("timeline", "-p", gone.pid), 2, "no process")
    junk = tmp_path / "junk.dat"
    junk.write_bytes(b"MEM 12.5 1795476171.2\nMEM 1e999 1795476171.3\n")
    one_error(any_py.spy("plot", junk, "-o", tmp_path / "x.svg"), 2,
              "junk.dat", "line 2: bad memory value")
    binary = tmp_path / "bin.dat"
    binary.write_bytes(bytes(range(256)) * 4)
    one_error(any_py.spy("plot", binary), 2, "not an mprof .dat file")
    one_error(any_py.spy("plot", tmp_path / "missing.dat"), 2,
              "cannot read", "missing.dat")
    one_error(any_py.spy("plot", "-o", tmp_path / "x.lprof", junk), 2,
              "cannot hold a memory timeline")
    # Regression: several runs into one .dat wrote the first alone.
    one_error(any_py.spy("plot", "-o", tmp_path / "x.dat", junk, binary), 2,
              "a .dat holds one run, not 2")
    assert not (tmp_path / "x.dat").exists()
    assert not (tmp_path / "x.svg").exists()


READY_SLEEP = "print('ready', flush=True); import time; time.sleep(30)"


def test_sigterm_still_writes_the_file(any_py, tmp_path):
    dat = tmp_path / "t.dat"
    proc = subprocess.Popen(
        [any_py.spyglass, "timeline", "-o", dat, "--", any_py.python, "-c",
         READY_SLEEP], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env=any_py.env)
    assert proc.stdout.readline() == "ready\n"
    proc.terminate()
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert read_dat(dat)["MEM"], err
    assert "wrote" in err


def test_program_keeps_its_stdio_and_exit_status(any_py, tmp_path):
    code = ("import sys; data = sys.stdin.read()\n"
            "print(data.upper()); print('to stderr', file=sys.stderr)\n"
            "sys.exit(7)")
    dat = tmp_path / "io.dat"
    proc = any_py.spy("timeline", "-o", dat, "--", any_py.python, "-c",
                      code, input="from stdin")
    assert proc.returncode == 7, proc.stderr
    assert proc.stdout == "FROM STDIN\n"
    assert proc.stderr.startswith("to stderr\n"), proc.stderr
    assert read_dat(dat)["MEM"]


def test_terminal_ctrl_c_still_writes_the_file(any_py, tmp_path):
    """Ctrl-C on a terminal (SIGINT to spyglass and the program): the
    program gets its KeyboardInterrupt, the file is written."""
    from terminal import run_on_pty
    dat = tmp_path / "c.dat"
    text = run_on_pty([any_py.spyglass, "timeline", "-o", str(dat), "--",
                       any_py.python, "-c", READY_SLEEP], any_py.env,
                      answer=(b"ready", b"\x03"), timeout=60)
    assert "KeyboardInterrupt" in text and "wrote" in text, text
    assert read_dat(dat)["MEM"], text


def test_attach_to_a_pid_until_it_ends(any_py, tmp_path):
    target = subprocess.Popen(
        [any_py.python, "-c",
         "print('ready', flush=True); import time; "
         "b = bytearray(20 << 20); time.sleep(0.4)"],
        stdout=subprocess.PIPE, text=True)
    assert target.stdout.readline() == "ready\n"
    dat = tmp_path / "p.dat"
    proc = any_py.spy("timeline", "-p", target.pid, "-i", "5ms", "-o", dat)
    target.wait()
    assert proc.returncode == 0, proc.stderr
    d = read_dat(dat)
    assert d["MEM"] and "python" in d["CMDLINE"], d
    assert max(m for m, _ in d["MEM"]) > 20


def test_exec_between_samples_does_not_end_the_run(any_py, tmp_path):
    """Regression: a process between the two images of an exec reads zero
    resident pages for a moment; that once ended the sampling at a
    launcher's exec, with no sample of the program it started."""
    dat = tmp_path / "e.dat"
    code = "import time; b = bytearray(40 << 20); time.sleep(0.3)"
    sh = shutil.which("sh")
    proc = any_py.spy("timeline", "-i", "1ms", "-o", dat, "--", sh, "-c",
                      f'exec "{any_py.python}" -c "{code}"')
    assert proc.returncode == 0, proc.stderr
    mem = read_dat(dat)["MEM"]
    assert max(m for m, _ in mem) > 40, mem[-5:]
    # -i 1ms is kept: every 1 ms deadline of the run is accounted for
    # (sampled on time or late, or counted missed), whatever the load.
    m = re.search(r"in ([\d.]+) s, every 1 ms \((\d+) on time, (\d+) late, "
                  r"(\d+) missed\)", proc.stderr)
    assert m, proc.stderr
    secs, *ticks = float(m.group(1)), *map(int, m.groups()[1:])
    assert abs(sum(ticks) - secs * 1000) <= 6, proc.stderr
    # The samples counted are those read (not the exec's empty moment).
    n = int(re.search(r"timeline: (\d+) samples in", proc.stderr)[1])
    assert n == len(mem), proc.stderr


def test_a_program_too_short_to_sample_is_still_plotted(any_py, tmp_path):
    """Regression: `true` may end before its first sample; the .dat then
    holds its CMDLINE alone, which spyglass plot refused as not mprof's."""
    dat = tmp_path / "t.dat"
    proc = any_py.spy("timeline", "-o", dat, "--", "true")
    assert proc.returncode == 0, proc.stderr
    only = tmp_path / "only.dat"
    only.write_text("CMDLINE true\n")
    for f in (dat, only):
        proc = any_py.spy("plot", "-o", tmp_path / "t.svg", f)
        assert proc.returncode == 0, proc.stderr
        check_svg(tmp_path / "t.svg")


def test_pss_and_swap_from_smaps_rollup(any_py, tmp_path):
    """--pss: RSS, PSS and swap series from smaps_rollup, in the JSON; a
    private allocation raises PSS as much as RSS, and PSS never exceeds
    RSS."""
    if not Path("/proc/self/smaps_rollup").exists():
        pytest.skip("this kernel has no smaps_rollup")
    out = tmp_path / "p.json"
    code = ("import time; time.sleep(0.1); b = bytearray(30 << 20)\n"
            "for i in range(0, len(b), 4096): b[i] = 1\n"
            "time.sleep(0.2)")
    proc = any_py.spy("timeline", "--pss", "-o", out, "-c", code)
    assert proc.returncode == 0, proc.stderr
    (run,) = json.loads(out.read_text())["runs"]
    kinds = {s["kind"]: s for s in run["series"]}
    assert set(kinds) == {"RSS", "PSS", "swap"}
    rss, pss = kinds["RSS"]["bytes"], kinds["PSS"]["bytes"]
    assert len(rss) == len(pss) == len(kinds["swap"]["bytes"]) > 5
    assert all(p <= r for p, r in zip(pss, rss))
    assert max(rss) - min(rss) >= 29 * MIB
    assert max(pss) - min(pss) >= 29 * MIB


def test_duration_writes_the_file_while_the_program_runs_on(any_py,
                                                            tmp_path):
    """Regression: with -d the file was written only once the program
    ended. The program waits for the file to exist, then exits 3."""
    dat = tmp_path / "d.dat"
    code = ("import os, sys, time\n"
            "while not os.path.exists(sys.argv[1]): time.sleep(0.01)\n"
            "sys.exit(3)\n")
    proc = any_py.spy("timeline", "-d", "0.2", "-o", dat, "-c", code, dat,
                      timeout=60)
    assert proc.returncode == 3, proc.stderr
    assert read_dat(dat)["MEM"]
