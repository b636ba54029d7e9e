/* main.c -- the spyglass executable: global options and command dispatch.
 *
 * This file knows the list of commands and nothing about what they do.
 */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "common/alloc.h"
#include "common/err.h"

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command;

static const command commands[] = {
    {"time", cmd_time, "time whole commands (/usr/bin/time -v, hyperfine)"},
    {"timeit", cmd_timeit, "time Python statements side by side (timeit)"},
    {"profile", cmd_profile,
     "deterministic profiler: cProfile's numbers, all threads"},
    {"lines", cmd_lines, "line-by-line hits and time (kernprof -l -v)"},
    {"memory", cmd_memory,
     "which line allocates, peak and leaks (memory_profiler)"},
    {"dump", cmd_dump,
     "print the Python stacks of a running process (py-spy dump)"},
    {"record", cmd_record,
     "sample a program's stacks into a flame graph (py-spy record)"},
    {"timeline", cmd_timeline,
     "memory over time from outside, children too (mprof run)"},
    {"plot", cmd_plot, "draw or overlay memory timelines (mprof plot, peak)"},
    {"top", cmd_top,
     "a live view of where a program spends its time (py-spy top)"},
    {"dis", cmd_dis, "bytecode of hot functions with per-instruction counts"},
    {"report", cmd_report,
     "one offline HTML report from pstats files or folded stacks, or a diff"},
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

static void
usage(FILE *out)
{
    fprintf(out,
            "usage: spyglass COMMAND [OPTIONS] [ARGS...]\n"
            "       spyglass --version\n\n"
            "spyglass %s: a fast native profiler toolkit for CPython "
            "3.8-3.13.\n\ncommands:\n",
            SG_VERSION);
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n'spyglass COMMAND --help' describes each command.\n");
}

int
main(int argc, char **argv)
{
    /* Out of memory in the shared core: this process reports and exits. */
    sg_alloc_on_failure(sg_oom_exit);
    if (argc < 2) {
        usage(stderr);
        return SG_EXIT_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "--version") == 0 || strcmp(name, "-V") == 0) {
        printf("spyglass %s\n", SG_VERSION);
        return SG_EXIT_OK;
    }
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 ||
        strcmp(name, "help") == 0) {
        if (strcmp(name, "help") == 0 && argc > 2) {
            /* "spyglass help CMD" is "spyglass CMD --help". */
            char *sub[] = {argv[2], "--help", NULL};
            for (size_t i = 0; i < N_COMMANDS; i++)
                if (strcmp(commands[i].name, argv[2]) == 0)
                    return commands[i].run(2, sub);
            sg_die(SG_EXIT_USAGE, "unknown command '%s'", argv[2]);
        }
        usage(stdout);
        return SG_EXIT_OK;
    }
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    if (name[0] == '-')
        sg_error("unknown option '%s' (see 'spyglass --help')", name);
    else
        sg_error("unknown command '%s' (see 'spyglass --help')", name);
    return SG_EXIT_USAGE;
}
