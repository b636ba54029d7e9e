/* fuzz_json.c -- fuzz the JSON reader (common/jsonread.c) and the
 * speedscope reader on top of it (writers/ssread.c), which `spyglass
 * report` feeds any file that starts like a JSON object.
 *
 * Checked besides memory safety: a refused document says why and leaves
 * nothing allocated; a document taken is a well-formed preorder (every
 * container's elements chain exactly to its end, as many as it counts,
 * an object's keys strings); a speedscope file refused leaves no profile,
 * one taken has every node under an earlier parent. Each input is read
 * once more with the allocations failing from a point its size picks:
 * out of memory is a refusal like any other, nothing leaked.
 */
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/jsonread.h"
#include "fuzz.h"
#include "writers/ssread.h"

static void
check_tree(const jr_doc *d)
{
    for (size_t i = 0; i < d->n; i++) {
        const jr_value *v = &d->v[i];
        if (v->end <= i || v->end > d->n)
            abort();
        if (v->type == JR_STRING && (v->str + v->len >= d->n_strings ||
                                     d->strings[v->str + v->len] != '\0'))
            abort();
        if (v->type != JR_ARRAY && v->type != JR_OBJECT) {
            if (v->end != i + 1)
                abort();
            continue;
        }
        size_t k = i + 1, count = 0;
        for (; k < v->end; k = d->v[k].end, count++)
            if (v->type == JR_OBJECT &&
                (d->v[k].type != JR_STRING || (k = d->v[k].end) >= v->end))
                abort();
        if (k != v->end || count != v->len)
            abort();
    }
}

static void
check_json(const uint8_t *data, size_t size)
{
    jr_doc d;
    char err[128] = "";
    int rc = jr_parse(&d, (const char *)data, size, err, sizeof err);
    if (rc < 0 && (!err[0] || d.v || d.strings || d.n))
        abort();
    if (rc == 0) {
        if (d.n == 0)
            abort();
        check_tree(&d);
        jr_free(&d);
    }
}

static void
check_speedscope(const uint8_t *data, size_t size)
{
    sg_profile *p = NULL;
    char err[128] = "";
    int rc =
        sg_speedscope_parse((const char *)data, size, &p, err, sizeof err);
    if (rc < 0 && (!err[0] || p))
        abort();
    if (rc == 0) {
        for (size_t i = 1; i < p->n_nodes; i++)
            if (p->nodes[i].parent >= i)
                abort();
        sg_profile_free(p);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_json(data, size);
    check_speedscope(data, size);
    sg_alloc_fail_at((long)(size % 61));
    check_json(data, size);
    check_speedscope(data, size);
    sg_alloc_fail_at(-1);
    return 0;
}
