/* procmem.c -- process_vm_readv wrappers, /proc/PID/maps and a block cache.
 *
 * process_vm_readv is used rather than ptrace or /proc/PID/mem: it does not
 * stop the target, needs no open file, and takes several remote ranges per
 * call, which is how independent reads are batched into one syscall.
 */
#include "remote/procmem.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "common/err.h"

#define BLOCK_MAX (64 * 1024)

void
pm_maps_free(pm_maps *m)
{
    for (size_t i = 0; i < m->n; i++)
        free(m->v[i].path);
    free(m->v);
    memset(m, 0, sizeof *m);
}

void
pm_maps_parse(const char *text, pm_maps *m)
{
    const char *p = text;
    while (*p) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        char line[4096 + 256];
        size_t copy = len < sizeof line ? len : sizeof line - 1;
        memcpy(line, p, copy);
        line[copy] = '\0';
        p = eol ? eol + 1 : p + len;

        unsigned long long start, end, off;
        char perms[8] = {0};
        int pathpos = 0;
        if (sscanf(line, "%llx-%llx %7s %llx %*s %*s %n", &start, &end, perms,
                   &off, &pathpos) < 4)
            continue;
        if (m->n == m->cap) {
            m->cap = m->cap ? m->cap * 2 : 64;
            m->v = sg_xrealloc(m->v, m->cap * sizeof *m->v);
        }
        pm_map *e = &m->v[m->n++];
        e->start = start;
        e->end = end;
        e->offset = off;
        memcpy(e->perms, perms, 4);
        e->perms[4] = '\0';
        const char *path = pathpos > 0 ? line + pathpos : "";
        e->path = *path ? sg_xstrdup(path) : NULL;
    }
}

int
pm_maps_load(pid_t pid, pm_maps *m)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    size_t cap = 1 << 16, len = 0;
    char *text = sg_xmalloc(cap);
    size_t got;
    while ((got = fread(text + len, 1, cap - len - 1, f)) > 0) {
        len += got;
        if (cap - len - 1 == 0)
            text = sg_xrealloc(text, cap *= 2);
    }
    int failed = ferror(f);
    fclose(f);
    text[len] = '\0';
    if (failed) {
        free(text);
        errno = EIO;
        return -1;
    }
    pm_maps_free(m);
    pm_maps_parse(text, m);
    free(text);
    return 0;
}

const pm_map *
pm_maps_find(const pm_maps *m, uint64_t addr)
{
    /* /proc lists mappings in address order: binary search. */
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (addr < m->v[mid].start)
            hi = mid;
        else if (addr >= m->v[mid].end)
            lo = mid + 1;
        else
            return &m->v[mid];
    }
    return NULL;
}

void
pm_init(procmem *pm, pid_t pid)
{
    memset(pm, 0, sizeof *pm);
    pm->pid = pid;
    hm64_init(&pm->pages);
}

void
pm_free(procmem *pm)
{
    pm_maps_free(&pm->maps);
    for (unsigned i = 0; i < pm->cap_blocks; i++)
        free(pm->blocks[i].buf);
    free(pm->blocks);
    hm64_free(&pm->pages);
    free(pm->sent);
    memset(pm, 0, sizeof *pm);
}

int
pm_read(procmem *pm, uint64_t addr, void *buf, size_t len)
{
    if (len == 0)
        return 0;
    if (addr == 0 || addr + len < addr) {
        pm->stats.failures++;
        errno = EFAULT;
        return -1;
    }
    struct iovec local = {buf, len};
    struct iovec remote = {(void *)(uintptr_t)addr, len};
    pm->stats.reads++;
    ssize_t n = process_vm_readv(pm->pid, &local, 1, &remote, 1, 0);
    if (n == (ssize_t)len) {
        pm->stats.bytes += len;
        return 0;
    }
    pm->stats.failures++;
    if (getenv("SG_DEBUG_READS"))
        fprintf(stderr, "read fail %llx len %zu n %zd errno %d map %s\n",
                (unsigned long long)addr, len, n, errno,
                pm_maps_find(&pm->maps, addr) ? "known" : "unknown");
    if (n >= 0)
        errno = EFAULT;
    return -1;
}

size_t
pm_readv(procmem *pm, pm_iov *v, size_t n)
{
    size_t ok = 0;
    struct iovec local[IOV_MAX < PM_BATCH_MAX ? IOV_MAX : PM_BATCH_MAX];
    struct iovec remote[sizeof local / sizeof local[0]];
    const size_t max = sizeof local / sizeof local[0];
    size_t i = 0;
    while (i < n) {
        size_t k = 0, first = i;
        for (; i < n && k < max; i++) {
            v[i].ok = false;
            if (v[i].addr == 0 || v[i].len == 0 ||
                v[i].addr + v[i].len < v[i].addr)
                continue;
            local[k] = (struct iovec){v[i].buf, v[i].len};
            remote[k] = (struct iovec){(void *)(uintptr_t)v[i].addr, v[i].len};
            k++;
        }
        if (k == 0)
            continue;
        pm->stats.reads++;
        ssize_t got = process_vm_readv(pm->pid, local, k, remote, k, 0);
        if (got < 0)
            got = 0;
        pm->stats.bytes += (uint64_t)got;
        /* The kernel stops at the first range that faults: everything before
         * it is complete. Ranges after it are retried in the next round. */
        size_t done = (size_t)got;
        size_t j = first;
        for (; j < i; j++) {
            if (v[j].addr == 0 || v[j].len == 0 ||
                v[j].addr + v[j].len < v[j].addr)
                continue;
            if (done >= v[j].len) {
                done -= v[j].len;
                v[j].ok = true;
                ok++;
            } else {
                break;
            }
        }
        if (j < i) {
            /* v[j] faulted (or came back short): count it, resume after. */
            pm->stats.failures++;
            if (getenv("SG_DEBUG_READS"))
                fprintf(stderr, "readv fail %llx len %zu\n",
                        (unsigned long long)v[j].addr, v[j].len);
            i = j + 1;
        }
    }
    return ok;
}

#define PAGE_SHIFT 12

static uint64_t
page_overlap(const pm_block *b, uint64_t page)
{
    uint64_t lo = page << PAGE_SHIFT, hi = lo + (1u << PAGE_SHIFT);
    uint64_t s = b->addr > lo ? b->addr : lo;
    uint64_t e = b->addr + b->len < hi ? b->addr + b->len : hi;
    return e > s ? e - s : 0;
}

/* Enter block i in the page index: each page it touches points to it
 * unless another block already covers more of that page. */
static void
index_block(procmem *pm, unsigned i)
{
    const pm_block *b = &pm->blocks[i];
    if (!b->len)
        return;
    uint64_t first = b->addr >> PAGE_SHIFT;
    uint64_t last = (b->addr + b->len - 1) >> PAGE_SHIFT;
    for (uint64_t p = first; p <= last; p++) {
        uint32_t cur = hm64_get(&pm->pages, p);
        if (cur == HM_NONE || cur >= pm->n_blocks ||
            page_overlap(&pm->blocks[cur], p) < page_overlap(b, p))
            hm64_put(&pm->pages, p, i);
    }
}

/* A slot for a new block of len bytes: a free one, else one this sample
 * has not used; NULL when every slot is in use (then reads bypass). */
static pm_block *
new_block(procmem *pm, size_t len)
{
    pm_block *b = NULL;
    if (pm->n_blocks == pm->cap_blocks && pm->cap_blocks < PM_MAX_BLOCKS) {
        unsigned cap = pm->cap_blocks ? pm->cap_blocks * 2 : 64;
        pm->blocks = sg_xrealloc(pm->blocks, cap * sizeof *pm->blocks);
        memset(pm->blocks + pm->cap_blocks, 0,
               (cap - pm->cap_blocks) * sizeof *pm->blocks);
        pm->cap_blocks = cap;
    }
    if (pm->n_blocks < pm->cap_blocks) {
        b = &pm->blocks[pm->n_blocks++];
    } else {
        for (unsigned i = 0; i < pm->n_blocks && !b; i++)
            if (!pm->blocks[i].used)
                b = &pm->blocks[i];
        if (!b)
            return NULL;
        /* Its pages may still point here: lookups check containment. */
    }
    if (b->cap < len) {
        free(b->buf);
        b->buf = sg_xmalloc(len);
        b->cap = (uint32_t)len;
    }
    b->len = 0;
    b->used = false;
    return b;
}

/* Re-read blocks 0..k-1 in one batched read, between the two copies of
 * every sentinel (the kernel copies ranges in order); a block whose memory
 * is gone is emptied (this sample reads it anew). */
static void
reread_blocks(procmem *pm, unsigned k)
{
    unsigned ns = pm->n_sent;
    pm_iov *v = sg_xmalloc(((size_t)k + 2 * ns + 1) * sizeof *v);
    for (unsigned i = 0; i < ns; i++) {
        pm_sentinel *x = &pm->sent[i];
        v[i] = (pm_iov){x->addr, &x->before, 8, false};
        v[ns + k + i] = (pm_iov){x->addr, &x->after, 8, false};
    }
    for (unsigned i = 0; i < k; i++)
        v[ns + i] = (pm_iov){pm->blocks[i].addr, pm->blocks[i].buf,
                             pm->blocks[i].len, false};
    pm_readv(pm, v, k + 2 * ns);
    for (unsigned i = 0; i < k; i++)
        if (!v[ns + i].ok)
            pm->blocks[i].len = 0;
    for (unsigned i = 0; i < ns; i++)
        pm->sent[i].read = v[i].ok && v[ns + k + i].ok;
    free(v);
}

/* Keep the sentinels this sample asked for (compacted), for the replay
 * about to be read. */
static void
keep_sentinels(procmem *pm)
{
    unsigned k = 0;
    for (unsigned i = 0; i < pm->n_sent; i++)
        if (pm->sent[i].asked) {
            pm->sent[k] = pm->sent[i];
            pm->sent[k].asked = false;
            pm->sent[k].read = false;
            k++;
        }
    pm->n_sent = k;
    pm->sent_next = 0;
}

bool
pm_sentinel_steady(procmem *pm, uint64_t addr, uint64_t v)
{
    /* Threads are walked in the same order every sample, and the
     * sentinels kept in the order they were asked: the one after the last
     * found is nearly always the next, so hundreds of threads do not cost
     * a scan each. */
    for (unsigned k = 0; k < pm->n_sent; k++) {
        unsigned i = (pm->sent_next + k) % pm->n_sent;
        pm_sentinel *x = &pm->sent[i];
        if (x->addr == addr) {
            x->asked = true;
            pm->sent_next = i + 1;
            return x->read && x->before == v && x->after == v;
        }
    }
    if (pm->n_sent < PM_MAX_SENTINELS) {
        if (!pm->sent)
            pm->sent = sg_xmalloc(PM_MAX_SENTINELS * sizeof *pm->sent);
        pm->sent[pm->n_sent++] = (pm_sentinel){addr, 0, 0, false, true};
    }
    return false;
}

void
pm_cache_reset(procmem *pm)
{
    pm->reloaded = false;
    pm->hint = 0;
    /* Keep the used blocks (compacted to the front), replay them. */
    unsigned k = 0;
    for (unsigned i = 0; i < pm->n_blocks; i++) {
        if (pm->blocks[i].used && pm->blocks[i].len) {
            if (i != k) {
                pm_block t = pm->blocks[k];
                pm->blocks[k] = pm->blocks[i];
                pm->blocks[i] = t;
            }
            k++;
        }
    }
    for (unsigned i = k; i < pm->n_blocks; i++)
        pm->blocks[i].len = 0;
    pm->n_blocks = k;
    hm64_free(&pm->pages);
    hm64_init(&pm->pages);
    keep_sentinels(pm);
    if (k == 0 && pm->n_sent == 0)
        return;
    reread_blocks(pm, k);
    for (unsigned i = 0; i < k; i++) {
        pm->blocks[i].used = false;
        index_block(pm, i);
    }
}

void
pm_cache_refresh(procmem *pm)
{
    if (pm->n_blocks > 0 || pm->n_sent > 0)
        reread_blocks(pm, pm->n_blocks);
}

static bool
serve(procmem *pm, unsigned i, uint64_t addr, void *buf, size_t len)
{
    pm_block *b = &pm->blocks[i];
    /* addr comes straight from the target's memory and can be anything:
     * compare offsets, never addr + len, which wraps for an address near
     * 2^64 and let a torn pointer read far outside the block. */
    if (!b->len || addr < b->addr)
        return false;
    uint64_t off = addr - b->addr;
    if (off > b->len || len > b->len - off)
        return false;
    memcpy(buf, b->buf + off, len);
    b->used |= !pm->transient;
    pm->hint = i;
    pm->stats.cache_hits++;
    return true;
}

int
pm_cache_lookup(procmem *pm, uint64_t addr, void *buf, size_t len)
{
    if (pm->n_blocks == 0)
        return -1;
    /* The last block that served (walks hit it in a row), then the block
     * indexed for the address's page. */
    if (pm->hint < pm->n_blocks && serve(pm, pm->hint, addr, buf, len))
        return 0;
    uint32_t i = hm64_get(&pm->pages, addr >> PAGE_SHIFT);
    if (i != HM_NONE && i < pm->n_blocks && serve(pm, i, addr, buf, len))
        return 0;
    /* Two blocks can meet inside a page, and the index names one: look
     * through the rest (the alternative is a syscall). */
    for (unsigned k = 0; k < pm->n_blocks; k++)
        if (k != i && serve(pm, k, addr, buf, len))
            return 0;
    return -1;
}

/* Enter len bytes just read at addr as a block (used: replayed by the
 * next sample). */
static void
enter_block(procmem *pm, uint64_t addr, const void *buf, size_t len, bool used)
{
    if (len == 0 || len > BLOCK_MAX || addr + len < addr)
        return;
    pm_block *b = new_block(pm, len);
    if (!b)
        return;
    memcpy(b->buf, buf, len);
    b->addr = addr;
    b->len = (uint32_t)len;
    b->used = used;
    index_block(pm, (unsigned)(b - pm->blocks));
}

void
pm_cache_add(procmem *pm, uint64_t addr, const void *buf, size_t len)
{
    enter_block(pm, addr, buf, len, true);
}

int
pm_maps_reload(procmem *pm)
{
    pm->maps_reloads++;
    return pm_maps_load(pm->pid, &pm->maps);
}

int
pm_read_cached(procmem *pm, uint64_t addr, void *buf, size_t len, size_t back,
               size_t fwd)
{
    if (addr == 0 || addr + len < addr) {
        pm->stats.failures++;
        errno = EFAULT;
        return -1;
    }
    if (pm_cache_lookup(pm, addr, buf, len) == 0)
        return 0;
    const pm_map *m = pm_maps_find(&pm->maps, addr);
    if (!m && !pm->reloaded) {
        /* A new mapping (thread stack, data-stack chunk): refresh, at most
         * once per sample. */
        pm->reloaded = true;
        if (pm_maps_reload(pm) == 0)
            m = pm_maps_find(&pm->maps, addr);
    }
    if (!m || m->perms[0] != 'r' || addr + len > m->end ||
        len > BLOCK_MAX / 2) {
        /* Unknown or odd range: a plain read decides, and what it read is
         * a block of its own. A mapping made after the maps were read
         * (once per sample: a thread started meanwhile, its stack and its
         * frames' chunk) is read this way; without the block, every walk
         * again over a refreshed snapshot read it anew, so the walk was
         * never one of the snapshot and the thread was dropped. */
        if (pm_read(pm, addr, buf, len) != 0)
            return -1;
        if (len <= BLOCK_MAX / 2)
            enter_block(pm, addr, buf, len, !pm->transient);
        return 0;
    }
    if (back + fwd + len > BLOCK_MAX) {
        back = BLOCK_MAX / 2;
        fwd = BLOCK_MAX / 2 - len;
    }
    uint64_t lo =
        addr - back < m->start || addr < back ? m->start : addr - back;
    uint64_t hi = addr + len + fwd > m->end ? m->end : addr + len + fwd;
    pm_block *b = new_block(pm, (size_t)(hi - lo));
    if (!b)
        return pm_read(pm, addr, buf, len);
    if (pm_read(pm, lo, b->buf, (size_t)(hi - lo)) != 0) {
        /* The window crossed memory unmapped since the maps were read (a
         * thread and its stacks went away): re-read the maps once per
         * sample so later samples do not fail the same way, and settle for
         * the exact range now, as the block. */
        if (!pm->reloaded) {
            pm->reloaded = true;
            pm_maps_reload(pm);
        }
        if (pm_read(pm, addr, b->buf, len) != 0)
            return -1;
        lo = addr;
        hi = addr + len;
    }
    b->addr = lo;
    b->len = (uint32_t)(hi - lo);
    b->used = !pm->transient;
    index_block(pm, (unsigned)(b - pm->blocks));
    pm->hint = (unsigned)(b - pm->blocks);
    memcpy(buf, b->buf + (addr - lo), len);
    return 0;
}
