/* code.c -- code objects and strings of the target, cached by address.
 *
 * A code object is read whole once per sample (all distinct code objects of
 * a sample in one batched read, see stack.c) and compared with the cached
 * identity fields: type, name, qualname, filename and line-table pointers
 * and first line. Equal means the same code object (those fields are
 * immutable), so its decoded name, file and line table are reused; any
 * difference means the address was reused by a new object and the entry is
 * rebuilt. Only a miss reads strings and the line table.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/strbuf.h"
#include "remote/internal.h"
#include "remote/pystr.h"

/* Code points of a string read; a longer one is cut (rm_read_str). */
#define MAX_STR_CHARS 4096
#define MAX_TABLE_BYTES (1u << 20)

void
rm_codes_free(remote *r)
{
    for (size_t i = 0; i < r->n_codes; i++)
        free(r->codes[i].table);
    free(r->codes);
    r->codes = NULL;
    r->n_codes = r->cap_codes = 0;
}

/* Read a str object at addr and append it as UTF-8. */
bool
rm_read_str(remote *r, uint64_t addr, strbuf *out)
{
    const sg_layout *L = &r->L;
    uint8_t hdr[128];
    uint32_t hlen =
        L->u_compact_size > L->u_data + 8 ? L->u_compact_size : L->u_data + 8;
    if (!addr || hlen > sizeof hdr ||
        pm_read_cached(&r->pm, addr, hdr, hlen, 0, 1024) != 0)
        return false;
    if (r->unicode_type && rm_u64(hdr, L->ob_type) != r->unicode_type)
        return false;
    uint64_t len = rm_u64(hdr, L->u_length);
    uint32_t state = rm_u32(hdr, L->u_state);
    unsigned kind = (state & L->u_kind_mask) >> __builtin_ctz(L->u_kind_mask);
    bool compact = state & L->u_compact_mask, ascii = state & L->u_ascii_mask;
    /* No str in a 64-bit address space holds 2^40 code points: such a
     * length is a torn read, not a long name. */
    if (len >= (1ull << 40) || (kind != 1 && kind != 2 && kind != 4) ||
        (ascii && kind != 1))
        return false;
    uint64_t data;
    if (compact)
        data = addr + (ascii ? L->u_ascii_size : L->u_compact_size);
    else
        data = rm_u64(hdr, L->u_data);
    if (len == 0)
        return true;
    /* A name longer than the cap is kept, cut, with a visible marker: the
     * frame stays in its stack (reading it all is not worth its cost, and
     * refusing it would drop the whole stack). */
    size_t n = len > MAX_STR_CHARS ? MAX_STR_CHARS : (size_t)len;
    uint8_t *buf = sg_xmalloc(n * kind);
    bool ok = pm_read_cached(&r->pm, data, buf, n * kind, 0, 1024) == 0;
    if (ok)
        pystr_to_utf8(out, buf, n, kind);
    if (ok && n < len)
        sb_printf(out, "...[%llu more characters]",
                  (unsigned long long)(len - n));
    free(buf);
    return ok;
}

static bool
read_bytes_obj(remote *r, uint64_t addr, uint8_t **out, size_t *n)
{
    const sg_layout *L = &r->L;
    uint8_t hdr[64];
    if (!addr || L->bytes_sval > sizeof hdr ||
        pm_read_cached(&r->pm, addr, hdr, L->bytes_sval, 0, 4096) != 0)
        return false;
    if (r->bytes_type && rm_u64(hdr, L->ob_type) != r->bytes_type)
        return false;
    uint64_t size = rm_u64(hdr, L->var_ob_size);
    if (size > MAX_TABLE_BYTES)
        return false;
    *out = sg_xmalloc(size ? (size_t)size : 1);
    *n = (size_t)size;
    if (size && pm_read_cached(&r->pm, addr + L->bytes_sval, *out,
                               (size_t)size, 0, 4096) != 0) {
        free(*out);
        *out = NULL;
        return false;
    }
    return true;
}

/* An absolute path for a relative co_filename ("<string>" and the like are
 * kept as they are). */
static const char *
intern_file(remote *r, const char *f)
{
    if (f[0] == '/' || f[0] == '<' || !r->cwd[0])
        return sg_profile_intern(r->names, f);
    strbuf sb = STRBUF_INIT;
    const char *rel = f;
    while (rel[0] == '.' && rel[1] == '/')
        rel += 2;
    sb_printf(&sb, "%s/%s", r->cwd, rel);
    const char *s = sg_profile_intern(r->names, sb_str(&sb));
    sb_free(&sb);
    return s;
}

/* Fill e from the code object bytes co (L->co_size of them). */
static bool
build_entry(remote *r, code_entry *e, uint64_t addr, const uint8_t *co)
{
    const sg_layout *L = &r->L;
    strbuf name = STRBUF_INIT, file = STRBUF_INIT;
    /* Strings and the line table are read once per code object: keep them
     * out of the blocks the next sample replays. */
    bool was = r->pm.transient;
    r->pm.transient = true;
    uint64_t qual =
        L->co_qualname != LAYOUT_NONE ? rm_u64(co, L->co_qualname) : 0;
    uint64_t fn = rm_u64(co, L->co_filename);
    uint64_t nm = rm_u64(co, L->co_name);
    uint64_t lt = rm_u64(co, L->co_linetable);
    bool ok =
        rm_read_str(r, qual ? qual : nm, &name) && rm_read_str(r, fn, &file);
    uint8_t *table = NULL;
    size_t tlen = 0;
    ok = ok && read_bytes_obj(r, lt, &table, &tlen);
    r->pm.transient = was;
    if (!ok) {
        sb_free(&name);
        sb_free(&file);
        return false;
    }
    free(e->table);
    e->addr = addr;
    e->type = rm_u64(co, L->ob_type);
    e->filename = fn;
    e->name = nm;
    e->qualname = qual;
    e->linetable = lt;
    e->first_line = rm_i32(co, L->co_firstlineno);
    e->firsttraceable = L->co_firsttraceable != LAYOUT_NONE
                            ? rm_i32(co, L->co_firsttraceable)
                            : 0;
    e->table = table;
    e->table_len = tlen;
    e->memo_addrq = -2;
    const char *f = intern_file(r, sb_str(&file));
    e->func = sg_profile_func(r->names, SG_FUNC_PYTHON, sb_str(&name), f,
                              e->first_line, 0);
    sb_free(&name);
    sb_free(&file);
    return true;
}

static bool
same_identity(const remote *r, const code_entry *e, const uint8_t *co)
{
    const sg_layout *L = &r->L;
    return e->type == rm_u64(co, L->ob_type) &&
           e->filename == rm_u64(co, L->co_filename) &&
           e->name == rm_u64(co, L->co_name) &&
           (L->co_qualname == LAYOUT_NONE ||
            e->qualname == rm_u64(co, L->co_qualname)) &&
           e->linetable == rm_u64(co, L->co_linetable) &&
           e->first_line == rm_i32(co, L->co_firstlineno);
}

/* The entry for the code object at addr whose bytes are co (read in this
 * sample), building or rebuilding it as needed; NULL when the object does
 * not look like a code object or its parts cannot be read. */
code_entry *
rm_code_lookup(remote *r, uint64_t addr, const uint8_t *co)
{
    const sg_layout *L = &r->L;
    if (r->code_type && rm_u64(co, L->ob_type) != r->code_type)
        return NULL;
    uint32_t idx = hm64_get(&r->code_index, addr);
    if (idx != HM_NONE) {
        code_entry *e = &r->codes[idx];
        if (same_identity(r, e, co)) {
            r->st.code_hits++;
            return e;
        }
        r->st.code_invalidated++;
        r->st.code_misses++;
        return build_entry(r, e, addr, co) ? e : NULL;
    }
    r->st.code_misses++;
    code_entry tmp = {0};
    if (!build_entry(r, &tmp, addr, co))
        return NULL;
    if (r->n_codes == r->cap_codes) {
        r->cap_codes = r->cap_codes ? r->cap_codes * 2 : 256;
        r->codes = sg_xrealloc(r->codes, r->cap_codes * sizeof *r->codes);
    }
    r->codes[r->n_codes] = tmp;
    hm64_put(&r->code_index, addr, (uint32_t)r->n_codes);
    return &r->codes[r->n_codes++];
}

int32_t
rm_code_line(remote *r, code_entry *e, int64_t addrq)
{
    if (e->memo_addrq == addrq)
        return e->memo_line;
    int32_t line = lt_line(r->L.tr.linetable, e->table, e->table_len,
                           e->first_line, addrq);
    e->memo_addrq = addrq;
    e->memo_line = line;
    return line;
}

int
remote_opcode(remote *r, uint64_t code, int32_t offset)
{
    if (r->L.co_code_adaptive == LAYOUT_NONE || offset < 0)
        return -1;
    uint8_t op;
    pm_iov v = {code + r->L.co_code_adaptive + (uint64_t)offset, &op, 1,
                false};
    return pm_readv(&r->pm, &v, 1) == 1 ? op : -1;
}
