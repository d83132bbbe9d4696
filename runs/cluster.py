"""Is a worker cluster running, on any host? The workers' heartbeat rows say (runs/workers.py), so
``erk run --wait``, ``up`` and the run page see the clusters of every host that shares the database."""

import time

from django.conf import settings

from .models import ClusterHeartbeat


def cluster_alive() -> bool:
    """Some worker said it was alive within ``ERKWEB_WORKER_STALE`` seconds (by the database clock)."""
    return ClusterHeartbeat.fresh(settings.ERKWEB_WORKER_STALE).exists()


def wait_for_cluster(timeout: float) -> bool:
    """True as soon as a cluster reports in; a cluster just started needs a moment to do so."""
    deadline = time.monotonic() + timeout
    while True:
        if cluster_alive():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.25)
