"""Bounded retries for flaky external calls."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

DEFAULT_DELAYS = (0.5, 1.0, 2.0)


def with_retries(
    call: Callable[[], T],
    *,
    retry_on: tuple[type[BaseException], ...],
    delays: tuple[float, ...] = DEFAULT_DELAYS,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Call ``call``; on an exception in ``retry_on`` wait and try again.

    The last failure is re-raised unchanged once ``delays`` is exhausted.
    """
    for delay in delays:
        try:
            return call()
        except retry_on:
            sleep(delay)
    return call()
