/* half_loaded.c -- a process holding a Python image the way the dynamic
 * loader first maps one: the whole file at one address, read-only, before
 * each segment is mapped over it with its own protections. A reader that
 * looks at this moment must see an interpreter that is starting, not an
 * unsupported build.
 *
 * usage: half_loaded LIBPYTHON SECONDS  (prints "ready", then sleeps)
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
    if (argc != 3)
        return 2;
    int fd = open(argv[1], O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0)
        return 1;
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED)
        return 1;
    puts("ready");
    fflush(stdout);
    double s = atof(argv[2]);
    struct timespec ts = {(time_t)s, (long)((s - (time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
    return 0;
}
