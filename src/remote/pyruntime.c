/* pyruntime.c -- attach: find the CPython runtime in a process.
 *
 * Steps: the process exists and can be read; some ELF mapped into it
 * (libpython first, then the executable, then any other "python" image, as
 * when Python is embedded) defines _PyRuntime (symbol, or the .PyRuntime
 * section); its version is known (Py_Version, _Py_DebugOffsets, or the file
 * name plus the PY_VERSION string in .rodata) and has a layout; the runtime
 * is initialised. Each failure is a distinct rm_errcode with one line.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "common/sort.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/strbuf.h"
#include "remote/elf.h"
#include "remote/internal.h"

void
rm_set_error(rm_error *err, rm_errcode code, const char *fmt, ...)
{
    if (!err)
        return;
    err->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
}

static void
read_small_file(const char *path, char *out, size_t cap, bool nul_to_space)
{
    out[0] = '\0';
    FILE *f = fopen(path, "re");
    if (!f)
        return;
    size_t n = fread(out, 1, cap - 1, f);
    fclose(f);
    out[n] = '\0';
    if (nul_to_space) {
        while (n > 0 && out[n - 1] == '\0')
            n--;
        out[n] = '\0';
        for (size_t i = 0; i < n; i++)
            if (out[i] == '\0')
                out[i] = ' ';
    }
    size_t len = strlen(out);
    while (len > 0 && out[len - 1] == '\n')
        out[--len] = '\0';
}

/* /proc/PID/stat into buf, and where its fields after the command's
 * closing parenthesis start (the command may hold spaces and parentheses
 * itself), or NULL. */
static const char *
stat_fields(pid_t pid, char *buf, size_t cap)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    read_small_file(path, buf, cap, false);
    const char *p = strrchr(buf, ')');
    return p ? p + 1 : NULL;
}

/* Whether pid is a kernel thread (PF_KTHREAD in /proc/PID/stat's flags,
 * the ninth field). */
static bool
is_kernel_thread(pid_t pid)
{
    char stat[512];
    const char *p = stat_fields(pid, stat, sizeof stat);
    if (!p)
        return false;
    unsigned long flags = 0;
    /* state ppid pgrp session tty_nr tpgid flags */
    if (sscanf(p, " %*c %*d %*d %*d %*d %*d %lu", &flags) != 1)
        return false;
    return (flags & 0x00200000ul) != 0; /* PF_KTHREAD */
}

static void
read_link(const char *path, char *out, size_t cap)
{
    ssize_t n = readlink(path, out, cap - 1);
    out[n > 0 ? n : 0] = '\0';
}

static const char *
base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

/* The minor version named in a file name ("libpython3.10.so.1.0",
 * "python3.11"), or 0. */
static unsigned
minor_from_name(const char *path)
{
    const char *b = base_name(path);
    const char *p = strstr(b, "python3.");
    if (!p)
        return 0;
    p += 8;
    if (!isdigit((unsigned char)*p))
        return 0;
    return (unsigned)strtoul(p, NULL, 10);
}

typedef struct candidate {
    const pm_map *map;
    int rank; /* lower is tried first */
} candidate;

static int
cand_cmp(const void *a, const void *b)
{
    const candidate *x = a, *y = b;
    if (x->rank != y->rank)
        return x->rank - y->rank;
    return x->map < y->map ? -1 : x->map > y->map;
}

/* Load bias of the image mapped from path: the start of its mapping with
 * file offset 0, minus its first PT_LOAD's page-aligned vaddr. */
static bool
load_bias(const pm_maps *maps, const char *path, const elf_image *img,
          uint64_t *bias)
{
    for (size_t i = 0; i < maps->n; i++) {
        const pm_map *m = &maps->v[i];
        if (m->path && m->offset == 0 && strcmp(m->path, path) == 0) {
            *bias = m->start - img->first_load_vaddr;
            return true;
        }
    }
    return false;
}

static uint64_t
sym_addr(const elf_image *img, uint64_t bias, const char *name)
{
    elf_symbol s;
    return elf_find_symbol(img, name, &s) && s.value ? bias + s.value : 0;
}

/* Open the ELF as the target sees it: through /proc/PID/root, so mount
 * namespaces and replaced files work; then the plain path. */
static int
open_target_elf(pid_t pid, const char *path, elf_image *img)
{
    char buf[4200];
    snprintf(buf, sizeof buf, "/proc/%d/root%s", (int)pid, path);
    int rc = elf_open_file(img, buf);
    if (rc == 0 || rc == ELF_FOREIGN)
        return rc;
    return elf_open_file(img, path);
}

static bool
version_is_release_string(const char *v)
{
    /* "3.10.13" or "3.10.13+" (a vendor patch); not "3.13.0rc2". */
    for (const char *p = v; *p; p++)
        if (!isdigit((unsigned char)*p) && *p != '.' && *p != '+')
            return false;
    return true;
}

static int
identify_version(remote *r, const elf_image *img, uint64_t bias,
                 const char *path, rm_error *err)
{
    rm_info *in = &r->info;
    uint64_t pyv = sym_addr(img, bias, "Py_Version");
    if (pyv) {
        uint32_t hex;
        if (pm_read(&r->pm, pyv, &hex, 4) != 0) {
            rm_set_error(err, RM_EREAD,
                         "cannot read Py_Version of process "
                         "%d: %s",
                         (int)in->pid, strerror(errno));
            return -1;
        }
        in->version_hex = hex;
        in->minor = (hex >> 16) & 0xff;
        unsigned level = (hex >> 4) & 0xf, serial = hex & 0xf;
        const char *lv = level == 0xa   ? "a"
                         : level == 0xb ? "b"
                         : level == 0xc ? "rc"
                                        : "";
        if (level == 0xf)
            snprintf(in->version, sizeof in->version, "%u.%u.%u", hex >> 24,
                     in->minor, (hex >> 8) & 0xff);
        else
            snprintf(in->version, sizeof in->version, "%u.%u.%u%s%u",
                     hex >> 24, in->minor, (hex >> 8) & 0xff, lv, serial);
        if ((hex >> 24) != 3 || level != 0xf) {
            char range[16];
            rm_set_error(err, RM_EVERSION,
                         "Python %s is a pre-release or "
                         "unknown version: not supported (spyglass reads "
                         "final releases of %s)",
                         in->version, layout_supported(range, sizeof range));
            return -1;
        }
        return 0;
    }
    /* No Py_Version (before 3.11): the minor from the file name, the full
     * version from the PY_VERSION string compiled into .rodata. */
    unsigned minor = minor_from_name(path);
    if (!minor && in->exe[0])
        minor = minor_from_name(in->exe);
    char prefix[16], found[32] = "";
    if (minor) {
        snprintf(prefix, sizeof prefix, "3.%u.", minor);
        elf_find_string(img, ".rodata", prefix, found, sizeof found);
    } else {
        /* Each supported version that has no Py_Version. */
        for (size_t i = 0; !found[0]; i++) {
            unsigned m = layout_minor_at(i);
            if (!m)
                break;
            if (layout_traits(m)->py_version)
                continue;
            snprintf(prefix, sizeof prefix, "3.%u.", m);
            if (elf_find_string(img, ".rodata", prefix, found, sizeof found))
                minor = m;
        }
    }
    if (!minor) {
        rm_set_error(err, RM_EVERSION,
                     "cannot tell the Python version of "
                     "%s",
                     path);
        return -1;
    }
    in->minor = minor;
    if (found[0] && strlen(found) < 12) {
        snprintf(in->version, sizeof in->version, "%s", found);
        if (!version_is_release_string(found)) {
            char range[16];
            rm_set_error(err, RM_EVERSION,
                         "Python %s is a pre-release: not "
                         "supported (spyglass reads final releases of "
                         "%s)",
                         found, layout_supported(range, sizeof range));
            return -1;
        }
        unsigned patch = (unsigned)strtoul(found + strlen(prefix), NULL, 10);
        in->version_hex = (3u << 24) | (minor << 16) | (patch << 8) | 0xf0;
    } else {
        snprintf(in->version, sizeof in->version, "3.%u", minor);
        in->version_hex = (3u << 24) | (minor << 16) | 0xf0;
    }
    return 0;
}

/* Whether the runtime at addr lies in a writable mapping, as it does once
 * the loader has mapped the image's data segment (.PyRuntime or .data of
 * the image's file; .bss, where 3.8 and 3.9 keep it, may be anonymous). */
static bool
runtime_mapped(const pm_maps *maps, uint64_t addr)
{
    const pm_map *m = pm_maps_find(maps, addr);
    return m && m->perms[1] == 'w';
}

/* Choose the layout; from the target's _Py_DebugOffsets where the version
 * has them. */
static int
choose_layout(remote *r, uint64_t runtime_size, rm_error *err)
{
    rm_info *in = &r->info;
    char range[16];
    sg_layout gen;
    if (!layout_for_minor(in->minor, &gen)) {
        rm_set_error(err, RM_EVERSION,
                     "Python %s is not supported (spyglass "
                     "reads CPython %s)",
                     in->version, layout_supported(range, sizeof range));
        return -1;
    }
    if (gen.tr.debug_offsets) {
        const sg_debug_layout *d = layout_debug_for_minor(in->minor);
        uint8_t dbg[4096];
        char why[200];
        if (!d || d->size > sizeof dbg) {
            rm_set_error(err, RM_EVERSION,
                         "Python %s: no _Py_DebugOffsets "
                         "layout known",
                         in->version);
            return -1;
        }
        if (pm_read(&r->pm, r->runtime, dbg, d->size) != 0) {
            rm_set_error(err, RM_EREAD,
                         "cannot read _PyRuntime of process "
                         "%d: %s",
                         (int)in->pid, strerror(errno));
            return -1;
        }
        if (layout_from_debug(dbg, d->size, in->minor, &r->L, why,
                              sizeof why) != 0) {
            rm_set_error(err, RM_EVERSION,
                         "Python %s: unsupported build "
                         "(%s)",
                         in->version, why);
            return -1;
        }
        in->debug_offsets = true;
    } else {
        r->L = gen;
    }
    if (runtime_size && runtime_size != r->L.rt_size) {
        rm_set_error(err, RM_EVERSION,
                     "Python %s: unsupported build "
                     "(sizeof _PyRuntime is %llu, a 3.%u x86_64 release build "
                     "has %u: debug or free-threaded build?)",
                     in->version, (unsigned long long)runtime_size, in->minor,
                     r->L.rt_size);
        return -1;
    }
    return 0;
}

static uint32_t
max_off(uint32_t a, uint32_t b)
{
    if (a == LAYOUT_NONE)
        return b;
    if (b == LAYOUT_NONE)
        return a;
    return a > b ? a : b;
}

/* How much of _PyRuntime and PyInterpreterState one sample reads: enough to
 * cover every field used, in one read each. */
static void
size_windows(remote *r)
{
    const sg_layout *L = &r->L;
    uint32_t rt = max_off(L->rt_interpreters_head, L->rt_main_thread);
    rt = max_off(rt, L->rt_interpreters_main);
    rt = max_off(rt, L->rt_tstate_current);
    rt = max_off(rt, L->rt_gil_locked);
    rt = max_off(rt, L->rt_gil_last_holder);
    rt = max_off(rt, L->rt_initialized);
    r->rt_window = rt + 8;
    uint32_t is = max_off(L->is_next, L->is_threads_head);
    is = max_off(is, L->is_ceval_gil);
    if (L->is_gil != LAYOUT_NONE)
        is = max_off(is,
                     L->is_gil + max_off(L->gil_locked, L->gil_last_holder));
    r->is_window = is + 8;
    r->rtbuf = sg_xmalloc(r->rt_window);
    r->isbuf = sg_xmalloc(r->is_window);
}

/* Initialised enough to walk: an interpreter with a thread. */
static int
check_initialised(remote *r, rm_error *err)
{
    if (pm_read(&r->pm, r->runtime, r->rtbuf, r->rt_window) != 0) {
        rm_set_error(err, RM_EREAD,
                     "cannot read _PyRuntime of process %d: "
                     "%s",
                     (int)r->info.pid, strerror(errno));
        return -1;
    }
    uint64_t interp = rm_u64(r->rtbuf, r->L.rt_interpreters_head);
    uint64_t threads = 0;
    if (interp &&
        pm_read(&r->pm, interp + r->L.is_threads_head, &threads, 8) != 0)
        threads = 0;
    if (!interp || !threads) {
        rm_set_error(err, RM_ENOTINIT,
                     "Python %s in process %d is not "
                     "initialised yet",
                     r->info.version, (int)r->info.pid);
        return -1;
    }
    return 0;
}

/* The target (or the Python image it maps) is built for another machine:
 * the layouts describe x86_64 only. */
static void
foreign_error(rm_error *err, pid_t pid, const char *comm, const char *path,
              const elf_image *img)
{
    const char *name = elf_machine_name(img->machine, img->elf_class);
    char other[64];
    if (name)
        snprintf(other, sizeof other, "%s", name);
    else
        snprintf(other, sizeof other, "ELF machine %u%s", img->machine,
                 img->elf_class == 1 ? ", 32-bit" : "");
    rm_set_error(err, RM_EARCH,
                 "process %d (%s): %s is built for %s: spyglass reads "
                 "x86_64 programs only",
                 (int)pid, comm, path, other);
}

static int
find_runtime(remote *r, rm_error *err)
{
    rm_info *in = &r->info;
    pm_maps *maps = &r->pm.maps;
    candidate *c = sg_xcalloc(maps->n + 1, sizeof *c);
    size_t nc = 0;
    for (size_t i = 0; i < maps->n; i++) {
        const pm_map *m = &maps->v[i];
        if (!m->path || m->offset != 0 || m->path[0] != '/')
            continue;
        const char *b = base_name(m->path);
        int rank;
        if (strncmp(b, "libpython3", 10) == 0)
            rank = 0;
        else if (strcmp(m->path, in->exe) == 0)
            rank = 1;
        else if (strstr(b, "python"))
            rank = 2;
        else
            continue;
        bool dup = false;
        for (size_t k = 0; k < nc; k++)
            dup |= strcmp(c[k].map->path, m->path) == 0;
        if (!dup)
            c[nc++] = (candidate){m, rank};
    }
    sg_sort(c, nc, sizeof *c, cand_cmp);
    int rc = -1;
    const char *foreign = NULL; /* an image built for another machine */
    elf_image foreign_img = {0};
    for (size_t k = 0; k < nc && rc != 0; k++) {
        const char *path = c[k].map->path;
        elf_image img;
        int orc = open_target_elf(in->pid, path, &img);
        if (orc == ELF_FOREIGN && !foreign) {
            foreign = path;
            foreign_img = img;
        }
        if (orc != 0)
            continue;
        uint64_t bias, sec_addr = 0, sec_size = 0, rt_size = 0;
        elf_symbol sym;
        bool have_sym = elf_find_symbol(&img, "_PyRuntime", &sym);
        bool have_sec =
            elf_find_section(&img, ".PyRuntime", &sec_addr, &sec_size);
        if ((!have_sym && !have_sec) || !img.has_load ||
            !load_bias(maps, path, &img, &bias)) {
            elf_close(&img);
            continue;
        }
        r->runtime = bias + (have_sym ? sym.value : sec_addr);
        rt_size = have_sym ? sym.size : sec_size;
        if (!runtime_mapped(maps, r->runtime)) {
            /* The loader maps an image's whole span from its first
             * segment, then each segment over it: until the data segment
             * is in place, the address holds other bytes of the file (a
             * launched 3.13 seen there had "no _Py_DebugOffsets cookie").
             * Its interpreter is starting: try again. */
            rm_set_error(err, RM_ENOTINIT,
                         "process %d: %s is still being loaded", (int)in->pid,
                         base_name(path));
            elf_close(&img);
            free(c);
            return -1;
        }
        snprintf(in->elf_path, sizeof in->elf_path, "%s", path);
        in->runtime_addr = r->runtime;
        in->static_build = strcmp(path, in->exe) == 0;
        r->code_type = sym_addr(&img, bias, "PyCode_Type");
        r->unicode_type = sym_addr(&img, bias, "PyUnicode_Type");
        r->bytes_type = sym_addr(&img, bias, "PyBytes_Type");
        r->frame_type = sym_addr(&img, bias, "PyFrame_Type");
        rc = identify_version(r, &img, bias, path, err);
        if (rc == 0)
            rc = choose_layout(r, rt_size, err);
        elf_close(&img);
        if (rc != 0) {
            free(c);
            return -1;
        }
    }
    if (rc != 0) {
        /* Say so when it is Python, just not one with a _PyRuntime. */
        for (size_t k = 0; k < nc; k++) {
            const char *b = base_name(c[k].map->path);
            if (strncmp(b, "libpython2", 10) == 0 ||
                strncmp(b, "python2", 7) == 0 ||
                strncmp(b, "libpython3.6", 12) == 0 ||
                strncmp(b, "python3.6", 9) == 0) {
                char range[16];
                rm_set_error(err, RM_EVERSION,
                             "process %d runs %s: not "
                             "supported (spyglass reads CPython %s)",
                             (int)in->pid, b,
                             layout_supported(range, sizeof range));
                free(c);
                return -1;
            }
        }
    }
    if (rc != 0) {
        char comm[64];
        char p[64];
        snprintf(p, sizeof p, "/proc/%d/comm", (int)in->pid);
        read_small_file(p, comm, sizeof comm, false);
        if (foreign)
            foreign_error(err, in->pid, comm, foreign, &foreign_img);
        else
            rm_set_error(err, RM_ENOTPY,
                         "pid %d runs %s, not CPython (no _PyRuntime in its "
                         "executable or libraries)",
                         (int)in->pid, in->exe[0] ? in->exe : comm);
    }
    free(c);
    return rc;
}

/* One wording for every permission failure: what is needed. */
static void
permission_denied(rm_error *err, pid_t pid, const char *what)
{
    rm_set_error(err, RM_EPERM,
                 "permission denied reading %s process %d: "
                 "run as the same user with ptrace allowed "
                 "(kernel.yama.ptrace_scope=0, or launch the target under "
                 "spyglass), or as root / with CAP_SYS_PTRACE",
                 what, (int)pid);
}

static int
check_access(remote *r, rm_error *err)
{
    uint64_t word;
    /* A read of any mapped address tells whether ptrace access is granted
     * before anything else is tried. */
    for (size_t i = 0; i < r->pm.maps.n; i++) {
        const pm_map *m = &r->pm.maps.v[i];
        if (m->perms[0] != 'r')
            continue;
        if (pm_read(&r->pm, m->start, &word, sizeof word) == 0)
            return 0;
        if (errno == EPERM || errno == EACCES) {
            permission_denied(err, r->info.pid, "the memory of");
            return -1;
        }
        if (errno == ESRCH) {
            rm_set_error(err, RM_ENOPROC, "no such process: %d",
                         (int)r->info.pid);
            return -1;
        }
    }
    return 0;
}

int
rm_host_check(bool supported, const char *machine, rm_error *err)
{
    if (supported)
        return 0;
    rm_set_error(err, RM_EARCH,
                 "reading another process is supported on x86_64 Linux only "
                 "(this machine is %s)",
                 machine);
    return -1;
}

int
remote_host_supported(rm_error *err)
{
    /* The generated layouts are x86_64 ones, and the reader takes glibc
     * x86_64 facts (struct pthread) for granted. */
#if defined(__x86_64__) && defined(__linux__)
    (void)err;
    return 0;
#else
    struct utsname u;
    return rm_host_check(false, uname(&u) == 0 ? u.machine : "unknown", err);
#endif
}

remote *
remote_open(pid_t pid, rm_error *err)
{
    if (err) {
        err->code = RM_OK;
        err->msg[0] = '\0';
    }
    if (remote_host_supported(err) != 0)
        return NULL;
    char path[64];
    struct stat st;
    snprintf(path, sizeof path, "/proc/%d", (int)pid);
    if (pid <= 0 || stat(path, &st) != 0) {
        rm_set_error(err, RM_ENOPROC, "no such process: %d", (int)pid);
        return NULL;
    }
    remote *r = sg_xcalloc(1, sizeof *r);
    r->info.pid = pid;
    pm_init(&r->pm, pid);
    hm64_init(&r->code_index);
    static const char *const metric[] = {"samples"};
    r->names = sg_profile_new(SG_PROFILE_SAMPLED, 1, metric);
    snprintf(path, sizeof path, "/proc/%d/exe", (int)pid);
    read_link(path, r->info.exe, sizeof r->info.exe);
    snprintf(path, sizeof path, "/proc/%d/cwd", (int)pid);
    read_link(path, r->cwd, sizeof r->cwd);
    snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
    read_small_file(path, r->info.cmdline, sizeof r->info.cmdline, true);
    if (pm_maps_load(pid, &r->pm.maps) != 0) {
        if (errno == EACCES || errno == EPERM)
            permission_denied(err, pid, "/proc/PID/maps of");
        else
            rm_set_error(err, RM_ENOPROC, "no such process: %d", (int)pid);
        remote_close(r);
        return NULL;
    }
    if (r->pm.maps.n == 0) {
        /* A kernel thread has no mappings, and neither has a process
         * whose exit released them (a zombie, or one still exiting): that
         * one is gone, whatever it ran, which a launcher must not take for
         * a program that is not Python. */
        if (is_kernel_thread(pid))
            rm_set_error(err, RM_ENOTPY, "process %d is a kernel thread",
                         (int)pid);
        else
            rm_set_error(err, RM_ENOPROC,
                         "process %d has exited (no memory mappings left)",
                         (int)pid);
        remote_close(r);
        return NULL;
    }
    if (check_access(r, err) != 0 || find_runtime(r, err) != 0) {
        remote_close(r);
        return NULL;
    }
    size_windows(r);
    if (check_initialised(r, err) != 0) {
        remote_close(r);
        return NULL;
    }
    return r;
}

/* Seconds since the process started, or a large number when unknown. */
static double
process_age(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return 1e9;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')');
    unsigned long long start = 0;
    /* Field 22 (starttime) counted from field 3 after the comm. */
    if (!p || sscanf(p + 2,
                     "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
                     "%*u %*u %*d %*d %*d %*d %*d %*d %llu",
                     &start) != 1)
        return 1e9;
    double uptime = 0;
    f = fopen("/proc/uptime", "re");
    if (!f || fscanf(f, "%lf", &uptime) != 1)
        uptime = 1e9;
    if (f)
        fclose(f);
    return uptime - (double)start / (double)sysconf(_SC_CLK_TCK);
}

/* The parent of pid, or 0. */
static pid_t
parent_of(pid_t pid)
{
    char stat[512];
    const char *p = stat_fields(pid, stat, sizeof stat);
    int ppid = 0;
    if (!p || sscanf(p, " %*c %d", &ppid) != 1)
        return 0;
    return (pid_t)ppid;
}

/* Whether a young process that holds no CPython runtime may still become
 * one: a fork not yet exec'd (it runs its parent's program), a program
 * named python whose libpython is not mapped yet, or a launcher (a shell,
 * env) that has started a child. Any other program runs what it will run:
 * it is not CPython, said at once rather than after the wait. */
static bool
may_become_python(pid_t pid)
{
    char path[64], exe[4096], pexe[4096], kids[64];
    snprintf(path, sizeof path, "/proc/%d/exe", (int)pid);
    read_link(path, exe, sizeof exe);
    if (!exe[0] || strstr(base_name(exe), "python"))
        return true;
    snprintf(path, sizeof path, "/proc/%d/exe", (int)parent_of(pid));
    read_link(path, pexe, sizeof pexe);
    if (strcmp(exe, pexe) == 0)
        return true;
    snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)pid,
             (int)pid);
    read_small_file(path, kids, sizeof kids, false);
    return kids[0] != '\0';
}

remote *
remote_open_wait(pid_t pid, unsigned timeout_ms, rm_error *err)
{
    rm_error local;
    if (!err)
        err = &local;
    uint64_t start = sg_now_ns();
    for (;;) {
        remote *r = remote_open(pid, err);
        if (r)
            return r;
        /* Still starting: not initialised, or so young that libpython may
         * not be mapped yet. */
        bool starting = err->code == RM_ENOTINIT ||
                        (err->code == RM_ENOTPY && process_age(pid) < 3.0 &&
                         may_become_python(pid));
        if (!starting || sg_now_ns() - start > (uint64_t)timeout_ms * 1000000u)
            return NULL;
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

void
remote_close(remote *r)
{
    if (!r)
        return;
    rm_codes_free(r);
    for (size_t i = 0; i < r->n_fds; i++)
        close(r->fds[i].fd);
    free(r->fds);
    free(r->raw);
    free(r->prove_bufs);
    free(r->prove_iov);
    hm64_free(&r->code_index);
    if (r->names)
        sg_profile_free(r->names);
    free(r->rtbuf);
    free(r->isbuf);
    pm_free(&r->pm);
    free(r);
}

const rm_info *
remote_info(const remote *r)
{
    return &r->info;
}

const sg_func *
remote_func(const remote *r, uint32_t id)
{
    return id < r->names->n_funcs ? &r->names->funcs[id] : NULL;
}

void
remote_stats(const remote *r, rm_stats *out)
{
    *out = r->st;
    out->reads = r->pm.stats.reads;
    out->bytes = r->pm.stats.bytes;
    out->read_failures = r->pm.stats.failures;
    out->cache_hits = r->pm.stats.cache_hits;
    out->proc_reads = r->pm.stats.proc_reads;
}

void
remote_set_thread_status(remote *r, bool on)
{
    r->no_status = !on;
}

void
rm_sample_free(rm_sample *s)
{
    free(s->threads);
    free(s->frames);
    memset(s, 0, sizeof *s);
}
