/* request.h -- what the executable hands the agent to run a command.
 *
 * An in-process command (timeit, profile, lines) is parsed and validated
 * once, by the executable (src/cli/). It then execs `python -c <glue>
 * REQUEST...`, and the agent (src/agent/module.c) decodes REQUEST and runs
 * it. Neither side reads the other's code: both read this module, which
 * depends on nothing but libc.
 *
 * A request is a list of strings, one argv element each, every one of the
 * form "key=value":
 *
 *   spyglass-request=1      the format version (RQ_VERSION)
 *   release=0.1.0           the executable's release (SG_VERSION)
 *   install=SOURCE          what `pip install` takes to install that release
 *   command=profile         which command
 *   key=value ...           the command's fields (request/commands.c)
 *
 * Versioning: the four header strings keep their place and meaning in
 * every format version, so that any agent can refuse any executable in one
 * clear line. What follows may change when RQ_VERSION is raised, which it
 * must be whenever a field is added, removed or changes meaning. An agent
 * runs a request only when both the version and the release are its own
 * (they are built from one tree; nothing else is promised).
 *
 * A value is everything after the first '=': any bytes but NUL, which argv
 * cannot carry (and which no argument the executable was given can hold).
 * One string per value keeps each within the kernel's limit on a single
 * argument, as the user's own arguments were. Values are canonical, not
 * what the user typed: numbers in decimal (doubles with 17 significant
 * digits, exact), flags 0 or 1, enumerations by name. A scalar field
 * appears exactly once (an optional string at most once: absent is NULL);
 * a list is its key repeated, in order.
 */
#ifndef SG_REQUEST_H
#define SG_REQUEST_H

#include <stdbool.h>
#include <stddef.h>

#define RQ_VERSION 8
#define RQ_MAGIC "spyglass-request"
#define RQ_HEADER_LEN 4

/* How a field's value is stored in the command's request struct. */
typedef enum rq_type {
    RQ_BOOL,   /* bool */
    RQ_LONG,   /* long */
    RQ_DOUBLE, /* double */
    RQ_STR,    /* const char *, required */
    RQ_OPTSTR, /* const char *, NULL when absent */
    RQ_LIST,   /* const char ** (NULL-terminated) and an int count */
    RQ_RUN,    /* rq_run (request/commands.h), by name */
} rq_type;

typedef struct rq_field {
    const char *key;
    rq_type type;
    size_t off;       /* of the value in the struct */
    size_t count_off; /* RQ_LIST: of the int count */
} rq_field;

/* One command's request: its struct and the fields in it, in the order
 * they are encoded. */
typedef struct rq_spec {
    const char *command;
    const rq_field *fields;
    size_t n_fields;
    size_t size; /* sizeof the struct */
} rq_spec;

/* Encode request r (a struct of spec's type) with its header. Returns a
 * NULL-terminated vector of strings, or NULL when out of memory; free it
 * with rq_free_argv. */
char **rq_encode(const rq_spec *spec, const void *r, const char *install);
void rq_free_argv(char **argv);

/* The header of a request; the strings point into its argv. */
typedef struct rq_header {
    long version;        /* the format version */
    const char *release; /* NULL when the header is cut short */
    const char *install;
    const char *command;
} rq_header;

/* Read the header of argv[0..argc). Returns 0 -- then h says whether this
 * build can run it (rq_header_ours) -- or -1 when argv is not a request
 * of any version. */
int rq_read_header(int argc, char *const argv[], rq_header *h);
/* Whether a request with header h is one this build can decode and run:
 * its version and release are ours. */
bool rq_header_ours(const rq_header *h);
/* The line refusing a request that is not ours (without the "spyglass:
 * error: " prefix) into buf: both releases, the interpreter `python` that
 * runs this agent, and how to install the executable's release there. */
void rq_refusal(char *buf, size_t n, const rq_header *h, const char *python);

/* Decode the fields of a request that rq_header_ours accepted (argv[0] is
 * the first string after the header) into r, spec->size bytes, which this
 * zeroes first. Strings and list items point into argv. Returns 0, or -1
 * with the reason in err: out of memory, or a malformed request (a bug:
 * the executable of the same release wrote it). Release r with
 * rq_release either way. */
int rq_decode(const rq_spec *spec, int argc, char *const argv[], void *r,
              char *err, size_t n);
/* Free what rq_decode allocated in r (the list vectors). */
void rq_release(const rq_spec *spec, void *r);

#endif
