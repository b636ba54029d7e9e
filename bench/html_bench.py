"""The HTML report's size and load-to-interactive time in headless
Chromium, for a big profile and next to the peers' HTML.

  1. A big sampled profile: 1,000,000 samples over 50,000 distinct frames
     (each its own function, in 2,009 files; a random call tree of
     --nodes nodes, seeded, written as folded stacks), made into a report by `spyglass report`: the file's size,
     the time to write it, and in headless Chromium (tests/browser.py)
     the time from navigation start to the report being interactive
     (performance.now() when its script has drawn the first view), median
     of --repeat loads; then a zoom (a click on the widest frame) and a
     search, each timed in the page.
  2. One program (examples/julia.py 300 300) profiled by each tool, each
     writing its own HTML: spyglass profile -o X.html, pyinstrument -r
     html, and SnakeViz (which writes no file: its page is served by its
     own server from a pstats file; we time that page's load, server
     start excluded) when they are installed in .bench/venv
     (pip install pyinstrument snakeviz): size and load time, measured
     alike (loadEventFired, then performance.now() once the page's
     work is done: for pyinstrument and SnakeViz, when their first
     view's elements exist).

usage: python bench/html_bench.py [--exe build/spyglass] [--repeat 5]
           [--nodes 120000]
"""
import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

from benchlib import ROOT, machine, median

sys.path.insert(0, str(ROOT / "tests"))
from browser import Browser, find_chromium  # noqa: E402

FRAMES = 50_000
SAMPLES = 1_000_000


def big_folded(path, nodes, seed=1):
    """Folded stacks of a random call tree: nodes nodes over FRAMES
    distinct frames (each used at least once), SAMPLES samples on the
    leaves and some inner nodes, heavy-tailed."""
    rnd = random.Random(seed)
    frames = [f"fn_{i} (/src/app/pkg{i % 41}/mod{i // 41 % 49}.py:"
              f"{10 + i % 900})" for i in range(FRAMES)]
    rnd.shuffle(frames)
    parent, depth, frame = [-1], [0], [None]
    for i in range(1, nodes):
        # Mostly under a recent node (depth), sometimes anywhere (width).
        p = rnd.randrange(max(0, i - 40), i) if rnd.random() < 0.7 \
            else rnd.randrange(0, i)
        if depth[p] >= 60:
            p = rnd.randrange(0, i)
        parent.append(p)
        depth.append(depth[p] + 1)
        frame.append(frames[(i - 1) % FRAMES])
    weight = [rnd.paretovariate(1.2) for _ in range(nodes)]
    scale = SAMPLES / sum(weight[1:])
    counts = [int(w * scale) for w in weight]
    counts[0] = 0
    counts[1] += SAMPLES - sum(counts)
    paths = [None] * nodes
    paths[0] = ""
    with open(path, "w") as f:
        for i in range(1, nodes):
            pp = paths[parent[i]]
            paths[i] = frame[i] if not pp else pp + ";" + frame[i]
            if counts[i]:
                f.write(f"{paths[i]} {counts[i]}\n")


def load(b, url, ready_js, timeout=60.0):
    """ms from navigation start until ready_js is true in the page."""
    b.open(url)
    t_end = time.monotonic() + timeout
    while time.monotonic() < t_end:
        v = b.js(f"(function () {{ return ({ready_js}) ? "
                 "performance.now() : null; })()")
        if v is not None:
            return v
        time.sleep(0.02)
    raise RuntimeError(f"{url}: not ready in {timeout} s")


def spyglass_ready(b, url):
    b.open(url)
    return b.js("window.spyglass.readyAt")


def interactions(b):
    """ms of a zoom (on the widest frame under the root) and a search."""
    zoom = b.js("(function () { var t = performance.now(); var r = "
                "spyglass.locate('fn_'); var c = document.getElementById("
                "'flame'); c.dispatchEvent(new MouseEvent('click', {clientX:"
                " r.x, clientY: r.y, bubbles: true})); return "
                "performance.now() - t; })()")
    search = b.js("(function () { var t = performance.now(); var s = "
                  "document.getElementById('search'); s.value = 'fn_1'; "
                  "s.dispatchEvent(new Event('input')); return "
                  "performance.now() - t; })()")
    return zoom, search


def big(b, exe, tmp, repeat, nodes):
    folded = tmp / "big.folded"
    big_folded(folded, nodes)
    out = tmp / "big.html"
    t = time.perf_counter()
    subprocess.run([exe, "report", "-o", out, folded], check=True,
                   stderr=subprocess.DEVNULL)
    write_s = time.perf_counter() - t
    loads = [spyglass_ready(b, out.as_uri()) for _ in range(repeat)]
    zoom, search = interactions(b)
    print(f"## big profile: {SAMPLES:,} samples, {FRAMES:,} frames, "
          f"{nodes:,} tree nodes")
    print(f"folded input: {folded.stat().st_size / 1e6:.1f} MB")
    print(f"report: {out.stat().st_size / 1e6:.2f} MB, written in "
          f"{write_s:.2f} s")
    print(f"load to interactive: median {median(loads):.0f} ms "
          f"(of {repeat}: {', '.join(f'{x:.0f}' for x in loads)})")
    print(f"zoom {zoom:.0f} ms, search {search:.0f} ms")


def peers(b, exe, tmp, repeat, venv):
    prog = [str(ROOT / "examples" / "julia.py"), "300", "300"]
    py = str(venv / "bin" / "python")
    rows = []
    out = tmp / "julia-spyglass.html"
    subprocess.run([exe, "profile", "--python", py, "-o", out, *prog],
                   check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    rows.append(("spyglass profile -o X.html", out.stat().st_size,
                 [spyglass_ready(b, out.as_uri()) for _ in range(repeat)]))
    pyi = venv / "bin" / "pyinstrument"
    if pyi.exists():
        out = tmp / "julia-pyinstrument.html"
        subprocess.run([pyi, "-r", "html", "-o", out, *prog], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        ready = "document.querySelector('.app-body, .call-stack-view, " \
                "#app *') !== null"
        rows.append(("pyinstrument -r html", out.stat().st_size,
                     [load(b, out.as_uri(), ready) for _ in range(repeat)]))
    sv = venv / "bin" / "snakeviz"
    if sv.exists():
        stats = tmp / "julia.pstats"
        subprocess.run([py, "-m", "cProfile", "-o", stats, *prog],
                       check=True, stdout=subprocess.DEVNULL)
        port = 18765
        server = subprocess.Popen([sv, "-s", "-p", str(port), stats],
                                  stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        try:
            time.sleep(2.0)  # the server's start is not the page's load
            url = (f"http://127.0.0.1:{port}/snakeviz/"
                   f"{quote(str(stats), safe='')}")
            ready = "document.querySelector('#chart svg rect') !== null " \
                    "&& document.querySelector('#pstats-table tbody tr') " \
                    "!== null"
            loads = [load(b, url, ready) for _ in range(repeat)]
            # The page and every script and style it fetched.
            size = b.js("performance.getEntriesByType('navigation').concat("
                        "performance.getEntriesByType('resource')).reduce("
                        "function (s, e) { return s + e.decodedBodySize; }, "
                        "0)")
            rows.append(("SnakeViz (page and its scripts, from its "
                         "server)", size, loads))
        finally:
            server.terminate()
            server.wait()
    print("## one program (examples/julia.py 300 300), each tool's HTML")
    print("| tool | size | load to interactive (median) |")
    print("|---|---|---|")
    for name, size, loads in rows:
        print(f"| {name} | {size / 1e3:.0f} kB | {median(loads):.0f} ms |")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--exe", default=str(ROOT / "build" / "spyglass"))
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--nodes", type=int, default=120_000)
    ap.add_argument("--venv", default=str(ROOT / ".bench" / "venv"))
    ap.add_argument("--skip-peers", action="store_true")
    a = ap.parse_args()
    chromium = find_chromium()
    if not chromium:
        sys.exit("chromium is not installed")
    print(machine())
    tmp = Path(tempfile.mkdtemp(prefix="sg-html-bench-"))
    b = Browser(chromium)
    try:
        big(b, a.exe, tmp, a.repeat, a.nodes)
        venv = Path(a.venv)
        if not a.skip_peers and (venv / "bin" / "python").exists():
            peers(b, a.exe, tmp, a.repeat, venv)
    finally:
        b.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
