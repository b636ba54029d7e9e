/* procstat.c -- a process's CPU time and RSS from /proc; see procstat.h. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "proc/tree.h"
#include "top/procstat.h"

/* Read a small /proc file into buf (NUL-terminated). */
static int
read_small(const char *path, char *buf, size_t n)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t got = read(fd, buf, n - 1);
    close(fd);
    if (got <= 0)
        return -1;
    buf[got] = '\0';
    return 0;
}

static int
read_one(pid_t pid, top_procstat *out)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    if (read_small(path, buf, sizeof buf) != 0)
        return -1;
    /* The name, field 2, may hold spaces and parentheses: the fields
     * after it start after its last ')'. utime and stime are fields 14
     * and 15, the 12th and 13th after it. */
    const char *s = strrchr(buf, ')');
    unsigned long long ut = 0, st = 0;
    if (!s || sscanf(s + 2,
                     "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
                     "%llu %llu",
                     &ut, &st) != 2)
        return -1;
    long hz = sysconf(_SC_CLK_TCK);
    out->cpu_ns += (ut + st) * (1000000000ull / (uint64_t)(hz > 0 ? hz : 100));
    snprintf(path, sizeof path, "/proc/%d/statm", (int)pid);
    unsigned long long size = 0, resident = 0;
    if (read_small(path, buf, sizeof buf) == 0 &&
        sscanf(buf, "%llu %llu", &size, &resident) == 2)
        out->rss += resident * (uint64_t)sysconf(_SC_PAGESIZE);
    return 0;
}

int
top_procstat_read(pid_t pid, bool children, top_procstat *out)
{
    memset(out, 0, sizeof *out);
    if (read_one(pid, out) != 0)
        return -1;
    if (!children)
        return 0;
    proc_list kids = {0};
    if (proc_descendants(pid, &kids) == 0)
        for (size_t i = 0; i < kids.n; i++)
            read_one(kids.v[i].pid, out); /* one that ended adds nothing */
    proc_list_free(&kids);
    return 0;
}
