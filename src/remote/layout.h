/* layout.h -- what the remote reader knows about each CPython version.
 *
 * One sg_layout describes one minor version's x86_64 release build, in two
 * parts. The offsets: the byte position of every field the reader follows.
 * 3.8-3.12 come from the generated table (layouts_gen.h, made by
 * tools/gen_layouts.py from each version's own headers); from 3.13 on, the
 * values are read out of the target's own _PyRuntime.debug_offsets, and
 * only the position of each value inside that struct is generated
 * (sg_debug_layout). The traits (sg_traits): what a version does
 * differently beyond where fields are, filled per version in layout.c.
 *
 * layout.c is the only file of the reader that compares version numbers:
 * the walker and the decoders ask the layout. Supporting a new CPython is a
 * generator run with it installed plus one row of traits.
 */
#ifndef SG_REMOTE_LAYOUT_H
#define SG_REMOTE_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "remote/linetable.h"

#define LAYOUT_NONE UINT32_MAX

/* What differs between versions beyond offsets. */
typedef struct sg_traits {
    /* The frame chain: PyFrameObject (tstate->frame, f_back) when true
     * (<=3.10), else _PyInterpreterFrame (previous). */
    bool frame_objects;
    /* The thread state's frame field points to a _PyCFrame whose
     * current_frame is the innermost frame (3.11-3.12). */
    bool cframe;
    /* Frame objects: bytes per unit of f_lasti (3.10 counts code units). */
    uint8_t lasti_scale;
    /* The format of co_linetable (co_lnotab <=3.9). */
    lt_format linetable;
    /* f_executable is a _PyStackRef: these low bits are tags, masked off to
     * get the object (Py_TAG_BITS, 3.14+); 0 for a plain pointer. */
    uint64_t executable_tag;
    /* f_executable may be an object other than code (None in an entry
     * frame): such a frame is skipped, not taken for a torn read (3.13+). */
    bool executable_any;
    /* A frame that has not reached its code's _co_firsttraceable is hidden,
     * as tracebacks hide it, unless a generator owns it (3.11+). */
    bool hide_untraceable;
    /* An instance's managed dict word, when odd, is its values pointer
     * minus one (_PyDictOrValues, 3.12). */
    bool dict_values_tagged;
    /* How an int stores its size: 0, ob_size is the signed digit count;
     * else lv_tag = digits << long_tag_bits | sign, sign 2 meaning negative
     * (3.12+). */
    uint8_t long_tag_bits;
    /* The image exports Py_Version (3.11+); before, the version comes from
     * the file name and the PY_VERSION string. */
    bool py_version;
    /* _PyRuntime starts with _Py_DebugOffsets: the offsets are the
     * target's own (3.13+). */
    bool debug_offsets;
} sg_traits;

typedef struct sg_layout {
    uint32_t version; /* PY_VERSION_HEX of the headers the table came from */
    uint32_t minor;
    sg_traits tr; /* filled by layout_for_minor, not by the generated table */
    /* _PyRuntimeState */
    uint32_t rt_size, rt_interpreters_head, rt_interpreters_main,
        rt_main_thread, rt_tstate_current, rt_gil_locked, rt_gil_last_holder,
        rt_initialized;
    /* PyInterpreterState, and the GIL struct it points to (3.12+) */
    uint32_t is_next, is_threads_head, is_ceval_gil, is_gil, gil_locked,
        gil_last_holder;
    /* PyThreadState (ts_frame: frame <=3.10, cframe 3.11-12, current_frame
     * 3.13; cf_current_frame: inside _PyCFrame) */
    uint32_t ts_size, ts_prev, ts_next, ts_interp, ts_frame, cf_current_frame,
        ts_thread_id, ts_native_thread_id, ts_status, ts_holds_gil_bit;
    /* PyFrameObject (<=3.10) or _PyInterpreterFrame (3.11+) */
    uint32_t fr_size, fr_back, fr_code, fr_lasti, fr_instr, fr_owner,
        fr_owner_size;
    /* Owner values (3.11+): a generator's frame; the lowest owner of a
     * frame that is no Python function's (3.12+: C-stack shims, 3.14+ also
     * interpreter frames), skipped by the walk. */
    uint32_t fr_owner_generator, fr_owner_shim;
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
        dk_uentry_size, dv_values, dv_valid, tpflags_managed_dict;
    int32_t managed_dict_offset, managed_values_offset;
    uint32_t tpflags_inline_values, md_dict, tp_basicsize, tp_dictoffset,
        ht_cached_keys, long_size, long_digit, long_shift, is_modules;
} sg_layout;

/* Byte positions of values inside _Py_DebugOffsets (3.13+). */
typedef struct sg_debug_layout {
    uint32_t minor;
    uint32_t size, version, free_threaded, rt_size, rt_interpreters_head,
        is_size, is_next, is_threads_head, is_ceval_gil, is_gil, is_gil_locked,
        is_gil_holder, ts_size, ts_prev, ts_next, ts_interp, ts_frame,
        ts_thread_id, ts_native_thread_id, ts_status, fr_size, fr_back,
        fr_code, fr_instr, fr_owner, co_size, co_filename, co_name,
        co_qualname, co_linetable, co_firstlineno, co_code_adaptive, ob_type,
        tp_name, tp_flags, bytes_sval, var_ob_size, u_size, u_state, u_length,
        u_ascii_size;
} sg_debug_layout;

/* The layout of a supported minor version (3.8 -> 8): the generated
 * offsets and the version's traits. Returns false for an unsupported one. */
bool layout_for_minor(unsigned minor, sg_layout *out);
/* The traits of a minor version, or NULL. Known for the next version before
 * its offsets are generated (then layout_for_minor still says no). */
const sg_traits *layout_traits(unsigned minor);
/* The supported minors, oldest first: layout_minor_at(0), (1), ... then 0. */
unsigned layout_minor_at(size_t i);
/* The supported range for messages, "3.8-3.13", written to buf (16 bytes
 * are enough). Returns buf. */
const char *layout_supported(char *buf, size_t n);
/* The _Py_DebugOffsets description for a minor version, or NULL. */
const sg_debug_layout *layout_debug_for_minor(unsigned minor);
/* Build *out from the bytes of a target's _Py_DebugOffsets (n bytes read
 * from _PyRuntime + 0). Fields the debug struct does not carry keep the
 * generated value for that minor. Returns 0, or -1 with a reason in why. */
int layout_from_debug(const uint8_t *dbg, size_t n, unsigned minor,
                      sg_layout *out, char *why, size_t why_len);

#endif
