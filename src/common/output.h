/* output.h -- where a command's result goes, and what happens when it
 * cannot go there.
 *
 * Three promises, kept here once for every command (the executable's and
 * the agent's, which runs inside the user's process and so never exits):
 *
 *   - An -o FILE that cannot be written is found before any program runs
 *     (sg_output_check): a missing directory, a directory, a read-only
 *     file or file system, /proc/x. A new file is created and removed
 *     again, so what the check answers is what the kernel will do, also
 *     for root; an existing one is asked with access(2) (effective ids).
 *   - Writes are atomic (sg_output_write): a regular file is written to a
 *     temporary name in its directory and renamed over the target, so a
 *     kill during the write never leaves half a file in place of a good
 *     one. stdout ("-"), devices, fifos, paths that name an open file
 *     (/dev/stdout, /dev/fd/N, /proc/...) and files with other hard links
 *     are written in place.
 *   - A result that cannot be written where asked (ENOSPC, /dev/full, EIO)
 *     is delivered elsewhere (sg_output_deliver): to a fallback file in
 *     $TMPDIR, /tmp or the current directory named after the command and
 *     the pid, else on stdout, and one error line says where; the exit
 *     status says it failed (sg_output_status: SG_EXIT_IOERR). A reader of
 *     stdout that went away (`| head`) ends the output quietly
 *     (SG_EXIT_PIPE, as a shell reports a tool killed by SIGPIPE).
 */
#ifndef SG_OUTPUT_H
#define SG_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>

/* What became of a result (sg_output_deliver). */
typedef enum sg_out_result {
    SG_OUT_WRITTEN = 0, /* where it was asked for */
    SG_OUT_EPIPE,       /* stdout's reader is gone: nothing was said */
    SG_OUT_ELSEWHERE,   /* written elsewhere, said in one error line */
    SG_OUT_LOST,        /* nowhere (or never rendered): one error line */
} sg_out_result;

/* Where a result is meant to go, for sg_output_deliver. */
typedef struct sg_out_target {
    const char *command; /* "profile": messages, the fallback's name */
    const char *path;    /* -o FILE; "-" (or NULL) is stdout */
    const char *ext;     /* the fallback file's extension, e.g. "pstats" */
    bool binary;         /* never printed on a terminal */
} sg_out_target;

/* Can path be written (0), or not (-1 with "cannot write 'PATH': why" in
 * msg)? "-" and NULL (stdout) always can. Nothing is left behind. */
int sg_output_check(const char *path, char *msg, size_t n);
/* Can a new file be created in directory dir (0), or not (-1 with the
 * reason, strerror's, in msg)? */
int sg_output_check_dir(const char *dir, char *msg, size_t n);

/* Write len bytes to path ("-": stdout) atomically as described above.
 * A replaced file keeps its mode (and owner, when permitted); a new one
 * gets 0666 less the umask. Returns 0, or -1 with errno set; on failure a
 * file replaced by rename is untouched. */
int sg_output_write(const char *path, const void *data, size_t len);

/* Write the result to t->path; when that fails, deliver it elsewhere and
 * say so in one sg_error line naming the file it went to. On EPIPE on
 * stdout, say nothing and point fd 1 at /dev/null so that later flushes
 * (Python's at exit) fail no more. */
sg_out_result sg_output_deliver(const sg_out_target *t, const void *data,
                                size_t len);

/* The exit status of a command whose program (or the command itself)
 * ended with status and whose result ended as r: status when it is not 0
 * or the result was written; else SG_EXIT_PIPE or SG_EXIT_IOERR. */
int sg_output_status(int status, sg_out_result r);

#endif
