/* native_probe.c -- a program run with spyglass's allocation shim
 * preloaded (tests/test_memory_native.py): it sets hooks that record what
 * the shim reports, makes one kind of call (argv[1] names it) and checks
 * that each block was reported exactly once, with its size. Prints "ok"
 * and exits 0, or prints what was wrong and exits 1.
 *
 * The hooks allocate and free themselves: what they do must not be
 * reported.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "native/native.h"

#define MAX_EVENTS 64

typedef struct event {
    char kind; /* 'a'lloc, 'f'ree, 'u'nmap */
    void *ptr;
    size_t size;
} event;

static event events[MAX_EVENTS];
static atomic_int n_events;
static atomic_long n_allocs, n_frees; /* every event, for the threads */
static atomic_int record = 1;         /* 0: count only */
static _Thread_local int worker;      /* a thread of probe_threads */
static int failures;
static sg_native_set_hooks_fn set_hooks;
/* A count whose product by 4 overflows, hidden from the compiler. */
static volatile size_t huge = SIZE_MAX / 2;

static void
note(char kind, void *ptr, size_t size)
{
    if (!record) {
        if (worker && kind == 'a')
            n_allocs++;
        else if (worker)
            n_frees++;
        return;
    }
    int i = n_events++;
    if (i < MAX_EVENTS)
        events[i] = (event){kind, ptr, size};
    /* Allocating inside a hook: never reported. */
    void *scratch = malloc(40);
    scratch = realloc(scratch, 80);
    free(scratch);
    free(calloc(3, 7));
}

static void
on_alloc(void *ptr, size_t size)
{
    errno = EBADF; /* the shim keeps the caller's errno */
    note('a', ptr, size);
}

static void
on_free(void *ptr)
{
    note('f', ptr, 0);
}

static void
on_unmap(void *addr, size_t len)
{
    note('u', addr, len);
}

static const sg_native_hooks hooks = {on_alloc, on_free, on_unmap};

#define CHECK(cond)                                                           \
    do {                                                                      \
        if (!(cond)) {                                                        \
            printf("line %d: %s\n", __LINE__, #cond);                         \
            failures++;                                                       \
        }                                                                     \
    } while (0)

/* Hooks on, events forgotten. */
static void
start(void)
{
    n_events = 0;
    set_hooks(&hooks);
}

/* Hooks off; the one event expected was recorded. */
static void
expect(char kind, uintptr_t ptr, size_t size)
{
    set_hooks(NULL);
    int n = n_events;
    if (n != 1 || events[0].kind != kind || (uintptr_t)events[0].ptr != ptr ||
        events[0].size != size) {
        printf("expected %c %#jx %zu, got %d events:", kind, (uintmax_t)ptr,
               size, n);
        for (int i = 0; i < n && i < MAX_EVENTS; i++)
            printf(" %c %p %zu", events[i].kind, events[i].ptr,
                   events[i].size);
        printf("\n");
        failures++;
    }
}

static void
expect_none(const char *what)
{
    set_hooks(NULL);
    if (n_events != 0) {
        printf("%s: %d events, expected none\n", what, (int)n_events);
        failures++;
    }
}

static void
probe_malloc(void)
{
    start();
    errno = 0;
    char *p = malloc(12345);
    CHECK(errno == 0);
    expect('a', (uintptr_t)p, 12345);
    memset(p, 1, 12345);
    uintptr_t addr = (uintptr_t)p;
    start();
    free(p);
    expect('f', addr, 0);
    start();
    free(NULL);
    expect_none("free(NULL)");
    /* With no hooks, nothing is reported. */
    p = malloc(100);
    free(p);
    CHECK(n_events == 0);
}

static void
probe_calloc(void)
{
    start();
    unsigned char *p = calloc(7, 1000);
    expect('a', (uintptr_t)p, 7000);
    CHECK(p[0] == 0 && p[6999] == 0);
    free(p);
    start();
    errno = 0;
    p = calloc(huge, 4);
    CHECK(p == NULL && errno == ENOMEM);
    expect_none("calloc overflowing");
}

static void
probe_realloc(void)
{
    char *p = malloc(100);
    strcpy(p, "kept");
    start();
    char *q = realloc(p, 200000);
    set_hooks(NULL);
    CHECK(n_events == 2);
    CHECK(events[0].kind == 'f' && events[0].ptr == p);
    CHECK(events[1].kind == 'a' && events[1].ptr == q &&
          events[1].size == 200000);
    CHECK(strcmp(q, "kept") == 0);
    start();
    p = realloc(NULL, 50);
    expect('a', (uintptr_t)p, 50);
    uintptr_t addr = (uintptr_t)p;
    start();
    q = realloc(p, 0); /* frees p */
    CHECK(q == NULL);
    expect('f', addr, 0);
    start();
    p = reallocarray(NULL, 10, 30);
    expect('a', (uintptr_t)p, 300);
    start();
    errno = 0;
    q = reallocarray(p, huge, 4);
    CHECK(q == NULL && errno == ENOMEM);
    expect_none("reallocarray overflowing");
    free(q ? q : p);
}

static void
probe_aligned(void)
{
    void *p = NULL;
    start();
    CHECK(posix_memalign(&p, 64, 1000) == 0);
    expect('a', (uintptr_t)p, 1000);
    CHECK((uintptr_t)p % 64 == 0);
    free(p);
    start();
    CHECK(posix_memalign(&p, 3, 1000) == EINVAL);
    expect_none("posix_memalign refused");
    start();
    p = aligned_alloc(128, 1024);
    expect('a', (uintptr_t)p, 1024);
    CHECK((uintptr_t)p % 128 == 0);
    free(p);
    start();
    p = memalign(256, 512);
    expect('a', (uintptr_t)p, 512);
    CHECK((uintptr_t)p % 256 == 0);
    free(p);
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    start();
    p = valloc(100);
    expect('a', (uintptr_t)p, 100);
    CHECK((uintptr_t)p % page == 0);
    free(p);
    start();
    p = pvalloc(100);
    expect('a', (uintptr_t)p, page);
    free(p);
}

static void
probe_mmap(void)
{
    size_t len = 1 << 20;
    start();
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    expect('a', (uintptr_t)p, len);
    start();
    CHECK(munmap(p, len) == 0);
    expect('u', (uintptr_t)p, len);
    start();
    p = mmap64(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
               -1, 0);
    expect('a', (uintptr_t)p, len);
    munmap(p, len);
    /* Not heap: shared, file-backed and inaccessible mappings. */
    start();
    p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1,
             0);
    void *q = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    int fd = open("/proc/self/exe", O_RDONLY);
    void *f = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
    expect_none("shared, reserved and file mappings");
    CHECK(p != MAP_FAILED && q != MAP_FAILED && f != MAP_FAILED);
    munmap(p, len);
    munmap(q, len);
    munmap(f, 4096);
    close(fd);
    start();
    errno = 0;
    p = mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1,
             0); /* an empty mapping: refused */
    CHECK(p == MAP_FAILED && errno != 0);
    expect_none("a failed mmap");
}

/* dlsym and dlerror allocate inside the C library: through the shim. */
static void
probe_dlsym(void)
{
    start();
    for (int i = 0; i < 100; i++) {
        CHECK(dlsym(RTLD_DEFAULT, "no_such_symbol_anywhere") == NULL);
        CHECK(dlerror() != NULL);
    }
    void *m = dlopen("libm.so.6", RTLD_NOW);
    CHECK(m != NULL && dlsym(m, "cos") != NULL);
    set_hooks(NULL);
}

#define THREADS 4
#define PER_THREAD 20000

static void *
thread_main(void *arg)
{
    worker = 1;
    for (int i = 0; i < PER_THREAD; i++) {
        void *p = malloc((size_t)i % 512 + 1);
        void *q = realloc(p, (size_t)i % 2048 + 1);
        free(q);
    }
    return arg;
}

static void
probe_threads(void)
{
    pthread_t t[THREADS];
    record = 0;
    start();
    for (int i = 0; i < THREADS; i++)
        CHECK(pthread_create(&t[i], NULL, thread_main, NULL) == 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    set_hooks(NULL);
    /* Each iteration: one malloc, one realloc (a free and an alloc), one
     * free, each reported on the thread that made it. */
    long want = (long)THREADS * PER_THREAD * 2;
    if (n_allocs != want || n_frees != want) {
        printf("threads: %ld allocs, %ld frees, expected %ld each\n",
               (long)n_allocs, (long)n_frees, want);
        failures++;
    }
}

/* A child forked with hooks set reports in its own memory; one that execs
 * starts with the shim and no hooks. */
static void
probe_fork(void)
{
    start();
    pid_t pid = fork();
    if (pid == 0) {
        n_events = 0;
        void *p = malloc(777);
        set_hooks(NULL);
        int ok = n_events == 1 && events[0].size == 777 && events[0].ptr == p;
        execl("/bin/sh", "sh", "-c", ok ? "exit 0" : "exit 3", (char *)NULL);
        _exit(4);
    }
    int status = 0;
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    expect_none("the parent, while its child allocated");
}

int
main(int argc, char **argv)
{
    static const struct {
        const char *name;
        void (*fn)(void);
    } probes[] = {
        {"malloc", probe_malloc},   {"calloc", probe_calloc},
        {"realloc", probe_realloc}, {"aligned", probe_aligned},
        {"mmap", probe_mmap},       {"dlsym", probe_dlsym},
        {"threads", probe_threads}, {"fork", probe_fork},
    };
    *(void **)&set_hooks = dlsym(RTLD_DEFAULT, SG_NATIVE_SET_HOOKS);
    if (!set_hooks) {
        printf("the shim is not loaded\n");
        return 1;
    }
    for (size_t i = 0; argc == 2 && i < sizeof probes / sizeof *probes; i++) {
        if (strcmp(argv[1], probes[i].name) == 0) {
            probes[i].fn();
            printf(failures ? "failed\n" : "ok\n");
            return failures != 0;
        }
    }
    printf("usage: native_probe NAME\n");
    return 2;
}
