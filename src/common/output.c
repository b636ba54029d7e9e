/* output.c -- checking, atomically writing and delivering a command's
 * result; see output.h.
 *
 * Part of the shared core: it runs inside the user's process too (the
 * agent writes profile's and lines' results), so it never exits, never
 * changes signal dispositions and allocates nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"
#include "common/output.h"

/* The longest file name component a temporary name keeps of its target:
 * ".NAME.spyglass-XXXXXXXX" stays within NAME_MAX (255). */
#define OUT_BASE_MAX 200

static bool
out_is_stdout(const char *path)
{
    return !path || strcmp(path, "-") == 0;
}

/* "dir" of "dir/name" (with its slash), "" for a bare name. */
static void
out_dir_part(const char *path, char *dir, size_t n)
{
    const char *slash = strrchr(path, '/');
    size_t len = slash ? (size_t)(slash - path) + 1 : 0;
    if (len >= n)
        len = n - 1;
    memcpy(dir, path, len);
    dir[len] = '\0';
}

static const char *
out_base_part(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* Write all of data to fd, retrying short writes and EINTR. */
static int
out_write_fd(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t k = write(fd, p, len);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += k;
        len -= (size_t)k;
    }
    return 0;
}

/* stdout through stdio, after what was already buffered there. */
static int
out_write_stdout(const void *data, size_t len)
{
    size_t k = len ? fwrite(data, 1, len, stdout) : 0;
    int err = k != len ? errno : 0;
    if (fflush(stdout) != 0 && !err)
        err = errno;
    if (err) {
        clearerr(stdout);
        errno = err;
        return -1;
    }
    return 0;
}

/* Close fd, keeping the first error. */
static int
out_close(int fd, int rc)
{
    int err = errno;
    if (close(fd) != 0 && rc == 0)
        return -1;
    errno = err;
    return rc;
}

/* In place, as fopen(path, "wb") does: devices, fifos, shared files. */
static int
out_write_direct(const char *path, const void *data, size_t len)
{
    int fd =
        open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0666);
    if (fd < 0)
        return -1;
    return out_close(fd, out_write_fd(fd, data, len));
}

/* Paths that name an open file rather than a place in a directory
 * (/dev/stdout is /proc/self/fd/1, which may be the shell's redirection
 * into a regular file): replacing them would swap the file under whoever
 * holds it open, so they are written in place. */
static bool
out_is_open_file_path(const char *path)
{
    static const char *const prefixes[] = {"/proc/", "/dev/fd/", "/dev/std"};
    char link[PATH_MAX];
    ssize_t k = readlink(path, link, sizeof link - 1);
    if (k > 0) {
        link[k] = '\0';
        if (strncmp(link, "/proc/", 6) == 0)
            return true;
    }
    for (size_t i = 0; i < sizeof prefixes / sizeof *prefixes; i++)
        if (strncmp(path, prefixes[i], strlen(prefixes[i])) == 0)
            return true;
    return false;
}

/* Create a new temporary file next to target: its name in tmp. Returns
 * the descriptor, or -1 with errno. */
static int
out_create_temp(const char *target, mode_t mode, char *tmp, size_t n)
{
    static atomic_uint counter;
    char dir[PATH_MAX];
    out_dir_part(target, dir, sizeof dir);
    const char *base = out_base_part(target);
    int base_len = (int)strnlen(base, OUT_BASE_MAX);
    for (int attempt = 0; attempt < 100; attempt++) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        unsigned tag = (unsigned)getpid() * 2654435761u ^
                       (unsigned)ts.tv_nsec ^
                       atomic_fetch_add(&counter, 1) * 40503u;
        int k = snprintf(tmp, n, "%s.%.*s.spyglass-%08x", dir, base_len, base,
                         tag);
        if (k < 0 || (size_t)k >= n) {
            errno = ENAMETOOLONG;
            return -1;
        }
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
        if (fd >= 0 || errno != EEXIST)
            return fd;
    }
    return -1;
}

/* The temporary file gets the replaced file's mode, owner and group (the
 * owner only when permitted: root writing a user's file). */
static void
out_copy_attrs(int fd, const struct stat *st)
{
    if (fchmod(fd, st->st_mode & 07777) != 0) {
        /* The file stays 0600: narrower, never wider. */
    }
    if ((st->st_uid != geteuid() || st->st_gid != getegid()) &&
        fchown(fd, st->st_uid, st->st_gid) != 0) {
        /* Not permitted: the new file is ours, as any rewrite makes it. */
    }
}

int
sg_output_write(const char *path, const void *data, size_t len)
{
    if (out_is_stdout(path))
        return out_write_stdout(data, len);
    struct stat st;
    bool exists = stat(path, &st) == 0;
    if (out_is_open_file_path(path) ||
        (exists && (!S_ISREG(st.st_mode) || st.st_nlink > 1)))
        return out_write_direct(path, data, len);
    /* A symbolic link to a regular file stays one: the file it names is
     * replaced. */
    char real[PATH_MAX];
    const char *target = path;
    struct stat lst;
    if (exists && lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode) &&
        realpath(path, real))
        target = real;
    char tmp[PATH_MAX + 64];
    int fd = out_create_temp(target, exists ? 0600 : 0666, tmp, sizeof tmp);
    if (fd < 0) {
        /* A file we may write in a directory we may not add to: in place,
         * the only way left. */
        if (exists && (errno == EACCES || errno == EPERM))
            return out_write_direct(path, data, len);
        return -1;
    }
    if (exists)
        out_copy_attrs(fd, &st);
    int rc = out_close(fd, out_write_fd(fd, data, len));
    if (rc == 0 && rename(tmp, target) == 0)
        return 0;
    int err = errno;
    unlink(tmp);
    errno = err;
    return -1;
}

int
sg_output_check_dir(const char *dir, char *msg, size_t n)
{
    char probe[PATH_MAX];
    snprintf(probe, sizeof probe, "%s/", dir);
    char tmp[PATH_MAX + 64];
    int fd = out_create_temp(probe, 0600, tmp, sizeof tmp);
    if (fd < 0) {
        snprintf(msg, n, "%s", strerror(errno));
        return -1;
    }
    close(fd);
    unlink(tmp);
    return 0;
}

/* Why a new file at path cannot be created: its directory is missing, or
 * the kernel's reason. */
static void
out_create_failed(const char *path, int err, char *msg, size_t n)
{
    char dir[PATH_MAX];
    out_dir_part(path, dir, sizeof dir);
    struct stat st;
    if (err == ENOENT && dir[0] && stat(dir, &st) != 0) {
        size_t len = strlen(dir);
        if (len > 1)
            dir[len - 1] = '\0'; /* its slash */
        snprintf(msg, n, "cannot write '%s': no directory '%s'", path, dir);
    } else {
        snprintf(msg, n, "cannot write '%s': %s", path, strerror(err));
    }
}

int
sg_output_check(const char *path, char *msg, size_t n)
{
    if (out_is_stdout(path))
        return 0;
    if (!path[0]) {
        snprintf(msg, n, "cannot write '': an empty file name");
        return -1;
    }
    struct stat st;
    if (stat(path, &st) == 0) {
        const char *what = S_ISDIR(st.st_mode)    ? "a directory"
                           : S_ISSOCK(st.st_mode) ? "a socket"
                                                  : NULL;
        if (what) {
            snprintf(msg, n, "cannot write '%s': it is %s", path, what);
            return -1;
        }
        /* Not opened: a fifo would wait for its reader, a device might
         * act on it, and a watcher of the file would see it closed after
         * writing. access(2) with the effective ids also answers EROFS
         * and an immutable file's EPERM, for root too. */
        if (faccessat(AT_FDCWD, path, W_OK, AT_EACCESS) == 0)
            return 0;
        snprintf(msg, n, "cannot write '%s': %s", path, strerror(errno));
        return -1;
    }
    if (errno != ENOENT) {
        snprintf(msg, n, "cannot write '%s': %s", path, strerror(errno));
        return -1;
    }
    struct stat lst;
    if (lstat(path, &lst) == 0) {
        snprintf(msg, n, "cannot write '%s': a symbolic link to nothing",
                 path);
        return -1;
    }
    /* Create the file and remove it again: the kernel's answer, whatever
     * the reason (permissions, a read-only mount, /proc, a name too long),
     * also for root, whom access(2) would wave through. */
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        out_create_failed(path, errno, msg, n);
        return -1;
    }
    close(fd);
    unlink(path);
    return 0;
}

/* Save the result as a new file in dir: dir/spyglass-CMD-PID[-K].EXT,
 * 0600 (a shared /tmp must not show it to others). Its name in saved. */
static int
out_save_in(const char *dir, const sg_out_target *t, const void *data,
            size_t len, char *saved, size_t n)
{
    for (int k = 0; k < 100; k++) {
        char suffix[16] = "";
        if (k)
            snprintf(suffix, sizeof suffix, "-%d", k);
        int w = snprintf(saved, n, "%s%sspyglass-%s-%d%s.%s", dir,
                         dir[strlen(dir) - 1] == '/' ? "" : "/", t->command,
                         (int)getpid(), suffix, t->ext ? t->ext : "out");
        if (w < 0 || (size_t)w >= n) {
            errno = ENAMETOOLONG;
            return -1;
        }
        int fd = open(saved, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0 && errno == EEXIST)
            continue;
        if (fd < 0)
            return -1;
        if (out_close(fd, out_write_fd(fd, data, len)) == 0)
            return 0;
        int err = errno;
        unlink(saved);
        errno = err;
        return -1;
    }
    errno = EEXIST;
    return -1;
}

/* Try $TMPDIR, /tmp, then the current directory (by its absolute name,
 * so that the line printed finds it). errno is the last failure's. */
static int
out_save_fallback(const sg_out_target *t, const void *data, size_t len,
                  char *saved, size_t n)
{
    char cwd[PATH_MAX];
    const char *tmpdir = getenv("TMPDIR");
    const char *dirs[3] = {tmpdir && tmpdir[0] ? tmpdir : NULL, "/tmp",
                           getcwd(cwd, sizeof cwd)};
    for (size_t i = 0; i < 3; i++)
        if (dirs[i] && out_save_in(dirs[i], t, data, len, saved, n) == 0)
            return 0;
    return -1;
}

/* fd 1 to /dev/null: its reader is gone, and whatever still flushes to it
 * (stdio's or Python's buffers at exit) should not fail again. */
static void
out_silence_stdout(void)
{
    int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
        dup2(fd, STDOUT_FILENO);
        close(fd);
    }
    clearerr(stdout);
}

sg_out_result
sg_output_deliver(const sg_out_target *t, const void *data, size_t len)
{
    bool to_stdout = out_is_stdout(t->path);
    if (sg_output_write(t->path, data, len) == 0)
        return SG_OUT_WRITTEN;
    int err = errno;
    if (err == EPIPE) {
        /* The reader went away (`| head`), as readers may: no data is
         * wanted there, and none is lost. */
        if (to_stdout)
            out_silence_stdout();
        return SG_OUT_EPIPE;
    }
    char where[PATH_MAX + 8];
    snprintf(where, sizeof where, to_stdout ? "to stdout" : "'%s'", t->path);
    char saved[PATH_MAX + 64];
    if (out_save_fallback(t, data, len, saved, sizeof saved) == 0) {
        sg_error("%s: cannot write %s: %s; saved the result to %s instead",
                 t->command, where, strerror(err), saved);
        return SG_OUT_ELSEWHERE;
    }
    int save_err = errno;
    if (!to_stdout && !(t->binary && isatty(STDOUT_FILENO)) &&
        out_write_stdout(data, len) == 0) {
        sg_error("%s: cannot write %s: %s, nor a file in $TMPDIR, /tmp or "
                 "here (%s); printed the result on stdout instead",
                 t->command, where, strerror(err), strerror(save_err));
        return SG_OUT_ELSEWHERE;
    }
    sg_error("%s: cannot write %s: %s, nor a file in $TMPDIR, /tmp or here "
             "(%s): the result is lost",
             t->command, where, strerror(err), strerror(save_err));
    return SG_OUT_LOST;
}

int
sg_output_status(int status, sg_out_result r)
{
    if (status != 0 || r == SG_OUT_WRITTEN)
        return status;
    return r == SG_OUT_EPIPE ? SG_EXIT_PIPE : SG_EXIT_IOERR;
}
