/* proctree.c -- descendants of a process, from /proc.
 *
 * /proc/PID/task/TID/children would be cheaper but only exists with
 * CONFIG_PROC_CHILDREN, and misses children of threads other than the ones
 * listed; one scan of /proc/[0-9]* /stat is portable and, at the few Hz the
 * sampler polls it, cheap.
 */
#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "sampler/proctree.h"

/* The state letter and parent of pid, from /proc/PID/stat; -1 on error. */
static int
read_stat(pid_t pid, char *state, pid_t *ppid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* The command name is in parentheses and may itself contain ") ": the
     * fields resume after the last ')'. */
    char *rp = strrchr(buf, ')');
    if (!rp)
        return -1;
    int pp;
    if (sscanf(rp + 1, " %c %d", state, &pp) != 2)
        return -1;
    *ppid = (pid_t)pp;
    return 0;
}

pid_t
proctree_parent(pid_t pid)
{
    char state;
    pid_t ppid;
    return read_stat(pid, &state, &ppid) == 0 ? ppid : -1;
}

bool
proctree_alive(pid_t pid)
{
    char state;
    pid_t ppid;
    return read_stat(pid, &state, &ppid) == 0 && state != 'Z' && state != 'X';
}

typedef struct pp {
    pid_t pid, ppid;
} pp;

size_t
proctree_descendants(pid_t root, pid_t *out, size_t cap)
{
    DIR *d = opendir("/proc");
    if (!d)
        return 0;
    size_t n = 0, cap_all = 256;
    pp *all = sg_xmalloc(cap_all * sizeof *all);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!isdigit((unsigned char)e->d_name[0]))
            continue;
        pid_t pid = (pid_t)atoi(e->d_name);
        pid_t ppid = proctree_parent(pid);
        if (ppid < 0)
            continue;
        if (n == cap_all)
            all = sg_xrealloc(all, (cap_all *= 2) * sizeof *all);
        all[n].pid = pid;
        all[n].ppid = ppid;
        n++;
    }
    closedir(d);
    /* Breadth first from root over the parent links. */
    size_t found = 0;
    pid_t *queue = sg_xmalloc((n + 1) * sizeof *queue);
    size_t head = 0, tail = 0;
    queue[tail++] = root;
    while (head < tail) {
        pid_t p = queue[head++];
        for (size_t i = 0; i < n; i++) {
            if (all[i].ppid != p || all[i].pid == root)
                continue;
            if (tail <= n)
                queue[tail++] = all[i].pid;
            if (found < cap)
                out[found] = all[i].pid;
            found++;
        }
    }
    free(queue);
    free(all);
    return found;
}
