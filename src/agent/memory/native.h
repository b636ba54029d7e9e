/* native.h -- what `spyglass memory --native` calls before the program
 * runs (native.c).
 */
#ifndef SG_AGENT_MEMORY_NATIVE_H
#define SG_AGENT_MEMORY_NATIVE_H

/* Make sure the allocation shim (spyglass/_native.so) is in this process,
 * with the GIL held, before the program runs and before mem_start.
 *
 * When it is not, re-execute the interpreter with the same argv (so the
 * same request, same pid, same stdio) with the shim prepended to
 * LD_PRELOAD and SPYGLASS_NATIVE=1: this call then does not return, and
 * the new process calls it again. When it is (the re-executed process),
 * put LD_PRELOAD back as the user had it and remove SPYGLASS_NATIVE, in
 * os.environ and in the C environment, so that the program's children
 * are not traced, and return 0.
 *
 * Returns -1 after printing one `spyglass: error:` line when the shim
 * cannot be loaded: missing from the package, a path LD_PRELOAD cannot
 * hold, an AddressSanitizer build (its allocator must come first), or
 * SPYGLASS_NATIVE already set without the shim (never re-executes
 * twice). */
int mem_native_prepare(void);

#endif
