/* internal.h -- the remote reader's handle, shared by its source files. */
#ifndef SG_REMOTE_INTERNAL_H
#define SG_REMOTE_INTERNAL_H

#include "common/hashmap.h"
#include "common/strbuf.h"
#include "model/profile.h"
#include "remote/layout.h"
#include "remote/linetable.h"
#include "remote/procmem.h"
#include "remote/remote.h"

/* A code object seen before, keyed by its address. Valid while the code
 * object at that address still has the same identity fields. */
typedef struct code_entry {
    uint64_t addr;
    uint64_t type, filename, name, qualname, linetable; /* identity */
    int32_t first_line;
    int32_t firsttraceable; /* code units before which a frame is hidden */
    uint32_t func;          /* sg_func_id in r->names */
    uint8_t *table;
    size_t table_len;
    uint64_t checked; /* sample number of the last validation */
    int64_t memo_addrq;
    int32_t memo_line;
} code_entry;

/* Frames of one walk whose addresses are kept, for proving the walk by a
 * small read (stack.c, prove_small). */
#define RM_PROVE_MAX 256

/* A frame as pass 1 of a sample sees it (stack.c). */
typedef struct rm_raw_frame {
    uint64_t code;
    int64_t addrq; /* byte offset of the instruction, <0: not started */
    uint8_t owner;
    uint32_t elided; /* >0: no frame, the marker of that many left out */
} rm_raw_frame;

typedef struct stat_fd {
    uint64_t tid;
    int fd;
    uint64_t seen; /* sample number */
} stat_fd;

struct remote {
    rm_info info;
    procmem pm;
    sg_layout L; /* offsets and traits of the target's version */
    uint64_t runtime;
    uint64_t code_type, unicode_type, bytes_type, frame_type;
    char cwd[4096];
    uint32_t rt_window; /* bytes of _PyRuntime read per sample */
    uint32_t is_window; /* bytes of PyInterpreterState read per sample */
    uint8_t *rtbuf, *isbuf;

    sg_profile *names; /* interns strings and functions */
    code_entry *codes;
    size_t n_codes, cap_codes;
    hm64 code_index;
    stat_fd *fds;
    size_t n_fds, cap_fds;

    rm_raw_frame *raw; /* scratch of the current sample */
    size_t n_raw, cap_raw;
    uint64_t walked[RM_PROVE_MAX]; /* the last walk's frame addresses */
    size_t n_walked;               /* 0: more than RM_PROVE_MAX, or none */
    uint64_t memo[RM_PROVE_MAX];   /* frames a small read last found on */
    size_t n_memo;                 /* ... the chain of memo_tstate's */
    uint64_t memo_tstate;          /* thread */
    /* The small reads' buffers (prove.c), made at the first and kept:
     * frames, ranges, which frames were found on a chain. */
    uint8_t *prove_bufs;
    pm_iov *prove_iov;
    bool prove_seen[RM_PROVE_MAX];
    uint64_t sample_no;
    bool no_status; /* skip /proc thread states */
    rm_stats st;
    uint32_t elided_func; /* the function of the last elision marker */
    uint32_t elided_n;    /* ... and its count (0: none made yet) */
};

/* stack.c */
int rm_walk(remote *r, rm_sample *s, rm_error *err);
/* Bytes of a frame the walk reads: enough for every field it decodes. */
uint32_t rm_frame_window(const sg_layout *L);
/* Decode one frame from its bytes (rm_frame_window(L) of them): *rf, and
 * the next frame's address in *back. frame_type is PyFrame_Type's address
 * (0: unchecked); inner is true for a thread's innermost frame. Returns 0
 * with *shim telling a frame that is no Python function's (skipped), or an
 * errno-like code of a torn read. Pure: unit-tested on synthetic frames. */
int rm_frame_decode(const sg_layout *L, uint64_t frame_type,
                    const uint8_t *buf, bool inner, rm_raw_frame *rf,
                    uint64_t *back, bool *shim);
/* Append a raw frame to the sample's scratch. */
void rm_push_raw(remote *r, const rm_raw_frame *f);
/* prove.c: prove t's walk of frame objects (the frames it read are in
 * r->walked, link the address of its thread state's link to the
 * innermost frame) by small reads; 0 with its raw frames from
 * t->first_frame on, or an error (EAGAIN: not proven). */
int rm_prove_small(remote *r, rm_thread *t, uint64_t link);
/* code.c */
bool rm_read_str(remote *r, uint64_t addr, strbuf *out);
void rm_codes_free(remote *r);
code_entry *rm_code_lookup(remote *r, uint64_t addr, const uint8_t *co);
int32_t rm_code_line(remote *r, code_entry *e, int64_t addrq);
void rm_set_error(rm_error *err, rm_errcode code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* pyruntime.c: remote_host_supported's decision, given whether this build
 * supports its machine (a parameter, so that the refusal is unit-tested on
 * x86_64 too). */
int rm_host_check(bool supported, const char *machine, rm_error *err);

static inline uint64_t
rm_u64(const uint8_t *buf, uint32_t off)
{
    uint64_t v;
    __builtin_memcpy(&v, buf + off, 8);
    return v;
}

static inline uint32_t
rm_u32(const uint8_t *buf, uint32_t off)
{
    uint32_t v;
    __builtin_memcpy(&v, buf + off, 4);
    return v;
}

static inline int32_t
rm_i32(const uint8_t *buf, uint32_t off)
{
    int32_t v;
    __builtin_memcpy(&v, buf + off, 4);
    return v;
}

#endif
