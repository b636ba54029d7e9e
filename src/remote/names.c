/* names.c -- Python thread names, as threading knows them.
 *
 * threading keeps {ident: Thread} in threading._active, and each Thread's
 * name in its instance dict under "_name". Reaching it takes the dict
 * layouts of each version (combined and split tables, index widths, the
 * 3.11+ unicode-keys entries) and the three ways an instance finds its
 * dict: tp_dictoffset (<=3.10), a managed dict or values pointer before the
 * object (3.11, 3.12), inline values after it (3.13). Offsets come from
 * the generated layout. This costs a few dozen reads, so it is not part of
 * remote_sample: dump calls it once, a sampler when it meets a new thread.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/strbuf.h"
#include "remote/internal.h"

#define MAX_ENTRIES (1u << 16)

typedef struct dict_items {
    uint64_t *keys, *vals;
    size_t n;
} dict_items;

static void
items_free(dict_items *it)
{
    free(it->keys);
    free(it->vals);
    memset(it, 0, sizeof *it);
}

/* The entries of a PyDictKeysObject (keys, and values for a combined
 * table). */
static bool
read_keys(remote *r, uint64_t keys, dict_items *out)
{
    const sg_layout *L = &r->L;
    uint8_t hdr[64];
    if (!keys || L->dk_indices > sizeof hdr ||
        pm_read_cached(&r->pm, keys, hdr, L->dk_indices, 0, 4096) != 0)
        return false;
    uint64_t nentries = rm_u64(hdr, L->dk_nentries), index_bytes, esize;
    unsigned key_at, val_at;
    if (L->dk_size != LAYOUT_NONE) { /* <= 3.10 */
        uint64_t size = rm_u64(hdr, L->dk_size);
        if (size > MAX_ENTRIES * 2)
            return false;
        index_bytes = size * (size <= 0xff ? 1 : size <= 0xffff ? 2 : 4);
        esize = L->dk_entry_size;
        key_at = 8;
        val_at = 16;
    } else {
        unsigned log2_ix = hdr[L->dk_log2_index_bytes];
        if (log2_ix > 20)
            return false;
        index_bytes = 1ull << log2_ix;
        bool general = hdr[L->dk_kind] == 0;
        esize = general ? L->dk_entry_size : L->dk_uentry_size;
        key_at = general ? 8 : 0;
        val_at = general ? 16 : 8;
    }
    if (nentries > MAX_ENTRIES || esize < 16 || esize > 64)
        return false;
    size_t n = (size_t)nentries;
    uint8_t *ent = sg_xmalloc(n ? n * esize : 1);
    if (n && pm_read(&r->pm, keys + L->dk_indices + index_bytes, ent,
                     n * esize) != 0) {
        free(ent);
        return false;
    }
    out->keys = sg_xmalloc((n ? n : 1) * sizeof *out->keys);
    out->vals = sg_xmalloc((n ? n : 1) * sizeof *out->vals);
    out->n = n;
    for (size_t i = 0; i < n; i++) {
        out->keys[i] = rm_u64(ent + i * esize, key_at);
        out->vals[i] = rm_u64(ent + i * esize, val_at);
    }
    free(ent);
    return true;
}

/* Replace the values with a split table's value array. */
static bool
read_split_values(remote *r, uint64_t values, dict_items *it)
{
    const sg_layout *L = &r->L;
    uint32_t off = L->dv_values == LAYOUT_NONE ? 0 : L->dv_values;
    if (!it->n)
        return true;
    return pm_read(&r->pm, values + off, it->vals, it->n * 8) == 0;
}

static bool
read_dict(remote *r, uint64_t dict, dict_items *out)
{
    const sg_layout *L = &r->L;
    uint8_t d[64];
    if (!dict ||
        pm_read_cached(&r->pm, dict, d, L->dict_ma_values + 8, 0, 512) != 0)
        return false;
    if (!read_keys(r, rm_u64(d, L->dict_ma_keys), out))
        return false;
    uint64_t values = rm_u64(d, L->dict_ma_values);
    if (values && !read_split_values(r, values, out)) {
        items_free(out);
        return false;
    }
    return true;
}

/* Index of the str key equal to name (compact ASCII), or -1. All keys are
 * read in one batch. */
static long
find_str_key(remote *r, const dict_items *it, const char *name)
{
    const sg_layout *L = &r->L;
    size_t len = strlen(name), want = L->u_ascii_size + len + 1;
    if (!it->n || want > 128)
        return -1;
    uint8_t *buf = sg_xmalloc(it->n * want);
    pm_iov *iov = sg_xmalloc(it->n * sizeof *iov);
    for (size_t i = 0; i < it->n; i++)
        iov[i] = (pm_iov){it->keys[i], buf + i * want, want, false};
    pm_readv(&r->pm, iov, it->n);
    long found = -1;
    for (size_t i = 0; i < it->n && found < 0; i++) {
        const uint8_t *k = buf + i * want;
        if (!iov[i].ok ||
            (r->unicode_type && rm_u64(k, L->ob_type) != r->unicode_type))
            continue;
        uint32_t state = rm_u32(k, L->u_state);
        if (rm_u64(k, L->u_length) == len && (state & L->u_compact_mask) &&
            (state & L->u_ascii_mask) &&
            memcmp(k + L->u_ascii_size, name, len) == 0)
            found = (long)i;
    }
    free(iov);
    free(buf);
    return found;
}

static uint64_t
dict_get(remote *r, uint64_t dict, const char *name)
{
    dict_items it = {0};
    if (!read_dict(r, dict, &it))
        return 0;
    long i = find_str_key(r, &it, name);
    uint64_t v = i >= 0 ? it.vals[i] : 0;
    items_free(&it);
    return v;
}

/* An attribute stored in an instance's __dict__ (or its values). */
static uint64_t
instance_attr(remote *r, uint64_t obj, const char *name)
{
    const sg_layout *L = &r->L;
    uint64_t type;
    uint8_t t[1024];
    if (pm_read(&r->pm, obj + L->ob_type, &type, 8) != 0 || !type ||
        L->ht_cached_keys + 8 > sizeof t ||
        pm_read(&r->pm, type, t, L->ht_cached_keys + 8) != 0)
        return 0;
    uint64_t flags = rm_u64(t, L->tp_flags);
    int64_t dictoffset = (int64_t)rm_u64(t, L->tp_dictoffset);
    uint64_t basicsize = rm_u64(t, L->tp_basicsize);
    uint64_t cached_keys = rm_u64(t, L->ht_cached_keys);
    uint64_t dict = 0, values = 0;
    if (L->tpflags_managed_dict == LAYOUT_NONE) { /* <= 3.10 */
        if (dictoffset <= 0 || dictoffset > 4096 ||
            pm_read(&r->pm, obj + (uint64_t)dictoffset, &dict, 8) != 0)
            return 0;
    } else if (!(flags & L->tpflags_managed_dict)) {
        return 0;
    } else {
        uint64_t word;
        if (pm_read(&r->pm, obj + (uint64_t)(int64_t)L->managed_dict_offset,
                    &word, 8) != 0)
            return 0;
        if (L->tr.dict_values_tagged && (word & 1)) {
            values = word + 1; /* stored as values - 1: odd = values */
        } else if (word) {
            dict = word;
        } else if (L->managed_values_offset != (int32_t)LAYOUT_NONE) {
            /* A values pointer of its own, beside the dict pointer. */
            pm_read(&r->pm, obj + (uint64_t)(int64_t)L->managed_values_offset,
                    &values, 8);
        } else if (L->tpflags_inline_values != LAYOUT_NONE &&
                   (flags & L->tpflags_inline_values) && basicsize < 4096 &&
                   L->dv_valid < 8) {
            /* Values inline after the object, used while "valid". */
            uint8_t vh[8];
            if (pm_read(&r->pm, obj + basicsize, vh, 8) == 0 &&
                vh[L->dv_valid])
                values = obj + basicsize;
        }
    }
    if (dict)
        return dict_get(r, dict, name);
    if (!values || !cached_keys)
        return 0;
    dict_items it = {0};
    if (!read_keys(r, cached_keys, &it))
        return 0;
    long i = find_str_key(r, &it, name);
    uint64_t v = 0;
    uint32_t off = L->dv_values == LAYOUT_NONE ? 0 : L->dv_values;
    if (i >= 0)
        pm_read(&r->pm, values + off + 8 * (uint64_t)i, &v, 8);
    items_free(&it);
    return v;
}

/* The value of a small non-negative int object. */
static bool
read_int(remote *r, uint64_t obj, uint64_t *out)
{
    const sg_layout *L = &r->L;
    uint8_t b[64];
    if (L->long_digit + 12 > sizeof b ||
        pm_read_cached(&r->pm, obj, b, L->long_digit + 12, 0, 256) != 0)
        return false;
    uint64_t ndigits;
    if (L->tr.long_tag_bits) {
        uint64_t tag = rm_u64(b, L->long_size);
        if ((tag & 3) == 2) /* negative */
            return false;
        ndigits = tag >> L->tr.long_tag_bits;
    } else {
        int64_t size = (int64_t)rm_u64(b, L->long_size);
        if (size < 0)
            return false;
        ndigits = (uint64_t)size;
    }
    if (ndigits > 3)
        return false;
    uint64_t v = 0;
    for (uint64_t i = 0; i < ndigits; i++)
        v |= (uint64_t)rm_u32(b, L->long_digit + 4 * (uint32_t)i)
             << (L->long_shift * i);
    *out = v;
    return true;
}

static int lookup_names(remote *r, rm_sample *s);

int
remote_thread_names(remote *r, rm_sample *s)
{
    bool was = r->pm.transient;
    r->pm.transient = true; /* one-off reads: not replayed by samples */
    int named = lookup_names(r, s);
    r->pm.transient = was;
    return named;
}

static int
lookup_names(remote *r, rm_sample *s)
{
    const sg_layout *L = &r->L;
    /* threading of the main interpreter (subinterpreters have their own
     * and their threads are named there). */
    uint64_t interp = rm_u64(r->rtbuf, L->rt_interpreters_main), modules;
    if (!interp || L->is_modules == LAYOUT_NONE ||
        pm_read(&r->pm, interp + L->is_modules, &modules, 8) != 0)
        return -1;
    uint64_t threading = dict_get(r, modules, "threading");
    uint64_t md = 0;
    if (!threading || pm_read(&r->pm, threading + L->md_dict, &md, 8) != 0)
        return -1;
    uint64_t active = dict_get(r, md, "_active");
    dict_items it = {0};
    if (!active || !read_dict(r, active, &it))
        return -1;
    int named = 0;
    for (size_t i = 0; i < it.n; i++) {
        uint64_t ident;
        if (!it.keys[i] || !it.vals[i] || !read_int(r, it.keys[i], &ident))
            continue;
        for (size_t k = 0; k < s->n_threads; k++) {
            rm_thread *t = &s->threads[k];
            if (t->thread_id != ident || t->name || !t->main_interp)
                continue;
            uint64_t name = instance_attr(r, it.vals[i], "_name");
            strbuf sb = STRBUF_INIT;
            if (name && rm_read_str(r, name, &sb)) {
                t->name = sg_profile_intern(r->names, sb_str(&sb));
                named++;
            }
            sb_free(&sb);
        }
    }
    items_free(&it);
    return named;
}
