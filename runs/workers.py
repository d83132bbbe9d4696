"""Worker processes: who this one is, its heartbeat, its share of the sweep, and who else is alive.

Every worker process of a cluster (django-q2 forks them; ``post_spawn`` starts us in each) runs two
daemon threads: one updates the worker's ``ClusterHeartbeat`` row every ``ERKWEB_HEARTBEAT_SECONDS``,
the other sweeps every unfinished run through the driver every ``ERKWEB_SWEEP_SECONDS``, under a short
lease so that one process of all the clusters sweeps at a time. A claim records the worker, so the
driver on any host can tell that the worker holding a batch is gone: its heartbeat is older than
``ERKWEB_WORKER_STALE``, or (on the same host) its process no longer exists. django-q2's own scheduler
runs only about every 30 s, too slow for this; it keeps a once-a-minute sweep as the backstop.
"""

import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable

from django.conf import settings
from django.db import close_old_connections
from django.db.models.functions import Now

log = logging.getLogger(__name__)

_TOKEN = secrets.token_hex(4)
SWEEP_LEASE = "sweep"
_started_in: int | None = None  # the pid whose threads are running (a fork must start its own)


def worker_name() -> str:
    """``host:pid:token``: unique to this process (the token tells apart two processes that got the same
    pid), and readable in the batch's row."""
    return f"{socket.gethostname()}:{os.getpid()}:{_TOKEN}"


def host_of(worker: str) -> str:
    return worker.split(":", 1)[0]


def pid_of(worker: str) -> int | None:
    parts = worker.split(":")
    return int(parts[1]) if len(parts) >= 2 and parts[1].isdigit() else None


# --- the two threads ---------------------------------------------------------------------------------
def start(sender: object = None, proc_name: str = "", **kwargs: object) -> None:
    """Start this worker process's heartbeat and sweeper (django-q2's ``post_spawn``); once per process,
    and never when django-q2 runs tasks in the calling process (tests)."""
    global _started_in
    from django_q.conf import Conf

    if Conf.SYNC or _started_in == os.getpid():
        return
    _started_in = os.getpid()
    beat()  # before the first task: a worker that claims a batch has a row to be judged by
    for target, name in ((_beat_forever, "erkweb-heartbeat"), (_sweep_forever, "erkweb-sweeper")):
        threading.Thread(target=target, name=name, daemon=True).start()


def beat() -> None:
    """Say this worker is alive, now (by the database clock)."""
    from .models import ClusterHeartbeat

    me = worker_name()
    if not ClusterHeartbeat.objects.filter(worker=me).update(beat_at=Now()):
        ClusterHeartbeat.objects.create(
            worker=me,
            host=socket.gethostname(),
            pid=os.getpid(),
            cluster=f"{socket.gethostname()}:{os.getppid()}",
        )


def try_sweep() -> bool:
    """Sweep every unfinished run if no other process is sweeping now; True if this one did."""
    from . import driver
    from .models import Lease

    if not Lease.take(SWEEP_LEASE, worker_name(), settings.ERKWEB_SWEEP_SECONDS):
        return False
    driver.sweep()
    return True


def _forever(step: Callable[[], object], every: float) -> None:
    while True:
        try:
            close_old_connections()
            step()
        except Exception:  # a database that is away for a moment must not end the thread
            log.exception("%s failed; trying again", threading.current_thread().name)
        time.sleep(every)


def _beat_forever() -> None:
    _forever(beat, settings.ERKWEB_HEARTBEAT_SECONDS)


def _sweep_forever() -> None:
    _forever(try_sweep, settings.ERKWEB_SWEEP_SECONDS)


# --- who is alive --------------------------------------------------------------------------------------
def live_workers(workers: set[str]) -> set[str]:
    """Those of ``workers`` that are alive: a fresh heartbeat, and (on this host) a process that exists."""
    from .models import ClusterHeartbeat

    if not workers:
        return set()
    fresh = ClusterHeartbeat.fresh(settings.ERKWEB_WORKER_STALE).filter(worker__in=workers)
    alive = set(fresh.values_list("worker", flat=True))
    return {w for w in alive if not gone_from_this_host(w)}


def gone_from_this_host(worker: str) -> bool:
    """A worker of this host whose process is gone is dead now, without waiting for its heartbeat to
    go stale (a pid reused since is not taken for it: the heartbeat still has to be fresh)."""
    pid = pid_of(worker)
    if host_of(worker) != socket.gethostname() or pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def idle_worker_exists() -> bool:
    """Whether some live worker holds no batch (so a task waiting in the broker would have been taken)."""
    from .models import Batch, BatchStatus, ClusterHeartbeat

    busy = Batch.objects.filter(status=BatchStatus.RUNNING).values("worker")
    return ClusterHeartbeat.fresh(settings.ERKWEB_WORKER_STALE).exclude(worker__in=busy).exists()
