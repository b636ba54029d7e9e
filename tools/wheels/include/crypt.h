/* crypt.h -- the declaration glibc 2.17's crypt.h made, for the wheel build.
 *
 * CPython 3.8's Python.h includes <crypt.h> where the interpreter was built
 * with one. glibc 2.17 shipped it (with libcrypt); the C library headers zig
 * provides for that version do not. tools/wheels/build.py puts this folder
 * last on the include path of the wheel build only. spyglass never calls
 * crypt, and the wheels never link libcrypt.
 */
#ifndef SG_COMPAT_CRYPT_H
#define SG_COMPAT_CRYPT_H

char *crypt(const char *key, const char *salt);

#endif
