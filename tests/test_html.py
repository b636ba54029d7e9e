"""The HTML report: its embedded numbers against the oracles, its names
escaped, and every view used in a real browser.

The report is one file whose JSON document (a <script type=
"application/json"> element) the tests parse as any JSON: its function
table must be the text writer's on the same profile (one spyglass.profile
rendered both ways) and pstats' own on a pstats file `spyglass report`
reads. Headless Chromium (tests/browser.py) opens the file from file://
and the tests click, type and read the page as a person would (zoom,
breadcrumb, search, sort, filter, callers, threads, source, memory);
any exception or console error of the page fails the test, and names
made of XSS payloads must come out as text, never run. Without Chromium
the browser tests skip, saying so. Screenshots of each view are saved in
the test's directory. The Python version does not matter to the page:
every test runs on one (any_py).
"""
import json
import os
import re
import shutil
import textwrap

import pytest

from browser import Browser, find_chromium
from conftest import one_error

VIEW_W, VIEW_H = 1280, 800
SHOTS = os.environ.get("SPYGLASS_HTML_SHOTS")  # also copy screenshots here

# Two threads under distinct functions, a leaf called from two places, a
# recursion: the flame graph, callers and the thread selector have
# something to show.
THREADS = textwrap.dedent('''
    import threading

    def leaf(n):
        s = 0
        for i in range(n):
            s += i
        return s

    def alpha():
        for _ in range(30):
            leaf(20000)

    def beta():
        for _ in range(10):
            leaf(20000)

    def rec(n):
        return leaf(1000) if n == 0 else rec(n - 1)

    def worker():
        for _ in range(20):
            beta()

    def main():
        t = threading.Thread(target=worker, name="worker")
        t.start()
        alpha()
        rec(5)
        t.join()

    main()
''')

# inner (line 3) under outer (line 8), for 0.4 s of CPU.
SPIN = textwrap.dedent('''
    import time
    def inner():
        s = 0
        for i in range(3000):
            s += i
        return s
    def outer():
        t = time.thread_time()
        while time.thread_time() - t < 0.4:
            inner()
    outer()
''')

# Functions and files named after XSS payloads and control characters.
PAYLOADS = [
    "<script>alert('name')</script>",
    "\"'><img src=x onerror=alert('attr')>",
    "</script><script>alert('close')</script>",
    "]]><!-- x --><svg onload=alert('cdata')>",
    "ctl\x01\x07\x1b[31m\u2028end",
]
XSS = textwrap.dedent('''
    import sys
    PAYLOADS = %r
    SRC = "def f():\\n    s = 0\\n    for i in range(30000):\\n        s += i\\n    return s\\n"
    for name in PAYLOADS:
        ns = {}
        exec(compile(SRC, name + ".py", "exec"), ns)
        f = ns["f"]
        kw = {"co_name": name}
        if sys.version_info >= (3, 11):
            kw["co_qualname"] = name
        f.__code__ = f.__code__.replace(**kw)
        f()
''' % (PAYLOADS,))


def document(path):
    """The report's embedded JSON document."""
    text = path.read_text(encoding="utf-8")
    m = re.search(r'<script type="application/json" id="sg-data">(.*?)'
                  r'</script>', text, re.S)
    assert m, "no data element"
    return json.loads(m.group(1))


def unpack(doc, table=None):
    """A table's rows [(key, (nc, cc, tt, ct))] and edges [(caller row,
    callee row, (nc, cc, tt, ct))], times in seconds (an edge's tt is 0
    in a table without calls, which leaves it out); a key is (file, line,
    name)."""
    t = table or doc["stats"]
    S, k = doc["strings"], doc["stats_spu"]
    F = doc["funcs"] + doc.get("xfuncs", [])
    calls = t["calls"]
    w, ew = (6, 5) if calls else (4, 2)
    r, e = t["rows"], t["edges"]
    rows, edges, at = [], [], 0
    for i in range(0, len(r), w):
        fi, c = r[i], r[i + 2:i + w]
        rows.append(((S[F[3 * fi + 1]], F[3 * fi + 2], S[F[3 * fi]]),
                     (c[0], c[1], c[2] * k, c[3] * k) if calls else
                     (0, 0, c[0] * k, c[1] * k)))
    for callee, i in enumerate(range(0, len(r), w)):
        for _ in range(r[i + 1]):
            c = e[at + 1:at + ew]
            edges.append((e[at], callee,
                          (c[0], c[1], c[2] * k, c[3] * k) if calls else
                          (0, 0, 0, c[0] * k)))
            at += ew
    assert at == len(e)
    return rows, edges


def rows(doc, table=None):
    """{(file, line, name): (nc, cc, tt, ct)} of a table (seconds)."""
    return dict(unpack(doc, table)[0])


def edges(doc):
    """{(caller key, callee key): (nc, cc, tt, ct)}."""
    rs, es = unpack(doc)
    return {(rs[a][0], rs[b][0]): v for a, b, v in es}


# -- the numbers ------------------------------------------------------------

def test_table_is_the_text_writers(any_py, tmp_path):
    """One profile rendered as text and as HTML: every row of cProfile's
    table (ncalls, tottime, cumtime) is in the report with the same
    numbers, as the table prints them."""
    script = tmp_path / "prog.py"
    script.write_text(THREADS)
    out = tmp_path / "out.json"
    code = textwrap.dedent(f'''
        import json, spyglass
        p = spyglass.profile()
        with p:
            exec(compile(open({str(script)!r}).read(), {str(script)!r},
                         "exec"), {{"__name__": "__main__"}})
        json.dump([p.render("text", sort="cumulative"), p.render("html")],
                  open({str(out)!r}, "w"))
    ''')
    proc = any_py.py("-c", code, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    text, html = json.loads(out.read_text())
    (tmp_path / "r.html").write_text(html)
    doc = document(tmp_path / "r.html")
    got = {}
    for (file, line, name), (nc, cc, tt, ct) in rows(doc).items():
        label = (f"{os.path.basename(file)}:{line}({name})" if file != "~"
                 else "{%s}" % name[1:-1] if name.startswith("<") else name)
        calls = str(nc) if nc == cc else f"{nc}/{cc}"
        got[label] = (calls, f"{tt:.3f}", f"{ct:.3f}")
    table = [ln for ln in text.splitlines()
             if re.match(r"\s+\d+(/\d+)?\s+\d+\.\d{3}\s", ln)]
    assert len(table) >= 8, text
    seen = 0
    for ln in table:
        f = ln.split(None, 5)
        label = f[5]
        if label not in got:  # a builtin whose label differs in brackets
            continue
        assert got[label] == (f[0], f[1], f[3]), (ln, got[label])
        seen += 1
    assert seen >= 6, (table, sorted(got))
    for fn in ("prog.py:4(leaf)", "prog.py:10(alpha)", "prog.py:18(rec)"):
        assert fn in got and fn in text, fn
    assert doc["kind"] == "deterministic"
    assert doc["stats"]["total_calls"] == sum(v[0] for v in rows(doc)
                                              .values())


def test_record_table_is_the_sample_reports(any_py, tmp_path):
    """record -o X.html prints its sample report from the same profile:
    each function's own and total time in it (the samples' weights) are
    the report's; the header's figures (ticks, missed deadlines, errors)
    are in the document."""
    script = tmp_path / "spin.py"
    script.write_text(SPIN)
    out = tmp_path / "r.html"
    proc = any_py.spy("record", "-r", "200", "-o", out, script,
                      cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    doc = document(out)
    meta = dict(doc["meta"])
    assert {"ticks", "errors", "deadlines_missed", "python",
            "command"} <= set(meta)
    got = {}
    for (file, line, name), (_, _, tt, ct) in rows(doc).items():
        got[f"{name} ({file}:{line})"] = (f"{tt:.3f}", f"{ct:.3f}")
    seen = 0
    for ln in proc.stderr.splitlines():
        m = re.match(r"\s+[\d.]+%\s+([\d.]+)s\s+[\d.]+%\s+([\d.]+)s\s+"
                     r"\d+\s+\d+\s+(.*)$", ln)
        if m and m.group(3) in got:
            assert got[m.group(3)] == m.group(1, 2), ln
            seen += 1
    assert seen >= 4, proc.stderr
    assert f"inner ({script}:3)" in got and f"outer ({script}:8)" in got


def pstats_oracle(any_py, path):
    """pstats.Stats(path) as {key: (nc, cc, tt, ct)} and callers."""
    code = ("import pstats, sys, json; s = pstats.Stats(sys.argv[1]); "
            "print(json.dumps([[list(k), [v[1], v[0], v[2], v[3]], "
            "[[list(c), list(x)] for c, x in v[4].items()]] "
            "for k, v in s.stats.items()]))")
    proc = any_py.py("-c", code, str(path))
    assert proc.returncode == 0, proc.stderr
    stats, callers = {}, {}
    for k, v, cs in json.loads(proc.stdout):
        stats[tuple(k)] = tuple(v)
        for c, x in cs:
            callers[(tuple(c), tuple(k))] = (x[0], x[1], x[2], x[3])
    return stats, callers


def close(a, b):
    return all(abs(x - y) <= 1e-9 * max(1.0, abs(y)) for x, y in zip(a, b))


@pytest.mark.parametrize("maker", ["cProfile", "spyglass"])
def test_report_of_a_pstats_file_is_pstats(any_py, tmp_path, maker):
    """`spyglass report` on a pstats file (cProfile's marshal v4, with
    references; spyglass's own): the function table and every caller edge
    are pstats.Stats' numbers, and the flame graph holds the time."""
    script = tmp_path / "prog.py"
    script.write_text(THREADS)
    stats = tmp_path / "prog.pstats"
    if maker == "cProfile":
        proc = any_py.py("-m", "cProfile", "-o", stats, script,
                         cwd=tmp_path)
    else:
        proc = any_py.spy("profile", "-o", stats, script, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    proc = any_py.spy("report", stats, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "prog.html"
    assert "wrote" in proc.stderr and out.exists()
    doc = document(out)
    want, want_callers = pstats_oracle(any_py, stats)
    got = rows(doc)
    assert got.keys() == want.keys()
    for k in want:
        assert got[k][:2] == want[k][:2] and close(got[k][2:], want[k][2:]), \
            (k, got[k], want[k])
    got_e = edges(doc)
    assert got_e.keys() == want_callers.keys()
    for k, v in want_callers.items():
        assert got_e[k][:2] == v[:2] and close(got_e[k][2:], v[2:]), k
    # The tree splits the roots' cumulative time: it holds all of it.
    tree = doc["tree"]
    assert len(tree["u"]) == len(tree["w"])
    roots = sum(v[3] for k, v in want.items()
                if not any(c[1] == k for c in want_callers))
    assert abs(sum(tree["w"]) * 1e-9 - roots) < 1e-6 * max(roots, 1)


def test_report_refuses_bad_input(any_py, tmp_path):
    folded = tmp_path / "a.folded"
    folded.write_text("main (a.py:1);f (a.py:3) 5\n")
    bad = tmp_path / "bad.pstats"
    bad.write_bytes(b"{\xe9\x00\x00")
    spy = any_py.spy
    one_error(spy("report"), 2, "no FILE")
    one_error(spy("report", "--diff", folded), 2, "two files")
    one_error(spy("report", bad), 2, "is not a pstats file")
    one_error(spy("report", tmp_path / "none"), 2, "cannot read")
    one_error(spy("report", "-o", tmp_path / "x.svg", folded), 2,
              "html only")
    one_error(spy("report", folded, bad), 2, "one kind of file")
    (tmp_path / "text.txt").write_text("hello world\n")
    one_error(spy("report", tmp_path / "text.txt"), 2, "folded stacks")
    one_error(spy("dump", "-f", "html", "-p", "1"), 2, "html")
    assert not (tmp_path / "x.svg").exists()


def test_folded_source_embedded_unless_no_source(any_py, tmp_path, browser):
    """Folded stacks name files and lines: the report embeds those lines
    of the files (and a little around them), never whole files; with
    --no-source none. The source view shows each line's own and total
    samples (total: once per stack)."""
    src = tmp_path / "code.py"
    src.write_text("".join(f"x{i} = {i}  # line {i + 1}\n"
                           for i in range(200)))
    folded = tmp_path / "s.folded"
    folded.write_text(f"main ({src}:10);f ({src}:120) 7\n"
                      f"main ({src}:10) 3\n")
    for flags, want in (([], True), (["--no-source"], False)):
        out = tmp_path / f"r{len(flags)}.html"
        proc = any_py.spy("report", *flags, "-o", out, folded)
        assert proc.returncode == 0, proc.stderr
        doc = document(out)
        text = out.read_text()
        assert ("# line 120" in text) == want
        assert "# line 60" not in text  # not the whole file
        assert "lines" not in doc  # the page sums the tree's frames
        b = browser
        open_page(b, out)
        tab(b, "table")
        b.js("Array.from(document.querySelectorAll('#ftable tbody tr'))"
             ".filter(function (r) { return r.textContent.indexOf('(main)')"
             " >= 0; })[0].click()")
        tab(b, "source")
        got = {int(r[0]): r[2:] for r in b.js(
            "Array.from(document.querySelectorAll('#src tbody tr'))"
            ".filter(function (r) { return r.cells.length === 5; })"
            ".map(function (r) { return Array.from(r.cells).map("
            "function (c) { return c.textContent; }); })")}
        assert got[10][:2] == ["3 samples", "10 samples"]
        assert got[120][:2] == ["7 samples", "7 samples"]
        assert ("# line 120" in got[120][2]) == want
        assert page_errors(b) == []


# -- in the browser --------------------------------------------------------

@pytest.fixture(scope="module")
def browser():
    exe = find_chromium()
    if not exe:
        pytest.skip("chromium is not installed: the HTML report is not "
                    "checked in a browser (apt-get install chromium)")
    b = Browser(exe)
    yield b
    b.close()


HOOK = ("window.__xss = []; window.alert = function (m) "
        "{ window.__xss.push(String(m)); };")


def open_page(b, path):
    """Open path from file:// with errors recorded and alert() hooked."""
    if b.session:
        b.call("Target.closeTarget", session=False, targetId=b.target)
    b.target = b.call("Target.createTarget", session=False,
                      url="about:blank")["targetId"]
    b.session = b.call("Target.attachToTarget", session=False,
                       targetId=b.target, flatten=True)["sessionId"]
    for domain in ("Page", "Runtime", "Log"):
        b.call(domain + ".enable")
    b.call("Page.addScriptToEvaluateOnNewDocument", source=HOOK)
    b.call("Emulation.setDeviceMetricsOverride", width=VIEW_W,
           height=VIEW_H, deviceScaleFactor=1, mobile=False)
    b._events.clear()
    b.call("Page.navigate", url=path.as_uri())
    b.wait_event("Page.loadEventFired")
    assert b.js("window.spyglass && window.spyglass.ready") is True


def page_errors(b):
    """Exceptions and console errors of the page so far."""
    b.js("1")  # read the events sent before this
    errs = []
    for ev in b._events:
        m, p = ev.get("method"), ev.get("params", {})
        if m == "Runtime.exceptionThrown":
            errs.append(p["exceptionDetails"])
        elif m == "Runtime.consoleAPICalled" and p.get("type") in (
                "error", "assert"):
            errs.append(p)
        elif m == "Log.entryAdded" and p["entry"]["level"] == "error":
            errs.append(p["entry"])
    return errs


def shot(b, tmp_path, name):
    path = tmp_path / f"{name}.png"
    b.screenshot(path)
    if SHOTS:
        os.makedirs(SHOTS, exist_ok=True)
        shutil.copy(path, os.path.join(SHOTS, path.name))


def click(b, selector):
    r = b.js(f"(function () {{ var e = document.querySelector({selector!r});"
             " e.scrollIntoView({block: 'center'}); var r = "
             "e.getBoundingClientRect(); return [r.left + r.width / 2, "
             "r.top + r.height / 2]; })()")
    b.mouse(r[0], r[1], click=True)


def tab(b, view):
    click(b, f'#tabs button[data-view="{view}"]')
    assert b.js(f"document.getElementById('view-{view}')"
                ".classList.contains('on')")


def texts(b, selector):
    return b.js(f"Array.from(document.querySelectorAll({selector!r}))"
                ".map(function (e) { return e.textContent; })")


def test_views(any_py, tmp_path, browser):
    """A two-thread profile: the flame graph zooms on a click and back by
    the breadcrumb, search reports the matched share, the thread selector
    shows one thread with its own table; the table sorts and filters;
    selecting a function lists its callers and callees."""
    script = tmp_path / "prog.py"
    script.write_text(THREADS)
    out = tmp_path / "prog.html"
    proc = any_py.spy("profile", "-o", out, script, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    doc = document(out)
    b = browser
    open_page(b, out)
    facts = b.js("document.getElementById('facts').textContent")
    assert "calls" in facts and "Python" in facts and "prog.py" in facts
    shot(b, tmp_path, "flame")

    # Zoom: click alpha's frame, the view is alpha's; the breadcrumb's
    # first link goes back to everything.
    at = b.js("spyglass.locate('alpha')")
    assert at and at["width"] > 20
    b.mouse(at["x"], at["y"], click=True)
    assert b.js("spyglass.view()").startswith("alpha (prog.py:10)")
    assert texts(b, "#crumbs a")[-1].startswith("alpha")
    wide = b.js("spyglass.locate('leaf')")
    assert wide["width"] > 0.9 * at["width"]  # leaf fills alpha now
    shot(b, tmp_path, "flame-zoomed")
    click(b, "#crumbs a")
    assert b.js("spyglass.view()") == "all"

    # Search: the matched share is leaf's stacks' share of all time.
    click(b, "#search")
    b.type("^leaf")
    matched = b.js("document.getElementById('matched').textContent")
    want = leaf_share(doc)
    assert matched == f"Matched: {100 * want:.2f}%", (matched, want)
    b.js("var s = document.getElementById('search'); s.value = ''; "
         "s.dispatchEvent(new Event('input'))")

    # Threads: the worker's root, and its own table (no alpha in it).
    options = texts(b, "#thread option")
    assert len(options) == 3 and any(o.startswith("worker") for o in options)
    b.js("var s = document.getElementById('thread'); s.value = "
         "Array.from(s.options).filter(function (o) { return "
         "o.textContent.indexOf('worker') === 0; })[0].value; "
         "s.dispatchEvent(new Event('change'))")
    assert b.js("spyglass.view()").startswith("worker")
    assert b.js("spyglass.locate('alpha')") is None
    assert b.js("spyglass.locate('beta')") is not None
    tab(b, "table")
    names = texts(b, "#ftable tbody td.fn")
    assert any("(beta)" in n for n in names)
    assert not any("(alpha)" in n for n in names)
    b.js("var s = document.getElementById('thread'); s.value = '0'; "
         "s.dispatchEvent(new Event('change'))")

    # Sort by ncalls (descending, then ascending), filter.
    tab(b, "table")
    click(b, '#ftable th[data-key="nc"]')
    calls = [int(c.split("/")[0]) for c in
             texts(b, "#ftable tbody tr td:first-child")]
    assert calls == sorted(calls, reverse=True) and len(calls) > 5
    click(b, '#ftable th[data-key="nc"]')
    calls = [int(c.split("/")[0]) for c in
             texts(b, "#ftable tbody tr td:first-child")]
    assert calls == sorted(calls)
    click(b, "#filter")
    b.type("leaf")
    names = texts(b, "#ftable tbody td.fn")
    assert names and all("leaf" in n for n in names)

    # Select leaf: its callers are alpha, beta and rec, shares adding up.
    click(b, "#ftable tbody tr")
    callers = texts(b, "#callers tbody td.fn")
    assert {c.split("(")[1].rstrip(")") for c in callers} == \
        {"alpha", "beta", "rec"}
    shares = [float(s.rstrip("%")) for s in
              texts(b, "#callers tbody tr td:first-child")]
    assert abs(sum(shares) - 100) < 0.1
    assert texts(b, "#callees tbody td.fn") == ["none"] or all(
        "built-in" in c or "<" in c for c in texts(b, "#callees tbody td.fn"))
    shot(b, tmp_path, "table")
    # Selected in the flame graph too (drawn in the selection's colour).
    tab(b, "flame")
    assert b.js("spyglass.selected()") == f"{script}:4(leaf)"
    at = b.js("spyglass.locate('leaf')")
    _, _, px = b.screenshot(tmp_path / "selected.png")
    assert px[int(at["y"])][int(at["x"])] == (0x4f, 0x8f, 0xe0)
    # The flame orientation: the root row moves to the bottom.
    top = b.js("spyglass.locate('all').y")
    click(b, "#orient")
    assert b.js("spyglass.locate('all').y") > top
    assert page_errors(b) == []
    assert b.js("window.__xss") == []


def test_deep_recursion(any_py, tmp_path, browser):
    """A 3,000-deep recursion: the report keeps every frame (the table's
    numbers are exact), and the page draws the first 1,600 rows of it on
    a canvas a browser can hold, the rest a zoom away."""
    script = tmp_path / "deep.py"
    script.write_text(textwrap.dedent('''
        import sys
        sys.setrecursionlimit(10000)
        def down(n):
            return sum(range(20000)) if n == 0 else down(n - 1)
        down(3000)
    '''))
    out = tmp_path / "deep.html"
    proc = any_py.spy("profile", "-o", out, script, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    doc = document(out)
    down = [v for k, v in rows(doc).items() if k[2] == "down"]
    assert down and down[0][:2] == (3001, 1)
    b = browser
    open_page(b, out)
    assert b.js("document.getElementById('flame').height") <= 32767
    assert b.js("spyglass.locate('down')") is not None
    assert page_errors(b) == []


def leaf_share(doc):
    """The share of all weight in stacks through leaf, from the tree."""
    S, F, FR, t = doc["strings"], doc["funcs"], doc["frames"], doc["tree"]
    total, matched, skip_below = sum(t["w"]), 0, None
    # A node's total is its own weight plus its subtree's (preorder).
    n = len(t["f"])
    t["d"] = [0] * n
    for i in range(1, n):
        t["d"][i] = t["d"][i - 1] + 1 - t["u"][i]
    tot = list(t["w"])
    parent, stack = [-1] * n, []
    for i in range(n):
        while stack and t["d"][stack[-1]] >= t["d"][i]:
            stack.pop()
        parent[i] = stack[-1] if stack else -1
        stack.append(i)
    for i in range(n - 1, 0, -1):
        tot[parent[i]] += tot[i]
    for i in range(n):
        if skip_below is not None and t["d"][i] > skip_below:
            continue
        skip_below = None
        fr = t["f"][i]
        if fr >= 0 and S[F[3 * FR[2 * fr]]] == "leaf":
            matched += tot[i]
            skip_below = t["d"][i]
    return matched / total


def test_source_and_lines(any_py, tmp_path, browser):
    """A line profile: the table lists the profiled functions, selecting
    one shows its source with each line's hits, the hot line in heat."""
    script = tmp_path / "lp.py"
    script.write_text(textwrap.dedent('''
        def work(n):
            s = 0
            for i in range(n):
                s += i * i
            return s

        work(200000)
    '''))
    out = tmp_path / "lp.html"
    proc = any_py.spy("lines", "-o", out, script, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    b = browser
    open_page(b, out)
    tab(b, "table")
    click(b, "#ftable tbody tr")
    tab(b, "source")
    row = {}
    for tr in b.js("Array.from(document.querySelectorAll('#src tbody tr'))"
                   ".map(function (r) { return Array.from(r.cells).map("
                   "function (c) { return c.textContent; }); })"):
        if len(tr) == 5:
            row[int(tr[0])] = tr
    assert "for i in range(n):" in row[4][4]
    assert row[5][1] == "200000" and "s += i * i" in row[5][4]
    heat = b.js("getComputedStyle(Array.from(document.querySelectorAll("
                "'#src tbody tr')).filter(function (r) { return "
                "r.cells[0].textContent === '5'; })[0].cells[4])"
                ".backgroundColor")
    assert heat.startswith("rgba(230, 60, 30")
    shot(b, tmp_path, "source")
    assert page_errors(b) == []
    # --no-source: the numbers stay, the code is not in the file.
    bare = tmp_path / "bare.html"
    proc = any_py.spy("lines", "--no-source", "-o", bare, script,
                      cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "range(n)" in out.read_text() and \
        "range(n)" not in bare.read_text()
    doc = document(bare)
    assert doc["sources"] == [] and len(doc["lines"]) >= 15


def test_memory_view(any_py, tmp_path, browser):
    """memory -o X.html --timeline T: memory_profiler's columns per line
    with the source, and the timeline drawn (heap and RSS, the selected
    function's bracket)."""
    script = tmp_path / "mem.py"
    script.write_text(textwrap.dedent('''
        def grow():
            keep = [bytearray(100000) for _ in range(50)]
            return len(keep)

        grow()
    '''))
    out = tmp_path / "mem.html"
    proc = any_py.spy("memory", "-o", out, "--timeline", tmp_path / "t.dat",
                      script, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    doc = document(out)
    kinds = {s["kind"] for s in doc["timeline"]["series"]}
    assert {"RSS", "heap"} <= kinds, kinds
    assert any(f[0].endswith("grow") for f in doc["timeline"]["funcs"])
    b = browser
    open_page(b, out)
    assert b.js("document.querySelector('#tabs button[data-view=memory]')"
                ".hidden") is False
    tab(b, "memory")
    cells = b.js("Array.from(document.querySelectorAll('#memtable tbody tr'"
                 ")).map(function (r) { return Array.from(r.cells).map("
                 "function (c) { return c.textContent; }); })")
    line3 = [c for c in cells if c[1] == "3"]
    assert line3 and "bytearray(100000)" in line3[0][7]
    assert line3[0][3].endswith("MiB")  # ~4.8 MiB allocated
    assert [c[1] for c in cells] == sorted((c[1] for c in cells), key=int)
    assert b.js("document.querySelectorAll('#memchart polyline').length") \
        == len(doc["timeline"]["series"])
    assert any(t.endswith("grow") or "grow " in t
               for t in texts(b, "#memchart text"))
    shot(b, tmp_path, "memory")
    assert page_errors(b) == []
    # The .dat alone, through plot: a report of the timeline.
    plot = tmp_path / "plot.html"
    proc = any_py.spy("plot", "-o", plot, tmp_path / "t.dat")
    assert proc.returncode == 0, proc.stderr
    assert document(plot)["kind"] == "timeline"
    open_page(b, plot)
    assert b.js("document.getElementById('view-memory').classList"
                ".contains('on')")
    assert b.js("document.querySelectorAll('#memchart polyline').length")
    assert page_errors(b) == []


def test_names_are_text_never_markup(any_py, tmp_path, browser):
    """Functions and files named <script>, quotes, </script>, ]]>, control
    characters: the file parses, nothing runs (alert is hooked, no element
    is added), and each name is shown as the text it is."""
    script = tmp_path / "xss.py"
    script.write_text(XSS)
    out = tmp_path / "xss.html"
    proc = any_py.spy("profile", "-o", out, script, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    raw = out.read_text(encoding="utf-8")
    assert raw.count("</script>") == 2 and "<img" not in raw
    doc = document(out)
    names = {doc["strings"][doc["funcs"][i]]
             for i in range(0, len(doc["funcs"]), 3)}
    assert set(PAYLOADS) <= names
    b = browser
    open_page(b, out)
    tab(b, "table")
    shown = texts(b, "#ftable tbody td.fn")
    for p in PAYLOADS:
        assert any(s.endswith("(" + p + ")") for s in shown), p
    # Hover a payload's frame: the tooltip shows it as text.
    tab(b, "flame")
    at = b.js(f"spyglass.locate({PAYLOADS[0]!r})")
    assert at
    b.mouse(at["x"], at["y"])
    assert PAYLOADS[0] in b.js("document.getElementById('tip').textContent")
    assert b.js("document.querySelectorAll('script').length") == 2
    assert b.js("document.querySelectorAll('img, svg').length") == 0
    assert b.js("window.__xss") == []
    assert page_errors(b) == []


def test_diff(any_py, tmp_path, browser):
    """--diff BASE NEW: each function's change; the one that got slower is
    marked up, the one that got faster down."""
    prog = textwrap.dedent('''
        import sys
        def spin(n):
            s = 0
            for i in range(n):
                s += i
            return s
        def slow():
            spin(int(sys.argv[1]))
        def fast():
            spin(int(sys.argv[2]))
        slow()
        fast()
    ''')
    script = tmp_path / "d.py"
    script.write_text(prog)
    for name, a, b_ in (("base", 100000, 400000), ("new", 400000, 100000)):
        proc = any_py.py("-m", "cProfile", "-o", tmp_path / f"{name}.pstats",
                         script, str(a), str(b_), cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
    out = tmp_path / "diff.html"
    proc = any_py.spy("report", "--diff", tmp_path / "base.pstats",
                      tmp_path / "new.pstats", "-o", out)
    assert proc.returncode == 0, proc.stderr
    doc = document(out)
    assert "base" in doc and doc["base_label"].endswith("base.pstats")
    b = browser
    open_page(b, out)
    tab(b, "table")
    cls = b.js("(function () { var o = {}; Array.from(document."
               "querySelectorAll('#ftable tbody tr')).forEach(function (r) {"
               " var c = r.querySelector('td.up, td.down'); o[r.cells["
               "r.cells.length - 1].textContent] = c ? c.className : ''; });"
               " return o; })()")
    assert cls["d.py:8(slow)"] == "up" and cls["d.py:10(fast)"] == "down"
    shot(b, tmp_path, "diff")
    assert page_errors(b) == []
