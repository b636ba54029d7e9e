"""The SVG flame graph as a person sees it, in a real browser.

Headless Chromium (tests/browser.py) opens the file at 1280x800: the first
screen must show frames (the root at the top by default, at the bottom with
--flame, where the page opens scrolled to it), the search box, "Matched:"
and the hover details stay on screen wherever the page is scrolled, and
search matches names, never the numbers of the tooltips. Without Chromium
these tests skip, saying so. The rest reads the SVG with an XML parser:
labels "function (file.py:line)" with the path cut to what tells the files
apart, tooltips with samples or calls, time and share, a heading that names
the command, a height that fits the frames drawn.
"""
import re
import textwrap
import xml.etree.ElementTree as ET

import pytest

from truth import spin_code

from browser import Browser, find_chromium

NS = "{http://www.w3.org/2000/svg}"
VIEW_W, VIEW_H = 1280, 800
BAR_H = 60  # the controls (flamegraph.c's FG_BAR_H)

# Most of the time in wide, shallow frames; a 600-deep recursion takes a
# sliver of it, so the deepest stack is a narrow tower: a flame graph that
# opened on its top would show almost nothing.
DEEP = textwrap.dedent('''
    import sys
    sys.setrecursionlimit(5000)

    def leaf_work(n):
        s = 0
        for i in range(n):
            s += i
        return s

    def deep(n):
        if n == 0:
            return leaf_work(2000)
        return deep(n - 1)

    class Tree:
        def _insert(self, k):
            return leaf_work(k)

    def main():
        t = Tree()
        for _ in range(20):
            leaf_work(30000)
            t._insert(10000)
        deep(600)

    main()
''')


@pytest.fixture(scope="module")
def browser():
    exe = find_chromium()
    if not exe:
        pytest.skip("chromium is not installed: the flame graph is not "
                    "checked in a browser (apt-get install chromium)")
    b = Browser(exe)
    yield b
    b.close()


def profile_svg(py, tmp_path, *flags, name="deep.svg", src=DEEP):
    script = tmp_path / "deep.py"
    script.write_text(src)
    out = tmp_path / name
    proc = py.spy("profile", *flags, "-o", out, script, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    return out


def frames(svg):
    """[(title, rect attributes, text)] of every frame, in file order."""
    root = ET.parse(svg).getroot()
    out = []
    for g in root.iter(NS + "g"):
        if g.get("class") == "f":
            out.append((g.find(NS + "title").text,
                        {k: float(v) for k, v in g.find(NS + "rect").attrib
                         .items() if k in ("x", "y", "width", "height")},
                        g.find(NS + "text").text or "", g.get("data-l")))
    return root, out


def colored(px):
    r, g, b = px
    return max(r, g, b) - min(r, g, b) > 60


def wide_rows(rows, top, bottom):
    """Screen rows between top and bottom at least 90% covered by frames
    (coloured pixels) between x = 10 and 1190, the frames' extent."""
    return [y for y in range(top, bottom)
            if sum(colored(p) for p in rows[y][10:1190]) >= 0.9 * 1180]


def rect_of(b, selector):
    return b.js(f"(function () {{ var r = document.querySelector("
                f"{selector!r}).getBoundingClientRect(); return [r.left, "
                f"r.top, r.right, r.bottom]; }})()")


def on_screen(r):
    left, top, right, bottom = r
    return right > left and bottom > top and left >= 0 and top >= 0 and \
        right <= VIEW_W and bottom <= VIEW_H


def controls_on_screen(b):
    """The bar is at the top of the window, with the search box and the
    heading in it; "Matched:" and the details (empty until used) are
    texts of the bar."""
    for sel in ("#bar > rect", "#term", "#heading"):
        r = rect_of(b, sel)
        assert on_screen(r) and r[3] <= BAR_H + 1, (sel, r)
    assert rect_of(b, "#bar > rect")[1] == 0
    assert b.js("['matched', 'details'].every(function (id) { return "
                "document.getElementById(id).parentNode.id === 'bar'; })")


@pytest.mark.parametrize("orientation", ["icicle", "flame"])
def test_first_screen_shows_the_root_and_the_controls(any_py, tmp_path,
                                                      browser, orientation):
    flags = ["--flame"] if orientation == "flame" else []
    svg = profile_svg(any_py, tmp_path, *flags)
    b = browser
    b.open(svg.as_uri(), VIEW_W, VIEW_H)
    w, h, rows = b.screenshot(tmp_path / f"first-{orientation}.png")
    assert (w, h) == (VIEW_W, VIEW_H)
    # The outermost frames span the width: on the first screen, under the
    # controls. <module> always; main when the file says it took nearly
    # all of the run (a busy machine can hold the module's own few lines
    # long enough to narrow it: the profile is of wall time).
    _, fs = frames(svg)
    width = {t.split(" (")[0]: r["width"] for t, r, _, _ in fs}
    spanning = 1 + (width["main"] >= 0.95 * width["<module>"])
    wide = wide_rows(rows, BAR_H, VIEW_H)
    assert len(wide) >= spanning * 12, (orientation, len(wide), width)
    module = b.js("(function () { var g = Array.prototype.find.call("
                  "document.querySelectorAll('g.f'), function (g) { return "
                  "g.querySelector('title').textContent.indexOf('<module>') "
                  "=== 0; }); var r = g.getBoundingClientRect(); return "
                  "[r.left, r.top, r.right, r.bottom]; })()")
    assert on_screen(module) and module[1] >= BAR_H, module
    controls_on_screen(b)
    # Scrolled anywhere (the file is about 600 frames tall), the controls
    # are still there.
    height = b.js("parseFloat(document.documentElement.getAttribute("
                  "'height'))")
    assert height > 5000
    for y in (height / 3, height / 2, 0, height):
        b.js(f"window.scrollTo(0, {y}); window.dispatchEvent(new "
             f"Event('scroll')); 0")
        controls_on_screen(b)
    b.screenshot(tmp_path / f"scrolled-{orientation}.png")


def test_search_box_and_hover_details(any_py, tmp_path, browser):
    # A long directory: the hover details give way in the label's middle,
    # never in the figures (once cut to "100.00%" as "10..").
    where = tmp_path / ("a-long-directory-name-" * 4)
    where.mkdir()
    svg = profile_svg(any_py, where)
    b = browser
    b.open(svg.as_uri(), VIEW_W, VIEW_H)
    # Typed into the box: the frames of leaf_work light up, and the
    # matched share (nearly all of the run) shows.
    left, top, right, bottom = rect_of(b, "#term")
    b.mouse((left + right) / 2, (top + bottom) / 2, click=True)
    assert b.js("document.activeElement.id") == "term"
    b.type("leaf_work")
    matched = b.js("document.getElementById('matched').textContent")
    m = re.fullmatch(r"Matched: (\d+\.\d)%", matched)
    assert m and float(m.group(1)) > 50, matched
    hits = b.js("document.querySelectorAll('g.hit').length")
    assert hits >= 3
    assert on_screen(rect_of(b, "#matched"))
    pixels = b.screenshot(tmp_path / "search.png")[2]
    magenta = sum(1 for row in pixels[BAR_H:] for p in row
                  if p == (230, 0, 230))
    assert magenta > 1000
    # Numbers of the tooltips are not searched: "%" and "calls" are in
    # every tooltip and in no name.
    for term in ("%", "calls", "ms,"):
        b.js(f"var t = document.getElementById('term'); t.value = "
             f"{term!r}; t.dispatchEvent(new Event('input')); 0")
        assert b.js("document.querySelectorAll('g.hit').length") == 0, term
        assert b.js("document.getElementById('matched').textContent") == \
            "Matched: 0.0%", term
    # Escape clears the search.
    b.key("Escape", "Escape", 27)
    assert b.js("document.getElementById('term').value") == ""
    # Hover over the outermost frame: its full label, calls, time and share
    # appear in the bar.
    r = b.js("(function () { var g = document.querySelector('g.f'); var r "
             "= g.getBoundingClientRect(); return [r.left, r.top, r.right, "
             "r.bottom]; })()")
    b.mouse(r[0] + 5, (r[1] + r[3]) / 2)
    details = b.js("document.getElementById('details').textContent")
    assert re.match(r"<module> \(/.*deep\.py:\d+\) \u2014 1 call, "
                    r"[\d.]+ m?s, 100\.00%$", details), details
    assert ".." in details  # the long path was cut, in its middle
    # A click zooms in: Reset appears; Escape resets.
    b.mouse(r[0] + 5, (r[1] + r[3]) / 2, click=True)
    assert b.js("document.getElementById('reset').style.display") == ""
    b.key("Escape", "Escape", 27)
    assert b.js("document.getElementById('reset').style.display") == "none"


def test_record_tooltips_and_heading_in_the_browser(any_py, tmp_path,
                                                    browser):
    script = tmp_path / "spin.py"
    script.write_text(textwrap.dedent('''
        import time
        def spin():
            end = time.process_time() + 0.4
            while time.process_time() < end:
                pass
        spin()
    '''))
    out = tmp_path / "r.svg"
    proc = any_py.spy("record", "-r", "200", "-o", out, "--",
                      any_py.python, script, "arg1")
    assert proc.returncode == 0, proc.stderr
    b = browser
    b.open(out.as_uri(), VIEW_W, VIEW_H)
    heading = b.js("document.getElementById('heading').textContent")
    # A long command line is cut in its middle, where the interpreter's
    # directory is; the tab's title has all of it.
    title = b.js("document.title")
    assert title == f"spyglass record: {any_py.python} {script} arg1"
    assert heading.startswith("spyglass record: ") and \
        heading.endswith("spin.py arg1"), heading
    assert ".." in heading or heading == title
    tip = b.js("Array.prototype.map.call(document.querySelectorAll('g.f "
               "title'), function (t) { return t.textContent; }).filter("
               "function (s) { return s.indexOf('spin (') === 0; })[0]")
    # The first of spin's lines may hold a single sample ("1 sample").
    assert re.fullmatch(r"spin \(/.*spin\.py:\d+\)\n\d+ samples?, [\d.]+ "
                        r"m?s, \d+\.\d\d%", tip), tip
    b.screenshot(tmp_path / "record.png")


# Two files called util.py, in two packages: each label shows just enough
# of the path to tell them apart.
def test_labels_cut_paths_to_what_tells_files_apart(any_py, tmp_path):
    for pkg in ("alpha", "beta"):
        d = tmp_path / "lib" / pkg
        d.mkdir(parents=True)
        (d / "__init__.py").write_text("")
        (d / "util.py").write_text(textwrap.dedent(f'''
            def work_{pkg}(n):
                return sum(i * i for i in range(n))
        '''))
    src = textwrap.dedent('''
        import sys
        sys.path.insert(0, sys.argv[1])
        from alpha.util import work_alpha
        from beta.util import work_beta
        def main():
            for _ in range(50):
                work_alpha(2000)
                work_beta(2000)
        main()
    ''')
    script = tmp_path / "app.py"
    script.write_text(src)
    out = tmp_path / "l.svg"
    proc = any_py.spy("profile", "-o", out, script, tmp_path / "lib")
    assert proc.returncode == 0, proc.stderr
    _, fs = frames(out)
    labels = {t.split("\n")[0]: (data_l or text) for t, _, text, data_l in fs}
    lib = tmp_path / "lib"
    assert labels[f"work_alpha ({lib}/alpha/util.py:2)"] == \
        "work_alpha (alpha/util.py:2)"
    assert labels[f"work_beta ({lib}/beta/util.py:2)"] == \
        "work_beta (beta/util.py:2)"
    assert labels[f"main ({script}:6)"] == "main (app.py:6)"
    # Tooltips: the full path, then calls, time and share.
    for t, _, _, _ in fs:
        first, second = t.split("\n")
        assert re.fullmatch(r"\d+ calls?, [\d.]+ [mµ]?s, \d+\.\d\d%",
                            second), t
    # Text cut to fit a frame keeps its whole label in data-l.
    for t, r, text, data_l in fs:
        if data_l:
            assert text.endswith("..") or text == ""
            assert len(text) < len(data_l)


def test_heading_names_the_command(any_py, tmp_path):
    svg = profile_svg(any_py, tmp_path)
    root = ET.parse(svg).getroot()
    heading = root.find(f".//{NS}text[@id='heading']").text
    assert heading == f"spyglass profile: {tmp_path / 'deep.py'}"
    assert root.find(NS + "title").text == heading


def test_height_fits_the_frames_drawn(any_py, tmp_path):
    for flags in ([], ["--flame"], ["--flame", "--inverted"]):
        svg = profile_svg(any_py, tmp_path, *flags)
        root, fs = frames(svg)
        height = float(root.get("height"))
        top = min(r["y"] for _, r, _, _ in fs)
        bottom = max(r["y"] + r["height"] for _, r, _, _ in fs)
        rows = round((bottom - top + 1) / 16)
        assert rows > 600
        # The bar, 10 px, the rows, 10 px: no empty band anywhere.
        assert height == BAR_H + 10 + rows * 16 + 10, (flags, height, rows)
        module = next(r for t, r, _, _ in fs if t.startswith("<module>"))
        flame = flags[-1:] == ["--flame"]
        assert root.get("data-root") == ("bottom" if flame else "top")
        if flame:
            assert module["y"] == height - 10 - 16
        else:
            assert module["y"] == BAR_H + 10


def test_orientation_flags_in_help_and_record(any_py, tmp_path):
    for cmd in ("profile", "record"):
        proc = any_py.spy(cmd, "--help")
        assert "--flame" in proc.stdout and "--inverted" in proc.stdout
    out = tmp_path / "r.svg"
    proc = any_py.spy("record", "--flame", "-r", "100", "-o", out, "--",
                      any_py.python, "-c", spin_code())
    assert proc.returncode == 0, proc.stderr
    assert ET.parse(out).getroot().get("data-root") == "bottom"
