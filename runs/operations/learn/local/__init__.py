"""The ``local`` executor of learn: a heuristic analyser that fills every agent file without an LLM.

Unlike audit-scan's local executor this is no ground truth: finding what deserves documentation takes
judgement, and simple rules only approximate it. It is useful offline, as a baseline for comparisons, and
as the simulator's answer; every markdown file it writes says so in a line at the top (NOTE).

``analyse(kind, title=..., hints=..., inputs=..., search=...)`` returns the whole file text for one agent.
``inputs`` maps each input path of the batch (relative to the run folder, as the batch message lists them)
to its text; ``search(query)`` answers like the ``search_docs`` tool. The same arguments give the same
bytes: inputs are visited in sorted path order and every list is sorted or kept in input order.

One module per agent (session, diff, docs, comments, gaps, plan, tripwires), each with its rules; text.py
and items.py hold what several of them share.
"""

from collections.abc import Callable, Mapping, Sequence

from ..agents import COMMENTS, DIFF, DOCS, GAPS, PLAN, SESSION, TRIPWIRES
from .comments import analyse_comments
from .diff import analyse_diff
from .docs import analyse_docs
from .gaps import analyse_gaps
from .plan import analyse_plan
from .session import analyse_session
from .text import NOTE
from .tripwires import analyse_tripwires

__all__ = ["NOTE", "analyse"]


def analyse(
    kind: str,
    *,
    title: str,
    hints: Sequence[str],
    inputs: Mapping[str, str],
    search: Callable[[str], str],
) -> str:
    """The whole output file of one learn agent of ``kind``, from its inputs (module docstring)."""
    title = title.strip()
    if kind == SESSION:
        return analyse_session(title, inputs)
    if kind == DIFF:
        return analyse_diff(title, inputs)
    if kind == DOCS:
        return analyse_docs(title, hints, search)
    if kind == COMMENTS:
        return analyse_comments(title, inputs)
    if kind == GAPS:
        return analyse_gaps(title, inputs)
    if kind == PLAN:
        return analyse_plan(title, inputs)
    if kind == TRIPWIRES:
        return analyse_tripwires(inputs)
    raise ValueError(f"unknown learn agent kind: {kind}")
