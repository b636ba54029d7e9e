/* pstats.c -- cProfile's dump format: a marshal'ed dict, written by hand.
 *
 *   {(file, line, name): (cc, nc, tt, ct, {caller_key: (nc, cc, tt, ct)})}
 *
 * Only marshal's version-2 type codes are used ('{' dict ending in '0', '('
 * tuple with an int32 length, 'u' UTF-8 string, 'i' int32, 'l' big int in
 * 15-bit digits, 'g' binary double): every marshal reader since 3.4 loads
 * them, so one file serves pstats of 3.8-3.13, SnakeViz and gprof2dot.
 * The numbers come from sg_funcstats (model/funcstats.h); every caller is a
 * function of its own, as gprof2dot requires.
 */
#include <stdint.h>
#include <string.h>

#include "model/funcstats.h"
#include "writers/writers.h"

static void
put_u32(strbuf *sb, uint32_t v)
{
    unsigned char b[4] = {(unsigned char)v, (unsigned char)(v >> 8),
                          (unsigned char)(v >> 16), (unsigned char)(v >> 24)};
    sb_append(sb, b, 4);
}

static void
m_int(strbuf *sb, uint64_t v)
{
    if (v <= INT32_MAX) {
        sb_putc(sb, 'i');
        put_u32(sb, (uint32_t)v);
        return;
    }
    /* TYPE_LONG: digit count (its sign is the number's), then base-2**15
     * digits, least significant first. */
    unsigned char digits[2 * 5];
    int n = 0;
    while (v) {
        uint16_t d = (uint16_t)(v & 0x7fff);
        digits[2 * n] = (unsigned char)d;
        digits[2 * n + 1] = (unsigned char)(d >> 8);
        n++;
        v >>= 15;
    }
    sb_putc(sb, 'l');
    put_u32(sb, (uint32_t)n);
    sb_append(sb, digits, (size_t)(2 * n));
}

static void
m_float(strbuf *sb, double d)
{
    unsigned char b[8];
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(u >> (8 * i));
    sb_putc(sb, 'g');
    sb_append(sb, b, 8);
}

static void
m_str(strbuf *sb, const char *s)
{
    size_t n = strlen(s);
    sb_putc(sb, 'u');
    put_u32(sb, (uint32_t)n);
    sb_append(sb, s, n);
}

static void
m_tuple(strbuf *sb, uint32_t n)
{
    sb_putc(sb, '(');
    put_u32(sb, n);
}

static void
m_key(strbuf *sb, const sg_fstat *f)
{
    m_tuple(sb, 3);
    m_str(sb, f->file);
    m_int(sb, (uint64_t)(uint32_t)(f->line < 0 ? 0 : f->line));
    m_str(sb, f->name);
}

int
sg_write_pstats(const sg_profile *p, const writer_opts *o, strbuf *out)
{
    sg_funcstats fs;
    if (sg_funcstats_build(p, SG_ROOT_NODE, false, &fs) < 0)
        return SG_WRITE_NOMEM;
    sb_putc(out, '{');
    for (size_t i = 0; i < fs.n; i++) {
        const sg_fstat *f = &fs.f[i];
        m_key(out, f);
        m_tuple(out, 5);
        m_int(out, f->cc);
        m_int(out, f->nc);
        m_float(out, f->tt);
        m_float(out, f->ct);
        sb_putc(out, '{');
        for (uint32_t k = 0; k < f->n_callers; k++) {
            const sg_fedge *e = &fs.e[f->callers + k];
            m_key(out, &fs.f[e->caller]);
            m_tuple(out, 4);
            m_int(out, e->nc);
            m_int(out, e->cc);
            m_float(out, e->tt);
            m_float(out, e->ct);
        }
        sb_putc(out, '0');
    }
    sb_putc(out, '0');
    sg_funcstats_free(&fs);
    (void)o;
    return 0;
}
