/* elf.h -- a bounds-checked reader of 64-bit little-endian ELF images.
 *
 * The remote reader opens the target's libpython or executable to find
 * _PyRuntime and a few type objects. The file comes from another process's
 * view of the filesystem and may be anything, so every offset, size and
 * count read from it is checked against the image before use; a malformed
 * image yields "not found", never an out-of-bounds access.
 */
#ifndef SG_REMOTE_ELF_H
#define SG_REMOTE_ELF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct elf_image {
    const uint8_t *data;
    size_t size;
    /* Parsed header facts (valid after elf_parse returned 0). */
    uint16_t type;             /* ET_EXEC / ET_DYN */
    uint16_t machine;          /* e_machine (also set for ELF_FOREIGN) */
    uint8_t elf_class;         /* 1: 32-bit, 2: 64-bit */
    uint64_t first_load_vaddr; /* page-aligned p_vaddr of the first PT_LOAD */
    bool has_load;
    uint64_t shoff;
    uint16_t shnum, shentsize, shstrndx;
    uint64_t phoff;
    uint16_t phnum, phentsize;
    void *mapping; /* set by elf_open_file: munmap'd by elf_close */
} elf_image;

typedef struct elf_symbol {
    uint64_t value;
    uint64_t size;
} elf_symbol;

#define ELF_EM_X86_64 62
/* elf_parse's answer for a well-formed ELF header of another architecture
 * (or a 32-bit or big-endian one): img->machine and img->elf_class say
 * which; nothing else of img is usable. */
#define ELF_FOREIGN (-2)

/* Parse the headers of an image held in memory (not copied). Returns 0 for
 * an ELF64 little-endian x86-64 image, ELF_FOREIGN, or -1 when it is not a
 * usable ELF. */
int elf_parse(elf_image *img, const uint8_t *data, size_t size);
/* Map path read-only and parse it. Returns 0; ELF_FOREIGN (errno ENOEXEC,
 * img->machine and img->elf_class set, nothing mapped); or -1 with errno
 * set (EINVAL for a file that is not a usable ELF). */
int elf_open_file(elf_image *img, const char *path);
/* The usual name of an architecture ("aarch64", "i386"), or NULL. */
const char *elf_machine_name(uint16_t machine, uint8_t elf_class);
void elf_close(elf_image *img);

/* Look a defined symbol up by name in .dynsym, then .symtab. */
bool elf_find_symbol(const elf_image *img, const char *name, elf_symbol *out);
/* Whether .dynsym or .symtab names the symbol, defined or not: an
 * executable linked against a shared library names what it calls there. */
bool elf_names_symbol(const elf_image *img, const char *name);
/* Find a section by name: its address and size. */
bool elf_find_section(const elf_image *img, const char *name, uint64_t *addr,
                      uint64_t *size);
/* Find prefix followed by digits (then optionally letters, digits, '+')
 * and a NUL inside a section's file bytes: the PY_VERSION string "3.10.13"
 * or "3.10.0rc2" for prefix "3.10."; copies at most cap-1 bytes to out. */
bool elf_find_string(const elf_image *img, const char *section,
                     const char *prefix, char *out, size_t cap);

#endif
