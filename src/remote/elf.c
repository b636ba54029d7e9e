/* elf.c -- bounds-checked ELF64 parsing for the remote reader.
 *
 * Only what the reader needs: the first PT_LOAD (for the load bias), section
 * lookup by name, and symbol lookup in .dynsym/.symtab. Fields are read with
 * memcpy at checked offsets (the image may be unaligned or truncated), and
 * every loop is bounded by counts that were themselves checked against the
 * image size. This file is the target of tests/fuzz/fuzz_elf.c.
 */
#include "remote/elf.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define EHDR_SIZE 64
#define PHDR_SIZE 56
#define SHDR_SIZE 64
#define SYM_SIZE 24
#define SHT_SYMTAB 2
#define SHT_DYNSYM 11
#define SHT_NOBITS 8
#define PT_LOAD 1
#define SHN_UNDEF 0
#define MAX_SYMBOLS (1u << 22) /* far above any libpython (about 20k) */

/* Is [off, off+len) inside the image? Written so it cannot overflow. */
static bool
in_image(const elf_image *img, uint64_t off, uint64_t len)
{
    return off <= img->size && len <= img->size - off;
}

static uint16_t
rd16(const uint8_t *p)
{
    uint16_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static uint32_t
rd32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static uint64_t
rd64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

int
elf_parse(elf_image *img, const uint8_t *data, size_t size)
{
    memset(img, 0, sizeof *img);
    img->data = data;
    img->size = size;
    if (size < EHDR_SIZE || memcmp(data,
                                   "\x7f"
                                   "ELF",
                                   4) != 0)
        return -1;
    /* e_machine sits at the same place in every class, in the image's own
     * byte order: a foreign image is told apart before it is refused. */
    uint8_t cls = data[4], endian = data[5];
    if ((cls != 1 && cls != 2) || (endian != 1 && endian != 2))
        return -1;
    img->elf_class = cls;
    img->machine =
        endian == 1 ? rd16(data + 18) : (uint16_t)(data[18] << 8 | data[19]);
    if (cls != 2 || endian != 1 || img->machine != ELF_EM_X86_64)
        return ELF_FOREIGN;
    img->type = rd16(data + 16);
    img->phoff = rd64(data + 32);
    img->shoff = rd64(data + 40);
    img->phentsize = rd16(data + 54);
    img->phnum = rd16(data + 56);
    img->shentsize = rd16(data + 58);
    img->shnum = rd16(data + 60);
    img->shstrndx = rd16(data + 62);
    /* Program headers: tolerate none (then there is no bias to compute),
     * but never read past the image. */
    if (img->phentsize >= PHDR_SIZE &&
        in_image(img, img->phoff, (uint64_t)img->phnum * img->phentsize)) {
        for (uint16_t i = 0; i < img->phnum; i++) {
            const uint8_t *ph =
                data + img->phoff + (uint64_t)i * img->phentsize;
            if (rd32(ph) == PT_LOAD) {
                img->first_load_vaddr = rd64(ph + 16) & ~(uint64_t)0xfff;
                img->has_load = true;
                break;
            }
        }
    }
    if (img->shentsize < SHDR_SIZE ||
        !in_image(img, img->shoff, (uint64_t)img->shnum * img->shentsize))
        img->shnum = 0; /* no usable section table */
    if (img->shstrndx >= img->shnum)
        img->shnum = 0;
    return 0;
}

static const uint8_t *
section_header(const elf_image *img, uint32_t i)
{
    if (i >= img->shnum)
        return NULL;
    return img->data + img->shoff + (uint64_t)i * img->shentsize;
}

/* The NUL-terminated string at offset off of string-table section strsec,
 * or NULL when it would run off the section or the image. */
static const char *
strtab_at(const elf_image *img, const uint8_t *strsec, uint64_t off)
{
    uint64_t base = rd64(strsec + 24), size = rd64(strsec + 32);
    if (rd32(strsec + 4) == SHT_NOBITS || !in_image(img, base, size) ||
        off >= size)
        return NULL;
    const char *s = (const char *)img->data + base + off;
    if (!memchr(s, '\0', size - off))
        return NULL;
    return s;
}

static const uint8_t *
find_section_header(const elf_image *img, const char *name)
{
    const uint8_t *shstr = section_header(img, img->shstrndx);
    if (!shstr)
        return NULL;
    for (uint32_t i = 0; i < img->shnum; i++) {
        const uint8_t *sh = section_header(img, i);
        const char *n = strtab_at(img, shstr, rd32(sh));
        if (n && strcmp(n, name) == 0)
            return sh;
    }
    return NULL;
}

bool
elf_find_section(const elf_image *img, const char *name, uint64_t *addr,
                 uint64_t *size)
{
    const uint8_t *sh = find_section_header(img, name);
    if (!sh)
        return false;
    *addr = rd64(sh + 16);
    *size = rd64(sh + 32);
    return true;
}

/* Find name in the symbol tables of the given type; an undefined entry
 * (a reference to another object's symbol) counts only when `undefined`. */
static bool
lookup_in(const elf_image *img, uint32_t type, const char *name,
          bool undefined, elf_symbol *out)
{
    for (uint32_t i = 0; i < img->shnum; i++) {
        const uint8_t *sh = section_header(img, i);
        if (rd32(sh + 4) != type)
            continue;
        uint64_t off = rd64(sh + 24), size = rd64(sh + 32);
        uint64_t entsize = rd64(sh + 56);
        const uint8_t *strsec = section_header(img, rd32(sh + 40));
        if (!strsec || entsize < SYM_SIZE || !in_image(img, off, size))
            continue;
        uint64_t n = size / entsize;
        if (n > MAX_SYMBOLS)
            n = MAX_SYMBOLS;
        for (uint64_t k = 0; k < n; k++) {
            const uint8_t *sym = img->data + off + k * entsize;
            if (!undefined && rd16(sym + 6) == SHN_UNDEF)
                continue;
            const char *s = strtab_at(img, strsec, rd32(sym));
            if (s && strcmp(s, name) == 0) {
                out->value = rd64(sym + 8);
                out->size = rd64(sym + 16);
                return true;
            }
        }
    }
    return false;
}

bool
elf_find_symbol(const elf_image *img, const char *name, elf_symbol *out)
{
    return lookup_in(img, SHT_DYNSYM, name, false, out) ||
           lookup_in(img, SHT_SYMTAB, name, false, out);
}

bool
elf_names_symbol(const elf_image *img, const char *name)
{
    elf_symbol unused;
    return lookup_in(img, SHT_DYNSYM, name, true, &unused) ||
           lookup_in(img, SHT_SYMTAB, name, true, &unused);
}

bool
elf_find_string(const elf_image *img, const char *section, const char *prefix,
                char *out, size_t cap)
{
    const uint8_t *sh = find_section_header(img, section);
    size_t plen = strlen(prefix);
    if (!sh || cap == 0 || plen == 0 || rd32(sh + 4) == SHT_NOBITS)
        return false;
    uint64_t off = rd64(sh + 24), size = rd64(sh + 32);
    if (!in_image(img, off, size))
        return false;
    const uint8_t *p = img->data + off, *end = p + size;
    while (p < end) {
        const uint8_t *hit = memmem(p, (size_t)(end - p), prefix, plen);
        if (!hit)
            return false;
        /* A version-like tail: the prefix, then digits up to a NUL. The
         * linker merges string tails, so "3.8.18" may be the end of a longer
         * string; it must not continue a number ("13.8.1"). */
        const uint8_t *q = hit + plen;
        while (q < end && *q >= '0' && *q <= '9')
            q++;
        /* A pre-release or vendor tail: "3.10.0rc2", "3.8.10+". */
        while (q < end && q > hit + plen &&
               ((*q >= 'a' && *q <= 'z') || (*q >= '0' && *q <= '9') ||
                *q == '+'))
            q++;
        bool starts = hit == img->data + off ||
                      !((hit[-1] >= '0' && hit[-1] <= '9') || hit[-1] == '.');
        if (q < end && *q == '\0' && q > hit + plen && starts) {
            size_t n = (size_t)(q - hit);
            if (n >= cap)
                n = cap - 1;
            memcpy(out, hit, n);
            out[n] = '\0';
            return true;
        }
        p = hit + 1;
    }
    return false;
}

int
elf_open_file(elf_image *img, const char *path)
{
    memset(img, 0, sizeof *img);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0) {
        close(fd);
        errno = EINVAL;
        return -1;
    }
    void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    int saved = errno;
    close(fd);
    if (m == MAP_FAILED) {
        errno = saved;
        return -1;
    }
    int rc = elf_parse(img, m, (size_t)st.st_size);
    if (rc != 0) {
        munmap(m, (size_t)st.st_size);
        uint16_t machine = img->machine;
        uint8_t cls = img->elf_class;
        memset(img, 0, sizeof *img);
        if (rc == ELF_FOREIGN) {
            img->machine = machine;
            img->elf_class = cls;
            errno = ENOEXEC;
            return ELF_FOREIGN;
        }
        errno = EINVAL;
        return -1;
    }
    img->mapping = m;
    return 0;
}

const char *
elf_machine_name(uint16_t machine, uint8_t elf_class)
{
    bool wide = elf_class == 2;
    switch (machine) {
    case 3:
        return "i386";
    case 8:
        return wide ? "mips64" : "mips";
    case 20:
        return "ppc";
    case 21:
        return "ppc64";
    case 22:
        return wide ? "s390x" : "s390";
    case 40:
        return "arm";
    case ELF_EM_X86_64:
        return wide ? "x86_64" : "x32";
    case 183:
        return "aarch64";
    case 243:
        return wide ? "riscv64" : "riscv32";
    case 258:
        return "loongarch64";
    default:
        return NULL;
    }
}

void
elf_close(elf_image *img)
{
    if (img->mapping)
        munmap(img->mapping, img->size);
    memset(img, 0, sizeof *img);
}
