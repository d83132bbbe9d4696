"""The simulator's clock: one time line for the prompt cache's TTLs and the Message Batches' schedule
(processing, 24-hour expiry, 29-day result availability), which tests can move forward without waiting.

`now()` is monotonic seconds (so TTLs do not jump with the wall clock) plus whatever `advance` added,
in whole microseconds; `timestamp(t)` renders such a time as the RFC 3339 string the API uses
("2024-08-20T18:37:24.100435Z"). Whole microseconds, so that a batch created at t and ended at t + 0.9
shows exactly 900 ms between its created_at and ended_at.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class SimulatorClock:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._offset = 0.0
        # Monotonic time t is wall time t + _epoch: fixed once, so a timestamp never moves once given.
        self._epoch_us = round((time.time() - time.monotonic()) * 1_000_000)

    def now(self) -> float:
        with self._lock:
            return round((time.monotonic() + self._offset) * 1_000_000) / 1_000_000

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._offset += seconds

    def set(self, when: float) -> None:
        """Move the clock forward to `when` (a `now()` value); a time already passed changes nothing."""
        with self._lock:
            self._offset = max(self._offset, when - time.monotonic())

    def timestamp(self, when: float) -> str:
        moment = EPOCH + timedelta(microseconds=round(when * 1_000_000) + self._epoch_us)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
