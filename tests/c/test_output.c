/* Unit tests for src/common/output.c: the check before a run, atomic
 * writes, and delivery elsewhere when the place asked for fails. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "common/err.h"
#include "common/output.h"

static char dir[64];

static const char *
at(const char *name)
{
    static char buf[4][256];
    static int k;
    char *b = buf[k++ % 4];
    snprintf(b, sizeof buf[0], "%s/%s", dir, name);
    return b;
}

static void
put(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

static const char *
get(const char *path)
{
    static char buf[256];
    buf[0] = '\0';
    FILE *f = fopen(path, "r");
    if (f) {
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        buf[n] = '\0';
        fclose(f);
    }
    return buf;
}

/* Files in the test directory, temporary (dot) ones too. */
static int
n_files(void)
{
    int n = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while ((e = readdir(d)))
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

static void
test_check_refuses_what_cannot_be_written(void)
{
    char msg[512];
    CHECK(sg_output_check("-", msg, sizeof msg) == 0);
    CHECK(sg_output_check(NULL, msg, sizeof msg) == 0);
    CHECK(sg_output_check("", msg, sizeof msg) == -1);
    CHECK(sg_output_check(at("nope/x.json"), msg, sizeof msg) == -1);
    CHECK(strstr(msg, "no directory '") && strstr(msg, "/nope'"));
    CHECK(sg_output_check(dir, msg, sizeof msg) == -1);
    CHECK(strstr(msg, "it is a directory") != NULL);
    CHECK(sg_output_check("/proc/x.json", msg, sizeof msg) == -1);
    CHECK(strstr(msg, "cannot write '/proc/x.json': ") == msg);
    put(at("plain"), "x");
    CHECK(sg_output_check(at("plain/x.json"), msg, sizeof msg) == -1);
    CHECK(strstr(msg, strerror(ENOTDIR)) != NULL);
    CHECK(symlink(at("nowhere"), at("dangling")) == 0);
    CHECK(sg_output_check(at("dangling"), msg, sizeof msg) == -1);
    unlink(at("dangling"));
    unlink(at("plain"));
}

static void
test_check_leaves_nothing_behind(void)
{
    char msg[512];
    CHECK(sg_output_check(at("new.json"), msg, sizeof msg) == 0);
    CHECK(access(at("new.json"), F_OK) != 0);
    put(at("old.json"), "old");
    struct stat a, b;
    stat(at("old.json"), &a);
    CHECK(sg_output_check(at("old.json"), msg, sizeof msg) == 0);
    stat(at("old.json"), &b);
    CHECK_STR(get(at("old.json")), "old");
    CHECK(a.st_ino == b.st_ino && a.st_size == b.st_size);
    CHECK(sg_output_check("/dev/null", msg, sizeof msg) == 0);
    CHECK(sg_output_check_dir(dir, msg, sizeof msg) == 0);
    CHECK(sg_output_check_dir(at("nope"), msg, sizeof msg) == -1);
    unlink(at("old.json"));
    CHECK(n_files() == 0);
}

static void
test_write_replaces_by_rename_keeping_the_mode(void)
{
    put(at("r.txt"), "old");
    chmod(at("r.txt"), 0640);
    struct stat a, b;
    stat(at("r.txt"), &a);
    CHECK(sg_output_write(at("r.txt"), "new", 3) == 0);
    stat(at("r.txt"), &b);
    CHECK_STR(get(at("r.txt")), "new");
    CHECK(a.st_ino != b.st_ino); /* a new file took the name */
    CHECK((b.st_mode & 07777) == 0640);
    CHECK(n_files() == 1); /* no temporary file left */
    /* A new file gets 0666 less the umask. */
    mode_t mask = umask(022);
    CHECK(sg_output_write(at("n.txt"), "n", 1) == 0);
    stat(at("n.txt"), &b);
    CHECK((b.st_mode & 07777) == 0644);
    umask(mask);
    unlink(at("r.txt"));
    unlink(at("n.txt"));
}

static void
test_write_keeps_links(void)
{
    /* A symbolic link stays one: the file it names is replaced. */
    put(at("target"), "old");
    CHECK(symlink("target", at("link")) == 0);
    CHECK(sg_output_write(at("link"), "new", 3) == 0);
    struct stat st;
    CHECK(lstat(at("link"), &st) == 0 && S_ISLNK(st.st_mode));
    CHECK_STR(get(at("target")), "new");
    /* A file with another hard link is written in place, so that both
     * names see the result. */
    CHECK(link(at("target"), at("hard")) == 0);
    CHECK(sg_output_write(at("hard"), "both", 4) == 0);
    CHECK_STR(get(at("target")), "both");
    unlink(at("link"));
    unlink(at("hard"));
    unlink(at("target"));
    /* So is a path that names an open file (/dev/stdout may be a shell's
     * redirection into a regular file): replacing it would swap the file
     * under the descriptor. */
    int fd = open(at("held"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    struct stat before, after;
    fstat(fd, &before);
    char fdpath[32];
    snprintf(fdpath, sizeof fdpath, "/dev/fd/%d", fd);
    CHECK(sg_output_write(fdpath, "held", 4) == 0);
    CHECK(stat(at("held"), &after) == 0 && after.st_ino == before.st_ino);
    CHECK_STR(get(at("held")), "held");
    close(fd);
    unlink(at("held"));
    /* Devices are written in place. */
    CHECK(sg_output_write("/dev/null", "x", 1) == 0);
    errno = 0;
    CHECK(sg_output_write("/dev/full", "x", 1) == -1 && errno == ENOSPC);
    CHECK(sg_output_write(at("nope/x"), "x", 1) == -1 && errno == ENOENT);
    CHECK(n_files() == 0);
}

static void
test_failed_write_leaves_the_old_file(void)
{
    /* A file size limit makes the write fail midway (EFBIG, with SIGXFSZ
     * ignored, as Python ignores it): the old file is untouched and the
     * temporary one is gone. */
    put(at("keep.json"), "the good old result");
    char big[8192];
    memset(big, 'x', sizeof big);
    struct rlimit old, lim = {4096, 4096};
    getrlimit(RLIMIT_FSIZE, &old);
    lim.rlim_max = old.rlim_max;
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0);
    errno = 0;
    CHECK(sg_output_write(at("keep.json"), big, sizeof big) == -1);
    CHECK(errno == EFBIG);
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, prev);
    CHECK_STR(get(at("keep.json")), "the good old result");
    CHECK(n_files() == 1);
    unlink(at("keep.json"));
}

static void
test_deliver_saves_elsewhere(void)
{
    char tmpdir[128];
    snprintf(tmpdir, sizeof tmpdir, "%s/fallback", dir);
    mkdir(tmpdir, 0700);
    setenv("TMPDIR", tmpdir, 1);
    sg_out_target t = {"test", "/dev/full", "json", false};
    fprintf(stderr, "(an error line is expected:)\n");
    CHECK(sg_output_deliver(&t, "{}", 2) == SG_OUT_ELSEWHERE);
    char saved[256];
    snprintf(saved, sizeof saved, "%s/spyglass-test-%d.json", tmpdir,
             (int)getpid());
    CHECK_STR(get(saved), "{}");
    struct stat st;
    CHECK(stat(saved, &st) == 0 && (st.st_mode & 0777) == 0600);
    /* A second one does not overwrite the first. */
    CHECK(sg_output_deliver(&t, "[]", 2) == SG_OUT_ELSEWHERE);
    snprintf(saved + strlen(saved) - 5, 16, "-1.json");
    CHECK_STR(get(saved), "[]");
    t.path = at("ok.json");
    CHECK(sg_output_deliver(&t, "1", 1) == SG_OUT_WRITTEN);
    CHECK_STR(get(at("ok.json")), "1");
    unlink(at("ok.json"));
    unlink(saved);
    snprintf(saved, sizeof saved, "%s/spyglass-test-%d.json", tmpdir,
             (int)getpid());
    unlink(saved);
    rmdir(tmpdir);
    unsetenv("TMPDIR");
}

static void
test_status(void)
{
    CHECK(sg_output_status(0, SG_OUT_WRITTEN) == 0);
    CHECK(sg_output_status(3, SG_OUT_WRITTEN) == 3);
    CHECK(sg_output_status(0, SG_OUT_ELSEWHERE) == SG_EXIT_IOERR);
    CHECK(sg_output_status(0, SG_OUT_LOST) == SG_EXIT_IOERR);
    CHECK(sg_output_status(0, SG_OUT_EPIPE) == SG_EXIT_PIPE);
    /* The program's own failure is what its caller checks. */
    CHECK(sg_output_status(3, SG_OUT_ELSEWHERE) == 3);
}

static void
test_setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/sg_output_XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
}

static void
test_teardown(void)
{
    CHECK(n_files() == 0);
    CHECK(rmdir(dir) == 0);
}

TESTS(test_setup, test_check_refuses_what_cannot_be_written,
      test_check_leaves_nothing_behind,
      test_write_replaces_by_rename_keeping_the_mode, test_write_keeps_links,
      test_failed_write_leaves_the_old_file, test_deliver_saves_elsewhere,
      test_status, test_teardown)
