"""What an operation plugs into the engine.

The engine knows runs, stages, batches, agents and files; it does not know what a doc is. An operation
knows its inputs and items, writes its prompts, checks its own output format (and parses the items out of
a file it accepts), and composes the report from the items and outputs the database holds. Every
executor (``local`` or a Claude model) writes the same file format and goes through the same
verification.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from runs.tools import Toolbox

if TYPE_CHECKING:
    from runs.models import Batch, Run

    from .presentation import Presentation


def final_message(output_path: str) -> str:
    """What every agent ends with (DESIGN: the pattern), whatever its operation."""
    return f"Output written to {output_path}"


class OutputRejected(Exception):
    """An output file that does not hold what it must; ``reason`` names the first problem."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class PlannedBatch:
    stage: int
    inputs: list[str]
    filename: str  # inside the run's scratch folder
    role: str = ""


@dataclass
class Plan:
    """What ``prepare`` decided before anything is created: it is all recorded in the run."""

    params: dict[str, Any]  # normalised params (absolute paths, ISO dates), JSON-safe
    items: list[str]  # the gathered item order
    batches: list[PlannedBatch]
    summary: dict[str, Any] = field(default_factory=dict)  # counts and notes shown with the run
    item_sizes: dict[str, int] = field(default_factory=dict)  # characters per item, for estimates
    # An input's text as its agent will read it (for the estimate to count its tokens), if known.
    item_text: Callable[[str], str] | None = None
    files: dict[str, str] = field(
        default_factory=dict
    )  # inputs prepared for the agents: {relative path: text}


@dataclass(frozen=True)
class ItemRow:
    """One item parsed from a verified output (its batch is the one verified)."""

    key: str
    score: int | None
    group: str
    data: dict[str, Any]


@dataclass(frozen=True)
class Checked:
    """An output file the operation's check accepted: the text to keep as the batch's output (repaired,
    or as written), a warning per repair, the items parsed from it, and its share of the report, if the
    operation prepares one (JSON, saved as ``Batch.report_part``): work done by each batch's own worker,
    in parallel, so that aggregation after the last batch only has to merge the shares."""

    text: str
    warnings: tuple[str, ...] = ()
    items: tuple[ItemRow, ...] = ()
    part: dict[str, Any] | None = None


class Operation:
    name: ClassVar[str]
    title: ClassVar[str]
    stages: ClassVar[int] = 1
    default_model: ClassVar[str] = "haiku"
    # True: the user's agent count decides the number of batches; False: the operation decides its own.
    takes_agent_count: ClassVar[bool] = True
    param_fields: ClassVar[tuple[str, ...]] = ()  # the params it takes, named as the form fields
    stage_names: ClassVar[dict[int, str]] = {}
    # Tools its agents have besides the shared ones (runs/tools.py), for the prompt hash and the estimate;
    # its ``toolbox`` answers them.
    extra_tool_schemas: ClassVar[tuple[dict[str, Any], ...]] = ()
    # What the pages, the command line, the comparison and the exports show of it (presentation.py).
    presentation: ClassVar["Presentation"]
    # The dotted path of the runs.simulator.players.Player that plays its agents offline ("" for none):
    # the simulator plays every registered operation, and knows none of them by name.
    simulator_player: ClassVar[str] = ""

    def prepare(self, params: dict[str, Any], *, agents: int, as_of: date) -> Plan:
        raise NotImplementedError

    def system_prompt(self, run: "Run | None", batch: "Batch | None") -> str:
        """Shared instructions; identical for every batch of a stage, so the prompt cache can serve it.
        The new-run preview asks with no run and no batch, for its estimate."""
        raise NotImplementedError

    def batch_message(self, run: "Run", batch: "Batch") -> str:
        raise NotImplementedError

    def toolbox(self, run: "Run", batch: "Batch", output: Path) -> Toolbox:
        """The agent's tools, confined to the roots this batch may read and check."""
        raise NotImplementedError

    def expected_final(self, batch: "Batch") -> str:
        from runs.scratch import output_file

        return final_message(str(output_file(batch)))

    def local_output(self, run: "Run", batch: "Batch") -> str:
        """The batch file's text as the deterministic ``local`` executor writes it."""
        raise NotImplementedError

    def check_output(self, run: "Run", batch: "Batch", text: str) -> Checked:
        """Raise OutputRejected unless ``text`` (non-empty UTF-8) holds what the batch must write; else
        the text to keep, the warnings of any drift repaired, and the items the file holds (saved as
        ``ItemResult`` rows with the output, by the batch's own worker)."""
        raise NotImplementedError

    def aggregate(self, run: "Run") -> str:
        """The run's report, composed from its items and its verified batches' outputs (the database)."""
        raise NotImplementedError

    def group_counts(self, run: "Run") -> dict[str, int]:
        """Items per group, for operations that show their groups as cards on the run page."""
        return {}

    def summary_json(self, run: "Run") -> dict[str, Any]:
        """Operation-specific fields of ``erk show --json``."""
        return {}
