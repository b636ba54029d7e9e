/* dis.c -- `spyglass dis`: options, help, and the hand-over to the agent,
 * which runs the program counting every instruction of the selected
 * functions and prints their `dis` listing with the counts
 * (src/agent/dis/command.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/opts.h"
#include "cli/pylaunch.h"
#include "common/err.h"
#include "request/commands.h"
#include "writers/writers.h"

/* The command line: the request, and what only the executable uses. */
typedef struct dis_cli {
    rq_dis rq;
    const char *python; /* --python */
    bool help;
} dis_cli;

static void
dis_usage(void)
{
    printf(
        "usage: spyglass dis [--func MODULE:QUALNAME]... [--file PATH]... "
        "[--top N]\n"
        "                    [--adaptive] [-o FILE] [-f FORMAT] [--python "
        "PYTHON]\n"
        "                    (SCRIPT | -m MODULE | -c CODE) [ARGS...]\n\n"
        "The bytecode of the selected functions as `dis.dis` of the running "
        "CPython\nprints it, with how many times each instruction ran on the "
        "left: the count,\nits share of the function's instructions, and a "
        "bar.\n\n"
        "Which functions: as `spyglass lines` selects them (@profile, --func, "
        "--file,\nelse every function of the script's own file), each with "
        "the lambdas,\ncomprehensions and generator expressions it contains "
        "(3.12+ inlines list,\nset and dict comprehensions into the function "
        "itself).\n"
        "Counting is exact: every instruction executed in the selected code "
        "objects\n(sys.monitoring INSTRUCTION events on 3.12+, opcode tracing "
        "of their frames\non 3.8-3.11); other code runs at full speed "
        "(3.12+) or untraced.\n\n"
        "      --func M:Q     function Q (qualified name, e.g. Cls.meth) of "
        "module M\n"
        "                     (`__main__` for the script; Q `<module>`: "
        "the module's\n"
        "                     own code)\n"
        "      --file PATH    every function defined in PATH\n"
        "      --top N        only the N instructions of each function that "
        "ran most\n"
        "      --adaptive     show the specialised instructions the code "
        "object holds\n"
        "                     after the run (3.11+, dis.dis(adaptive=True))\n"
        "  -o, --output FILE  write the listing to FILE instead of stdout\n"
        "  -f, --format NAME  %s\n"
        "      --python P     run under interpreter P, a CPython 3.8-3.13 "
        "with\n"
        "                     spyglass installed (default: the python next "
        "to\n"
        "                     spyglass, else python3)\n"
        "  -m MODULE          run a module as `python -m` does\n"
        "  -c CODE            run code as `python -c` does\n"
        "  -h, --help         show this help\n\n"
        "The program's output and exit status are kept; the listing follows "
        "it.\n",
        sg_writer_names(SG_DATA_DIS));
}

static const struct option long_opts[] = {
    {"output", required_argument, NULL, 'o'},
    {"format", required_argument, NULL, 'f'},
    {"func", required_argument, NULL, 'F'},
    {"file", required_argument, NULL, 'E'},
    {"top", required_argument, NULL, 'T'},
    {"adaptive", no_argument, NULL, 'A'},
    {"python", required_argument, NULL, 'P'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* Parse argv (argv[0] = "dis") into o. Returns -1 when the caller should
 * go on, else an exit status (usage errors print their line). */
static int
dis_parse(int argc, char **argv, dis_cli *o)
{
    memset(o, 0, sizeof *o);
    rq_dis *rq = &o->rq;
    rq->funcs = sg_xcalloc((size_t)argc, sizeof *rq->funcs);
    rq->files = sg_xcalloc((size_t)argc, sizeof *rq->files);
    const char *format = NULL;
    bool have_target = false;
    opts_reset();
    int c;
    while (!have_target && (c = getopt_long(argc, argv, "+:o:f:m:c:h",
                                            long_opts, NULL)) != -1) {
        switch (c) {
        case 'o':
            rq->output = optarg;
            break;
        case 'f':
            format = optarg;
            break;
        case 'F':
            if (!opts_func("dis", optarg))
                return SG_EXIT_USAGE;
            rq->funcs[rq->n_funcs++] = optarg;
            break;
        case 'E':
            rq->files[rq->n_files++] = optarg;
            break;
        case 'T':
            if (!opts_long("dis", "--top", optarg, 1, 1000000, &rq->top))
                return SG_EXIT_USAGE;
            break;
        case 'A':
            rq->adaptive = true;
            break;
        case 'P':
            o->python = optarg;
            break;
        case 'm':
        case 'c':
            opts_program_option(c, optarg, &rq->program);
            have_target = true;
            break;
        case 'h':
            o->help = true;
            return -1;
        default:
            return pylaunch_bad_option("dis", c, argv);
        }
    }
    if (!opts_program("dis", argc, argv, have_target, &rq->program))
        return SG_EXIT_USAGE;
    /* Chosen here, once: the agent writes what it is told. */
    const sg_writer *w;
    if (sg_writer_pick(format, rq->output, &sg_output_dis, &w))
        return SG_EXIT_USAGE;
    rq->format = w->name;
    return -1;
}

int
cmd_dis(int argc, char **argv)
{
    dis_cli o;
    int rc = dis_parse(argc, argv, &o);
    if (rc < 0 && o.help) {
        dis_usage();
        rc = SG_EXIT_OK;
    }
    if (rc < 0)
        rc = pylaunch_run(o.python, &rq_dis_spec, &o.rq);
    free(o.rq.funcs);
    free(o.rq.files);
    return rc;
}
