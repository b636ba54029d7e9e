/* dis_sampled.c -- the listing of a sampled function (dis_sampled.h).
 *
 * The recording keeps, per (function, instruction offset), the samples
 * whose innermost frame ran that instruction. The text of the listing is
 * the target version's own: a python of that version (the target's
 * executable) compiles the function's file again, finds the code object
 * by first line and name, and prints dis.dis(code, depth=0) row by row,
 * each instruction row with its offset. It refuses to render for another
 * version (opcodes and offsets differ between versions: never guessed).
 * The counts, shares and bars are added here and rendered by the same
 * writer as `spyglass dis` (writers/dis.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/dis_sampled.h"
#include "common/err.h"
#include "model/instr.h"
#include "proc/proc.h"
#include "writers/dis.h"

/* argv: path, first line, co_name, "MAJOR.MINOR", and "OFFSET:OPCODE,..."
 * of the opcodes read in the target. Rows on stdout, tab separated: I
 * offset line opname text / S line source / O text, or one E row with the
 * reason it cannot. An instruction whose opcode was read shows that
 * opcode's name in place of dis's (the specialised instruction), when this
 * version's table names it; else dis's own. */
static const char render_py[] =
    "import dis, io, linecache, sys\n"
    "path, first, name, want = sys.argv[1], int(sys.argv[2]), sys.argv[3], "
    "sys.argv[4]\n"
    "ops = dict(map(int, p.split(':')) for p in sys.argv[5].split(',') if "
    "p)\n"
    "names = getattr(dis, '_all_opname', dis.opname)\n"
    "w = sys.stdout.write\n"
    "have = '%d.%d' % sys.version_info[:2]\n"
    "def fail(msg):\n"
    "    w('E\\t' + msg + '\\n'); sys.exit(0)\n"
    "if have != want:\n"
    "    fail('%s is Python %s, the recording is of %s: its opcodes are "
    "not known here' % (sys.executable, have, want))\n"
    "try:\n"
    "    with open(path, 'rb') as f:\n"
    "        top = compile(f.read(), path, 'exec', dont_inherit=True)\n"
    "except (OSError, SyntaxError, ValueError) as e:\n"
    "    fail('cannot compile %s: %s' % (path, e))\n"
    "def find(co):\n"
    "    if co.co_firstlineno == first and co.co_name == name:\n"
    "        return co\n"
    "    for c in co.co_consts:\n"
    "        if isinstance(c, type(top)):\n"
    "            r = find(c)\n"
    "            if r is not None:\n"
    "                return r\n"
    "co = find(top)\n"
    "if co is None:\n"
    "    fail('%s has no code object %s at line %d (changed since?)' % "
    "(path, name, first))\n"
    "buf = io.StringIO()\n"
    "dis.dis(co, file=buf, depth=0)\n"
    "ins = list(dis.get_instructions(co))\n"
    "k, line, table, rows = 0, -1, False, []\n"
    "for t in buf.getvalue().splitlines():\n"
    "    table = table or t == 'ExceptionTable:'\n"
    "    if table or not t.strip():\n"
    "        rows.append('O\\t' + t)\n"
    "        continue\n"
    "    if k == len(ins) or ins[k].opname not in t:\n"
    "        fail('the dis listing of %s does not match its instructions' % "
    "name)\n"
    "    i = ins[k]\n"
    "    k += 1\n"
    "    st = i.starts_line\n"
    "    if sys.version_info >= (3, 13):\n"
    "        st = i.line_number if st else None\n"
    "    if st is not None:\n"
    "        line = st\n"
    "        s = linecache.getline(path, st).strip()\n"
    "        if s:\n"
    "            rows.append('S\\t%d\\t%s' % (st, s))\n"
    "    op, spec = ops.get(i.offset), i.opname\n"
    "    if op is not None and op < len(names) and names[op][:1] != '<':\n"
    "        spec = names[op]\n"
    "    if spec != i.opname:\n"
    "        at = t.index(i.opname)\n"
    "        rest = t[at + len(i.opname):]\n"
    "        arg = rest.lstrip(' ')\n"
    "        width = len(i.opname) + len(rest) - len(arg)\n"
    "        gap = ' ' * max(1, width - len(spec)) if arg else ''\n"
    "        t = t[:at] + spec + gap + arg\n"
    "    rows.append('I\\t%d\\t%d\\t%s\\t%s' % (i.offset, line, spec, "
    "t))\n"
    "if k != len(ins):\n"
    "    fail('the dis listing of %s does not match its instructions' % "
    "name)\n"
    "w(''.join(r + '\\n' for r in rows))\n";

/* Run interp on the render script for fn; its output in sb. Returns 0, or
 * -1 after an error line. */
static int
render_run(const char *interp, const sg_func *fn, const char *co_name,
           const char *version, const char *ops, strbuf *sb)
{
    char first[24], want[16];
    snprintf(first, sizeof first, "%d", (int)fn->first_line);
    snprintf(want, sizeof want, "%s", version);
    char *dot = strchr(want, '.');
    if (dot && (dot = strchr(dot + 1, '.')))
        *dot = '\0'; /* "3.12.1" -> "3.12" */
    char *argv[] = {(char *)interp,
                    "-I",
                    "-c",
                    (char *)render_py,
                    (char *)fn->file,
                    first,
                    (char *)co_name,
                    want,
                    (char *)ops,
                    NULL};
    int fds[2];
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null < 0 || pipe2(fds, O_CLOEXEC) != 0) {
        sg_error("record: --dis: %s", strerror(errno));
        if (null >= 0)
            close(null);
        return -1;
    }
    proc_spec ps = {argv, null, fds[1], PROC_INHERIT};
    pid_t pid;
    int err = proc_spawn(&ps, &pid);
    close(fds[1]);
    close(null);
    if (err) {
        close(fds[0]);
        sg_error("record: --dis: cannot run %s: %s", interp, strerror(err));
        return -1;
    }
    char buf[8192];
    ssize_t n;
    while ((n = read(fds[0], buf, sizeof buf)) > 0 ||
           (n < 0 && errno == EINTR))
        if (n > 0)
            sb_append(sb, buf, (size_t)n);
    close(fds[0]);
    proc_exit ex;
    if (proc_wait(pid, &ex) != 0 || ex.code != 0) {
        sg_error("record: --dis: %s failed to render the listing (status "
                 "%d)",
                 interp, ex.code);
        return -1;
    }
    const char *s = sb_str(sb);
    if (strncmp(s, "E\t", 2) == 0) {
        sg_error("record: --dis: %.*s", (int)strcspn(s + 2, "\n"), s + 2);
        return -1;
    }
    return 0;
}

/* The samples of fn at offset (its own, innermost-frame samples). */
static uint64_t
hits_at(const sg_instr_table *t, sg_func_id fn, int32_t offset)
{
    /* The table is small (distinct instructions sampled): a scan. */
    for (size_t i = 0; i < t->n; i++)
        if (t->v[i].func == fn && t->v[i].offset == offset)
            return t->v[i].self;
    return 0;
}

/* "OFFSET:OPCODE,..." of fn's instructions whose opcode was read. */
static void
opcodes_arg(const sg_instr_table *t, sg_func_id fn, strbuf *sb)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->v[i].func == fn && t->v[i].opcode >= 0)
            sb_printf(sb, "%s%d:%d", sb->len ? "," : "", (int)t->v[i].offset,
                      (int)t->v[i].opcode);
    sb_puts(sb, "");
}

/* Rows of the render script's output into b, with fn's samples. */
static int
add_rows(sg_instr_block *b, const sg_instr_table *t, sg_func_id fn, char *text)
{
    for (char *ln = strtok(text, "\n"); ln; ln = strtok(NULL, "\n")) {
        char kind = ln[0];
        char *f[4] = {NULL};
        char *p = ln + 2;
        int want = kind == 'I' ? 4 : kind == 'S' ? 2 : 1;
        for (int i = 0; i < want; i++) {
            f[i] = p;
            char *tab = i + 1 < want ? strchr(p, '\t') : NULL;
            if (i + 1 < want && !tab)
                return -1;
            if (tab) {
                *tab = '\0';
                p = tab + 1;
            }
        }
        int rc;
        if (kind == 'I') {
            int32_t off = (int32_t)atoi(f[0]);
            rc = sg_instr_row_add(b, SG_ROW_INSTR, f[3], f[2], off,
                                  (int32_t)atoi(f[1]), hits_at(t, fn, off));
        } else if (kind == 'S') {
            rc = sg_instr_row_add(b, SG_ROW_SOURCE, f[1], NULL, 0,
                                  (int32_t)atoi(f[0]), 0);
        } else {
            rc = sg_instr_row_add(b, SG_ROW_OTHER, f[0], NULL, 0, -1, 0);
        }
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* Whether function fn is the one called name: its qualified name, or
 * the last part of it. */
static bool
name_matches(const sg_func *fn, const char *name)
{
    if (fn->kind != SG_FUNC_PYTHON || !fn->name)
        return false;
    if (strcmp(fn->name, name) == 0)
        return true;
    const char *dot = strrchr(fn->name, '.');
    return dot && !strchr(name, '.') && strcmp(dot + 1, name) == 0;
}

/* The most sampled Python functions (own samples), busiest first, for
 * the message when none matches. */
static void
list_sampled(const sg_profile *p, char *buf, size_t n)
{
    uint64_t *own = sg_xcalloc(p->n_funcs ? p->n_funcs : 1, sizeof *own);
    for (size_t i = 0; i < p->instr->n; i++)
        if (p->instr->v[i].func < p->n_funcs)
            own[p->instr->v[i].func] += p->instr->v[i].self;
    size_t len = 0;
    buf[0] = '\0';
    for (int shown = 0; shown < 8; shown++) {
        size_t best = p->n_funcs;
        for (size_t i = 0; i < p->n_funcs; i++)
            if (own[i] && p->funcs[i].kind == SG_FUNC_PYTHON &&
                (best == p->n_funcs || own[i] > own[best]))
                best = i;
        if (best == p->n_funcs)
            break;
        own[best] = 0;
        int w = snprintf(buf + len, n - len, "%s%s", shown ? ", " : "",
                         p->funcs[best].name);
        if (w < 0 || (size_t)w >= n - len)
            break;
        len += (size_t)w;
    }
    free(own);
}

int
dis_sampled(const sg_profile *p, const char *name, const rm_info *in,
            const sg_writer *w, strbuf *out)
{
    sg_instr_listing *l =
        sg_instr_listing_new(in->version, "samples of the innermost frame");
    if (!l)
        sg_die(SG_EXIT_FAIL, "out of memory");
    int rc = 0, found = 0;
    for (size_t i = 0; rc == 0 && i < p->n_funcs; i++) {
        const sg_func *fn = &p->funcs[i];
        if (!name_matches(fn, name))
            continue;
        found = 1;
        const char *dot = strrchr(fn->name, '.');
        strbuf text = STRBUF_INIT, ops = STRBUF_INIT;
        sg_instr_block *b = NULL;
        opcodes_arg(p->instr, (sg_func_id)i, &ops);
        l->adaptive |= ops.len > 0;
        if (render_run(in->exe, fn, dot ? dot + 1 : fn->name, in->version,
                       sb_str(&ops), &text) < 0)
            rc = SG_EXIT_USAGE;
        else if (!(b = sg_instr_block_add(l, fn->name, fn->file,
                                          fn->first_line)) ||
                 add_rows(b, p->instr, (sg_func_id)i, text.data) < 0)
            sg_die(SG_EXIT_FAIL, "out of memory");
        sb_free(&text);
        sb_free(&ops);
    }
    if (rc == 0 && !found) {
        char names[512];
        list_sampled(p, names, sizeof names);
        sg_error("record: --dis %s: no sampled function of that name%s%s",
                 name, names[0] ? "; most sampled: " : "", names);
        rc = SG_EXIT_USAGE;
    }
    if (rc == 0) {
        dis_opts o = {0};
        if (sg_write_dis(l, w, &o, out) != 0)
            sg_die(SG_EXIT_FAIL, "out of memory");
    }
    sg_instr_listing_free(l);
    return rc;
}
