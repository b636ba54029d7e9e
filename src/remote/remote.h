/* remote.h -- read a running CPython's thread stacks from outside.
 *
 * The API a sampler's inner loop uses:
 *
 *     rm_error err;
 *     remote *r = remote_open(pid, &err);        // find runtime, version
 *     rm_sample s = {0};
 *     while (...) {
 *         if (remote_sample(r, &s) != 0) { ...dropped... }
 *         for each s.threads[t]: frames s.frames[first .. first+n)
 *             innermost first; remote_func(r, frame.func) is stable
 *     }
 *     rm_sample_free(&s); remote_close(r);
 *
 * Function ids are dense and stable for the handle's lifetime: equal
 * (name, file, first_line) get the same id, so a sampler can keep a plain
 * array from these ids to its own profile's ids and never touch a string in
 * the loop. Strings returned stay valid until remote_close.
 *
 * The target is never stopped or written to. A sample taken while it runs
 * may be torn: threads whose walk failed are marked (error set, frames
 * possibly partial) and counted in the stats; a sample that failed as a
 * whole returns -1. Nothing the target's memory holds can make this loop
 * unbounded or read out of bounds.
 */
#ifndef SG_REMOTE_H
#define SG_REMOTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "model/profile.h"

typedef struct remote remote;

typedef enum rm_errcode {
    RM_OK = 0,
    RM_ENOPROC,  /* no such process */
    RM_EPERM,    /* not allowed to read its memory */
    RM_ENOTPY,   /* no CPython runtime found */
    RM_ENOTINIT, /* CPython found, not initialised (yet) */
    RM_EVERSION, /* unsupported version or build */
    RM_EREAD,    /* memory could not be read consistently */
    RM_EARCH,    /* this machine, or the target, is not x86_64 */
} rm_errcode;

typedef struct rm_error {
    rm_errcode code;
    char msg[512];
} rm_error;

typedef struct rm_frame {
    uint32_t func;  /* remote_func(r, func) */
    int32_t line;   /* -1 when the code has no line for the instruction */
    int32_t offset; /* byte offset of the instruction in the code, -1 when
                       the frame has not started */
    uint64_t code;  /* the code object's address in the target */
} rm_frame;

typedef struct rm_thread {
    uint64_t thread_id; /* threading.get_ident() (pthread_t) */
    uint64_t native_id; /* kernel tid, 0 when unknown */
    uint64_t tstate;    /* address of the PyThreadState */
    uint64_t interp;    /* address of its PyInterpreterState */
    bool main_interp;   /* of the main interpreter (not a subinterpreter) */
    const char *name;   /* threading's name; NULL unless looked up with
                           remote_thread_names */
    bool holds_gil;
    bool active;     /* on CPU (state R) per /proc */
    bool is_main;    /* the main thread of the main interpreter */
    bool truncated;  /* frames left out: elided (below), or the root was
                        past RM_MAX_WALK frames and only the innermost
                        are kept */
    uint32_t elided; /* frames left out of a stack deeper than
                        RM_MAX_DEPTH: its innermost and outermost are
                        kept, and a frame "[N frames elided]" (a function
                        of kind SG_FUNC_OTHER) stands between them */
    int error;       /* 0, or an errno-like code of a torn walk (its
                        frames are then dropped: n_frames 0) */
    size_t first_frame, n_frames; /* into rm_sample.frames */
} rm_thread;

typedef struct rm_sample {
    rm_thread *threads;
    size_t n_threads, cap_threads;
    rm_frame *frames;
    size_t n_frames, cap_frames;
    uint32_t interp_count;
} rm_sample;

typedef struct rm_info {
    pid_t pid;
    char version[32]; /* "3.11.7" */
    unsigned minor;
    uint32_t version_hex;
    char exe[4096];      /* /proc/PID/exe target */
    char cmdline[4096];  /* argv joined by spaces */
    char elf_path[4096]; /* the ELF that holds _PyRuntime */
    uint64_t runtime_addr;
    bool static_build;  /* _PyRuntime in the executable itself */
    bool debug_offsets; /* layout read from the target (3.13+) */
} rm_info;

typedef struct rm_stats {
    uint64_t samples, samples_failed, thread_errors;
    uint64_t retries; /* thread walks redone after a torn read */
    /* Of the thread_errors: the thread never seen holding still while its
     * frames were copied; a frame that failed validation (type, a caller
     * no longer executing, a cycle); memory that could not be read (or
     * a thread past RM_MAX_THREADS). */
    uint64_t dropped_moving, dropped_invalid, dropped_unreadable;
    uint64_t small_proofs; /* walks proven by small reads (<=3.10) */
    /* Thread lists found cut by a thread state freed or reused while read
     * (the threads after it missing): followed again, and left cut after
     * the last try (each of these also a thread_error). */
    uint64_t list_retries, lists_cut;
    uint64_t reads, bytes, read_failures, cache_hits, proc_reads;
    uint64_t code_hits, code_misses, code_invalidated;
} rm_stats;

#define RM_MAX_THREADS 4096
#define RM_MAX_DEPTH 4096 /* frames kept per thread, the marker included */
#define RM_MAX_WALK (1u << 20) /* frames followed: the root must be nearer */

/* Whether this build can read other processes at all (x86_64 Linux):
 * 0, or -1 with the one-line reason in err (RM_EARCH). remote_open checks
 * it too; a command that launches its target asks first. */
int remote_host_supported(rm_error *err);
remote *remote_open(pid_t pid, rm_error *err);
/* remote_open, retried for up to timeout_ms while the process's Python is
 * starting (not initialised, or libpython not mapped yet in a process
 * younger than 3 s): what a tool that launches the target and attaches
 * right away wants. */
remote *remote_open_wait(pid_t pid, unsigned timeout_ms, rm_error *err);
void remote_close(remote *r);
/* Take one sample of every thread of every interpreter into s (reused
 * between calls). Returns 0, or -1 when the whole sample was dropped (the
 * reason in err when not NULL). */
int remote_sample(remote *r, rm_sample *s, rm_error *err);
void rm_sample_free(rm_sample *s);
/* Whether remote_sample reads each thread's on-CPU state (one pread of
 * /proc/PID/task/TID/stat per thread; on by default). Off, `active` is
 * false and a steady sample is a single process_vm_readv. */
void remote_set_thread_status(remote *r, bool on);
/* Fill the threads' names from threading._active (a few dozen reads: call
 * it once per dump, or when a sampler meets a new thread id). Returns how
 * many were named, or -1 when threading's table could not be read. */
int remote_thread_names(remote *r, rm_sample *s);
/* The function of a frame: kind SG_FUNC_PYTHON, name (qualified on 3.11+),
 * absolute file, first line. The pointer is valid until the next
 * remote_sample; its strings until remote_close. */
const sg_func *remote_func(const remote *r, uint32_t id);
const rm_info *remote_info(const remote *r);
/* The opcode the code object at address code holds now at byte offset
 * offset: on versions that specialise in place (co_code_adaptive), the
 * specialised instruction; -1 where the layout has no adaptive code, or
 * when it cannot be read. One read of the target. */
int remote_opcode(remote *r, uint64_t code, int32_t offset);
void remote_stats(const remote *r, rm_stats *out);

#endif
