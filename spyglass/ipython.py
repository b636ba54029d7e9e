"""spyglass's commands as IPython and Jupyter magics (docs/ipython.md).

``%load_ext spyglass`` registers ``%spyglass CMD ...`` / ``%%spyglass CMD
...`` for CMD in timeit, profile, lines, memory and record, and the short
names ``%sgtimeit``, ``%sgprun``, ``%sglprun``, ``%sgmemit``, ``%sgmprun``
and ``%sgrecord``. This module only parses the magic's line and compiles
the cell as IPython does; the work is the agent's (spyglass._agent), which
also checks the options and writes the results as the commands do.
``record`` samples the kernel from outside with the ``spyglass``
executable.
"""
import ast
import io
import os
import re
import shlex
import signal
import subprocess
import sys
import time

try:
    from IPython.core.error import UsageError
    from IPython.core.magic import Magics, line_cell_magic, magics_class
except ImportError:
    raise ImportError(
        "spyglass's magics need IPython, which is not installed in "
        f"{sys.executable}: pip install ipython") from None

from spyglass import _agent

# Each command's options: name -> (destination, kind), where kind is
# "flag" (True), "count" (how many times), "list" (each value) or a
# function converting the value. Long names mirror the command line's.
_TIMEIT = {
    "-n": ("number", int), "--number": ("number", int),
    "-r": ("repeat", int), "--repeat": ("repeat", int),
    "-s": ("setup", "list"), "--setup": ("setup", "list"),
    "-p": ("process", "flag"), "--process": ("process", "flag"),
    "-u": ("unit", str), "--unit": ("unit", str),
    "-v": ("verbose", "count"), "--verbose": ("verbose", "count"),
    "-o": ("output", str), "--output": ("output", str),
    "-f": ("format", str), "--format": ("format", str),
}
_PROFILE = {
    "-s": ("sort", "list"), "--sort": ("sort", "list"),
    "-l": ("limit", int), "--limit": ("limit", int),
    "-o": ("output", str), "--output": ("output", str),
    "-f": ("format", str), "--format": ("format", str),
    "-T": ("text_file", str), "-D": ("dump_file", str),
    "-q": ("quiet", "flag"),
    "--no-builtins": ("no_builtins", "flag"),
    "--threads": ("threads", "flag"), "--flame": ("flame", "flag"),
}
# lines and memory replace %lprun and %mprun: -f is a function there.
_LINES = {
    "-f": ("func", "list"), "--func": ("func", "list"),
    "-u": ("unit", float), "--unit": ("unit", float),
    "-o": ("output", str), "--output": ("output", str),
    "--format": ("format", str),
    "-T": ("text_file", str), "-D": ("dump_file", str),
}
_MEMORY = {
    "-f": ("func", "list"), "--func": ("func", "list"),
    "--sample": ("sample", "size"),
    "-o": ("output", str), "--output": ("output", str),
    "--format": ("format", str),
}
# record's are passed to `spyglass record`, which checks them.
_RECORD = {
    "-r": ("rate", str), "--rate": ("rate", str),
    "-o": ("output", str), "--output": ("output", str),
    "-f": ("format", str), "--format": ("format", str),
    "--idle": ("idle", "flag"), "--gil": ("gil", "flag"),
    "--threads": ("threads", "flag"), "--function": ("function", "flag"),
    "--flame": ("flame", "flag"),
}

_SIZE = re.compile(r"(\d+)\s*([kmg]?)(i?b?)", re.IGNORECASE)


def _size(text):
    """Bytes of '65536', '64KiB', '4M' (powers of 1024, as the command)."""
    m = _SIZE.fullmatch(text.strip())
    if not m:
        raise ValueError(f"not a size in bytes: {text!r} (e.g. 64KiB)")
    return int(m.group(1)) * 1024 ** " kmg".index(m.group(2).lower() or " ")


def parse_options(line, spec):
    """Options at the start of line, then the rest of the line as it is
    (a statement keeps its quotes). Returns (options, rest)."""
    opts = {}
    lexer = shlex.shlex(io.StringIO(line), posix=True)
    lexer.whitespace_split = True
    lexer.commenters = ""
    while True:
        start = lexer.instream.tell()
        try:
            word = lexer.get_token()
        except ValueError:  # a quote the statement leaves open
            return opts, line[start:].strip()
        if word is None:
            return opts, ""
        if word == "--":  # the statement may start with "-"
            return opts, line[lexer.instream.tell():].strip()
        if word == "-" or not word.startswith("-"):
            return opts, line[start:].strip()
        name, eq, value = word.partition("=")
        if name not in spec:
            raise UsageError(f"unknown option {name}; the options are "
                             f"{' '.join(sorted(spec))}")
        dest, kind = spec[name]
        if kind in ("flag", "count"):
            if eq:
                raise UsageError(f"{name} takes no value")
            opts[dest] = opts.get(dest, 0) + 1 if kind == "count" else True
            continue
        if not eq:
            value = lexer.get_token()
            if value is None:
                raise UsageError(f"{name} needs a value")
        try:
            if kind == "list":
                opts.setdefault(dest, []).append(value)
            else:
                opts[dest] = (_size if kind == "size" else kind)(value)
        except ValueError as e:
            raise UsageError(f"{name}: {e}") from None


def split_statements(source):
    """The top-level statements of a cell, each as its source text; those
    that share a line stay one statement."""
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    groups = []
    for node in tree.body:
        first = min([node.lineno] + [
            d.lineno for d in getattr(node, "decorator_list", ())])
        if groups and first <= groups[-1][1]:
            groups[-1][1] = max(groups[-1][1], node.end_lineno)
        else:
            groups.append([first, node.end_lineno])
    return ["".join(lines[a - 1:b]).rstrip("\n") for a, b in groups]


def _short(name, command, what=""):
    """The magic `name`: %spyglass COMMAND under a short name."""

    def magic(self, line, cell=None):
        __tracebackhide__ = True  # noqa: F841 (IPython hides the frame)
        return getattr(self, command)(line, cell)

    magic.__name__ = name
    magic.__doc__ = f"%{name}: %spyglass {command}{what and ' ' + what}."
    return line_cell_magic(magic)


@magics_class
class SpyglassMagics(Magics):
    """The magics; each runs in this process except record."""

    # ---- helpers -----------------------------------------------------

    @staticmethod
    def _parse(line, cell, spec, command):
        """The options and the code to run: the cell, else the rest of
        the line."""
        opts, rest = parse_options(line, spec)
        source = cell if cell is not None else rest
        if not source.strip():
            raise UsageError(f"{command}: no statement to run")
        return opts, source

    def _code(self, source):
        """source (IPython syntax allowed) compiled as IPython compiles a
        cell, registered so that tracebacks show its lines."""
        source = self.shell.transform_cell(source)
        name = self.shell.compile.cache(source)
        return self.shell.compile(source, name, "exec")

    def _rich(self):
        """True in a frontend that shows pictures (a Jupyter kernel)."""
        return getattr(self.shell, "kernel", None) is not None

    def _show(self, path):
        """A picture written to path, inline in a notebook."""
        if not self._rich() or not path or not os.path.isfile(path):
            return
        from IPython.display import HTML, SVG, display
        lower = path.lower()
        if lower.endswith(".svg"):
            display(SVG(filename=path))
        elif lower.endswith((".html", ".htm")):
            import html
            with open(path, encoding="utf-8", errors="replace") as f:
                page = f.read()
            # A frame of its own: the report's scripts and styles stay
            # out of the notebook's page.
            display(HTML('<div><iframe style="width:100%;height:640px;'
                         'border:0" srcdoc="'
                         f'{html.escape(page, quote=True)}"></iframe></div>'))

    def _eval_funcs(self, exprs):
        """The functions -f names, evaluated in the user's namespace."""
        funcs = []
        for expr in exprs:
            try:
                funcs.append(eval(expr, self.shell.user_ns))
            except Exception as e:
                raise UsageError(f"-f {expr}: {type(e).__name__}: {e}") \
                    from None
        return funcs

    @staticmethod
    def _check(call, *args, **kw):
        """Call the agent; its refusal of an option is a UsageError."""
        try:
            return call(*args, **kw)
        except ValueError as e:
            raise UsageError(str(e)) from None

    # ---- timeit ------------------------------------------------------

    def timeit(self, line, cell=None):
        __tracebackhide__ = True  # noqa: F841 (IPython hides the frame)
        opts, rest = parse_options(line, _TIMEIT)
        setup = list(opts.get("setup", ()))
        if cell is None:
            stmts = [rest] if rest else []
        else:
            if rest:
                setup.append(rest)
            try:
                stmts = split_statements(self.shell.transform_cell(cell))
            except SyntaxError:
                stmts = [cell]  # the agent shows where the error is
        if not stmts:
            raise UsageError("timeit: no statement to time")
        stmts = [self.shell.transform_cell(s).rstrip("\n") for s in stmts]
        setup = [self.shell.transform_cell(s).rstrip("\n") for s in setup]
        # The namespace's clock runs in C; a statement's exception is
        # raised as it is (IPython shows its traceback).
        try:
            _agent._magic_timeit(
                stmts, self.shell.user_ns, setup=setup,
                number=opts.get("number", 0), repeat=opts.get("repeat", 5),
                unit=opts.get("unit"), verbose=opts.get("verbose", 0),
                process=opts.get("process", False),
                output=opts.get("output"), format=opts.get("format"))
        except ValueError as e:
            if str(e).startswith("timeit:"):
                raise UsageError(str(e)) from None
            raise

    # ---- profile -----------------------------------------------------

    def profile(self, line, cell=None):
        __tracebackhide__ = True  # noqa: F841 (IPython hides the frame)
        opts, source = self._parse(line, cell, _PROFILE, "profile")
        outputs = []
        if opts.get("output") or opts.get("format"):
            outputs.append((opts.get("output"), opts.get("format")))
        elif not opts.get("quiet"):
            outputs.append((None, None))
        if opts.get("text_file"):
            outputs.append((opts["text_file"], "text"))
        if opts.get("dump_file"):
            outputs.append((opts["dump_file"], "pstats"))
        code = self._code(source)
        first = source.strip().splitlines()[0]
        ns = self.shell.user_ns
        try:
            _agent._magic_profile(
                code, ns, ns, sort=",".join(opts.get("sort", ())) or None,
                builtins=not opts.get("no_builtins"),
                threads=opts.get("threads", False),
                limit=opts.get("limit", 0), flame=opts.get("flame", False),
                command=f"%spyglass profile {first}", outputs=outputs)
        except ValueError as e:
            if str(e).startswith("profile:"):
                raise UsageError(str(e)) from None
            raise
        finally:
            self._show(opts.get("output"))

    # ---- lines -------------------------------------------------------

    def lines(self, line, cell=None):
        __tracebackhide__ = True  # noqa: F841 (IPython hides the frame)
        import spyglass
        opts, source = self._parse(line, cell, _LINES, "lines")
        if not opts.get("func"):
            raise UsageError("lines: name the functions to profile with "
                             "-f FUNC (as %lprun)")
        if opts.get("unit", 1) <= 0:
            raise UsageError("lines: -u must be a positive number of "
                             "seconds (as kernprof's)")
        files = [(path, fmt) for path, fmt in (
            (opts.get("output"), opts.get("format")),
            (opts.get("text_file"), "text"), (opts.get("dump_file"), "lprof"))
            if path]
        for path, fmt in files:
            self._check(_agent._magic_check, "lines", path, fmt)
        lp = spyglass.LineProfiler(*self._eval_funcs(opts["func"]))
        code = self._code(source)
        try:
            with lp:
                exec(code, self.shell.user_ns)
        finally:
            lp.print_stats(output_unit=opts.get("unit", 1e-6))
            for path, fmt in files:
                _agent._magic_lines_dump(lp, path, fmt)
            self._show(opts.get("output"))
            # A function is counted by one profiler at a time, and a
            # traceback (IPython keeps the last) holds this frame.
            del lp

    # ---- memory ------------------------------------------------------

    def memory(self, line, cell=None):
        __tracebackhide__ = True  # noqa: F841 (IPython hides the frame)
        import spyglass
        opts, source = self._parse(line, cell, _MEMORY, "memory")
        output = opts.get("output")
        if output or opts.get("format"):
            if not output:
                raise UsageError("memory: --format needs -o FILE")
            self._check(_agent._magic_check, "memory", output,
                        opts.get("format"))
        funcs = self._eval_funcs(opts.get("func", ()))
        m = self._check(spyglass.memory, *funcs, sample=opts.get("sample", 0))
        code = self._code(source)
        try:
            with m:
                exec(code, self.shell.user_ns)
        finally:
            if output:
                m.dump(output, opts.get("format"))
                print(f"spyglass: wrote {output}", file=sys.stderr)
                self._show(output)
            else:
                m.print_stats()
            del m  # its functions' lines, as lines' profiler above

    # ---- record ------------------------------------------------------

    def record(self, line, cell=None):
        __tracebackhide__ = True  # noqa: F841 (IPython hides the frame)
        opts, source = self._parse(line, cell, _RECORD, "record")
        args = []
        for name in ("rate", "output", "format"):
            if opts.get(name):
                args += [f"--{name}", opts[name]]
        args += [f"--{n}" for n in ("idle", "gil", "threads", "function",
                                    "flame") if opts.get(n)]
        code = self._code(source)
        rec = Recorder(args)
        try:
            with rec:
                exec(code, self.shell.user_ns)
        finally:
            if rec.report:
                sys.stderr.write(rec.report)
            self._show(rec.written)

    # ---- the magics ----------------------------------------------------

    @line_cell_magic
    def spyglass(self, line, cell=None):
        """%spyglass CMD [options] STATEMENT, %%spyglass CMD [options]

        CMD is timeit, profile, lines, memory or record, with the options of
        `spyglass CMD` (docs/ipython.md); the statement, or the cell, runs
        in the user's namespace."""
        __tracebackhide__ = True  # noqa: F841
        command, _, rest = line.strip().partition(" ")
        run = {"timeit": self.timeit, "profile": self.profile,
               "lines": self.lines, "memory": self.memory,
               "record": self.record}.get(command)
        if run is None:
            raise UsageError("%spyglass: name a command: timeit, profile, "
                             "lines, memory or record")
        return run(rest, cell)

    # The short names, which shadow no magic of IPython's (%timeit,
    # %prun), line_profiler's (%lprun) or memory_profiler's (%memit,
    # %mprun).
    sgtimeit = _short("sgtimeit", "timeit")
    sgprun = _short("sgprun", "profile")
    sglprun = _short("sglprun", "lines")
    sgmemit = _short("sgmemit", "memory")
    sgmprun = _short("sgmprun", "memory", "-f FUNC: memory_profiler's "
                     "table of FUNC's lines")
    sgrecord = _short("sgrecord", "record")


class Recorder:
    """`spyglass record -p` on this process while the block runs.

    The recorder is started through a shell that waits for a line: its pid
    is known before it reads anything, so this process can allow it to
    (Yama's ptrace_scope 1 lets only ancestors read a process), and the
    exec keeps the pid. It is stopped with SIGINT, on which it writes its
    output; it runs in a session of its own so that a Ctrl-C meant for the
    cell does not stop it first."""

    def __init__(self, args):
        import spyglass
        import tempfile
        self.argv = [spyglass.executable(), "record", *args,
                     "-p", str(os.getpid())]
        self.err = tempfile.TemporaryFile()
        self.proc = None
        self.report = ""
        self.written = None

    def __enter__(self):
        self.proc = subprocess.Popen(
            ["/bin/sh", "-c", 'read _ && exec "$0" "$@"', *self.argv],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
            stderr=self.err, start_new_session=True)
        try:
            _agent._magic_allow_tracer(self.proc.pid)
            self.proc.stdin.write(b"go\n")
            self.proc.stdin.close()
            self._wait_started()
        except BaseException:
            self._stop()
            raise
        if self.proc.poll() is not None:
            self._stop()
            raise UsageError(self.report.strip() or "record: could not start")
        return self

    def _wait_started(self):
        """Until the recorder samples: its sampling loop raises its
        priority (real-time, else nice -10) as it starts; when it may not,
        a quarter of a second."""
        deadline = time.monotonic() + 0.25
        while time.monotonic() < deadline and self.proc.poll() is None:
            if self._raised():
                return
            time.sleep(0.002)

    def _raised(self):
        """Whether a thread of the recorder runs at a raised priority
        (the shell before the exec never does)."""
        task = f"/proc/{self.proc.pid}/task"
        try:
            for tid in os.listdir(task):
                with open(f"{task}/{tid}/stat") as f:
                    # The fields after the name: state is field 3, nice
                    # 19, policy 41 (proc(5)).
                    fields = f.read().rsplit(")", 1)[1].split()
                if fields[41 - 3] != "0" or int(fields[19 - 3]) < 0:
                    return True
        except (OSError, IndexError, ValueError):
            pass
        return False

    def _stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        while True:
            try:
                self.proc.wait()
                break
            except KeyboardInterrupt:  # a second Ctrl-C: still wait for it
                continue
        _agent._magic_allow_tracer(0)
        self.err.seek(0)
        self.report = self.err.read().decode("utf-8", "replace")
        self.err.close()
        m = re.search(r"^spyglass record: wrote (.*) \(\w+\)$", self.report,
                      re.MULTILINE)
        self.written = m.group(1) if m else None

    def __exit__(self, *exc):
        self._stop()
        return False


def load_ipython_extension(ipython):
    """`%load_ext spyglass` (through spyglass.load_ipython_extension)."""
    _agent._magic_cell_sources()
    ipython.register_magics(SpyglassMagics)
