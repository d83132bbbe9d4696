"""Fault injection, for the end-to-end tests that SIGKILL a cluster at a precise moment.

``ERKWEB_PAUSE_AT=<point>`` makes the first process that reaches ``pause_point(<point>)`` create
``<ERKWEB_DATA_DIR>/paused-at-<point>`` (holding its pid) and stop there for good, so that the test,
which waits for that file, kills it exactly there: inside the transaction that starts a stage
(``enqueue``), after an attempt recorded a turn (``turn``), between a batch's ``written`` and its
verification (``written``), while the run's lease is held for aggregation (``aggregate``). Unset, as it
always is outside those tests, a pause point costs one comparison.
"""

import os
import time

from django.conf import settings


def pause_point(name: str) -> None:
    if name != settings.ERKWEB_PAUSE_AT:
        return
    marker = settings.DATA_DIR / f"paused-at-{name}"
    try:
        fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        return  # another process paused here first; this one goes on
    with os.fdopen(fd, "w") as fh:
        fh.write(str(os.getpid()))
    while True:
        time.sleep(60)
