#!/usr/bin/env python3
"""Generate src/remote/layouts_gen.h: CPython struct offsets per minor version.

For every installed CPython (pyenv versions 3.8-3.13, or the prefixes given
on the command line) this compiles a small C probe against that version's
own installed headers (internal ones included, with Py_BUILD_CORE defined),
runs it, and records offsetof()/sizeof() of every field the remote reader
needs. For 3.13+ it also records where each field lives inside
_Py_DebugOffsets, so that the reader takes the *values* from the target
process and only the debug struct's own layout comes from here.

The output is committed; re-run after adding a version:
    python3 tools/gen_layouts.py [PREFIX...] > src/remote/layouts_gen.h
Cross-check with a table of offsets measured some other way (markdown rows
"| field | 3.8 | 3.9 | ... |", names as in REFERENCE_ROWS below):
    python3 tools/gen_layouts.py --check OFFSETS.md
Nothing is guessed: a field the headers do not have is absent (NONE).
"""
import os
import platform
import re
import subprocess
import sys
import tempfile
from pathlib import Path

# Field names are the sg_layout members in src/remote/layout.h.
PROBE = r'''
#define Py_BUILD_CORE 1
#include <Python.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#if PY_MINOR_VERSION == 8
#  include "internal/pycore_pystate.h"
#else
#  include "internal/pycore_runtime.h"
#  include "internal/pycore_interp.h"
#endif
#if PY_MINOR_VERSION <= 10
#  include <frameobject.h>
#else
#  include "internal/pycore_frame.h"
#  include "internal/pycore_dict.h"
#  include "internal/pycore_object.h"
#endif
#if PY_MINOR_VERSION >= 10
#  include "internal/pycore_moduleobject.h"
#endif
#define F(name, type, member) \
    printf("%s %zu\n", name, (size_t)offsetof(type, member));
#define S(name, type) printf("%s %zu\n", name, (size_t)sizeof(type));
#define V(name, value) printf("%s %lld\n", name, (long long)(value));

int main(void)
{
    V("version", PY_VERSION_HEX)
    V("minor", PY_MINOR_VERSION)
    /* _PyRuntimeState */
    S("rt_size", _PyRuntimeState)
    F("rt_interpreters_head", _PyRuntimeState, interpreters.head)
    F("rt_interpreters_main", _PyRuntimeState, interpreters.main)
    F("rt_main_thread", _PyRuntimeState, main_thread)
#if PY_MINOR_VERSION <= 11
    F("rt_tstate_current", _PyRuntimeState, gilstate.tstate_current)
    F("rt_gil_locked", _PyRuntimeState, ceval.gil.locked)
    F("rt_gil_last_holder", _PyRuntimeState, ceval.gil.last_holder)
#endif
    F("rt_initialized", _PyRuntimeState, initialized)
    /* PyInterpreterState */
    F("is_next", PyInterpreterState, next)
#if PY_MINOR_VERSION <= 10
    F("is_threads_head", PyInterpreterState, tstate_head)
#else
    F("is_threads_head", PyInterpreterState, threads.head)
#endif
#if PY_MINOR_VERSION >= 12
    F("is_ceval_gil", PyInterpreterState, ceval.gil)
    F("is_gil", PyInterpreterState, _gil)
    F("gil_locked", struct _gil_runtime_state, locked)
    F("gil_last_holder", struct _gil_runtime_state, last_holder)
#endif
    /* PyThreadState */
    S("ts_size", PyThreadState)
    F("ts_prev", PyThreadState, prev)
    F("ts_next", PyThreadState, next)
    F("ts_interp", PyThreadState, interp)
#if PY_MINOR_VERSION <= 10
    F("ts_frame", PyThreadState, frame)
#elif PY_MINOR_VERSION <= 12
    F("ts_frame", PyThreadState, cframe)
    F("cf_current_frame", _PyCFrame, current_frame)
#else
    F("ts_frame", PyThreadState, current_frame)
#endif
    F("ts_thread_id", PyThreadState, thread_id)
#if PY_MINOR_VERSION >= 11
    F("ts_native_thread_id", PyThreadState, native_thread_id)
#endif
#if PY_MINOR_VERSION >= 12
    F("ts_status", PyThreadState, _status)
#endif
#if PY_MINOR_VERSION >= 13
    {
        /* Which bit of the _status word is holds_gil (a bitfield, so
         * offsetof cannot say): set it alone and look. */
        PyThreadState ts;
        unsigned char b[sizeof ts._status];
        memset(&ts, 0, sizeof ts);
        ts._status.holds_gil = 1;
        memcpy(b, &ts._status, sizeof b);
        for (size_t i = 0; i < sizeof b * 8; i++)
            if (b[i / 8] & (1u << (i % 8)))
                V("ts_holds_gil_bit", i)
    }
#endif
    /* Frames */
#if PY_MINOR_VERSION <= 10
    S("fr_size", PyFrameObject)
    F("fr_back", PyFrameObject, f_back)
    F("fr_code", PyFrameObject, f_code)
    F("fr_lasti", PyFrameObject, f_lasti)
#  if PY_MINOR_VERSION <= 9
    F("fr_live", PyFrameObject, f_executing)
#  else
    F("fr_live", PyFrameObject, f_state)
    V("frame_executing", FRAME_EXECUTING)
    V("frame_unwinding", FRAME_UNWINDING)
#  endif
#else
    S("fr_size", _PyInterpreterFrame)
    F("fr_back", _PyInterpreterFrame, previous)
#  if PY_MINOR_VERSION <= 12
    F("fr_code", _PyInterpreterFrame, f_code)
    F("fr_instr", _PyInterpreterFrame, prev_instr)
#  else
    F("fr_code", _PyInterpreterFrame, f_executable)
    F("fr_instr", _PyInterpreterFrame, instr_ptr)
#  endif
    F("fr_owner", _PyInterpreterFrame, owner)
    S("fr_owner_size", ((_PyInterpreterFrame *)0)->owner)
    V("fr_owner_generator", FRAME_OWNED_BY_GENERATOR)
    /* The lowest owner value of a frame that is not a Python function's:
     * the C-stack shim of 3.12-3.13; from 3.14 the interpreter's own frames
     * (and the C-stack shim after them). */
#  if PY_MINOR_VERSION >= 14
    V("fr_owner_shim", FRAME_OWNED_BY_INTERPRETER)
#  elif PY_MINOR_VERSION >= 12
    V("fr_owner_shim", FRAME_OWNED_BY_CSTACK)
#  endif
#endif
    /* Code objects */
    S("co_size", PyCodeObject)
    F("co_filename", PyCodeObject, co_filename)
    F("co_name", PyCodeObject, co_name)
#if PY_MINOR_VERSION >= 11
    F("co_qualname", PyCodeObject, co_qualname)
    F("co_code_adaptive", PyCodeObject, co_code_adaptive)
    F("co_firsttraceable", PyCodeObject, _co_firsttraceable)
#else
    F("co_code", PyCodeObject, co_code)
#endif
#if PY_MINOR_VERSION <= 9
    F("co_linetable", PyCodeObject, co_lnotab)
#else
    F("co_linetable", PyCodeObject, co_linetable)
#endif
    F("co_firstlineno", PyCodeObject, co_firstlineno)
    /* Objects */
    F("ob_type", PyObject, ob_type)
    F("var_ob_size", PyVarObject, ob_size)
    F("tp_name", PyTypeObject, tp_name)
    F("tp_flags", PyTypeObject, tp_flags)
    F("bytes_sval", PyBytesObject, ob_sval)
    /* str */
    F("u_length", PyASCIIObject, length)
    F("u_state", PyASCIIObject, state)
    S("u_ascii_size", PyASCIIObject)
    S("u_compact_size", PyCompactUnicodeObject)
    F("u_data", PyUnicodeObject, data)
    {
        /* Bit positions of the str state bitfield. */
        PyASCIIObject o;
        unsigned int w;
        memset(&o, 0, sizeof o); o.state.kind = 7;
        memcpy(&w, &o.state, sizeof w); V("u_kind_mask", w)
        memset(&o, 0, sizeof o); o.state.compact = 1;
        memcpy(&w, &o.state, sizeof w); V("u_compact_mask", w)
        memset(&o, 0, sizeof o); o.state.ascii = 1;
        memcpy(&w, &o.state, sizeof w); V("u_ascii_mask", w)
    }
    /* Dicts, modules, ints and instance dicts: for thread names, read from
     * threading._active. */
    F("dict_ma_keys", PyDictObject, ma_keys)
    F("dict_ma_values", PyDictObject, ma_values)
#if PY_MINOR_VERSION <= 10
    /* PyDictKeysObject and its entries are private to Objects/ in these
     * versions (Objects/dict-common.h is not installed): the layout is
     * {Py_ssize_t dk_refcnt, dk_size; lookup fn; Py_ssize_t dk_usable,
     * dk_nentries; char dk_indices[]} followed by {hash, key, value}
     * entries. Spelled out here, the one place. */
    V("dk_size", 8)
    V("dk_nentries", 32)
    V("dk_indices", 40)
    V("dk_entry_size", 24)
#else
    F("dk_log2_size", PyDictKeysObject, dk_log2_size)
    F("dk_log2_index_bytes", PyDictKeysObject, dk_log2_index_bytes)
    F("dk_kind", PyDictKeysObject, dk_kind)
    F("dk_nentries", PyDictKeysObject, dk_nentries)
    F("dk_indices", PyDictKeysObject, dk_indices)
    S("dk_entry_size", PyDictKeyEntry)
    S("dk_uentry_size", PyDictUnicodeEntry)
    F("dv_values", PyDictValues, values)
    V("tpflags_managed_dict", Py_TPFLAGS_MANAGED_DICT)
    {
        /* Where an instance's managed dict pointer sits, relative to the
         * object (negative): asked of the version's own accessor. */
        static char buf[256];
        PyObject *o = (PyObject *)(buf + 128);
#  if PY_MINOR_VERSION == 12
        V("managed_dict_offset",
          (char *)_PyObject_DictOrValuesPointer(o) - (char *)o)
#  else
        V("managed_dict_offset", MANAGED_DICT_OFFSET)
#  endif
#  if PY_MINOR_VERSION == 11
        V("managed_values_offset",
          (char *)_PyObject_ValuesPointer(o) - (char *)o)
#  endif
    }
#endif
#if PY_MINOR_VERSION >= 13
    V("tpflags_inline_values", Py_TPFLAGS_INLINE_VALUES)
    F("dv_valid", PyDictValues, valid)
#endif
#if PY_MINOR_VERSION >= 10
    F("md_dict", PyModuleObject, md_dict)
#else
    /* PyModuleObject is private to Objects/moduleobject.c before 3.10:
     * {PyObject_HEAD; PyObject *md_dict; ...}. */
    V("md_dict", 16)
#endif
    F("tp_basicsize", PyTypeObject, tp_basicsize)
    F("tp_dictoffset", PyTypeObject, tp_dictoffset)
    F("ht_cached_keys", PyHeapTypeObject, ht_cached_keys)
#if PY_MINOR_VERSION <= 11
    F("long_size", PyVarObject, ob_size)
    F("long_digit", PyLongObject, ob_digit)
#else
    F("long_size", PyLongObject, long_value.lv_tag)
    F("long_digit", PyLongObject, long_value.ob_digit)
#endif
    V("long_shift", PyLong_SHIFT)
#if PY_MINOR_VERSION >= 12
    F("is_modules", PyInterpreterState, imports.modules)
#else
    F("is_modules", PyInterpreterState, modules)
#endif
#if PY_MINOR_VERSION >= 13
    /* Where each value lives inside _Py_DebugOffsets (read from the
     * target at attach time). */
    S("dbg_size", _Py_DebugOffsets)
    F("dbg_version", _Py_DebugOffsets, version)
    F("dbg_free_threaded", _Py_DebugOffsets, free_threaded)
    F("dbg_rt_size", _Py_DebugOffsets, runtime_state.size)
    F("dbg_rt_interpreters_head", _Py_DebugOffsets, runtime_state.interpreters_head)
    F("dbg_is_size", _Py_DebugOffsets, interpreter_state.size)
    F("dbg_is_next", _Py_DebugOffsets, interpreter_state.next)
    F("dbg_is_threads_head", _Py_DebugOffsets, interpreter_state.threads_head)
    F("dbg_is_ceval_gil", _Py_DebugOffsets, interpreter_state.ceval_gil)
    F("dbg_is_gil", _Py_DebugOffsets, interpreter_state.gil_runtime_state)
    F("dbg_is_gil_locked", _Py_DebugOffsets, interpreter_state.gil_runtime_state_locked)
    F("dbg_is_gil_holder", _Py_DebugOffsets, interpreter_state.gil_runtime_state_holder)
    F("dbg_ts_size", _Py_DebugOffsets, thread_state.size)
    F("dbg_ts_prev", _Py_DebugOffsets, thread_state.prev)
    F("dbg_ts_next", _Py_DebugOffsets, thread_state.next)
    F("dbg_ts_interp", _Py_DebugOffsets, thread_state.interp)
    F("dbg_ts_frame", _Py_DebugOffsets, thread_state.current_frame)
    F("dbg_ts_thread_id", _Py_DebugOffsets, thread_state.thread_id)
    F("dbg_ts_native_thread_id", _Py_DebugOffsets, thread_state.native_thread_id)
    F("dbg_ts_status", _Py_DebugOffsets, thread_state.status)
    F("dbg_fr_size", _Py_DebugOffsets, interpreter_frame.size)
    F("dbg_fr_back", _Py_DebugOffsets, interpreter_frame.previous)
    F("dbg_fr_code", _Py_DebugOffsets, interpreter_frame.executable)
    F("dbg_fr_instr", _Py_DebugOffsets, interpreter_frame.instr_ptr)
    F("dbg_fr_owner", _Py_DebugOffsets, interpreter_frame.owner)
    F("dbg_co_size", _Py_DebugOffsets, code_object.size)
    F("dbg_co_filename", _Py_DebugOffsets, code_object.filename)
    F("dbg_co_name", _Py_DebugOffsets, code_object.name)
    F("dbg_co_qualname", _Py_DebugOffsets, code_object.qualname)
    F("dbg_co_linetable", _Py_DebugOffsets, code_object.linetable)
    F("dbg_co_firstlineno", _Py_DebugOffsets, code_object.firstlineno)
    F("dbg_co_code_adaptive", _Py_DebugOffsets, code_object.co_code_adaptive)
    F("dbg_ob_type", _Py_DebugOffsets, pyobject.ob_type)
    F("dbg_tp_name", _Py_DebugOffsets, type_object.tp_name)
    F("dbg_tp_flags", _Py_DebugOffsets, type_object.tp_flags)
    F("dbg_bytes_sval", _Py_DebugOffsets, bytes_object.ob_sval)
    F("dbg_var_ob_size", _Py_DebugOffsets, bytes_object.ob_size)
    F("dbg_u_size", _Py_DebugOffsets, unicode_object.size)
    F("dbg_u_state", _Py_DebugOffsets, unicode_object.state)
    F("dbg_u_length", _Py_DebugOffsets, unicode_object.length)
    F("dbg_u_ascii_size", _Py_DebugOffsets, unicode_object.asciiobject_size)
#endif
    return 0;
}
'''

# Members of sg_layout, in declaration order (layout.h keeps the same list).
FIELDS = [
    "rt_size", "rt_interpreters_head", "rt_interpreters_main",
    "rt_main_thread", "rt_tstate_current",
    "rt_gil_locked", "rt_gil_last_holder", "rt_initialized",
    "is_next", "is_threads_head", "is_ceval_gil", "is_gil", "gil_locked",
    "gil_last_holder",
    "ts_size", "ts_prev", "ts_next", "ts_interp", "ts_frame", "cf_current_frame",
    "ts_thread_id", "ts_native_thread_id", "ts_status", "ts_holds_gil_bit",
    "fr_size", "fr_back", "fr_code", "fr_lasti", "fr_live",
    "frame_executing", "frame_unwinding", "fr_instr", "fr_owner",
    "fr_owner_size", "fr_owner_generator", "fr_owner_shim",
    "co_size", "co_filename", "co_name", "co_qualname", "co_code_adaptive",
    "co_firsttraceable", "co_code", "co_linetable", "co_firstlineno",
    "ob_type", "var_ob_size", "tp_name", "tp_flags", "bytes_sval",
    "u_length", "u_state", "u_ascii_size", "u_compact_size", "u_data",
    "u_kind_mask", "u_compact_mask", "u_ascii_mask",
    "dict_ma_keys", "dict_ma_values", "dk_size", "dk_log2_size",
    "dk_log2_index_bytes", "dk_kind", "dk_nentries", "dk_indices",
    "dk_entry_size", "dk_uentry_size", "dv_values", "dv_valid",
    "tpflags_managed_dict",
    "managed_dict_offset", "managed_values_offset", "tpflags_inline_values", "md_dict",
    "tp_basicsize", "tp_dictoffset", "ht_cached_keys", "long_size",
    "long_digit", "long_shift", "is_modules",
]
DBG_FIELDS = [
    "dbg_size", "dbg_version", "dbg_free_threaded", "dbg_rt_size",
    "dbg_rt_interpreters_head", "dbg_is_size", "dbg_is_next",
    "dbg_is_threads_head", "dbg_is_ceval_gil", "dbg_is_gil",
    "dbg_is_gil_locked", "dbg_is_gil_holder", "dbg_ts_size", "dbg_ts_prev",
    "dbg_ts_next", "dbg_ts_interp", "dbg_ts_frame", "dbg_ts_thread_id",
    "dbg_ts_native_thread_id", "dbg_ts_status", "dbg_fr_size", "dbg_fr_back",
    "dbg_fr_code", "dbg_fr_instr", "dbg_fr_owner", "dbg_co_size",
    "dbg_co_filename", "dbg_co_name", "dbg_co_qualname", "dbg_co_linetable",
    "dbg_co_firstlineno", "dbg_co_code_adaptive", "dbg_ob_type",
    "dbg_tp_name", "dbg_tp_flags", "dbg_bytes_sval", "dbg_var_ob_size",
    "dbg_u_size", "dbg_u_state", "dbg_u_length", "dbg_u_ascii_size",
]


def pyenv_prefixes():
    root = os.environ.get("PYENV_ROOT")
    if not root:
        root = subprocess.run(["pyenv", "root"], capture_output=True,
                              text=True).stdout.strip()
    newest = {}
    for d in sorted(Path(root, "versions").iterdir()):
        m = re.fullmatch(r"3\.(\d+)\.(\d+)", d.name)
        if m and 8 <= int(m[1]):
            key = int(m[1])
            if key not in newest or int(m[2]) > newest[key][0]:
                newest[key] = (int(m[2]), d)
    return [newest[k][1] for k in sorted(newest)]


def probe(prefix):
    inc = next(Path(prefix, "include").glob("python3.*"))
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp, "probe.c")
        exe = Path(tmp, "probe")
        src.write_text(PROBE)
        cmd = ["gcc", "-std=gnu11", "-w", "-DNDEBUG", f"-I{inc}", f"-I{inc}/internal",
               str(src), "-o", str(exe)]
        subprocess.run(cmd, check=True)
        out = subprocess.run([str(exe)], capture_output=True, text=True,
                             check=True).stdout
    vals = {}
    for line in out.splitlines():
        k, v = line.split()
        vals[k] = int(v)
    return vals, inc


# Rows of a measured offsets table and the generated field each must equal,
# for --check.
REFERENCE_ROWS = {
    "sizeof(_PyRuntimeState)": "rt_size",
    "_PyRuntimeState.interpreters.head": "rt_interpreters_head",
    "_PyRuntimeState.interpreters.main": "rt_interpreters_main",
    "_PyRuntimeState.main_thread": "rt_main_thread",
    "_PyRuntimeState.gilstate.tstate_current": "rt_tstate_current",
    "_PyRuntimeState.ceval.gil.locked": "rt_gil_locked",
    "_PyRuntimeState.ceval.gil.last_holder": "rt_gil_last_holder",
    "PyInterpreterState.next": "is_next",
    "PyInterpreterState.threads.head (tstate_head <=3.10)": "is_threads_head",
    "PyInterpreterState.ceval.gil": "is_ceval_gil",
    "PyInterpreterState._gil": "is_gil",
    "PyInterpreterState.imports.modules (modules <=3.11)": "is_modules",
    "sizeof(PyThreadState)": "ts_size",
    "PyThreadState.next": "ts_next",
    "PyThreadState.interp": "ts_interp",
    "PyThreadState frame ptr: frame<=3.10 / cframe 3.11-12 / "
    "current_frame 3.13": "ts_frame",
    "_PyCFrame.current_frame": "cf_current_frame",
    "PyThreadState.thread_id": "ts_thread_id",
    "PyThreadState.native_thread_id": "ts_native_thread_id",
    "PyThreadState._status": "ts_status",
    "PyFrameObject.f_back": None,  # <=3.10 only, see below
    "PyFrameObject.f_code": "fr_code",
    "PyFrameObject.f_lasti": "fr_lasti",
    "_PyInterpreterFrame.previous": "fr_back",
    "_PyInterpreterFrame code: f_code 3.11-12 / f_executable 3.13": "fr_code",
    "_PyInterpreterFrame ip: prev_instr 3.11-12 / instr_ptr 3.13": "fr_instr",
    "_PyInterpreterFrame.owner": "fr_owner",
    "sizeof(PyCodeObject)": "co_size",
    "PyCodeObject.co_firstlineno": "co_firstlineno",
    "PyCodeObject.co_filename": "co_filename",
    "PyCodeObject.co_name": "co_name",
    "PyCodeObject.co_qualname": "co_qualname",
    "PyCodeObject line table: co_lnotab<=3.9 / co_linetable 3.10+":
        "co_linetable",
    "PyCodeObject.co_code": "co_code",
    "PyCodeObject.co_code_adaptive": "co_code_adaptive",
    "PyCodeObject._co_firsttraceable": "co_firsttraceable",
    "sizeof(PyASCIIObject)": "u_ascii_size",
    "sizeof(PyCompactUnicodeObject)": "u_compact_size",
    "PyUnicodeObject.data": "u_data",
    "PyASCIIObject.length": "u_length",
    "PyASCIIObject.state": "u_state",
    "PyBytesObject.ob_sval": "bytes_sval",
}


def check(rows, reference):
    """Compare the generated values with the reference table; returns the
    number of mismatches (printed)."""
    text = Path(reference).read_text()
    header = None
    bad = checked = 0
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells and cells[0] == "field":
            header = cells[1:]
            continue
        if not header or not cells or cells[0] not in REFERENCE_ROWS:
            continue
        key = REFERENCE_ROWS[cells[0]]
        for ver, want in zip(header, cells[1:]):
            if want == "-" or not re.fullmatch(r"3\.\d+", ver):
                continue
            minor = int(ver.split(".")[1])
            vals = next((v for v, _ in rows if v["minor"] == minor), None)
            k = key
            if cells[0] == "PyFrameObject.f_back":
                k = "fr_back" if minor <= 10 else None
            if vals is None or k is None:
                continue
            checked += 1
            got = vals.get(k)
            if got != int(want):
                bad += 1
                print(f"MISMATCH {cells[0]} {ver}: generated {got}, "
                      f"reference {want}", file=sys.stderr)
    print(f"checked {checked} values against {reference}: {bad} differ",
          file=sys.stderr)
    return bad


def main(argv):
    if platform.machine() != "x86_64":
        # The probe measures the machine it runs on; the table describes
        # x86_64 builds (the only targets the reader supports).
        sys.exit(f"gen_layouts.py: run on x86_64 (this machine is "
                 f"{platform.machine()})")
    ref = None
    if argv[:1] == ["--check"]:
        ref, argv = argv[1], argv[2:]
    prefixes = [Path(p) for p in argv] or pyenv_prefixes()
    rows = []
    for p in prefixes:
        vals, inc = probe(p)
        rows.append((vals, p))
    out = []
    out.append("/* layouts_gen.h -- GENERATED by tools/gen_layouts.py; "
               "do not edit.\n *\n * offsetof()/sizeof() from each CPython's "
               "installed headers (x86_64):")
    for vals, p in rows:
        out.append(f" *   {p.name}: {p}")
    out.append(" */")
    out.append("/* clang-format off */")
    out.append("static const sg_layout sg_layouts_gen[] = {")
    for vals, p in rows:
        out.append(f"    {{ /* {p.name} */")
        out.append(f"        .version = 0x{vals['version']:08x}, "
                   f".minor = {vals['minor']},")
        for f in FIELDS:
            if f in vals:
                out.append(f"        .{f} = {vals[f]},")
            else:
                out.append(f"        .{f} = LAYOUT_NONE,")
        out.append("    },")
    out.append("};")
    out.append("")
    out.append("/* Where each field sits inside _Py_DebugOffsets, per minor "
               "(3.13+). */")
    out.append("static const sg_debug_layout sg_debug_layouts_gen[] = {")
    for vals, p in rows:
        if "dbg_size" not in vals:
            continue
        out.append(f"    {{ /* {p.name} */")
        out.append(f"        .minor = {vals['minor']},")
        for f in DBG_FIELDS:
            out.append(f"        .{f[4:]} = {vals[f]},")
        out.append("    },")
    out.append("};")
    if ref:
        sys.exit(1 if check(rows, ref) else 0)
    print("\n".join(out))


if __name__ == "__main__":
    main(sys.argv[1:])
