"""Audit priority of a doc from its signals (specs/audit-scan.md, Phase 4: the score table and tiers)."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from .docs import parse_audit_date

TIERS = ("HIGH", "MODERATE", "LOW", "SKIP")
STALE_AFTER = timedelta(days=30)


@dataclass(frozen=True)
class Scored:
    path: str
    score: int
    tier: str
    signals: dict[str, Any]
    reasons: tuple[str, ...]  # the Key Signals labels, in the score table's order


def is_stale_audit(last_audited: str, as_of: date) -> bool:
    """The `audit >30d` rule: an audit date older than 30 days, or a value that is not a date at all."""
    if last_audited == "none":
        return False
    audited = parse_audit_date(last_audited)
    return audited is None or audited < as_of - STALE_AFTER


def score(signals: dict[str, Any], as_of: date) -> tuple[int, list[str]]:
    """Points and the Key Signals labels of every rule that gave (or took) points, in table order."""
    points = 0
    labels: list[str] = []

    def rule(gives: int, label: str) -> None:
        nonlocal points
        points += gives
        labels.append(label)

    if signals["last_audited"] == "none":
        rule(3, "no audit")
    elif is_stale_audit(signals["last_audited"], as_of):
        rule(2, "audit >30d")
    if signals["lines"] > 200:
        rule(2, ">200 lines")
    elif signals["lines"] > 100:
        rule(1, ">100 lines")
    if signals["code_blocks"] >= 3:
        rule(2, f"{signals['code_blocks']} code blocks")
    if signals["file_path_refs"] >= 5:
        rule(2, f"{signals['file_path_refs']} path refs")
    broken = signals["broken_paths"]
    if broken > 0:
        rule(3, "broken path" if broken == 1 else f"{broken} broken paths")
    if signals["import_count"] > 0:
        rule(1, "imports")
    if signals["step_sequences"] > 0:
        rule(1, "steps")
    # claims / lines > 0.1 in whole numbers: exact where floats are not, and no division by zero.
    if signals["behavioral_claims"] * 10 > signals["lines"]:
        rule(2, "dense claims")
    if signals["line_number_refs"] > 0:
        rule(1, "line refs")
    if signals["has_redirect"]:
        rule(-2, "redirect")
    if signals["audit_result"] == "edited":
        rule(-1, "edited")
    return points, labels


def tier_for(score: int) -> str:
    if score >= 10:
        return "HIGH"
    if score >= 6:
        return "MODERATE"
    if score >= 3:
        return "LOW"
    return "SKIP"


def score_all(records: Iterable[dict[str, Any]], as_of: date) -> list[Scored]:
    """Every record scored, highest score first, then by path."""
    scored = []
    for record in records:
        points, labels = score(record, as_of)
        scored.append(
            Scored(
                path=record["path"],
                score=points,
                tier=tier_for(points),
                signals=dict(record),
                reasons=tuple(labels),
            )
        )
    return sorted(scored, key=lambda s: (-s.score, s.path))
