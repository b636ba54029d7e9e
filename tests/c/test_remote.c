/* test_remote.c -- unit tests of the remote reader's pure parts: line
 * tables, str transcoding, the ELF parser (including truncated, garbage and
 * foreign images), the layouts and traits of each version, frame decoding
 * on synthetic frames, _Py_DebugOffsets validation, maps parsing, batched
 * reads and the machine check. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "check.h"
#include "common/strbuf.h"
#include "remote/elf.h"
#include "remote/internal.h"
#include "remote/layout.h"
#include "remote/linetable.h"
#include "remote/procmem.h"
#include "remote/pystr.h"

static void
test_lnotab(void)
{
    /* 3.8/3.9: (addr incr, line incr) */
    const uint8_t t[] = {6, 1, 4, 2, 2, (uint8_t)-3};
    CHECK(lt_line(LT_LNOTAB, t, sizeof t, 10, 0) == 10);
    CHECK(lt_line(LT_LNOTAB, t, sizeof t, 10, 5) == 10);
    CHECK(lt_line(LT_LNOTAB, t, sizeof t, 10, 6) == 11);
    CHECK(lt_line(LT_LNOTAB, t, sizeof t, 10, 9) == 11);
    CHECK(lt_line(LT_LNOTAB, t, sizeof t, 10, 10) == 13);
    CHECK(lt_line(LT_LNOTAB, t, sizeof t, 10, 12) == 10);
    CHECK(lt_line(LT_LNOTAB, t, sizeof t, 10, 500) == 10);
    CHECK(lt_line(LT_LNOTAB, t, sizeof t, 10, -1) == 10);
    CHECK(lt_line(LT_LNOTAB, t, 3, 10, 12) == 11); /* truncated */
}

static void
test_linetable310(void)
{
    /* 3.10: (bytes covered, line delta; -128 = no line) */
    const uint8_t t[] = {4, 0, 6, 2, 2, (uint8_t)-128, 4, (uint8_t)-1};
    CHECK(lt_line(LT_LINETABLE310, t, sizeof t, 20, 0) == 20);
    CHECK(lt_line(LT_LINETABLE310, t, sizeof t, 20, 3) == 20);
    CHECK(lt_line(LT_LINETABLE310, t, sizeof t, 20, 4) == 22);
    CHECK(lt_line(LT_LINETABLE310, t, sizeof t, 20, 9) == 22);
    CHECK(lt_line(LT_LINETABLE310, t, sizeof t, 20, 10) == -1);
    CHECK(lt_line(LT_LINETABLE310, t, sizeof t, 20, 12) == 21);
    CHECK(lt_line(LT_LINETABLE310, t, sizeof t, 20, 16) == -1); /* past */
}

static void
test_locations(void)
{
    /* 3.11+: one entry of each form. */
    const uint8_t t[] = {
        0x80 | 13 << 3 | 0, 0x00,          /* no column, +0, 1 unit */
        0x80 | 11 << 3 | 1, 3,    9,       /* one-line, +1, 2 units */
        0x80 | 14 << 3 | 0, 0x03, 0, 1, 2, /* long, -1, 1 unit */
        0x80 | 15 << 3 | 0,                /* no location, 1 unit */
        0x80 | 0 << 3 | 0,  5,             /* short, +0, 1 unit */
        0x80 | 13 << 3 | 2, 0x0a,          /* no column, +5, 3 units */
    };
    CHECK(lt_line(LT_LOCATIONS, t, sizeof t, 10, 0) == 10);
    CHECK(lt_line(LT_LOCATIONS, t, sizeof t, 10, 2) == 11);
    CHECK(lt_line(LT_LOCATIONS, t, sizeof t, 10, 4) == 11);
    CHECK(lt_line(LT_LOCATIONS, t, sizeof t, 10, 6) == 10);
    CHECK(lt_line(LT_LOCATIONS, t, sizeof t, 10, 8) == -1);
    CHECK(lt_line(LT_LOCATIONS, t, sizeof t, 10, 10) == 10);
    CHECK(lt_line(LT_LOCATIONS, t, sizeof t, 10, 12) == 15);
    CHECK(lt_line(LT_LOCATIONS, t, sizeof t, 10, 16) == 15);
    CHECK(lt_line(LT_LOCATIONS, t, sizeof t, 10, 18) == -1);
    CHECK(lt_line(LT_LOCATIONS, t, sizeof t, 10, -2) == 10);
    /* Garbage and truncation never read past the buffer. */
    uint8_t junk[64];
    srand(7);
    for (int round = 0; round < 2000; round++) {
        size_t n = (size_t)rand() % sizeof junk;
        for (size_t i = 0; i < n; i++)
            junk[i] = (uint8_t)rand();
        for (int f = LT_LNOTAB; f <= LT_LOCATIONS; f++)
            (void)lt_line((lt_format)f, junk, n, 1, rand() % 300);
    }
    CHECK(lt_line(LT_LOCATIONS, t, 1, 10, 0) == -1); /* cut mid-entry */
}

/* Regression (found by tests/fuzz/fuzz_linetable.c): a garbage first line
 * plus garbage deltas overflowed int32, undefined behaviour. Such sums are
 * no line now, in every format. */
static void
test_linetable_sums_do_not_overflow(void)
{
    const uint8_t down[] = {2, 0x80, 2, 0x80}; /* lnotab: -128 twice */
    CHECK(lt_line(LT_LNOTAB, down, sizeof down, INT32_MIN + 1, 2) == -1);
    CHECK(lt_line(LT_LNOTAB, down, sizeof down, INT32_MIN + 300, 2) ==
          INT32_MIN + 172);
    const uint8_t up[] = {2, 0x7f, 2, 0x7f}; /* 3.10: +127 twice */
    CHECK(lt_line(LT_LINETABLE310, up, sizeof up, INT32_MAX - 100, 2) == -1);
    /* 3.11+: a long form entry (code 14) with line delta +2^30 (svarint
     * 2^31: six-bit groups, low bit = sign), twice. */
    const uint8_t loc[] = {0xf0, 0x40, 0x40, 0x40, 0x40, 0x40, 0x02, 0, 0, 0,
                           0xf0, 0x40, 0x40, 0x40, 0x40, 0x40, 0x02, 0, 0, 0};
    CHECK(lt_line(LT_LOCATIONS, loc, sizeof loc, 1, 0) == (1 << 30) + 1);
    CHECK(lt_line(LT_LOCATIONS, loc, sizeof loc, INT32_MAX - 5, 2) == -1);
}

static void
test_pystr(void)
{
    strbuf sb = STRBUF_INIT;
    const uint8_t latin1[] = {'g', 'r', 0xfc, 0xdf, 'e'};
    pystr_to_utf8(&sb, latin1, 5, 1);
    CHECK_STR(sb_str(&sb), "gr\xc3\xbc\xc3\x9f"
                           "e");
    sb_clear(&sb);
    const uint16_t ucs2[] = {0x51fd, 0x6570, 0xd800};
    pystr_to_utf8(&sb, ucs2, 3, 2);
    CHECK_STR(sb_str(&sb), "\xe5\x87\xbd\xe6\x95\xb0\xef\xbf\xbd");
    sb_clear(&sb);
    const uint32_t ucs4[] = {0x20000, 'a', 0x110000};
    pystr_to_utf8(&sb, ucs4, 3, 4);
    CHECK_STR(sb_str(&sb), "\xf0\xa0\x80\x80"
                           "a\xef\xbf\xbd");
    sb_clear(&sb);
    /* A NUL would end the C string: it is kept, as repr writes it. */
    const uint8_t nul[] = {'a', 0, 'b'};
    pystr_to_utf8(&sb, nul, 3, 1);
    CHECK_STR(sb_str(&sb), "a\\x00b");
    sb_free(&sb);
}

static uint8_t *
read_self(size_t *n)
{
    FILE *f = fopen("/proc/self/exe", "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 20, len = 0;
    uint8_t *buf = malloc(cap);
    size_t got;
    while ((got = fread(buf + len, 1, cap - len, f)) > 0) {
        len += got;
        if (len == cap)
            buf = realloc(buf, cap *= 2);
    }
    fclose(f);
    *n = len;
    return buf;
}

/* Run every lookup the reader makes; the result does not matter. */
static void
poke(const uint8_t *data, size_t n)
{
    elf_image img;
    if (elf_parse(&img, data, n) != 0)
        return;
    elf_symbol s;
    uint64_t a, z;
    char v[32];
    (void)elf_find_symbol(&img, "_PyRuntime", &s);
    (void)elf_find_symbol(&img, "main", &s);
    (void)elf_find_section(&img, ".PyRuntime", &a, &z);
    (void)elf_find_string(&img, ".rodata", "3.1", v, sizeof v);
}

/* A minimal ELF64 image with one .rodata section holding text. */
static size_t
tiny_elf(uint8_t *img, size_t cap, const char *rodata, size_t rolen)
{
    memset(img, 0, cap);
    memcpy(img,
           "\x7f"
           "ELF\x02\x01\x01",
           7);
    img[16] = 3;  /* ET_DYN */
    img[18] = 62; /* EM_X86_64 */
    const char shstr[] = "\0.rodata\0.shstrtab";
    size_t ro = 64, ss = ro + rolen, sh = (ss + sizeof shstr + 7) & ~7u;
    memcpy(img + ro, rodata, rolen);
    memcpy(img + ss, shstr, sizeof shstr);
    uint64_t shoff = sh;
    uint16_t shentsize = 64, shnum = 3, shstrndx = 2;
    memcpy(img + 40, &shoff, 8);
    memcpy(img + 58, &shentsize, 2);
    memcpy(img + 60, &shnum, 2);
    memcpy(img + 62, &shstrndx, 2);
    /* section 1: .rodata */
    uint8_t *s1 = img + sh + 64, *s2 = img + sh + 128;
    uint32_t name1 = 1, name2 = 9, progbits = 1, strtab = 3;
    uint64_t off1 = ro, size1 = rolen, off2 = ss, size2 = sizeof shstr;
    memcpy(s1, &name1, 4);
    memcpy(s1 + 4, &progbits, 4);
    memcpy(s1 + 24, &off1, 8);
    memcpy(s1 + 32, &size1, 8);
    memcpy(s2, &name2, 4);
    memcpy(s2 + 4, &strtab, 4);
    memcpy(s2 + 24, &off2, 8);
    memcpy(s2 + 32, &size2, 8);
    return sh + 3 * 64;
}

static void
test_elf_version_strings(void)
{
    uint8_t img[1024];
    char v[32];
    elf_image e;
    static const char ro1[] = "x\0/build/Python-3.10.13\0"
                              "13.10.5\0";
    size_t n = tiny_elf(img, sizeof img, ro1, sizeof ro1);
    CHECK(elf_parse(&e, img, n) == 0);
    CHECK(elf_find_string(&e, ".rodata", "3.10.", v, sizeof v));
    CHECK_STR(v, "3.10.13"); /* a merged tail counts, "13.10.5" does not */
    static const char ro2[] = "\0003.10.0rc2\0";
    n = tiny_elf(img, sizeof img, ro2, sizeof ro2);
    CHECK(elf_parse(&e, img, n) == 0);
    CHECK(elf_find_string(&e, ".rodata", "3.10.", v, sizeof v));
    CHECK_STR(v, "3.10.0rc2");
    static const char ro3[] = "3.9.x\0"
                              "3.9.\0";
    n = tiny_elf(img, sizeof img, ro3, sizeof ro3);
    CHECK(elf_parse(&e, img, n) == 0);
    CHECK(!elf_find_string(&e, ".rodata", "3.9.", v, sizeof v));
    CHECK(!elf_find_string(&e, ".data", "3.9.", v, sizeof v));
}

static void
test_elf_self(void)
{
    size_t n = 0;
    uint8_t *self = read_self(&n);
    CHECK(self != NULL);
    if (!self)
        return;
    elf_image img;
    CHECK(elf_parse(&img, self, n) == 0);
    elf_symbol s;
    CHECK(elf_find_symbol(&img, "main", &s) && s.value != 0);
    CHECK(!elf_find_symbol(&img, "no_such_symbol_here", &s));
    uint64_t addr, size;
    CHECK(elf_find_section(&img, ".text", &addr, &size) && size > 0);
    CHECK(!elf_find_section(&img, ".PyRuntime", &addr, &size));
    CHECK(img.has_load);
    /* The same through the file API. */
    elf_image f;
    CHECK(elf_open_file(&f, "/proc/self/exe") == 0);
    CHECK(elf_find_symbol(&f, "main", &s));
    elf_close(&f);
    CHECK(elf_open_file(&f, "/proc/self/status") == -1); /* not ELF */
    CHECK(elf_open_file(&f, "/nonexistent") == -1);

    /* Every truncation of the image. */
    size_t step = n / 4000 + 1;
    for (size_t k = 0; k < n; k += step) {
        uint8_t *cut = malloc(k ? k : 1);
        memcpy(cut, self, k);
        poke(cut, k);
        free(cut);
    }
    /* Random corruption of headers and tables. */
    uint8_t *copy = malloc(n);
    srand(42);
    for (int round = 0; round < 300; round++) {
        memcpy(copy, self, n);
        for (int b = 0; b < 16; b++) {
            size_t pos = (size_t)rand() % (round % 2 ? 4096 : n);
            copy[pos] = (uint8_t)rand();
        }
        /* Aim at the section header table too. */
        uint64_t shoff;
        memcpy(&shoff, copy + 40, 8);
        if (shoff < n && n - shoff > 64) {
            size_t pos = (size_t)shoff + (size_t)rand() % (n - shoff);
            copy[pos] ^= (uint8_t)(1u << (rand() % 8));
        }
        poke(copy, n);
    }
    free(copy);
    /* Pure garbage with an ELF magic. */
    uint8_t junk[512];
    for (int round = 0; round < 500; round++) {
        for (size_t i = 0; i < sizeof junk; i++)
            junk[i] = (uint8_t)rand();
        memcpy(junk,
               "\x7f"
               "ELF\x02\x01",
               6);
        junk[18] = 62;
        junk[19] = 0;
        poke(junk, sizeof junk);
    }
    free(self);
}

static void
put64(uint8_t *buf, uint32_t pos, uint64_t v)
{
    memcpy(buf + pos, &v, 8);
}

/* A _Py_DebugOffsets image holding the generated 3.13 values. */
static void
fake_debug(uint8_t *buf, const sg_debug_layout *d, const sg_layout *L)
{
    memset(buf, 0, d->size);
    memcpy(buf, "xdebugpy", 8);
    put64(buf, d->version, L->version);
    put64(buf, d->rt_size, L->rt_size);
    put64(buf, d->rt_interpreters_head, L->rt_interpreters_head);
    put64(buf, d->is_size, 200000);
    put64(buf, d->is_next, L->is_next);
    put64(buf, d->is_threads_head, L->is_threads_head);
    put64(buf, d->is_ceval_gil, L->is_ceval_gil);
    put64(buf, d->is_gil, L->is_gil);
    put64(buf, d->is_gil_locked, L->is_gil + L->gil_locked);
    put64(buf, d->is_gil_holder, L->is_gil + L->gil_last_holder);
    put64(buf, d->ts_size, L->ts_size);
    put64(buf, d->ts_prev, L->ts_prev);
    put64(buf, d->ts_next, L->ts_next);
    put64(buf, d->ts_interp, L->ts_interp);
    put64(buf, d->ts_frame, L->ts_frame);
    put64(buf, d->ts_thread_id, L->ts_thread_id);
    put64(buf, d->ts_native_thread_id, L->ts_native_thread_id);
    put64(buf, d->ts_status, L->ts_status);
    put64(buf, d->fr_size, L->fr_size);
    put64(buf, d->fr_back, L->fr_back);
    put64(buf, d->fr_code, L->fr_code);
    put64(buf, d->fr_instr, L->fr_instr);
    put64(buf, d->fr_owner, L->fr_owner);
    put64(buf, d->co_size, L->co_size);
    put64(buf, d->co_filename, L->co_filename);
    put64(buf, d->co_name, L->co_name);
    put64(buf, d->co_qualname, L->co_qualname);
    put64(buf, d->co_linetable, L->co_linetable);
    put64(buf, d->co_firstlineno, L->co_firstlineno);
    put64(buf, d->co_code_adaptive, L->co_code_adaptive);
    put64(buf, d->ob_type, L->ob_type);
    put64(buf, d->tp_name, L->tp_name);
    put64(buf, d->tp_flags, L->tp_flags);
    put64(buf, d->bytes_sval, L->bytes_sval);
    put64(buf, d->var_ob_size, L->var_ob_size);
    put64(buf, d->u_size, L->u_data + 8);
    put64(buf, d->u_state, L->u_state);
    put64(buf, d->u_length, L->u_length);
    put64(buf, d->u_ascii_size, L->u_ascii_size);
}

static void
test_layouts(void)
{
    sg_layout L;
    char range[16];
    for (unsigned m = 8; m <= 13; m++) {
        CHECK(layout_for_minor(m, &L));
        CHECK(L.minor == m);
        CHECK(((L.version >> 16) & 0xff) == m);
        /* Facts that hold on every version's headers. */
        CHECK(L.ob_type == 8 && L.var_ob_size == 16 && L.ts_next == 8);
        CHECK(L.bytes_sval == 32 && L.u_length == 16 && L.u_state == 32);
        CHECK(layout_minor_at(m - 8) == m);
    }
    CHECK(layout_minor_at(6) == 0);
    CHECK_STR(layout_supported(range, sizeof range), "3.8-3.13");
    CHECK(!layout_for_minor(7, &L) && !layout_for_minor(14, &L));
    CHECK(layout_for_minor(8, &L) && L.rt_tstate_current == 1368);
    CHECK(layout_for_minor(12, &L) && L.is_gil == 1040);
    CHECK(layout_for_minor(13, &L) && L.ts_holds_gil_bit == 5);
    CHECK(L.fr_owner_generator == 1 && L.fr_owner_shim == 3);
    CHECK(L.dv_valid == 3);
    CHECK(layout_for_minor(11, &L) && L.fr_owner_generator == 1 &&
          L.fr_owner_shim == LAYOUT_NONE);

    const sg_debug_layout *d = layout_debug_for_minor(13);
    sg_layout L13;
    CHECK(d && d->size == 584 && layout_for_minor(13, &L13));
    if (!d)
        return;
    uint8_t buf[1024];
    sg_layout out;
    char why[200];
    fake_debug(buf, d, &L13);
    CHECK(layout_from_debug(buf, d->size, 13, &out, why, sizeof why) == 0);
    CHECK(out.rt_interpreters_head == 632 && out.is_threads_head == 7344);
    CHECK(out.gil_locked == 16 && out.gil_last_holder == 8);
    CHECK(out.u_compact_size == 56 && out.u_data == 56);
    CHECK(out.ts_frame == 72 && out.fr_owner == 70);
    CHECK(out.tr.debug_offsets && out.tr.executable_any); /* traits kept */

    fake_debug(buf, d, &L13);
    buf[0] = 'X';
    CHECK(layout_from_debug(buf, d->size, 13, &out, why, sizeof why) != 0);
    fake_debug(buf, d, &L13);
    put64(buf, d->version, 0x030e00f0); /* a 3.14 struct read as 3.13 */
    CHECK(layout_from_debug(buf, d->size, 13, &out, why, sizeof why) != 0);
    fake_debug(buf, d, &L13);
    put64(buf, d->free_threaded, 1);
    CHECK(layout_from_debug(buf, d->size, 13, &out, why, sizeof why) != 0);
    fake_debug(buf, d, &L13);
    put64(buf, d->ts_frame, 5000); /* outside PyThreadState */
    CHECK(layout_from_debug(buf, d->size, 13, &out, why, sizeof why) != 0);
    fake_debug(buf, d, &L13);
    put64(buf, d->co_size, 1ull << 40);
    CHECK(layout_from_debug(buf, d->size, 13, &out, why, sizeof why) != 0);
    CHECK(layout_from_debug(buf, 100, 13, &out, why, sizeof why) != 0);
    CHECK(layout_from_debug(buf, d->size, 12, &out, why, sizeof why) != 0);
}

/* The traits table agrees with what the generated offsets imply, for every
 * supported version: a row edited against its headers shows here. */
static void
test_traits_match_layouts(void)
{
    unsigned m;
    for (size_t i = 0; (m = layout_minor_at(i)) != 0; i++) {
        sg_layout L;
        CHECK(layout_for_minor(m, &L));
        const sg_traits *t = &L.tr;
        CHECK(t->frame_objects == (L.fr_lasti != LAYOUT_NONE));
        CHECK(t->frame_objects == (L.fr_owner == LAYOUT_NONE));
        CHECK(t->cframe == (L.cf_current_frame != LAYOUT_NONE));
        CHECK(t->frame_objects ? t->lasti_scale >= 1 : t->lasti_scale == 0);
        CHECK(t->hide_untraceable == (L.co_firsttraceable != LAYOUT_NONE));
        CHECK(t->hide_untraceable == (L.fr_owner_generator != LAYOUT_NONE));
        CHECK(t->debug_offsets == (layout_debug_for_minor(m) != NULL));
        CHECK((t->linetable == LT_LOCATIONS) ==
              (L.co_qualname != LAYOUT_NONE));
        CHECK(!t->dict_values_tagged || L.tpflags_managed_dict != LAYOUT_NONE);
        CHECK(!t->executable_tag || !t->frame_objects);
    }
    /* The next version's traits are known before its offsets: 3.14 tags
     * f_executable as a stack reference (pycore_stackref.h: Py_TAG_BITS is
     * 3 in the default build). */
    const sg_traits *t14 = layout_traits(14);
    CHECK(t14 && t14->executable_tag == 3 && t14->debug_offsets);
    CHECK(layout_traits(13)->executable_tag == 0);
    CHECK(layout_traits(7) == NULL);
}

static void
put32(uint8_t *buf, uint32_t pos, uint32_t v)
{
    memcpy(buf + pos, &v, 4);
}

/* An interpreter frame of the layout L at buf: code (as stored, tags
 * included), instruction offset, owner, previous frame. */
static void
fake_iframe(uint8_t *buf, const sg_layout *L, uint64_t code_bits,
            uint64_t code, int64_t addrq, uint8_t owner, uint64_t back)
{
    memset(buf, 0, rm_frame_window(L));
    put64(buf, L->fr_code, code_bits);
    put64(buf, L->fr_instr, code + L->co_code_adaptive + (uint64_t)addrq);
    buf[L->fr_owner] = owner;
    put64(buf, L->fr_back, back);
}

/* 3.14's f_executable is a _PyStackRef: a code object referenced without a
 * count on it (immortal or borrowed) carries tag bits that must be masked,
 * or the walk reads 1 byte past the object's start and finds no code. On a
 * synthetic frame: 3.13's offsets with 3.14's traits. */
static void
test_frame_decode_tagged_executable(void)
{
    sg_layout L;
    CHECK(layout_for_minor(13, &L));
    L.tr = *layout_traits(14);
    uint8_t buf[512];
    CHECK(rm_frame_window(&L) <= sizeof buf);
    const uint64_t code = 0x7f0012345670ull, back = 0x7f00aaaa0000ull;
    rm_raw_frame rf;
    uint64_t next = 0;
    bool shim = true;
    for (uint64_t tag = 0; tag <= 3; tag++) {
        fake_iframe(buf, &L, code | tag, code, 10, 0, back);
        CHECK(rm_frame_decode(&L, 0, buf, false, &rf, &next, &shim) == 0);
        CHECK(rf.code == code && rf.addrq == 10 && rf.owner == 0);
        CHECK(next == back && !shim);
    }
    /* A generator's frame keeps its owner for the resolver. */
    fake_iframe(buf, &L, code | 1, code, 0, 1, 0);
    CHECK(rm_frame_decode(&L, 0, buf, true, &rf, &next, &shim) == 0);
    CHECK(rf.code == code && rf.owner == 1 && next == 0 && !shim);
    /* PyStackRef_NULL (bits 1) is no code object: a torn read... */
    fake_iframe(buf, &L, 1, 0, 0, 0, back);
    CHECK(rm_frame_decode(&L, 0, buf, false, &rf, &next, &shim) == EILSEQ);
    /* ...unless the frame is a shim (owner 3 and up), which is skipped. */
    for (uint8_t owner = 3; owner <= 4; owner++) {
        fake_iframe(buf, &L, 1, 0, 0, owner, back);
        CHECK(rm_frame_decode(&L, 0, buf, false, &rf, &next, &shim) == 0);
        CHECK(shim && next == back);
    }
    /* Without the trait the tag would stay in the address (3.13 reads
     * plain pointers). */
    L.tr = *layout_traits(13);
    fake_iframe(buf, &L, code | 1, code, 10, 0, back);
    CHECK(rm_frame_decode(&L, 0, buf, false, &rf, &next, &shim) == 0);
    CHECK(rf.code == (code | 1));
}

/* Frame objects (<=3.10): type check, liveness below the innermost frame,
 * and f_lasti counted in code units on 3.10. */
static void
test_frame_decode_objects(void)
{
    sg_layout L;
    CHECK(layout_for_minor(10, &L));
    uint8_t buf[512];
    CHECK(rm_frame_window(&L) <= sizeof buf);
    const uint64_t type = 0x55550000ull, code = 0x7f0000001000ull;
    memset(buf, 0, sizeof buf);
    put64(buf, L.ob_type, type);
    put64(buf, L.fr_code, code);
    put64(buf, L.fr_back, 0x1234);
    put32(buf, L.fr_lasti, 7);
    buf[L.fr_live] = (uint8_t)L.frame_executing;
    rm_raw_frame rf;
    uint64_t next;
    bool shim;
    CHECK(rm_frame_decode(&L, type, buf, false, &rf, &next, &shim) == 0);
    CHECK(rf.code == code && rf.addrq == 14 && next == 0x1234 && !shim);
    put32(buf, L.fr_lasti, (uint32_t)-1); /* not started */
    CHECK(rm_frame_decode(&L, type, buf, false, &rf, &next, &shim) == 0);
    CHECK(rf.addrq == -1);
    CHECK(rm_frame_decode(&L, type + 8, buf, false, &rf, &next, &shim) ==
          EILSEQ);
    buf[L.fr_live] = (uint8_t)-2; /* FRAME_CREATED: freed and reused */
    CHECK(rm_frame_decode(&L, type, buf, false, &rf, &next, &shim) == ESTALE);
    CHECK(rm_frame_decode(&L, type, buf, true, &rf, &next, &shim) == 0);
    /* Innermost and not executing, with no caller: a frame freed at the
     * end of the free list (its stack would end there), not taken. */
    put64(buf, L.fr_back, 0);
    CHECK(rm_frame_decode(&L, type, buf, true, &rf, &next, &shim) == ESTALE);
    buf[L.fr_live] = (uint8_t)L.frame_executing; /* a thread's first frame */
    CHECK(rm_frame_decode(&L, type, buf, true, &rf, &next, &shim) == 0);
    CHECK(next == 0);
    /* 3.9 counts bytes, and its flag is f_executing. */
    CHECK(layout_for_minor(9, &L));
    memset(buf, 0, sizeof buf);
    put64(buf, L.fr_code, code);
    put32(buf, L.fr_lasti, 7);
    buf[L.fr_live] = 1;
    CHECK(rm_frame_decode(&L, 0, buf, false, &rf, &next, &shim) == 0);
    CHECK(rf.addrq == 7);
    buf[L.fr_live] = 0;
    CHECK(rm_frame_decode(&L, 0, buf, false, &rf, &next, &shim) == ESTALE);
    CHECK(rm_frame_decode(&L, 0, buf, true, &rf, &next, &shim) == ESTALE);
    put64(buf, L.fr_back, 0x1234); /* leaving it: its caller still holds */
    CHECK(rm_frame_decode(&L, 0, buf, true, &rf, &next, &shim) == 0);
}

/* An image of another architecture is told apart from a broken one, so the
 * reader can say what it is instead of "not a Python process". */
static void
test_elf_foreign_machine(void)
{
    uint8_t img[1024];
    elf_image e;
    static const char ro[] = "3.12.1";
    size_t n = tiny_elf(img, sizeof img, ro, sizeof ro);
    CHECK(elf_parse(&e, img, n) == 0 && e.machine == ELF_EM_X86_64);
    img[18] = 183; /* EM_AARCH64 */
    CHECK(elf_parse(&e, img, n) == ELF_FOREIGN);
    CHECK(e.machine == 183 && e.elf_class == 2);
    CHECK_STR(elf_machine_name(e.machine, e.elf_class), "aarch64");
    img[18] = 62;
    img[4] = 1; /* ELFCLASS32 x86-64: the x32 ABI */
    CHECK(elf_parse(&e, img, n) == ELF_FOREIGN);
    CHECK_STR(elf_machine_name(e.machine, e.elf_class), "x32");
    img[18] = 3; /* EM_386 */
    CHECK(elf_parse(&e, img, n) == ELF_FOREIGN);
    CHECK_STR(elf_machine_name(e.machine, e.elf_class), "i386");
    img[4] = 2;
    img[5] = 2; /* big endian: e_machine read in its byte order */
    img[18] = 0;
    img[19] = 21; /* EM_PPC64 */
    CHECK(elf_parse(&e, img, n) == ELF_FOREIGN && e.machine == 21);
    CHECK_STR(elf_machine_name(e.machine, e.elf_class), "ppc64");
    CHECK(elf_machine_name(0x1234, 2) == NULL);
    img[5] = 3; /* no such byte order: not an ELF we can read */
    CHECK(elf_parse(&e, img, n) == -1);

    /* Through the file API: the machine survives, nothing stays mapped. */
    img[5] = 1;
    img[18] = 183;
    img[19] = 0;
    char path[] = "/tmp/sg-test-foreign-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd < 0)
        return;
    CHECK(write(fd, img, n) == (ssize_t)n);
    close(fd);
    errno = 0;
    CHECK(elf_open_file(&e, path) == ELF_FOREIGN && errno == ENOEXEC);
    CHECK(e.machine == 183 && e.mapping == NULL);
    unlink(path);
}

/* On a machine the build does not support, one line says so (the compile
 * time choice is a parameter here, so the refusal is tested on x86_64). */
static void
test_host_check(void)
{
    rm_error err = {0};
    CHECK(rm_host_check(true, "x86_64", &err) == 0 && err.code == RM_OK);
    CHECK(rm_host_check(false, "aarch64", &err) == -1);
    CHECK(err.code == RM_EARCH);
    CHECK_STR(err.msg, "reading another process is supported on x86_64 "
                       "Linux only (this machine is aarch64)");
#if defined(__x86_64__) && defined(__linux__)
    CHECK(remote_host_supported(&err) == 0);
#endif
}

static void
test_maps(void)
{
    pm_maps m = {0};
    pm_maps_parse(
        "00400000-00452000 r-xp 00000000 08:02 173521  /usr/bin/py thon\n"
        "7f0000000000-7f0000001000 rw-p 00001000 00:00 0\n"
        "garbage line\n"
        "7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0   [stack]",
        &m);
    CHECK(m.n == 3);
    CHECK_STR(m.v[0].path, "/usr/bin/py thon");
    CHECK(m.v[0].start == 0x400000 && m.v[0].end == 0x452000);
    CHECK(m.v[1].path == NULL && m.v[1].offset == 0x1000);
    CHECK_STR(m.v[2].path, "[stack]");
    CHECK(pm_maps_find(&m, 0x400100) == &m.v[0]);
    CHECK(pm_maps_find(&m, 0x7f0000000fff) == &m.v[1]);
    CHECK(pm_maps_find(&m, 0x7f0000001000) == NULL);
    CHECK(pm_maps_find(&m, 0) == NULL);
    pm_maps_free(&m);
}

static void
test_reads_self(void)
{
    procmem pm;
    pm_init(&pm, getpid());
    CHECK(pm_maps_load(getpid(), &pm.maps) == 0 && pm.maps.n > 0);
    static uint64_t a = 0x1122334455667788ull, b = 42;
    uint64_t x = 0, y = 0, z = 0;
    CHECK(pm_read(&pm, (uint64_t)(uintptr_t)&a, &x, 8) == 0 && x == a);
    CHECK(pm_read(&pm, 8, &x, 8) == -1);
    pm_iov v[3] = {
        {(uint64_t)(uintptr_t)&a, &x, 8, false},
        {16, &y, 8, false}, /* unmapped */
        {(uint64_t)(uintptr_t)&b, &z, 8, false},
    };
    x = 0;
    CHECK(pm_readv(&pm, v, 3) == 2);
    CHECK(v[0].ok && !v[1].ok && v[2].ok && x == a && z == 42);
    pm_cache_reset(&pm);
    uint64_t before = pm.stats.reads;
    CHECK(pm_read_cached(&pm, (uint64_t)(uintptr_t)&a, &x, 8, 64, 64) == 0);
    CHECK(pm_read_cached(&pm, (uint64_t)(uintptr_t)&b, &z, 8, 64, 64) == 0);
    CHECK(x == a && z == 42);
    CHECK(pm.stats.reads - before <= 2 && pm.stats.cache_hits >= 1);
    pm_free(&pm);
}

/* Memory mapped after the maps were read (a thread started during the
 * sample, once the maps had been re-read for it) is read plainly, and
 * what was read is a block of the snapshot: a refresh re-reads it and the
 * next look is served from it. Without the block, every walk again read
 * it anew, and such a thread's walk was never proven. */
static void
test_new_mapping_joins_the_snapshot(void)
{
    procmem pm;
    pm_init(&pm, getpid());
    CHECK(pm_maps_load(getpid(), &pm.maps) == 0);
    uint64_t *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(page != MAP_FAILED);
    uint64_t at = (uint64_t)(uintptr_t)(page + 8), x = 0;
    page[8] = 7;
    pm_cache_reset(&pm);
    pm.reloaded = true; /* the maps were re-read this sample already */
    CHECK(pm_maps_find(&pm.maps, at) == NULL);
    CHECK(pm_read_cached(&pm, at, &x, 8, 1024, 1024) == 0 && x == 7);
    page[8] = 8;
    pm_cache_refresh(&pm);
    CHECK(pm_cache_lookup(&pm, at, &x, 8) == 0 && x == 8);
    munmap(page, 4096);
    pm_free(&pm);
}

/* A sentinel is proven steady only by a replay or refresh that read it
 * (before and after the blocks) with the value the walk saw. */
static void
test_sentinels(void)
{
    procmem pm;
    pm_init(&pm, getpid());
    CHECK(pm_maps_load(getpid(), &pm.maps) == 0);
    static uint64_t link = 7;
    uint64_t at = (uint64_t)(uintptr_t)&link;
    CHECK(!pm_sentinel_steady(&pm, at, 7)); /* not watched yet: asked */
    pm_cache_refresh(&pm);
    CHECK(pm_sentinel_steady(&pm, at, 7));
    CHECK(!pm_sentinel_steady(&pm, at, 8)); /* another value than read */
    link = 8;
    pm_cache_reset(&pm); /* asked in this sample: replayed */
    CHECK(pm_sentinel_steady(&pm, at, 8) && !pm_sentinel_steady(&pm, at, 7));
    pm_cache_reset(&pm);
    pm_cache_reset(&pm); /* not asked in the last sample: forgotten */
    CHECK(!pm_sentinel_steady(&pm, at, 8));
    pm_free(&pm);
}

/* A torn pointer near 2^64 must miss the block cache, not wrap around
 * `addr + len` and read outside a block (a segfault seen under
 * `record --subprocesses` with children exiting). */
static void
test_cache_rejects_wrapping_addresses(void)
{
    procmem pm;
    pm_init(&pm, getpid());
    static unsigned char data[256];
    for (int i = 0; i < 256; i++)
        data[i] = (unsigned char)i;
    uint64_t base = (uint64_t)(uintptr_t)data;
    pm_cache_add(&pm, base, data, sizeof data);
    unsigned char out[16];
    CHECK(pm_cache_lookup(&pm, base + 16, out, 16) == 0 && out[0] == 16);
    CHECK(pm_cache_lookup(&pm, base + 250, out, 16) == -1); /* past end */
    /* addr - base is huge: addr + 16 wraps to below the block's end. */
    CHECK(pm_cache_lookup(&pm, UINT64_MAX - 7, out, 16) == -1);
    CHECK(pm_cache_lookup(&pm, base + UINT64_MAX / 2, out, 16) == -1);
    pm_cache_add(&pm, UINT64_MAX - 7, data, 16); /* wraps: refused */
    CHECK(pm_cache_lookup(&pm, UINT64_MAX - 7, out, 4) == -1);
    pm_free(&pm);
}

TESTS(test_lnotab, test_linetable310, test_locations, test_pystr,
      test_elf_version_strings, test_elf_self, test_elf_foreign_machine,
      test_layouts, test_traits_match_layouts,
      test_frame_decode_tagged_executable, test_frame_decode_objects,
      test_host_check, test_maps, test_reads_self,
      test_cache_rejects_wrapping_addresses, test_sentinels,
      test_new_mapping_joins_the_snapshot, test_linetable_sums_do_not_overflow)
