/* paths.c -- the shortest path suffixes that tell files apart.
 *
 * A flame graph labels its frames "f (file.py:12)": a full path fills a
 * frame before the function's name can be read, and a base name alone
 * cannot tell two __init__.py apart. Each path is shortened to the fewest
 * trailing components that no other path of the set ends with: "x.py" when
 * only one file is called that, else "pkg/x.py", "a/pkg/x.py", ... and the
 * whole path when nothing shorter is unique.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/hashmap.h"
#include "writers/writers.h"

/* The suffix of path one component longer than suffix (path itself when
 * suffix already is). suffix is path, or starts right after a '/'. */
static const char *
one_more(const char *path, const char *suffix)
{
    if (suffix == path)
        return path;
    const char *s = suffix - 1; /* the '/' */
    while (s > path && s[-1] != '/')
        s--;
    return s;
}

int
sg_short_paths(const char *const *paths, size_t n, const char **out)
{
    bool *done = sg_calloc(n ? n : 1, sizeof *done);
    if (!done)
        return -1;
    for (size_t i = 0; i < n; i++) {
        const char *slash = strrchr(paths[i], '/');
        out[i] = slash ? slash + 1 : paths[i];
    }
    /* Each round counts the current suffixes of the paths still open (a
     * path settled in an earlier round has fewer components than any
     * suffix counted now, so it cannot be equal to one), settles those
     * whose suffix is unique, and lengthens the others by a component.
     * Equal hashes count as equal suffixes: at worst a label is longer. */
    hm64 counts;
    hm64_init(&counts);
    int rc = 0;
    for (size_t open = n; open > 0 && rc == 0;) {
        for (size_t i = 0; i < n && rc == 0; i++) {
            if (done[i])
                continue;
            uint64_t h = sg_hash_bytes(out[i], strlen(out[i]));
            uint32_t c = hm64_get(&counts, h);
            rc = hm64_put(&counts, h, c == HM_NONE ? 1 : c + 1);
        }
        for (size_t i = 0; i < n && rc == 0; i++) {
            if (done[i])
                continue;
            uint64_t h = sg_hash_bytes(out[i], strlen(out[i]));
            if (hm64_get(&counts, h) == 1 || out[i] == paths[i]) {
                done[i] = true;
                open--;
            } else {
                out[i] = one_more(paths[i], out[i]);
            }
        }
        hm64_free(&counts);
        hm64_init(&counts);
    }
    hm64_free(&counts);
    free(done);
    return rc;
}

/* The short file name of every function of t that has a file. Returns
 * NULL when out of memory. */
const char **
sg_writer_short_files(const sg_profile *t)
{
    const char **by_func =
        sg_calloc(t->n_funcs ? t->n_funcs : 1, sizeof *by_func);
    const char **paths = sg_calloc(t->n_funcs ? t->n_funcs : 1, sizeof *paths);
    const char **shorts =
        sg_calloc(t->n_funcs ? t->n_funcs : 1, sizeof *shorts);
    uint32_t *index = sg_calloc(t->n_funcs ? t->n_funcs : 1, sizeof *index);
    hm64 seen;
    hm64_init(&seen);
    size_t n = 0;
    bool ok = by_func && paths && shorts && index;
    /* File names are interned: one pointer per distinct path. */
    for (size_t f = 0; ok && f < t->n_funcs; f++) {
        const sg_func *fn = &t->funcs[f];
        if (!sg_writer_has_file(fn))
            continue;
        uint64_t key = (uint64_t)(uintptr_t)fn->file;
        uint32_t k = hm64_get(&seen, key);
        if (k == HM_NONE) {
            k = (uint32_t)n;
            paths[n++] = fn->file;
            ok = hm64_put(&seen, key, k) == 0;
        }
        index[f] = k;
    }
    ok = ok && sg_short_paths(paths, n, shorts) == 0;
    for (size_t f = 0; ok && f < t->n_funcs; f++)
        if (sg_writer_has_file(&t->funcs[f]))
            by_func[f] = shorts[index[f]];
    hm64_free(&seen);
    free(paths);
    free(shorts);
    free(index);
    if (!ok) {
        free(by_func);
        return NULL;
    }
    return by_func;
}
