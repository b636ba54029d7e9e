/* script.js -- the HTML report's views, from the JSON document that
 * writers/html.c embeds (its layout is described there).
 *
 * Every name from the profile reaches the page as text (textContent, or a
 * canvas' fillText), never as markup. The flame graph is one canvas drawn
 * from the preorder tree: a node's subtree is the range [i, end[i]), so a
 * frame too narrow to draw skips its whole subtree and drawing costs what
 * is visible, not what was recorded.
 */
(function () {
"use strict";

var D = JSON.parse(document.getElementById("sg-data").textContent);
var S = D.strings, F = D.funcs.concat(D.xfuncs || []), FR = D.frames;
var ROW = 18;
/* A canvas is at most 32,767 pixels tall: frames deeper than this many
 * rows below the view's root are not drawn (zoom in to see them). */
var MAX_ROWS = 1600;
var KIND_THREAD = 2, KIND_PROCESS = 3;

function $(id) { return document.getElementById(id); }
function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
}

/* ---- functions and frames ---------------------------------------- */
/* funcs: (name, file, line) each; kinds: (id, kind) of those that are not
 * Python functions (C functions, thread and process roots). */
var KIND = {};
(function () {
    var k = D.kinds || [];
    for (var i = 0; i < k.length; i += 2) KIND[k[i]] = k[i + 1];
})();
function fName(fi) { return S[F[3 * fi]]; }
function fFile(fi) { return S[F[3 * fi + 1]]; }
function fLine(fi) { return F[3 * fi + 2]; }
function fKind(fi) { return KIND[fi] || 0; }
function baseName(path) {
    var k = path.lastIndexOf("/");
    return k < 0 ? path : path.slice(k + 1);
}
function hasFile(fi) {
    var k = fKind(fi);
    return k !== KIND_THREAD && k !== KIND_PROCESS && fFile(fi) !== "~" &&
        fFile(fi) !== "";
}
function frameFunc(fr) { return FR[2 * fr]; }
function frameLabel(fr) {
    if (fr < 0) return "all";
    var fi = frameFunc(fr), line = FR[2 * fr + 1] || fLine(fi);
    if (!hasFile(fi)) return fName(fi);
    return fName(fi) + " (" + baseName(fFile(fi)) + ":" + line + ")";
}
/* The function table's key of a function: file, line and name. */
function funcKey(fi) { return F[3 * fi + 1] + ":" + fLine(fi) + ":" + F[3 * fi]; }

/* ---- the tree ----------------------------------------------------- */
var T = D.tree, N = T.f.length;
var fr = T.f, own = T.w, calls = T.c || null, dep = new Int32Array(N);
var total = new Float64Array(N), end = new Int32Array(N),
    parent = new Int32Array(N);
(function () {
    var stack = [];
    for (var i = 0; i < N; i++) {
        dep[i] = i ? dep[i - 1] + 1 - T.u[i] : 0;
        var d = dep[i];
        while (stack.length && dep[stack[stack.length - 1]] >= d)
            end[stack.pop()] = i;
        parent[i] = stack.length ? stack[stack.length - 1] : -1;
        stack.push(i);
    }
    while (stack.length) end[stack.pop()] = N;
    for (var k = N - 1; k >= 0; k--) {
        total[k] += own[k];
        if (parent[k] >= 0) total[parent[k]] += total[k];
    }
})();
var ROOT_TOTAL = N ? total[0] : 0;

/* ---- units -------------------------------------------------------- */
var isBytes = D.bytes, spu = D.spu;
function fmtBytes(b) {
    var a = Math.abs(b), u = ["B", "KiB", "MiB", "GiB", "TiB"], k = 0;
    while (a >= 1024 && k < u.length - 1) { a /= 1024; k++; }
    return (b < 0 ? "-" : "") + (k ? a.toFixed(1) : a.toFixed(0)) + " " + u[k];
}
function fmtSeconds(s) {
    if (s >= 100) return s.toFixed(1) + " s";
    if (s >= 1) return s.toFixed(3) + " s";
    if (s >= 1e-3) return (s * 1e3).toFixed(3) + " ms";
    return (s * 1e6).toFixed(1) + " \u00b5s";
}
function fmtWeight(w) {
    if (isBytes) return fmtBytes(w);
    if (!w) return "0 " + (D.metric === "ns" ? "s" : D.metric);
    if (D.metric === "ns") return fmtSeconds(w * 1e-9);
    var s = w.toLocaleString("en-US") + " " + D.metric;
    return spu ? s + " (" + fmtSeconds(w * spu) + ")" : s;
}
function pct(x, of) { return of > 0 ? (100 * x / of).toFixed(2) + "%" : "-"; }

/* ---- the header --------------------------------------------------- */
function meta(key) {
    for (var i = 0; i < D.meta.length; i++)
        if (D.meta[i][0] === key) return D.meta[i][1];
    return null;
}
function fact(dt, dd) {
    var d = el("div");
    d.appendChild(el("dt", dt));
    d.appendChild(el("dd", dd));
    $("facts").appendChild(d);
}
function header() {
    var title = (D.title || "spyglass " + ({deterministic: "profile",
        sampled: "record", lines: "lines", memory: "memory"}[D.kind] || ""));
    var cmd = meta("command");
    if (D.base) title = "spyglass report --diff";
    $("title").textContent = title;
    document.title = title + (cmd ? ": " + cmd : "");
    if (D.base) fact("diff", D.base_label + " \u2192 " + D.new_label);
    if (cmd) fact("command", cmd);
    var written = new Date(document.lastModified);
    if (!isNaN(written.getTime()))
        fact("written", written.toISOString().slice(0, 19).replace("T", " ") + " UTC");
    var py = meta("python");
    if (py) fact("Python", py.split(" ")[0]);
    var dur = D.wall_ns ? D.wall_ns * 1e-9 : null;
    if (dur === null && meta("duration_s")) dur = +meta("duration_s");
    if (dur === null && meta("memory.total_ns")) dur = meta("memory.total_ns") * 1e-9;
    if (dur !== null) fact("duration", fmtSeconds(dur));
    if (D.kind === "sampled") {
        fact("samples", ROOT_TOTAL.toLocaleString("en-US"));
        if (D.interval_ns) fact("interval", fmtSeconds(D.interval_ns * 1e-9));
        /* Errors: samples dropped (torn reads and walks), as a share of
         * those taken and dropped. */
        var ticks = meta("ticks"), errs = meta("errors"), missed = meta("deadlines_missed");
        if (ticks) fact("ticks", ticks + (missed !== null ? " (" + missed + " missed)" : ""));
        if (errs !== null)
            fact("error rate", pct(+errs, ROOT_TOTAL + +errs) + " (" + errs + " dropped)");
    } else if (D.stats && D.kind === "deterministic") {
        fact("calls", D.stats.total_calls.toLocaleString("en-US") +
            (D.stats.prim_calls !== D.stats.total_calls ?
                " (" + D.stats.prim_calls.toLocaleString("en-US") +
                " primitive)" : ""));
    } else if (D.kind === "memory") {
        var peak = meta("memory.peak_bytes");
        if (peak) fact("peak", fmtBytes(+peak));
        var where = meta("memory.peak_where");
        if (where) fact("peak at", where);
    }
    fact("weight", D.metric);
}

/* ---- tabs --------------------------------------------------------- */
var current = "flame";
function show(view) {
    current = view;
    var bs = document.querySelectorAll("#tabs button");
    for (var i = 0; i < bs.length; i++)
        bs[i].classList.toggle("on", bs[i].getAttribute("data-view") === view);
    var vs = document.querySelectorAll(".view");
    for (var k = 0; k < vs.length; k++)
        vs[k].classList.toggle("on", vs[k].id === "view-" + view);
    if (view === "flame") drawFlame();
    if (view === "source") drawSource();
}

/* ---- function tables ---------------------------------------------- */
/* A table of the document: rows (function, callers, [nc, cc,] tt, ct)
 * and each row's callers in row order (row, [nc, cc,] tt, ct). */
function Table(t) {
    var r = t.rows, k = D.stats_spu, w = t.calls ? 6 : 4, ew = t.calls ? 5 : 2;
    var n = r.length / w, e = t.edges, at = 0;
    this.n = n;
    this.rows = [];
    this.byKey = {};
    for (var i = 0; i < n; i++) {
        var o = w * i, fi = r[o], c = t.calls;
        var row = {i: i, file: fFile(fi), line: fLine(fi), name: fName(fi),
            nc: c ? r[o + 2] : 0, cc: c ? r[o + 3] : 0, tt: r[o + w - 2] * k,
            ct: r[o + w - 1] * k, ncallers: r[o + 1], callers: [],
            callees: [], key: funcKey(fi)};
        row.label = row.file === "~" ? row.name :
            baseName(row.file) + ":" + row.line + "(" + row.name + ")";
        row.full = row.file === "~" ? row.name :
            row.file + ":" + row.line + "(" + row.name + ")";
        this.rows.push(row);
        this.byKey[row.key] = row;
    }
    for (var j = 0; j < n; j++) {
        var callee = this.rows[j];
        for (var m = 0; m < callee.ncallers; m++, at += ew) {
            var edge = {caller: this.rows[e[at]], callee: callee,
                nc: t.calls ? e[at + 1] : 0, cc: t.calls ? e[at + 2] : 0,
                tt: t.calls ? e[at + 3] * k : 0, ct: e[at + ew - 1] * k};
            callee.callers.push(edge);
            edge.caller.callees.push(edge);
        }
    }
    this.totalCalls = t.total_calls;
}
/* A line profile's functions: each the sum of its lines' time. */
function linesTable() {
    var L = D.lines || [], by = {}, rows = [], t = {edges: [],
        calls: false, total_calls: 0, prim_calls: 0};
    for (var k = 0; k < L.length; k += 5) {
        var f = L[k], key = funcKey(f);
        var r = key in by ? by[key] : (by[key] = rows.push([f, 0, 0, 0]) - 1);
        rows[r][2] += L[k + 3];
        rows[r][3] += L[k + 4];
    }
    t.rows = [].concat.apply([], rows);
    var saved = D.stats_spu;
    D.stats_spu = spu || 1;
    var out = new Table(t);
    D.stats_spu = saved;
    return out;
}
var mainTable = D.kind === "lines" ? linesTable() :
    D.stats ? new Table(D.stats) : null;
var baseTable = D.base ? new Table(D.base) : null;
var threadTables = {};
if (D.thread_stats)
    for (var ti = 0; ti < D.thread_stats.length; ti += 2)
        threadTables[D.thread_stats[ti]] = D.thread_stats[ti + 1];
var table = mainTable;
var selected = null; /* the selected row's key */
var sortKey = D.kind === "deterministic" ? "ct" : "tt", sortAsc = false;

var timeLike = !isBytes;
function fmtT(v) {
    if (!timeLike) return fmtBytes(v);
    return v.toFixed(3);
}
function ncalls(r) { return r.nc === r.cc ? String(r.nc) : r.nc + "/" + r.cc; }
function columns() {
    var tname = isBytes ? "own" : "tottime", cname = isBytes ? "total" :
        "cumtime";
    var cols = [
        {k: "nc", t: "ncalls", v: function (r) { return r.nc; }, s: ncalls},
        {k: "tt", t: tname, v: function (r) { return r.tt; }, s: function (r) { return fmtT(r.tt); }},
        {k: "pt", t: "percall", v: function (r) { return r.nc ? r.tt / r.nc : 0; }, s: function (r) { return r.nc ? fmtT(r.tt / r.nc) : ""; }},
        {k: "ct", t: cname, v: function (r) { return r.ct; }, s: function (r) { return fmtT(r.ct); }},
        {k: "pc", t: "percall", v: function (r) { return r.cc ? r.ct / r.cc : 0; }, s: function (r) { return r.cc ? fmtT(r.ct / r.cc) : ""; }}
    ];
    if (D.kind !== "deterministic") cols.splice(4, 1), cols.splice(2, 1), cols.shift();
    if (baseTable) {
        cols.push({k: "bc", t: "base " + cname, v: baseCt, s: function (r) { var b = baseCt(r); return b === null ? "new" : fmtT(b); }});
        cols.push({k: "dc", t: "change", v: delta, s: function (r) { var d = delta(r); return (d > 0 ? "+" : "") + fmtT(d); }});
    }
    cols.push({k: "fn", t: "filename:lineno(function)", v: function (r) { return r.full; }, s: function (r) { return r.label; }, fn: true});
    return cols;
}
function baseCt(r) {
    var b = baseTable.byKey[r.key];
    return b ? b.ct : null;
}
function delta(r) {
    var b = baseCt(r);
    return r.ct - (b === null ? 0 : b);
}

var MAX_ROWS = 400;
function drawTable() {
    var head = document.querySelector("#ftable thead tr");
    var body = document.querySelector("#ftable tbody");
    head.textContent = "";
    body.textContent = "";
    if (!table) {
        $("shown").textContent = "no function table in this profile";
        return;
    }
    var cols = columns();
    cols.forEach(function (c) {
        var th = el("th", c.t, c.fn ? "fn" : "");
        th.setAttribute("data-key", c.k);
        if (c.k === sortKey) th.className += " sorted" + (sortAsc ? " asc" : "");
        th.addEventListener("click", function () {
            if (sortKey === c.k) sortAsc = !sortAsc;
            else { sortKey = c.k; sortAsc = c.k === "fn"; }
            drawTable();
        });
        head.appendChild(th);
    });
    var col = cols.filter(function (c) { return c.k === sortKey; })[0] || cols[0];
    var f = $("filter").value.toLowerCase();
    var rows = table.rows.filter(function (r) {
        return !f || r.full.toLowerCase().indexOf(f) >= 0;
    });
    rows.sort(function (a, b) {
        var x = col.v(a), y = col.v(b);
        var c = x < y ? -1 : x > y ? 1 : a.i - b.i;
        return sortAsc ? c : -c;
    });
    var shown = rows.slice(0, MAX_ROWS);
    shown.forEach(function (r) {
        var tr = el("tr");
        tr.setAttribute("data-key", r.key);
        if (r.key === selected) tr.className = "sel";
        cols.forEach(function (c) {
            var td = el("td", c.s(r), c.fn ? "fn" : "");
            if (c.fn) td.title = r.full;
            if (c.k === "dc") td.className = delta(r) > 0 ? "up" : delta(r) < 0 ? "down" : "";
            tr.appendChild(td);
        });
        tr.addEventListener("click", function () { select(r.key); });
        body.appendChild(tr);
    });
    $("shown").textContent = shown.length < rows.length ?
        "showing " + shown.length + " of " + rows.length + " functions" :
        rows.length + " functions";
}

function drawRelated() {
    var row = table && selected ? table.byKey[selected] : null;
    $("sel-name").textContent = row ? row.full : "Select a function";
    [["callers", "caller"], ["callees", "callee"]].forEach(function (w) {
        var body = document.querySelector("#" + w[0] + " tbody");
        body.textContent = "";
        if (!row) return;
        var edges = row[w[0]].slice().sort(function (a, b) { return b.ct - a.ct; });
        edges.forEach(function (e) {
            var other = e[w[1]], tr = el("tr");
            tr.setAttribute("data-key", other.key);
            tr.appendChild(el("td", pct(e.ct, row.ct)));
            tr.appendChild(el("td", e.nc === e.cc ? e.nc : e.nc + "/" + e.cc));
            tr.appendChild(el("td", fmtT(e.ct)));
            var td = el("td", other.label, "fn");
            td.title = other.full;
            tr.appendChild(td);
            tr.addEventListener("click", function () { select(other.key); });
            body.appendChild(tr);
        });
        if (!edges.length)
            body.appendChild(el("tr")).appendChild(el("td", "none", "fn"));
    });
}

/* Select a function (by its table key) in every view. */
function select(key) {
    selected = key;
    drawTable();
    drawRelated();
    if (current === "flame") drawFlame();
    if (current === "source") drawSource();
}

/* ---- the flame graph ---------------------------------------------- */
var view = 0, flame = false, search = null, rects = [], rows = [];
var threadRoot = 0;
var canvas = $("flame"), ctx = canvas.getContext("2d");

function nodeFunc(i) { return fr[i] < 0 ? -1 : frameFunc(fr[i]); }
function nodeKey(i) { var f = nodeFunc(i); return f < 0 ? null : funcKey(f); }

function hue(s) {
    var h = 0;
    for (var i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) | 0;
    return h;
}
function colour(i) {
    var f = nodeFunc(i);
    if (f < 0) return "#c8c8c8";
    if (fKind(f) === KIND_THREAD || fKind(f) === KIND_PROCESS) return "#b9c7d9";
    if (search && search.test(frameLabel(fr[i]))) return "#e060d0";
    if (selected && funcKey(f) === selected) return "#4f8fe0";
    if (baseTable) {
        var row = table && table.byKey[funcKey(f)];
        var b = row ? baseTable.byKey[row.key] : null;
        if (!row) return "#d8d8d8";
        if (!b) return "rgb(200,40,40)";
        var r = (row.ct - b.ct) / Math.max(b.ct, 1e-9);
        r = Math.max(-1, Math.min(1, r));
        var a = Math.round(220 - 150 * Math.abs(r));
        return r > 0 ? "rgb(235," + a + "," + a + ")" : "rgb(" + a + "," + a + ",235)";
    }
    var h = hue(fName(f)) >>> 0;
    return "rgb(" + (205 + h % 50) + "," + (80 + (h >> 8) % 130) + "," +
        (40 + (h >> 16) % 40) + ")";
}

/* The frames of the view as rects: [node, x, width, row]. */
function layout(width) {
    rects = [];
    rows = [];
    if (!N || total[view] <= 0) return 0;
    var r = view, scale = width / total[r], cur = [0], d0 = dep[r], deepest = 0;
    for (var i = r; i < end[r];) {
        var d = dep[i] - d0, x = cur[d], w = total[i] * scale;
        cur[d] = x + w;
        cur[d + 1] = x;
        if (w < 0.35 || d >= MAX_ROWS) { i = end[i]; continue; }
        var rc = [i, x, w, d];
        rects.push(rc);
        (rows[d] || (rows[d] = [])).push(rc);
        if (d > deepest) deepest = d;
        i++;
    }
    return deepest + 1;
}

function rowY(d, nrows) { return flame ? (nrows - 1 - d) * ROW : d * ROW; }

function drawFlame() {
    var box = $("flamebox"), width = Math.max(200, box.clientWidth - 2);
    var nrows = layout(width), dpr = window.devicePixelRatio || 1;
    var height = Math.max(ROW, nrows * ROW);
    canvas.width = Math.round(width * dpr);
    canvas.height = Math.round(height * dpr);
    canvas.style.width = width + "px";
    canvas.style.height = height + "px";
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, width, height);
    ctx.font = "11px system-ui, sans-serif";
    ctx.textBaseline = "middle";
    canvas.nrows = nrows;
    for (var k = 0; k < rects.length; k++) {
        var rc = rects[k], i = rc[0], y = rowY(rc[3], nrows);
        ctx.fillStyle = colour(i);
        ctx.fillRect(rc[1], y, Math.max(rc[2] - 0.5, 0.5), ROW - 1);
        if (rc[2] > 28) {
            var label = i === 0 ? "all" : frameLabel(fr[i]);
            var room = Math.floor((rc[2] - 6) / 6.2);
            if (label.length > room) label = label.slice(0, Math.max(room - 1, 1)) + "\u2026";
            ctx.fillStyle = "#000";
            ctx.fillText(label, rc[1] + 3, y + ROW / 2);
        }
    }
    if (flame && current === "flame") box.scrollTop = box.scrollHeight;
    drawCrumbs();
    drawMatched();
}

function drawCrumbs() {
    var c = $("crumbs"), path = [];
    c.textContent = "";
    for (var i = view; i >= 0; i = parent[i]) {
        path.unshift(i);
        if (i === threadRoot) break;
    }
    path.forEach(function (n, k) {
        if (k) c.appendChild(el("span", "\u203a", "sep"));
        var a = el("a", n === 0 ? "all" : frameLabel(fr[n]));
        a.addEventListener("click", function () { zoom(n); });
        c.appendChild(a);
    });
}

/* The share of the view's weight in frames matching the search, each
 * stack counted once (a match's subtree is not searched again). */
function drawMatched() {
    if (!search) { $("matched").textContent = ""; return; }
    var m = 0;
    for (var i = view; i < end[view];) {
        if (fr[i] >= 0 && search.test(frameLabel(fr[i]))) { m += total[i]; i = end[i]; }
        else i++;
    }
    $("matched").textContent = "Matched: " + pct(m, total[view]);
}

function zoom(n) {
    view = n;
    drawFlame();
}

function hit(ev) {
    var b = canvas.getBoundingClientRect(), x = ev.clientX - b.left,
        y = ev.clientY - b.top, d = Math.floor(y / ROW);
    if (flame) d = canvas.nrows - 1 - d;
    var row = rows[d] || [];
    for (var k = 0; k < row.length; k++)
        if (x >= row[k][1] && x < row[k][1] + row[k][2]) return row[k][0];
    return -1;
}

function describe(i) {
    var lines = [i === 0 ? "all" : frameLabel(fr[i])];
    var f = nodeFunc(i);
    if (f >= 0 && hasFile(f)) lines.push(fFile(f) + ":" + (FR[2 * fr[i] + 1] || fLine(f)));
    lines.push("total " + fmtWeight(total[i]) + ", " + pct(total[i], ROOT_TOTAL) +
        " of all, " + pct(total[i], total[view]) + " of the view");
    lines.push("own " + fmtWeight(own[i]) + ", " + pct(own[i], ROOT_TOTAL));
    if (calls) lines.push("calls " + calls[i]);
    if (baseTable && f >= 0) {
        var row = table.byKey[funcKey(f)], b = row && baseTable.byKey[row.key];
        lines.push(b ? "function's cumtime " + fmtT(b.ct) + " \u2192 " + fmtT(row.ct) : "new function");
    }
    return lines.join("\n");
}

canvas.addEventListener("mousemove", function (ev) {
    var i = hit(ev), tip = $("tip");
    if (i < 0) { tip.hidden = true; return; }
    tip.textContent = describe(i);
    tip.hidden = false;
    tip.style.left = Math.min(ev.clientX + 14, window.innerWidth - 420) + "px";
    tip.style.top = (ev.clientY + 16) + "px";
    $("details").textContent = describe(i).replace(/\n/g, "  \u2022  ");
});
canvas.addEventListener("mouseleave", function () { $("tip").hidden = true; });
canvas.addEventListener("click", function (ev) {
    var i = hit(ev);
    if (i < 0) return;
    var k = nodeKey(i);
    if (k && table && table.byKey[k]) selected = k;
    zoom(i);
    drawTable();
    drawRelated();
});

$("orient").addEventListener("click", function () {
    flame = !flame;
    $("orient").textContent = flame ? "Icicle" : "Flame";
    drawFlame();
});
$("search").addEventListener("input", function () {
    var v = $("search").value;
    if (!v) search = null;
    else {
        try { search = new RegExp(v, "i"); }
        catch (e) { search = new RegExp(v.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"), "i"); }
    }
    drawFlame();
});

/* Threads and processes: the synthetic roots, each a view of its own. */
function threads() {
    var sel = $("thread"), roots = [];
    for (var i = 1; i < N; i++) {
        var f = nodeFunc(i);
        if (f >= 0 && (fKind(f) === KIND_THREAD || fKind(f) === KIND_PROCESS)) roots.push(i);
    }
    var all = el("option", "all (" + roots.length + ")");
    all.value = "0";
    sel.appendChild(all);
    roots.forEach(function (i) {
        var o = el("option", frameLabel(fr[i]) + " \u2014 " + pct(total[i], ROOT_TOTAL));
        o.value = String(i);
        sel.appendChild(o);
    });
    sel.parentNode.hidden = roots.length < 2;
    sel.addEventListener("change", function () {
        threadRoot = +sel.value;
        var t = threadTables[threadRoot];
        table = t ? (t instanceof Table ? t : (threadTables[threadRoot] = new Table(t))) : mainTable;
        zoom(threadRoot);
        drawTable();
        drawRelated();
    });
}

/* ---- source ------------------------------------------------------- */
/* sources[file string][line] = text: runs of lines around those with
 * data (the writer embeds no whole file). */
var sources = {}, lineData = {};
(function () {
    var s = D.sources || [];
    for (var i = 0; i < s.length; i += 3) {
        var m = sources[s[i]] || (sources[s[i]] = {}), t = s[i + 2].split("\n");
        if (t.length && t[t.length - 1] === "") t.pop();
        for (var k = 0; k < t.length; k++) m[s[i + 1] + k] = t[k];
    }
    function entry(fi, line) {
        var file = F[3 * fi + 1], d = lineData[file] || (lineData[file] = {});
        return d[line] || (d[line] = {hits: 0, own: 0, total: 0});
    }
    var L = D.lines;
    if (L) {
        for (var j = 0; j < L.length; j += 5) {
            var e = entry(L[j], L[j + 1]);
            e.hits += L[j + 2];
            e.own += L[j + 3];
            e.total += L[j + 4];
        }
        return;
    }
    /* From the tree: a line's own weight where it was innermost, its
     * total counted once per stack however often it recurs on it. */
    var path = [], active = {};
    for (var n = 1; n < N; n++) {
        while (path.length >= dep[n]) active[path.pop()]--;
        var f = fr[n];
        path.push(f);
        active[f] = (active[f] || 0) + 1;
        if (FR[2 * f + 1] <= 0) continue;
        var x = entry(FR[2 * f], FR[2 * f + 1]);
        x.own += own[n];
        if (active[f] === 1) x.total += total[n];
    }
})();
function sourceLine(file, n) {
    var m = sources[file];
    return m && m[n] !== undefined ? m[n] : null;
}

/* The file string and first line of the selected function. */
function selectedPlace() {
    if (!selected) return null;
    var parts = selected.split(":");
    return {file: +parts[0], line: +parts[1]};
}

function drawSource() {
    var body = document.querySelector("#src tbody"), place = selectedPlace();
    body.textContent = "";
    if (!place) return;
    var row = table && table.byKey[selected];
    var lines = lineData[place.file] || {}, code = sources[place.file] || {};
    $("src-title").textContent = (row ? row.name + " \u2014 " : "") + S[place.file];
    var seen = {}, nums = [];
    Object.keys(lines).concat(Object.keys(code)).forEach(function (k) {
        if (!seen[k]) { seen[k] = 1; nums.push(+k); }
    });
    nums.sort(function (a, b) { return a - b; });
    var max = 0;
    nums.forEach(function (n) { if (lines[n]) max = Math.max(max, lines[n].total); });
    if (!sources[place.file])
        body.appendChild(el("tr")).appendChild(el("td", D.sources && D.sources.length ?
            "no source embedded for this file" :
            "source not embedded (--no-source, or not readable when written)", "note"));
    var first = null;
    for (var k = 0; k < nums.length; k++) {
        var n = nums[k], e = lines[n], tr = el("tr");
        if (k && n > nums[k - 1] + 1) {
            var gap = el("tr");
            gap.appendChild(el("td", "\u22ef"));
            body.appendChild(gap);
        }
        tr.appendChild(el("td", n));
        tr.appendChild(el("td", e && e.hits ? e.hits : ""));
        tr.appendChild(el("td", e && e.own ? fmtWeight(e.own) : ""));
        tr.appendChild(el("td", e && e.total ? fmtWeight(e.total) : ""));
        var text = sourceLine(place.file, n);
        var td = el("td", text === null ? "" : text, "code");
        if (e && max > 0 && e.total > 0) {
            var a = 0.08 + 0.6 * e.total / max;
            td.style.background = "rgba(230,60,30," + a.toFixed(3) + ")";
        }
        tr.appendChild(td);
        if (n === place.line || (!first && n > place.line)) {
            if (!first) { tr.className = "fnline"; first = tr; }
        }
        body.appendChild(tr);
    }
    if (first) first.scrollIntoView({block: "center"});
}

/* ---- memory ------------------------------------------------------- */
function drawMemory() {
    var ml = D.memlines, tl = D.timeline;
    if (!ml && !tl) return;
    document.querySelector('#tabs button[data-view="memory"]').hidden = false;
    var body = document.querySelector("#memtable tbody"), order = [];
    for (var r = 0; ml && r < ml.length; r += 7) order.push(r);
    order.sort(function (a, b) {
        return ml[a] !== ml[b] ? ml[a] - ml[b] : ml[a + 1] - ml[b + 1];
    });
    order.forEach(function (i) {
        var fi = ml[i], n = ml[i + 1], tr = el("tr");
        var text = sourceLine(F[3 * fi + 1], n);
        tr.appendChild(el("td", fName(fi), "fn"));
        tr.appendChild(el("td", n));
        tr.appendChild(el("td", ml[i + 2]));
        tr.appendChild(el("td", fmtBytes(ml[i + 3])));
        tr.appendChild(el("td", fmtBytes(ml[i + 4])));
        tr.appendChild(el("td", fmtBytes(ml[i + 5])));
        tr.appendChild(el("td", fmtBytes(ml[i + 6])));
        tr.appendChild(el("td", text === null ? "" : text, "code"));
        body.appendChild(tr);
    });
    if (tl && tl.series.length) chart(tl);
}

/* The timeline as an SVG line chart, one line per series, the function
 * brackets as bars under it. */
function chart(tl) {
    var NS = "http://www.w3.org/2000/svg", W = 900, H = 260, P = 50;
    var svg = document.createElementNS(NS, "svg");
    svg.setAttribute("width", W);
    svg.setAttribute("height", H + 20 * Math.min(tl.funcs.length, 8));
    var tmax = 0, bmax = 0;
    tl.series.forEach(function (s) {
        for (var i = 0; i < s.v.length; i += 2) {
            tmax = Math.max(tmax, s.v[i]);
            bmax = Math.max(bmax, s.v[i + 1]);
        }
    });
    tmax = tmax || 1;
    bmax = bmax || 1;
    var colours = ["#c0392b", "#2471a3", "#229954", "#8e44ad", "#d68910"];
    function X(t) { return P + (W - P - 10) * t / tmax; }
    function Y(b) { return H - 25 - (H - 45) * b / bmax; }
    function text(x, y, s, anchor) {
        var t = document.createElementNS(NS, "text");
        t.setAttribute("x", x);
        t.setAttribute("y", y);
        t.setAttribute("font-size", "11");
        if (anchor) t.setAttribute("text-anchor", anchor);
        t.textContent = s;
        svg.appendChild(t);
    }
    text(P, 14, "memory over time (max " + fmtBytes(bmax) + ", " + fmtSeconds(tmax) + ")");
    tl.series.forEach(function (s, k) {
        var pts = [];
        for (var i = 0; i < s.v.length; i += 2)
            pts.push(X(s.v[i]).toFixed(1) + "," + Y(s.v[i + 1]).toFixed(1));
        var pl = document.createElementNS(NS, "polyline");
        pl.setAttribute("points", pts.join(" "));
        pl.setAttribute("fill", "none");
        pl.setAttribute("stroke", colours[k % colours.length]);
        svg.appendChild(pl);
        text(W - 10, 30 + 14 * k, s.kind + (s.pid ? " pid " + s.pid : ""), "end");
        svg.lastChild.setAttribute("fill", colours[k % colours.length]);
    });
    tl.funcs.slice(0, 8).forEach(function (f, k) {
        var r = document.createElementNS(NS, "rect"), y = H + 20 * k;
        r.setAttribute("x", X(f[1]));
        r.setAttribute("y", y);
        r.setAttribute("width", Math.max(1, X(f[2]) - X(f[1])));
        r.setAttribute("height", 14);
        r.setAttribute("fill", "#f5b041");
        svg.appendChild(r);
        text(X(f[1]) + 3, y + 11, f[0] + " " + fmtBytes(f[3]));
    });
    $("memchart").appendChild(svg);
}

/* ---- start -------------------------------------------------------- */
var tb = document.querySelectorAll("#tabs button");
for (var b = 0; b < tb.length; b++)
    tb[b].addEventListener("click", function (ev) {
        show(ev.target.getAttribute("data-view"));
    });
$("filter").addEventListener("input", drawTable);
window.addEventListener("resize", function () { if (current === "flame") drawFlame(); });

header();
threads();
drawTable();
drawRelated();
drawMemory();
if (!N || ROOT_TOTAL <= 0)
    show(D.kind === "lines" ? "table" : D.memlines || D.timeline ? "memory" : "flame");
else drawFlame();

/* For tests and scripts: the document, and where a frame is drawn. */
window.spyglass = {
    data: D,
    ready: true,
    /* When the page became interactive, ms since navigation started. */
    readyAt: performance.now(),
    /* Page coordinates of the middle of the first drawn frame whose label
     * starts with prefix, or null. */
    locate: function (prefix) {
        var b = canvas.getBoundingClientRect();
        for (var k = 0; k < rects.length; k++) {
            var i = rects[k][0], label = i === 0 ? "all" : frameLabel(fr[i]);
            if (label.indexOf(prefix) === 0)
                return {x: b.left + rects[k][1] + rects[k][2] / 2,
                    y: b.top + rowY(rects[k][3], canvas.nrows) + ROW / 2,
                    width: rects[k][2], label: label};
        }
        return null;
    },
    view: function () { return view === 0 ? "all" : frameLabel(fr[view]); },
    /* The selected function's "file:line(name)", or null. */
    selected: function () {
        var r = table && selected ? table.byKey[selected] : null;
        return r ? r.full : null;
    }
};
})();
