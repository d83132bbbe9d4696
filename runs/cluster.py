"""Is a django-q2 worker cluster alive? Read from the stats it keeps in the shared (file) cache."""

import time

from django_q.status import Stat


def cluster_alive() -> bool:
    try:
        return bool(Stat.get_all())
    except Exception:  # a cache that cannot be read means we cannot tell: treat it as no cluster
        return False


def wait_for_cluster(timeout: float) -> bool:
    """True as soon as a cluster reports in; a cluster just started needs a moment to do so."""
    deadline = time.monotonic() + timeout
    while True:
        if cluster_alive():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.25)
