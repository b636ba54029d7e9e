/* glibc_compat.h -- what the wheels' glibc 2.17 baseline lacks.
 *
 * The wheels are compiled against glibc 2.17's headers and symbols
 * (manylinux2014); tools/wheels/build.py forces this header in front of
 * every source file of that build, and of no other. The tree calls a few
 * functions glibc added later: each is declared here, and those the C
 * library must provide are given as the raw system call the newer wrapper
 * makes, so a wheel runs on any glibc >= 2.17 and the kernel decides.
 *
 * It includes no header on purpose: a file that sets feature macros
 * before its first include (src/native/shim.c undefines
 * _FILE_OFFSET_BITS) must still be the first to include the C library's
 * headers. Only the x86_64 wheels are built, hence the system call number.
 */
#ifndef SG_GLIBC_COMPAT_H
#define SG_GLIBC_COMPAT_H

#ifndef __x86_64__
#error "glibc_compat.h knows the x86_64 system call numbers only"
#endif

/* unistd.h's declaration, repeated so that nothing need be included. */
long syscall(long number, ...);

/* glibc 2.27 wraps it; the system call is Linux 3.17's (__NR_memfd_create
 * on x86_64). An older kernel says ENOSYS, as the wrapper would there. */
#define SG_COMPAT_NR_MEMFD_CREATE 319
#ifndef MFD_CLOEXEC
#define MFD_CLOEXEC 0x0001U
#endif
static inline int
memfd_create(const char *name, unsigned int flags)
{
    return (int)syscall(SG_COMPAT_NR_MEMFD_CREATE, name, flags);
}

/* glibc 2.30 wraps it (and declares it unconditionally in the headers
 * zig ships); the system call is as old as Linux threads. Defined static
 * before unistd.h can declare it: a later extern declaration of the same
 * name keeps this internal one (C11 6.2.2p4). */
#define SG_COMPAT_NR_GETTID 186
static inline int
gettid(void)
{
    return (int)syscall(SG_COMPAT_NR_GETTID);
}

/* glibc 2.26. The native allocation shim defines it (and forwards to the
 * C library's when there is one): declared so that definition has its
 * prototype, as it has against a newer glibc. */
void *reallocarray(void *ptr, __SIZE_TYPE__ nmemb, __SIZE_TYPE__ size);

#endif
