"""Who this process is, as a worker that claims batches and holds leases."""

import os
import secrets
import socket

_TOKEN = secrets.token_hex(4)


def worker_name() -> str:
    """``host:pid:token``: unique to this process (the token tells apart two processes that got the same
    pid), and readable in the batch's row."""
    return f"{socket.gethostname()}:{os.getpid()}:{_TOKEN}"
