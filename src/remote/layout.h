/* layout.h -- where things are inside CPython's structures, per version.
 *
 * One sg_layout describes one minor version's x86_64 release build: the
 * byte offsets of every field the remote reader follows. 3.8-3.12 come from
 * the generated table (layouts_gen.h, made by tools/gen_layouts.py from each
 * version's own headers). From 3.13 on, the values are read out of the
 * target's own _PyRuntime.debug_offsets; only the position of each value
 * inside that struct comes from the generated sg_debug_layout.
 */
#ifndef SG_REMOTE_LAYOUT_H
#define SG_REMOTE_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#define LAYOUT_NONE UINT32_MAX

typedef struct sg_layout {
    uint32_t version; /* PY_VERSION_HEX of the headers the table came from */
    uint32_t minor;
    /* _PyRuntimeState */
    uint32_t rt_size, rt_interpreters_head, rt_interpreters_main,
        rt_main_thread, rt_tstate_current, rt_gil_locked, rt_gil_last_holder,
        rt_initialized;
    /* PyInterpreterState, and the GIL struct it points to (3.12+) */
    uint32_t is_next, is_threads_head, is_ceval_gil, is_gil, gil_locked,
        gil_last_holder;
    /* PyThreadState (ts_frame: frame <=3.10, cframe 3.11-12, current_frame
     * 3.13; cf_current_frame: inside _PyCFrame) */
    uint32_t ts_size, ts_next, ts_interp, ts_frame, cf_current_frame,
        ts_thread_id, ts_native_thread_id, ts_status, ts_holds_gil_bit;
    /* PyFrameObject (<=3.10) or _PyInterpreterFrame (3.11+) */
    uint32_t fr_size, fr_back, fr_code, fr_lasti, fr_instr, fr_owner,
        fr_owner_size, frame_owned_by_cstack;
    /* <=3.10: a frame on a thread's stack is live: f_executing == 1
     * (3.8-3.9) or f_state EXECUTING/UNWINDING (3.10) */
    uint32_t fr_live, frame_executing, frame_unwinding;
    /* PyCodeObject */
    uint32_t co_size, co_filename, co_name, co_qualname, co_code_adaptive,
        co_firsttraceable, co_code, co_linetable, co_firstlineno;
    /* objects, bytes, str */
    uint32_t ob_type, var_ob_size, tp_name, tp_flags, bytes_sval;
    uint32_t u_length, u_state, u_ascii_size, u_compact_size, u_data,
        u_kind_mask, u_compact_mask, u_ascii_mask;
    /* dicts, modules, ints, instance dicts (thread names); dk_size is for
     * <=3.10, dk_log2_* for 3.11+; managed_dict_offset is negative */
    uint32_t dict_ma_keys, dict_ma_values, dk_size, dk_log2_size,
        dk_log2_index_bytes, dk_kind, dk_nentries, dk_indices, dk_entry_size,
        dk_uentry_size, dv_values, tpflags_managed_dict;
    int32_t managed_dict_offset, managed_values_offset;
    uint32_t tpflags_inline_values, md_dict, tp_basicsize, tp_dictoffset,
        ht_cached_keys, long_size, long_digit, long_shift, is_modules;
} sg_layout;

/* Byte positions of values inside _Py_DebugOffsets (3.13+). */
typedef struct sg_debug_layout {
    uint32_t minor;
    uint32_t size, version, free_threaded, rt_size, rt_interpreters_head,
        is_size, is_next, is_threads_head, is_ceval_gil, is_gil, is_gil_locked,
        is_gil_holder, ts_size, ts_next, ts_interp, ts_frame, ts_thread_id,
        ts_native_thread_id, ts_status, fr_size, fr_back, fr_code, fr_instr,
        fr_owner, co_size, co_filename, co_name, co_qualname, co_linetable,
        co_firstlineno, co_code_adaptive, ob_type, tp_name, tp_flags,
        bytes_sval, var_ob_size, u_size, u_state, u_length, u_ascii_size;
} sg_debug_layout;

/* The generated layout for a minor version (3.8 -> 8), or NULL. */
const sg_layout *layout_for_minor(unsigned minor);
/* The _Py_DebugOffsets description for a minor version, or NULL. */
const sg_debug_layout *layout_debug_for_minor(unsigned minor);
/* Build *out from the bytes of a target's _Py_DebugOffsets (n bytes read
 * from _PyRuntime + 0). Fields the debug struct does not carry keep the
 * generated value for that minor. Returns 0, or -1 with a reason in why. */
int layout_from_debug(const uint8_t *dbg, size_t n, unsigned minor,
                      sg_layout *out, char *why, size_t why_len);
/* Lowest minor with a debug-offsets layout (13). */
#define LAYOUT_FIRST_DEBUG_MINOR 13

#endif
