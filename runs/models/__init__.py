"""The engine's rows: runs, their batches, and what the batches leave behind.

Status changes only through the verb-named transitions on Run and Batch: conditional UPDATEs that return
whether they won (see run.py and batch.py for the rules, fencing among them).
"""

from .batch import Batch
from .cluster import ClusterHeartbeat, Lease
from .message_batch import MessageBatch
from .records import ItemResult, RunFile, TranscriptEntry
from .run import Run, new_run_id
from .search import RunSearchTerm
from .status import (
    BATCH_ENDED,
    BATCH_IN_FLIGHT,
    BATCH_OPEN,
    RUN_ACTIVE,
    RUN_FINISHED,
    BatchStatus,
    RunMode,
    RunStatus,
)

__all__ = [
    "BATCH_ENDED",
    "BATCH_IN_FLIGHT",
    "BATCH_OPEN",
    "RUN_ACTIVE",
    "RUN_FINISHED",
    "Batch",
    "BatchStatus",
    "ClusterHeartbeat",
    "ItemResult",
    "Lease",
    "MessageBatch",
    "Run",
    "RunFile",
    "RunMode",
    "RunSearchTerm",
    "RunStatus",
    "TranscriptEntry",
    "new_run_id",
]
