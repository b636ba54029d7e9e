/* layout.c -- choose the struct layout and the traits of a target's CPython.
 *
 * The one file of the reader that knows version numbers: the traits table
 * below says what each minor does differently, the generated table where
 * its fields are. For 3.13+ the offsets come from the target itself
 * (_Py_DebugOffsets), and are validated like untrusted input: the cookie,
 * the version, no free-threading, sizes under 1 MiB, and every field inside
 * its struct.
 */
#include "remote/layout.h"

#include <stdio.h>
#include <string.h>

#include "remote/layouts_gen.h"

#define N_LAYOUTS (sizeof sg_layouts_gen / sizeof sg_layouts_gen[0])
#define N_DEBUG (sizeof sg_debug_layouts_gen / sizeof sg_debug_layouts_gen[0])
#define MAX_STRUCT (1u << 20)

/* Per version, from its headers: frames (Include/frameobject.h <=3.10,
 * internal/pycore_frame.h after), line tables (Objects/lnotab_notes.txt,
 * Objects/locations.md), stack references (internal/pycore_stackref.h:
 * Py_TAG_BITS of the default build), dict values (internal/pycore_dict.h)
 * and ints (internal/pycore_long.h). A new version: copy the last row and
 * change what its headers changed. */
typedef struct traits_row {
    unsigned minor;
    sg_traits t;
} traits_row;

/* clang-format off */
static const traits_row traits_table[] = {
    {8,  {.frame_objects = true, .lasti_scale = 1, .linetable = LT_LNOTAB}},
    {9,  {.frame_objects = true, .lasti_scale = 1, .linetable = LT_LNOTAB}},
    {10, {.frame_objects = true, .lasti_scale = 2,
          .linetable = LT_LINETABLE310}},
    {11, {.cframe = true, .linetable = LT_LOCATIONS,
          .hide_untraceable = true, .py_version = true}},
    {12, {.cframe = true, .linetable = LT_LOCATIONS,
          .hide_untraceable = true, .dict_values_tagged = true,
          .long_tag_bits = 3, .py_version = true}},
    {13, {.linetable = LT_LOCATIONS, .executable_any = true,
          .hide_untraceable = true, .long_tag_bits = 3, .py_version = true,
          .debug_offsets = true}},
    {14, {.linetable = LT_LOCATIONS, .executable_tag = 3,
          .executable_any = true, .hide_untraceable = true,
          .long_tag_bits = 3, .py_version = true, .debug_offsets = true}},
};
/* clang-format on */

#define N_TRAITS (sizeof traits_table / sizeof traits_table[0])

const sg_traits *
layout_traits(unsigned minor)
{
    for (size_t i = 0; i < N_TRAITS; i++)
        if (traits_table[i].minor == minor)
            return &traits_table[i].t;
    return NULL;
}

static const sg_layout *
generated(unsigned minor)
{
    for (size_t i = 0; i < N_LAYOUTS; i++)
        if (sg_layouts_gen[i].minor == minor)
            return &sg_layouts_gen[i];
    return NULL;
}

bool
layout_for_minor(unsigned minor, sg_layout *out)
{
    const sg_layout *gen = generated(minor);
    const sg_traits *t = layout_traits(minor);
    if (!gen || !t)
        return false;
    *out = *gen;
    out->tr = *t;
    return true;
}

unsigned
layout_minor_at(size_t i)
{
    /* The generated rows are in version order. */
    for (size_t k = 0; k < N_LAYOUTS; k++)
        if (layout_traits(sg_layouts_gen[k].minor) && i-- == 0)
            return sg_layouts_gen[k].minor;
    return 0;
}

const char *
layout_supported(char *buf, size_t n)
{
    unsigned first = layout_minor_at(0), last = first;
    for (size_t i = 1; layout_minor_at(i); i++)
        last = layout_minor_at(i);
    snprintf(buf, n, "3.%u-3.%u", first, last);
    return buf;
}

const sg_debug_layout *
layout_debug_for_minor(unsigned minor)
{
    for (size_t i = 0; i < N_DEBUG; i++)
        if (sg_debug_layouts_gen[i].minor == minor)
            return &sg_debug_layouts_gen[i];
    return NULL;
}

static uint64_t
dbg_u64(const uint8_t *dbg, uint32_t pos)
{
    uint64_t v;
    memcpy(&v, dbg + pos, sizeof v);
    return v;
}

/* Take one offset from the debug struct: it must be inside its struct
 * (field plus width within size). */
static bool
take(const uint8_t *dbg, uint32_t pos, uint64_t struct_size, unsigned width,
     uint32_t *out)
{
    uint64_t v = dbg_u64(dbg, pos);
    if (v >= MAX_STRUCT || v + width > struct_size)
        return false;
    *out = (uint32_t)v;
    return true;
}

int
layout_from_debug(const uint8_t *dbg, size_t n, unsigned minor, sg_layout *out,
                  char *why, size_t why_len)
{
    const sg_debug_layout *d = layout_debug_for_minor(minor);
    sg_layout base;
    if (!d || !layout_for_minor(minor, &base) || !base.tr.debug_offsets) {
        snprintf(why, why_len, "no _Py_DebugOffsets layout for 3.%u", minor);
        return -1;
    }
    if (n < d->size || memcmp(dbg, "xdebugpy", 8) != 0) {
        snprintf(why, why_len, "_Py_DebugOffsets cookie not found");
        return -1;
    }
    uint64_t version = dbg_u64(dbg, d->version);
    if (((version >> 24) & 0xff) != 3 || ((version >> 16) & 0xff) != minor) {
        snprintf(why, why_len, "_Py_DebugOffsets version 0x%llx is not 3.%u",
                 (unsigned long long)version, minor);
        return -1;
    }
    if (dbg_u64(dbg, d->free_threaded) != 0) {
        snprintf(why, why_len, "free-threaded build");
        return -1;
    }
    uint64_t rt = dbg_u64(dbg, d->rt_size), is = dbg_u64(dbg, d->is_size),
             ts = dbg_u64(dbg, d->ts_size), fr = dbg_u64(dbg, d->fr_size),
             co = dbg_u64(dbg, d->co_size), us = dbg_u64(dbg, d->u_size);
    if (!rt || !is || !ts || !fr || !co || !us || rt >= MAX_STRUCT ||
        is >= MAX_STRUCT || ts >= MAX_STRUCT || fr >= MAX_STRUCT ||
        co >= MAX_STRUCT || us >= MAX_STRUCT) {
        snprintf(why, why_len, "implausible struct sizes in _Py_DebugOffsets");
        return -1;
    }
    *out = base;
    out->version = (uint32_t)version;
    out->rt_size = (uint32_t)rt;
    out->ts_size = (uint32_t)ts;
    out->fr_size = (uint32_t)fr;
    out->co_size = (uint32_t)co;
    uint32_t gil_abs = 0, locked_abs = 0, holder_abs = 0;
    bool ok =
        take(dbg, d->rt_interpreters_head, rt, 8,
             &out->rt_interpreters_head) &&
        take(dbg, d->is_next, is, 8, &out->is_next) &&
        take(dbg, d->is_threads_head, is, 8, &out->is_threads_head) &&
        take(dbg, d->is_ceval_gil, is, 8, &out->is_ceval_gil) &&
        take(dbg, d->is_gil, is, 8, &gil_abs) &&
        take(dbg, d->is_gil_locked, is, 4, &locked_abs) &&
        take(dbg, d->is_gil_holder, is, 8, &holder_abs) &&
        take(dbg, d->ts_prev, ts, 8, &out->ts_prev) &&
        take(dbg, d->ts_next, ts, 8, &out->ts_next) &&
        take(dbg, d->ts_interp, ts, 8, &out->ts_interp) &&
        take(dbg, d->ts_frame, ts, 8, &out->ts_frame) &&
        take(dbg, d->ts_thread_id, ts, 8, &out->ts_thread_id) &&
        take(dbg, d->ts_native_thread_id, ts, 8, &out->ts_native_thread_id) &&
        take(dbg, d->ts_status, ts, 4, &out->ts_status) &&
        take(dbg, d->fr_back, fr, 8, &out->fr_back) &&
        take(dbg, d->fr_code, fr, 8, &out->fr_code) &&
        take(dbg, d->fr_instr, fr, 8, &out->fr_instr) &&
        take(dbg, d->fr_owner, fr, 1, &out->fr_owner) &&
        take(dbg, d->co_filename, co, 8, &out->co_filename) &&
        take(dbg, d->co_name, co, 8, &out->co_name) &&
        take(dbg, d->co_qualname, co, 8, &out->co_qualname) &&
        take(dbg, d->co_linetable, co, 8, &out->co_linetable) &&
        take(dbg, d->co_firstlineno, co, 4, &out->co_firstlineno) &&
        take(dbg, d->co_code_adaptive, co, 1, &out->co_code_adaptive) &&
        take(dbg, d->ob_type, 1u << 12, 8, &out->ob_type) &&
        take(dbg, d->tp_name, 1u << 12, 8, &out->tp_name) &&
        take(dbg, d->tp_flags, 1u << 12, 8, &out->tp_flags) &&
        take(dbg, d->bytes_sval, 1u << 12, 1, &out->bytes_sval) &&
        take(dbg, d->var_ob_size, 1u << 12, 8, &out->var_ob_size) &&
        take(dbg, d->u_state, us, 4, &out->u_state) &&
        take(dbg, d->u_length, us, 8, &out->u_length) &&
        take(dbg, d->u_ascii_size, 1u << 12, 0, &out->u_ascii_size);
    if (!ok) {
        snprintf(why, why_len,
                 "an offset in _Py_DebugOffsets lies outside "
                 "its struct");
        return -1;
    }
    /* The GIL fields are given as absolute offsets in the interpreter (they
     * address interp->_gil); the reader wants them relative to the GIL
     * struct, since ceval.gil may point to another interpreter's. */
    if (locked_abs < gil_abs || holder_abs < gil_abs) {
        snprintf(why, why_len,
                 "GIL offsets in _Py_DebugOffsets are "
                 "inconsistent");
        return -1;
    }
    out->is_gil = gil_abs;
    out->gil_locked = locked_abs - gil_abs;
    out->gil_last_holder = holder_abs - gil_abs;
    /* Derived from the published sizes as CPython lays strings out: the
     * compact non-ASCII header adds utf8_length and utf8 (two words), and a
     * legacy string's data pointer is its last word. */
    out->u_compact_size = out->u_ascii_size + 16;
    out->u_data = (uint32_t)us - 8;
    out->rt_tstate_current = LAYOUT_NONE;
    return 0;
}
