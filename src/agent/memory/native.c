/* native.c -- --native: the preloaded shim's malloc, calloc, realloc,
 * free, mmap... fed into the engine as MEM_DOMAIN_NATIVE blocks.
 *
 * The shim (src/native/shim.c, spyglass/_native.so) must be loaded before
 * anything allocates, which only LD_PRELOAD does: mem_native_prepare
 * re-executes the interpreter with it once, then hides it from the
 * program's children. mem_native_start hands the shim the hooks below.
 *
 * The shim reports each call once per thread (never from inside a hook),
 * but a malloc made inside one of CPython's allocators, which the engine
 * wraps, or by the engine itself, is already accounted for (or is the
 * engine's own): the engine raises mem_busy there, and the hooks ignore
 * what they see while it is up. pymalloc's arenas are mmaps made under
 * mem_busy, so an object is never counted twice.
 */
#include "agent/memory/memory.h" /* Python.h first */

#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/memory/native.h"
#include "common/err.h"
#include "native/native.h"

/* The shim's file name, next to the _agent extension. */
#define NATIVE_SHIM_NAME "_native.so"
#define NATIVE_PRELOAD "LD_PRELOAD"

static void
native_on_alloc(void *ptr, size_t size)
{
    if (!mem_busy)
        mem_on_alloc(ptr, size, MEM_DOMAIN_NATIVE);
}

static void
native_on_free(void *ptr)
{
    if (!mem_busy)
        mem_on_free(ptr, MEM_DOMAIN_NATIVE);
}

/* A mapping is one block, keyed by its start: unmapping from its start
 * frees it whole; unmapping a part that does not start it changes
 * nothing (the engine does not know that address). */
static void
native_on_unmap(void *addr, size_t len)
{
    if (!mem_busy)
        mem_on_free(addr, MEM_DOMAIN_NATIVE);
}

static const sg_native_hooks native_hooks = {
    .on_alloc = native_on_alloc,
    .on_free = native_on_free,
    .on_unmap = native_on_unmap,
};

/* The shim's entry point, or NULL when it is not in the process. */
static sg_native_set_hooks_fn
native_shim(void)
{
    sg_native_set_hooks_fn fn;
    *(void **)&fn = dlsym(RTLD_DEFAULT, SG_NATIVE_SET_HOOKS);
    return fn;
}

int
mem_native_start(void)
{
    sg_native_set_hooks_fn fn = native_shim();
    if (!fn)
        return -1;
    fn(&native_hooks);
    return 0;
}

void
mem_native_stop(void)
{
    sg_native_set_hooks_fn fn = native_shim();
    if (fn)
        fn(NULL);
}

/* ---- the re-execution with the shim preloaded ---- */

/* os.environ[key] = value (value NULL: del os.environ[key], if there), so
 * that os.environ and the C environment the children get agree. 0, or -1
 * with an exception set. */
static int
native_setenv(const char *key, const char *value)
{
    PyObject *os = PyImport_ImportModule("os");
    PyObject *env = os ? PyObject_GetAttrString(os, "environ") : NULL;
    PyObject *k = env ? PyUnicode_DecodeFSDefault(key) : NULL;
    PyObject *v = value && k ? PyUnicode_DecodeFSDefault(value) : NULL;
    int rc = -1;
    if (v)
        rc = PyObject_SetItem(env, k, v);
    else if (k && !value)
        rc = PySequence_Contains(env, k) == 1 ? PyObject_DelItem(env, k)
                                              : (PyErr_Occurred() ? -1 : 0);
    Py_XDECREF(v);
    Py_XDECREF(k);
    Py_XDECREF(env);
    Py_XDECREF(os);
    return rc;
}

/* In the re-executed process: LD_PRELOAD back to what it was before
 * the shim was prepended ("SHIM" when it was unset, "SHIM:USER" when it
 * was USER), SPYGLASS_NATIVE removed. An LD_PRELOAD that does not start
 * with the shim, or a shim the user preloaded (no SPYGLASS_NATIVE), is
 * left as found. */
static int
native_restore_env(sg_native_set_hooks_fn fn)
{
    Dl_info info;
    const char *pre = getenv(NATIVE_PRELOAD);
    int rc = 0;
    if (pre && getenv(SG_NATIVE_ENV) && dladdr(*(void **)&fn, &info) &&
        info.dli_fname) {
        size_t n = strlen(info.dli_fname);
        if (strncmp(pre, info.dli_fname, n) == 0 && pre[n] == '\0')
            rc = native_setenv(NATIVE_PRELOAD, NULL);
        else if (strncmp(pre, info.dli_fname, n) == 0 && pre[n] == ':')
            rc = native_setenv(NATIVE_PRELOAD, pre + n + 1);
    }
    if (rc == 0)
        rc = native_setenv(SG_NATIVE_ENV, NULL);
    if (rc < 0) {
        agent_print_exception();
        sg_error("--native: cannot restore the environment's %s",
                 NATIVE_PRELOAD);
    }
    return rc;
}

/* The path of the shim next to this extension, malloc'd, or NULL after
 * printing why. */
static char *
native_shim_path(void)
{
    Dl_info info;
    if (!dladdr((void *)mem_native_prepare, &info) || !info.dli_fname) {
        sg_error("--native: cannot tell where the spyglass._agent module "
                 "is loaded from");
        return NULL;
    }
    const char *slash = strrchr(info.dli_fname, '/');
    size_t dir = slash ? (size_t)(slash - info.dli_fname) + 1 : 0;
    char *path = malloc(dir + sizeof NATIVE_SHIM_NAME);
    if (!path) {
        sg_error("--native: out of memory");
        return NULL;
    }
    memcpy(path, info.dli_fname, dir);
    memcpy(path + dir, NATIVE_SHIM_NAME, sizeof NATIVE_SHIM_NAME);
    if (access(path, R_OK) != 0) {
        sg_error("--native: the allocation shim %s is missing (%s): "
                 "reinstall spyglass",
                 path, strerror(errno));
    } else if (strpbrk(path, ": \t\n")) {
        /* LD_PRELOAD splits at colons and blanks. */
        sg_error("--native: the allocation shim's path cannot be "
                 "preloaded (it holds a colon or a blank): %s",
                 path);
    } else {
        return path;
    }
    free(path);
    return NULL;
}

/* This process's argv, as the kernel holds it (/proc/self/cmdline), as a
 * NULL-terminated array into one malloc'd buffer (*buf); NULL after
 * printing why. */
static char **
native_argv(char **buf)
{
    FILE *f = fopen("/proc/self/cmdline", "rb");
    size_t len = 0, cap = 4096;
    char *data = malloc(cap);
    while (f && data) {
        len += fread(data + len, 1, cap - len, f);
        if (len < cap)
            break;
        char *more = realloc(data, cap * 2);
        if (!more) {
            free(data);
            data = NULL;
            break;
        }
        data = more;
        cap *= 2;
    }
    int bad = !f || !data || ferror(f) || len == 0 || data[len - 1] != '\0';
    if (f)
        fclose(f);
    size_t argc = 0;
    for (size_t i = 0; !bad && i < len; i++)
        argc += data[i] == '\0';
    char **argv = bad ? NULL : malloc((argc + 1) * sizeof *argv);
    if (!argv) {
        sg_error("--native: cannot read this process's command line "
                 "(/proc/self/cmdline)");
        free(data);
        return NULL;
    }
    size_t k = 0;
    for (size_t i = 0; i < len; i += strlen(data + i) + 1)
        argv[k++] = data + i;
    argv[k] = NULL;
    *buf = data;
    return argv;
}

/* Exec the interpreter again with the shim preloaded; returns only on
 * failure, the environment as it was. */
static int
native_reexec(void)
{
    char *shim = native_shim_path(), *argbuf = NULL;
    char **argv = shim ? native_argv(&argbuf) : NULL;
    const char *user = getenv(NATIVE_PRELOAD);
    char *pre = NULL, *saved = user ? strdup(user) : NULL;
    size_t n = shim ? strlen(shim) : 0, u = user ? strlen(user) : 0;
    if (argv && (!user || saved))
        pre = malloc(n + u + 2);
    if (pre) {
        /* "SHIM" for no LD_PRELOAD, "SHIM:USER" for any, even empty, so
         * that the restart can give back exactly what the user had. */
        snprintf(pre, n + u + 2, user ? "%s:%s" : "%s", shim,
                 user ? user : "");
        agent_flush_stdio();
        fflush(NULL);
        /* Python ignores these at start-up and assumes it found them at
         * their defaults (subprocess restores them so); an exec keeps
         * ignored signals ignored. */
        void (*old_pipe)(int) = signal(SIGPIPE, SIG_DFL);
        void (*old_xfsz)(int) = signal(SIGXFSZ, SIG_DFL);
        if (setenv(NATIVE_PRELOAD, pre, 1) == 0 &&
            setenv(SG_NATIVE_ENV, "1", 1) == 0)
            execv("/proc/self/exe", argv);
        sg_error("--native: cannot re-execute the interpreter with the "
                 "allocation shim preloaded: %s",
                 strerror(errno));
        signal(SIGPIPE, old_pipe);
        signal(SIGXFSZ, old_xfsz);
        if (saved)
            setenv(NATIVE_PRELOAD, saved, 1);
        else
            unsetenv(NATIVE_PRELOAD);
        unsetenv(SG_NATIVE_ENV);
    } else if (argv) {
        sg_error("--native: out of memory");
    }
    free(pre);
    free(saved);
    free(argv);
    free(argbuf);
    free(shim);
    return -1;
}

int
mem_native_prepare(void)
{
    sg_native_set_hooks_fn fn = native_shim();
    if (fn)
        return native_restore_env(fn);
    if (getenv(SG_NATIVE_ENV)) {
        sg_error("--native: the allocation shim is not loaded although "
                 "%s is set (the interpreter was re-executed with it "
                 "preloaded, or %s was set by hand)",
                 SG_NATIVE_ENV, SG_NATIVE_ENV);
        return -1;
    }
    if (dlsym(RTLD_DEFAULT, "__asan_init")) {
        sg_error("--native cannot trace malloc under AddressSanitizer: "
                 "its allocator must be the first one loaded");
        return -1;
    }
    return native_reexec();
}
