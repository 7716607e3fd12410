"""The kernel command of a warm kernel spec (see :mod:`autograder.grader.warm`).

nbgrader's kernel manager starts ``python -m autograder.grader.warmclient SOCKET
CONNECTION_FILE [ARG ...]`` as it would start ``python -m ipykernel_launcher -f CONNECTION_FILE
[ARG ...]`` (nbgrader adds options that turn IPython's history off). This process asks the warm
process behind ``SOCKET`` for a kernel forked with those arguments, in this process's working
directory, and lives exactly as long as the kernel: it exits with
the kernel's exit code, and killing it (nbgrader's shutdown) closes the socket, which kills the
kernel. Standard library only: it starts in milliseconds.
"""

import json
import os
import socket
import sys


def main(argv: list[str]) -> int:
    control, connection_file, *options = argv
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.connect(control)
        request = {"connection_file": os.path.abspath(connection_file), "cwd": os.getcwd(), "options": options}
        conn.sendall((json.dumps(request) + "\n").encode())
        for line in conn.makefile("r"):
            message = json.loads(line)
            if "exit" in message:
                code = message["exit"]
                return code if code >= 0 else 128 - code  # killed by signal n: 128 + n, as a shell says
    return 1  # the warm process ended before the kernel reported


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
