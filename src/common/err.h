/* err.h -- the one way spyglass reports a problem to the user.
 *
 * Every user-facing failure is one line on stderr, "spyglass: error: ...",
 * followed by a non-zero exit: SG_EXIT_USAGE for bad command lines,
 * SG_EXIT_NOEXEC when a program cannot be started, SG_EXIT_IOERR when a
 * result could not be written where asked (common/output.h), SG_EXIT_FAIL
 * otherwise. SG_EXIT_PIPE is what a shell reports for a tool killed by
 * SIGPIPE: spyglass ends with it, quietly, when stdout's reader went away.
 */
#ifndef SG_ERR_H
#define SG_ERR_H

#include <stdarg.h>
#include <stddef.h>

#define SG_EXIT_OK 0
#define SG_EXIT_FAIL 1
#define SG_EXIT_USAGE 2
#define SG_EXIT_IOERR 74 /* sysexits.h's EX_IOERR */
#define SG_EXIT_NOEXEC 127
#define SG_EXIT_PIPE 141 /* 128 + SIGPIPE */

#if defined(__GNUC__)
#define SG_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define SG_NORETURN __attribute__((noreturn))
#else
#define SG_PRINTF(a, b)
#define SG_NORETURN
#endif

/* Print "spyglass: error: <msg>" on stderr. */
void sg_error(const char *fmt, ...) SG_PRINTF(1, 2);
void sg_verror(const char *fmt, va_list ap);
/* Print "spyglass: warning: <msg>" on stderr. */
void sg_warn(const char *fmt, ...) SG_PRINTF(1, 2);

#ifndef SG_CORE
/* The executable's only: defined in common/fatal.c, which is not part of
 * sg_core (compiled with SG_CORE, so that code shared with the extension
 * cannot even name these; it allocates through common/alloc.h and reports
 * failure instead). */

/* sg_error, then exit(code). */
SG_NORETURN void sg_die(int code, const char *fmt, ...) SG_PRINTF(2, 3);

/* Allocation that cannot fail quietly: on out-of-memory the executable
 * reports and exits (there is nothing better to do in a CLI tool). */
void *sg_xmalloc(size_t n);
void *sg_xcalloc(size_t n, size_t size);
void *sg_xrealloc(void *p, size_t n);
char *sg_xstrdup(const char *s);
/* Report that n bytes could not be allocated, and exit: what the
 * executable gives sg_alloc_on_failure (common/alloc.h). */
SG_NORETURN void sg_oom_exit(size_t n);
#endif

#endif
