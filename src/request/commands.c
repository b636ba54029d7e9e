/* commands.c -- the request fields of each in-process command.
 *
 * Adding, removing or changing the meaning of a field changes the format:
 * raise RQ_VERSION with it (request.h).
 */
#include <stddef.h>

#include "request/commands.h"

/* clang-format off */
#define RQ_SCALAR(type, key, st, member) \
    {key, type, offsetof(st, member), 0}
#define RQ_LIST_OF(key, st, member, count) \
    {key, RQ_LIST, offsetof(st, member), offsetof(st, count)}
/* The program to run, last: how, what, then its own arguments. */
#define RQ_PROGRAM(st) \
    RQ_SCALAR(RQ_RUN, "run", st, program.kind), \
    RQ_SCALAR(RQ_STR, "target", st, program.target), \
    RQ_LIST_OF("arg", st, program.args, program.n_args)
#define RQ_SPEC(name, st, fields) \
    {name, fields, sizeof fields / sizeof fields[0], sizeof(st)}
/* clang-format on */

static const rq_field timeit_fields[] = {
    RQ_SCALAR(RQ_LONG, "number", rq_timeit, number),
    RQ_SCALAR(RQ_LONG, "repeat", rq_timeit, repeat),
    RQ_LIST_OF("setup", rq_timeit, setup, n_setup),
    RQ_SCALAR(RQ_OPTSTR, "unit", rq_timeit, unit),
    RQ_SCALAR(RQ_LONG, "verbose", rq_timeit, verbose),
    RQ_SCALAR(RQ_BOOL, "process-time", rq_timeit, process_time),
    RQ_SCALAR(RQ_OPTSTR, "output", rq_timeit, output),
    RQ_SCALAR(RQ_STR, "format", rq_timeit, format),
    RQ_LIST_OF("stmt", rq_timeit, stmts, n_stmts),
};

static const rq_field profile_fields[] = {
    RQ_SCALAR(RQ_OPTSTR, "sort", rq_profile, sort),
    RQ_SCALAR(RQ_OPTSTR, "output", rq_profile, output),
    RQ_SCALAR(RQ_STR, "format", rq_profile, format),
    RQ_SCALAR(RQ_BOOL, "builtins", rq_profile, builtins),
    RQ_SCALAR(RQ_BOOL, "threads", rq_profile, threads),
    RQ_SCALAR(RQ_LONG, "limit", rq_profile, limit),
    RQ_SCALAR(RQ_BOOL, "flame", rq_profile, flame),
    RQ_SCALAR(RQ_BOOL, "no_source", rq_profile, no_source),
    RQ_PROGRAM(rq_profile),
};

static const rq_field lines_fields[] = {
    RQ_SCALAR(RQ_DOUBLE, "unit", rq_lines, unit),
    RQ_SCALAR(RQ_OPTSTR, "output", rq_lines, output),
    RQ_SCALAR(RQ_OPTSTR, "format", rq_lines, format),
    RQ_LIST_OF("func", rq_lines, funcs, n_funcs),
    RQ_LIST_OF("file", rq_lines, files, n_files),
    RQ_SCALAR(RQ_BOOL, "no_source", rq_lines, no_source),
    RQ_PROGRAM(rq_lines),
};

static const rq_field memory_fields[] = {
    RQ_SCALAR(RQ_OPTSTR, "output", rq_memory, output),
    RQ_SCALAR(RQ_OPTSTR, "format", rq_memory, format),
    RQ_LIST_OF("func", rq_memory, funcs, n_funcs),
    RQ_LIST_OF("file", rq_memory, files, n_files),
    RQ_SCALAR(RQ_BOOL, "native", rq_memory, native),
    RQ_SCALAR(RQ_BOOL, "rss", rq_memory, rss),
    RQ_SCALAR(RQ_LONG, "sample", rq_memory, sample_bytes),
    RQ_SCALAR(RQ_BOOL, "allocated", rq_memory, allocated),
    RQ_SCALAR(RQ_BOOL, "flame", rq_memory, flame),
    RQ_SCALAR(RQ_OPTSTR, "timeline", rq_memory, timeline),
    RQ_SCALAR(RQ_OPTSTR, "timeline_format", rq_memory, timeline_format),
    RQ_SCALAR(RQ_DOUBLE, "timeline_interval", rq_memory, timeline_interval),
    RQ_SCALAR(RQ_BOOL, "no_source", rq_memory, no_source),
    RQ_PROGRAM(rq_memory),
};

static const rq_field dis_fields[] = {
    RQ_SCALAR(RQ_OPTSTR, "output", rq_dis, output),
    RQ_SCALAR(RQ_STR, "format", rq_dis, format),
    RQ_LIST_OF("func", rq_dis, funcs, n_funcs),
    RQ_LIST_OF("file", rq_dis, files, n_files),
    RQ_SCALAR(RQ_LONG, "top", rq_dis, top),
    RQ_SCALAR(RQ_BOOL, "adaptive", rq_dis, adaptive),
    RQ_PROGRAM(rq_dis),
};

const rq_spec rq_timeit_spec = RQ_SPEC("timeit", rq_timeit, timeit_fields);
const rq_spec rq_profile_spec = RQ_SPEC("profile", rq_profile, profile_fields);
const rq_spec rq_lines_spec = RQ_SPEC("lines", rq_lines, lines_fields);
const rq_spec rq_memory_spec = RQ_SPEC("memory", rq_memory, memory_fields);
const rq_spec rq_dis_spec = RQ_SPEC("dis", rq_dis, dis_fields);
