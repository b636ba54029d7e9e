/* report.h -- what `spyglass time` prints and writes: a text summary in
 * hyperfine's shape with the kernel's extra figures, GNU time -v's fields,
 * and hyperfine-compatible JSON, CSV and Markdown. */
#ifndef SG_TIME_REPORT_H
#define SG_TIME_REPORT_H

#include <stddef.h>

#include "common/stats.h"
#include "common/strbuf.h"
#include "timing/runner.h"

typedef struct bench_cmd {
    const char *display; /* the command as the user wrote it */
    char **argv;         /* what is executed */
    int uses_shell;      /* argv is {"/bin/sh", "-c", line} */
    int owns_argv;       /* argv and its strings were allocated for it */
    run_result *runs;
    size_t n_runs, cap_runs;
} bench_cmd;

/* Summary of one field over a command's runs. */
typedef enum bench_field {
    BF_WALL,
    BF_USER,
    BF_SYS,
    BF_OFFCPU, /* wall - user - sys, at least 0 */
    BF_RSS,
    BF_MAJFLT,
    BF_MINFLT,
    BF_VCS,
    BF_IVCS,
} bench_field;

sg_summary bench_summary(const bench_cmd *c, bench_field f);

void report_text(strbuf *sb, const bench_cmd *cmds, size_t n);
void report_json(strbuf *sb, const bench_cmd *cmds, size_t n);
void report_csv(strbuf *sb, const bench_cmd *cmds, size_t n);
void report_markdown(strbuf *sb, const bench_cmd *cmds, size_t n);
/* GNU /usr/bin/time -v, same names and layout, for one run. */
void report_gnu_verbose(strbuf *sb, const bench_cmd *c, const run_result *r);

#endif
