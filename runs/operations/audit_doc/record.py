"""An audit, as erkweb holds it, and the ``audit-<N>.md`` text it is written as (specs/audit-doc.md).

``format_audit`` is what ``local`` and the simulator's player write; auditfile.py reads the same
format back, strictly, so what erkweb writes is by construction what verification accepts (the tests
hold the two together).
"""

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .findings import Collateral, Finding, one_line
from .verdict import counts, needs_revision, percentages, verdict

HEADER_KEYS = ("doc", "verdict", "verified", "broken")
SECTIONS, FINDINGS, COLLATERAL, SUMMARY, REVISED = (
    "Sections",
    "Findings",
    "Collateral",
    "Summary",
    "Revised document",
)
TABLE_HEADER = ("section", "category", "note")
REVISED_OPEN = "~~~markdown"
REVISED_CLOSE = "~~~"


@dataclass(frozen=True)
class SectionRow:
    name: str
    category: str
    note: str = ""
    size: int = 0  # lines, from the doc (never from the file)

    def data(self) -> dict[str, Any]:
        return {"name": self.name, "category": self.category, "note": self.note, "size": self.size}


@dataclass(frozen=True)
class Audit:
    doc: str
    verdict: str
    verified: int
    broken: int
    sections: tuple[SectionRow, ...]
    findings: tuple[Finding, ...]
    collateral: tuple[Collateral, ...] = ()
    summary: str = ""
    revised: str | None = None
    percentages: tuple[int, int] = field(default=(0, 0))  # (bad, good)

    @property
    def bad(self) -> int:
        return self.percentages[0]

    @property
    def good(self) -> int:
        return self.percentages[1]

    def data(self) -> dict[str, Any]:
        """The audit as JSON-safe fields (the revised document only as whether there is one)."""
        return {
            "doc": self.doc,
            "verdict": self.verdict,
            "bad": self.bad,
            "good": self.good,
            "verified": self.verified,
            "broken": self.broken,
            "sections": [row.data() for row in self.sections],
            "findings": [finding.data() for finding in self.findings],
            "collateral": [item.data() for item in self.collateral],
            "summary": self.summary,
            "revised": self.revised is not None,
        }


def make_audit(
    doc: str,
    rows: Sequence[SectionRow],
    findings: Sequence[Finding],
    *,
    collateral: Sequence[Collateral] = (),
    summary: str,
    revised: str | None,
) -> Audit:
    """An audit whose verdict and counts are the rules' own; ``revised`` is kept only when the verdict
    takes a revised document (pass the revision whenever there is one)."""
    sized = [(row.category, row.size) for row in rows]
    statuses = [finding.status for finding in findings]
    name = verdict(sized, statuses)
    verified, broken = counts(statuses)
    return Audit(
        doc=doc,
        verdict=name,
        verified=verified,
        broken=broken,
        sections=tuple(rows),
        findings=tuple(findings),
        collateral=tuple(collateral),
        summary=summary,
        revised=revised if needs_revision(name) else None,
        percentages=percentages(sized),
    )


def _cell(text: str) -> str:
    return one_line(text).replace("|", "\\|")  # a section's name is already one line: it is kept


def format_audit(audit: Audit) -> str:
    if audit.doc != one_line(audit.doc) or not audit.doc:
        raise ValueError(f"doc must be one line: {audit.doc!r}")
    lines = [f"doc: {audit.doc}", f"verdict: {audit.verdict}"]
    lines += [f"verified: {audit.verified}", f"broken: {audit.broken}", "", f"## {SECTIONS}"]
    lines += ["| section | category | note |", "| --- | --- | --- |"]
    lines += [f"| {_cell(r.name)} | {r.category} | {_cell(r.note)} |" for r in audit.sections]
    lines += ["", f"## {FINDINGS}", *(finding.line() for finding in audit.findings)]
    if audit.collateral:
        lines += ["", f"## {COLLATERAL}", *(item.line() for item in audit.collateral)]
    # One line: a line of its own that started with "## " would read back as a heading.
    lines += ["", f"## {SUMMARY}", one_line(audit.summary) or "No summary."]
    if audit.revised is not None:
        lines += ["", f"## {REVISED}", REVISED_OPEN, *audit.revised.removesuffix("\n").split("\n")]
        lines.append(REVISED_CLOSE)
    return "\n".join(lines) + "\n"


def exists_in(repo_root: Path) -> Callable[[str], bool]:
    """``exists(rel)``: something exists at <repo root>/<rel> without leaving the repo root (through
    ``..``, an absolute path or a symlink). Never raises: a path from a file is hostile."""
    real_root = os.path.realpath(repo_root)
    prefix = real_root.rstrip(os.sep) + os.sep

    def exists(rel: str) -> bool:
        try:
            if not rel or os.path.isabs(rel):
                return False
            target = os.path.realpath(os.path.join(real_root, rel))
            return (target == real_root or target.startswith(prefix)) and os.path.exists(target)
        except (ValueError, OSError):  # NUL, a lone surrogate, a name too long
            return False

    return exists
