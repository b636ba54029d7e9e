/* memory.c -- `spyglass memory`: options, help, and the hand-over to the
 * agent, which runs the program and traces its allocations in-process
 * (src/agent/memory/command.c). Parsed and validated here, once, like
 * `lines`, whose function selection it shares. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/commands.h"
#include "cli/opts.h"
#include "cli/pylaunch.h"
#include "common/err.h"
#include "request/commands.h"
#include "writers/writers.h"

/* The largest --sample: a mean interval beyond any heap. */
#define MEMORY_SAMPLE_MAX (1L << 40)

/* The command line: the request, and what only the executable uses. */
typedef struct memory_cli {
    rq_memory rq;
    const char *python; /* --python */
    bool help;
} memory_cli;

static void
memory_usage(void)
{
    printf(
        "usage: spyglass memory [-o FILE] [-f FORMAT] "
        "[--func MODULE:QUALNAME]...\n"
        "                       [--file PATH]... [--native] [--rss] "
        "[--sample BYTES]\n"
        "                       [--allocated] [--flame] [--python PYTHON]\n"
        "                       [--timeline FILE [--timeline-interval S]]\n"
        "                       (SCRIPT | -m MODULE | -c CODE) [ARGS...]\n\n"
        "Which line allocates, how much, and what is still held at the "
        "peak:\nmemory_profiler's table (`python -m memory_profiler`), "
        "from traced bytes.\n\n"
        "Every allocation and free of CPython's allocators is traced, on "
        "every\nthread, and attributed to the Python line that made it and "
        "its callers.\nThe table covers these functions, chosen as `spyglass "
        "lines` chooses:\n"
        "  - those decorated with @profile (spyglass puts `profile` in "
        "builtins,\n"
        "    as memory_profiler does, so its scripts run unchanged);\n"
        "  - every --func target and every function defined in a --file;\n"
        "  - with neither, and no @profile in the script itself, every "
        "function\n"
        "    defined in the script's own file (or the -m module's).\n"
        "Columns: Mem usage, Increment and Occurrences as memory_profiler "
        "(MiB,\nfrom the traced heap, not RSS), then the bytes the line "
        "allocated, freed,\nits net, and the peak while it ran. The summary "
        "names the peak, the\nstacks holding memory at the peak, and what is "
        "still allocated at exit.\n\n"
        "  -o, --output FILE  write the results to FILE instead of stdout: "
        "*.svg is\n"
        "                     a flame graph of the bytes live at the peak, "
        "*.txt or\n"
        "                     a name without a known extension the text "
        "report\n"
        "  -f, --format NAME  the format of -o FILE, or, without -o, what "
        "goes to\n"
        "                     stdout in place of the report; one of\n"
        "                     %s\n"
        "      --func M:Q     report function Q (qualified name, e.g. "
        "Cls.meth)\n"
        "                     of module M (`__main__` for the script)\n"
        "      --file PATH    report every function defined in PATH\n"
        "      --native       also trace malloc, calloc, realloc, free and "
        "mmap\n"
        "                     of C extensions (numpy...), through a "
        "preloaded shim\n"
        "      --rss          add memory_profiler's RSS column (a system "
        "call per\n"
        "                     line run of the reported functions)\n"
        "      --sample BYTES sample allocations, one per BYTES allocated on "
        "average\n"
        "                     (a block of s bytes with probability "
        "1-exp(-s/BYTES),\n"
        "                     counted as s/(1-exp(-s/BYTES))), instead of "
        "tracing\n"
        "                     each; BYTES may end in K, M, G (KiB, MiB, "
        "GiB; KB,\n"
        "                     MB, GB are powers of 1000); default: exact\n"
        "      --allocated    flame graphs and other stack formats weigh the "
        "bytes\n"
        "                     allocated, not the bytes live at the peak\n"
        "      --flame        flame graph with the root at the bottom, as "
        "flamegraph.pl\n"
        "                     draws it (default: at the top; --inverted, "
        "flamegraph.pl's\n"
        "                     name for that, gives the default)\n"
        "      --timeline FILE  also write memory over time to FILE: the "
        "traced heap\n"
        "                     and RSS sampled every 10 ms, the reported "
        "functions'\n"
        "                     calls as brackets; FILE.dat is mprof's "
        "format, .svg a\n"
        "                     plot, .txt the peaks, .json every sample\n"
        "      --timeline-interval S  its interval (5ms, 0.05; at least "
        "1ms)\n"
        "      --no-source    html: embed no source lines (confidential "
        "code)\n"
        "      --python P     run under interpreter P, a CPython 3.8-3.13 "
        "with\n"
        "                     spyglass installed (default: the python next "
        "to\n"
        "                     spyglass, else python3)\n"
        "  -m MODULE          run a module as `python -m` does\n"
        "  -c CODE            run code as `python -c` does\n"
        "  -h, --help         show this help\n\n"
        "The program's exit status is kept; its results are printed even "
        "when it\nexits with an error.\n",
        sg_writer_names(SG_DATA_MEMORY));
}

static const struct option long_opts[] = {
    {"output", required_argument, NULL, 'o'},
    {"format", required_argument, NULL, 'f'},
    {"func", required_argument, NULL, 'F'},
    {"file", required_argument, NULL, 'E'},
    {"native", no_argument, NULL, 'N'},
    {"rss", no_argument, NULL, 'R'},
    {"sample", required_argument, NULL, 'S'},
    {"allocated", no_argument, NULL, 'A'},
    {"flame", no_argument, NULL, 'L'},
    {"no-source", no_argument, NULL, 'Q'},
    {"inverted", no_argument, NULL, 'V'},
    {"timeline", required_argument, NULL, 'T'},
    {"timeline-interval", required_argument, NULL, 'I'},
    {"python", required_argument, NULL, 'P'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* The multiplier of a size suffix, as GNU dd and head read them: K, KiB
 * (any case) 1024, KB 1000, and so on up; "" and B are bytes. 0 when s
 * is no such suffix. */
static long
memory_unit(const char *s)
{
    static const char prefixes[] = "KMGT";
    if (*s == '\0' || strcasecmp(s, "B") == 0)
        return 1;
    const char *p = strchr(prefixes, toupper((unsigned char)*s));
    if (!p)
        return 0;
    int power = (int)(p - prefixes) + 1;
    long base;
    if (s[1] == '\0' || strcasecmp(s + 1, "iB") == 0)
        base = 1024;
    else if (strcasecmp(s + 1, "B") == 0)
        base = 1000;
    else
        return 0;
    long m = 1;
    while (power--)
        m *= base;
    return m;
}

/* Parse --sample's BYTES: a whole positive number with an optional unit,
 * at most MEMORY_SAMPLE_MAX. Prints the error line when it is not. */
static bool
memory_parse_sample(const char *s, long *out)
{
    char *end;
    errno = 0;
    long n = isdigit((unsigned char)*s) ? strtol(s, &end, 10) : 0;
    long unit = n > 0 && !errno ? memory_unit(end) : 0;
    if (unit == 0 || n > MEMORY_SAMPLE_MAX / unit) {
        sg_error("memory: --sample takes a positive number of bytes, "
                 "with an optional unit (512KiB, 1MiB, 4M), of at most "
                 "1TiB, not '%s'",
                 s);
        return false;
    }
    *out = n * unit;
    return true;
}

/* --timeline FILE: its format from FILE's extension (mprof's .dat, an
 * SVG plot, the peaks as text, JSON), checked now; the interval defaults
 * to 10 ms, as `timeline`'s. -1 after the error line. */
static int
memory_timeline(rq_memory *rq)
{
    const sg_writer *w;
    if (!rq->timeline) {
        if (rq->timeline_interval > 0) {
            sg_error("memory: --timeline-interval needs --timeline FILE");
            return -1;
        }
        return 0;
    }
    /* timeline's rules, in memory's name for the error lines. */
    sg_output what = sg_output_timeline;
    what.command = "memory";
    if (sg_writer_pick(NULL, rq->timeline, &what, &w))
        return -1;
    rq->timeline_format = w->name;
    if (rq->timeline_interval <= 0)
        rq->timeline_interval = 0.01;
    return 0;
}

/* Parse argv (argv[0] = "memory") into o. Returns -1 when the caller
 * should go on, else an exit status (usage errors print their line). The
 * request points into argv and vectors freed by memory_cli_free. */
static int
memory_parse(int argc, char **argv, memory_cli *o)
{
    memset(o, 0, sizeof *o);
    rq_memory *rq = &o->rq;
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
            if (!opts_func("memory", optarg))
                return SG_EXIT_USAGE;
            rq->funcs[rq->n_funcs++] = optarg;
            break;
        case 'E':
            rq->files[rq->n_files++] = optarg;
            break;
        case 'N':
            rq->native = true;
            break;
        case 'R':
            rq->rss = true;
            break;
        case 'S':
            if (!memory_parse_sample(optarg, &rq->sample_bytes))
                return SG_EXIT_USAGE;
            break;
        case 'A':
            rq->allocated = true;
            break;
        case 'Q':
            rq->no_source = true;
            break;
        case 'L':
        case 'V':
            rq->flame = c == 'L'; /* the last one given wins */
            break;
        case 'T':
            rq->timeline = optarg;
            break;
        case 'I':
            if (!opts_interval("memory", "--timeline-interval", optarg,
                               &rq->timeline_interval))
                return SG_EXIT_USAGE;
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
            return pylaunch_bad_option("memory", c, argv);
        }
    }
    if (!opts_program("memory", argc, argv, have_target, &rq->program))
        return SG_EXIT_USAGE;
    /* python would say it too, once started: say it before anything
     * runs. */
    if (rq->program.kind == RQ_RUN_SCRIPT &&
        !opts_script_readable("memory", rq->program.target))
        return SG_EXIT_USAGE;
    if (memory_timeline(rq) < 0)
        return SG_EXIT_USAGE;
    /* Chosen here, once: the agent writes what it is told. */
    return opts_output(format, &rq->output, &rq->format, &sg_output_memory);
}

static void
memory_cli_free(memory_cli *o)
{
    free(o->rq.funcs);
    free(o->rq.files);
    o->rq.funcs = o->rq.files = NULL;
}

int
cmd_memory(int argc, char **argv)
{
    memory_cli o;
    int rc = memory_parse(argc, argv, &o);
    if (rc < 0 && o.help) {
        memory_usage();
        rc = SG_EXIT_OK;
    }
    if (rc < 0)
        rc = pylaunch_run(o.python, &rq_memory_spec, &o.rq);
    memory_cli_free(&o);
    return rc;
}
