"""The engine's public face: what the pages, the command line and the tasks call.

- creating a run: ``prepare_run``, ``same_items_with``, ``launch``, ``create_run`` (runs/launch.py);
- one attempt at a batch: ``execute_batch`` (runs/attempt.py);
- moving runs on: ``advance``, ``sweep`` (runs/driver.py);
- a user's actions: ``cancel_run``, ``retry_failed`` (runs/actions.py).
"""

from .actions import cancel_run, retry_failed
from .attempt import execute_batch
from .driver import advance, sweep
from .launch import Prepared, create_run, launch, prepare_run, same_items_with

__all__ = [
    "Prepared",
    "advance",
    "cancel_run",
    "create_run",
    "execute_batch",
    "launch",
    "prepare_run",
    "retry_failed",
    "same_items_with",
    "sweep",
]
