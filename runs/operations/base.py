"""What an operation plugs into the engine.

The engine knows runs, stages, batches, agents and files; it does not know what a doc is. An operation
knows its inputs and items, writes its prompts, checks its own output format and aggregates verified
files into a report. Every executor (``local`` or a Claude model) writes the same file format and goes
through the same verification.
"""

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from runs.models import Batch, Run


class VerificationError(Exception):
    """A batch file that does not hold what it must; ``reason`` names the first problem."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class PlannedBatch:
    stage: int
    items: list[str]
    filename: str  # inside the run's scratch folder
    label: str = ""


@dataclass
class Plan:
    """What ``prepare`` decided before anything is created: it is all recorded in the run."""

    inputs: dict  # normalised inputs (absolute paths, ISO dates), JSON-safe
    items: list[str]  # the gathered item order
    batches: list[PlannedBatch]
    summary: dict = field(default_factory=dict)  # counts and notes shown with the run
    item_sizes: dict[str, int] = field(default_factory=dict)  # characters per item, for estimates


@dataclass(frozen=True)
class ItemRow:
    key: str
    batch_index: int
    score: int | None
    tier: str
    signals: dict


@dataclass
class Aggregate:
    report: str
    items: list[ItemRow]


class Operation:
    name: ClassVar[str]
    title: ClassVar[str]
    stages: ClassVar[int] = 1

    def prepare(self, inputs: dict, *, agents: int, as_of: date) -> Plan:
        raise NotImplementedError

    def system_prompt(self, run: "Run", batch: "Batch") -> str:
        """Shared instructions; identical for every batch of a stage, so the prompt cache can serve it."""
        raise NotImplementedError

    def batch_message(self, run: "Run", batch: "Batch") -> str:
        raise NotImplementedError

    def roots(self, run: "Run", batch: "Batch") -> tuple[Path, Path]:
        """(read root, repo root) that the agent's read_file and path_exists are confined to."""
        raise NotImplementedError

    def local_output(self, run: "Run", batch: "Batch") -> str:
        """The batch file's text as the deterministic ``local`` executor writes it."""
        raise NotImplementedError

    def verify(self, run: "Run", batch: "Batch", text: str) -> None:
        """Raise VerificationError unless ``text`` (non-empty) covers exactly the batch's items."""
        raise NotImplementedError

    def aggregate(self, run: "Run", texts: dict[int, str]) -> Aggregate:
        """Build the report from every verified batch file (``{batch index: text}``)."""
        raise NotImplementedError

    def summary_json(self, run: "Run") -> dict:
        """Operation-specific fields of ``erk show --json``."""
        return {}
