"""The markdown report of a scan (specs/audit-scan.md, Phase 5)."""

import heapq
from collections.abc import Sequence
from datetime import date
from typing import Any

from runs.markdown import table_cell

from .scoring import Scored, is_stale_audit

TIER_HEADINGS = {
    "HIGH": "HIGH (score 10 or more)",
    "MODERATE": "MODERATE (score 6 to 9)",
    "LOW": "LOW (score 3 to 5)",
    "SKIP": "SKIP (score 2 or less)",
}

STAT_LABELS = (
    ("never_audited", "Never audited"),
    ("audited_over_30_days", "Last audited more than 30 days ago"),
    ("broken_path_docs", "Docs with a broken path"),
    ("redirect_docs", "Docs with `redirect_to`"),
    ("step_sequence_docs", "Docs with step sequences"),
    ("behavioral_claims_total", "Total behavioral claims"),
)


def stats(scored: Sequence[Scored], as_of: date) -> dict[str, Any]:
    """The Stats section's numbers, from the signals alone (stored rows carry no reasons).

    "More than 30 days ago" counts the docs that the `audit >30d` rule scores, so a `last_audited` that is
    not a date counts here as it does in the score.
    """
    signals = [s.signals for s in scored]
    return {
        "never_audited": sum(1 for s in signals if s["last_audited"] == "none"),
        "audited_over_30_days": sum(1 for s in signals if is_stale_audit(s["last_audited"], as_of)),
        "broken_path_docs": sum(1 for s in signals if s["broken_paths"] > 0),
        "redirect_docs": sum(1 for s in signals if s["has_redirect"]),
        "step_sequence_docs": sum(1 for s in signals if s["step_sequences"] > 0),
        "behavioral_claims_total": sum(s["behavioral_claims"] for s in signals),
    }


def _plural(count: int, noun: str, plural: str = "") -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {plural or noun + 's'}"


def _doc_line(item: Scored) -> str:
    """A doc's line in the report: a table row in its tier's table, a list item under SKIP."""
    if item.tier == "SKIP":
        return f"- {item.path}"
    signals = table_cell(", ".join(item.reasons)) or "-"
    return f"| {table_cell(item.path)} | {item.score} | {item.signals['lines']} | {signals} |"


def report_part(scored: Sequence[Scored], as_of: date) -> dict[str, Any]:
    """One batch's share of the report, made by its own worker when the batch is verified: its docs'
    lines in report order (score descending, then path), each with its score, path and tier, and its
    Stats (every one a count or a sum, so the run's are the sums of its batches')."""
    ordered = sorted(scored, key=lambda s: (-s.score, s.path))
    return {"docs": [[s.score, s.path, s.tier, _doc_line(s)] for s in ordered], "stats": stats(scored, as_of)}


def render_report_from_parts(parts: Sequence[dict[str, Any]], **header: Any) -> str:
    """The report of the batches whose ``report_part`` these are: their lines merged in report order
    (each part is sorted already), their Stats summed. The same text as ``render_report`` of all their
    docs, in time that hardly grows with the docs (no row is loaded, scored or rendered again)."""
    merged = heapq.merge(*(p["docs"] for p in parts), key=lambda doc: (-doc[0], doc[1]))
    by_tier: dict[str, list[str]] = {tier: [] for tier in TIER_HEADINGS}
    for _score, _path, tier, line in merged:
        by_tier[tier].append(line)
    numbers = {key: sum(p["stats"][key] for p in parts) for key, _label in STAT_LABELS}
    return _compose(by_tier, numbers, **header)


def render_report(
    scored: Sequence[Scored],
    *,
    scanned: int,
    skipped: int,
    excluded: int,
    as_of: date,
    notes: Sequence[str] = (),
    failed_batches: Sequence[str] = (),
) -> str:
    by_tier: dict[str, list[str]] = {tier: [] for tier in TIER_HEADINGS}
    for item in scored:
        by_tier[item.tier].append(_doc_line(item))
    return _compose(
        by_tier,
        stats(scored, as_of),
        scanned=scanned,
        skipped=skipped,
        excluded=excluded,
        as_of=as_of,
        notes=notes,
        failed_batches=failed_batches,
    )


def _compose(
    by_tier: dict[str, list[str]],
    numbers: dict[str, Any],
    *,
    scanned: int,
    skipped: int,
    excluded: int,
    as_of: date,
    notes: Sequence[str] = (),
    failed_batches: Sequence[str] = (),
) -> str:
    out = ["# Doc Audit Scan Results", ""]
    out.append(
        f"As of {as_of.isoformat()}: {_plural(scanned, 'doc')} scanned, "
        f"{skipped} skipped as auto-generated, {excluded} excluded as audited within 7 days."
    )
    out.append("")
    if failed_batches:
        # A partial run must never read as a complete one.
        out += [
            f"**Incomplete:** {_plural(len(failed_batches), 'batch', 'batches')} failed; "
            "their docs are not in this report.",
            "",
        ]
        out += [f"- {table_cell(reason)}" for reason in failed_batches]
        out.append("")

    for tier in ("HIGH", "MODERATE", "LOW"):
        out += [f"## {TIER_HEADINGS[tier]}", ""]
        if not by_tier[tier]:
            out += ["_None._", ""]
            continue
        out += ["| Doc | Score | Lines | Key Signals |", "| --- | ---: | ---: | --- |"]
        out += by_tier[tier]
        out.append("")

    skip = by_tier["SKIP"]
    out += [f"## {TIER_HEADINGS['SKIP']}", "", f"{_plural(len(skip), 'doc')}.", ""]
    if skip:
        out += skip
        out.append("")

    out += ["## Stats", ""]
    out += [f"- {label}: {numbers[key]}" for key, label in STAT_LABELS]
    out.append("")

    if notes:
        out += ["## Notes", ""]
        out += [f"- {note}" for note in notes]
        out.append("")
    return "\n".join(out)
