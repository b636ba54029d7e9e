"""Run a command with a pseudo-terminal as its stdout and stderr, for the
tests of what spyglass shows only on a terminal (progress lines)."""
import os
import pty


def run_on_pty(argv, env=None):
    """Run argv on a new pty; return everything it wrote, decoded."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: its stdio is the pty
        os.execve(argv[0], argv, env if env is not None else os.environ)
    chunks = []
    while True:
        try:
            data = os.read(fd, 4096)
        except OSError:  # EIO once the child has closed the pty
            break
        if not data:
            break
        chunks.append(data)
    os.waitpid(pid, 0)
    os.close(fd)
    return b"".join(chunks).decode(errors="replace")
