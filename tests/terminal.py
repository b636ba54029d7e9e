"""Run a command with a pseudo-terminal as its stdin, stdout and stderr, for
the tests of what spyglass does only on a terminal (progress lines, the
terminal's own Ctrl-C)."""
import os
import pty
import select
import signal
import time


def run_on_pty(argv, env=None, answer=None, timeout=120):
    """Run argv on a new pty; return everything it wrote, decoded.

    answer: (marker, data): once the output holds marker, data is written
    to the terminal as if typed (b"\\x03" is Ctrl-C: the terminal sends
    SIGINT to its foreground process group). The child is killed after
    timeout seconds."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: its stdio is the pty
        os.execve(argv[0], argv, env if env is not None else os.environ)
    chunks = []
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            os.kill(pid, signal.SIGKILL)
            break
        if not select.select([fd], [], [], left)[0]:
            continue
        try:
            data = os.read(fd, 4096)
        except OSError:  # EIO once the child has closed the pty
            break
        if not data:
            break
        chunks.append(data)
        if answer and answer[0] in b"".join(chunks):
            os.write(fd, answer[1])
            answer = None
    os.waitpid(pid, 0)
    os.close(fd)
    return b"".join(chunks).decode(errors="replace")
