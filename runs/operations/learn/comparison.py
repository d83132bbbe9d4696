"""Two learn runs side by side (specs/learn.md, "Comparing two learn runs").

Tripwire candidates are matched by their action, lower-cased with white space collapsed (the key
aggregation gave them); the comparison shows both lists, the matched pairs, the Jaccard overlap, and
each plan's documentation items by priority beside the two plans.
"""

from dataclasses import dataclass
from typing import Any

from runs.compare import Side
from runs.models import Run

PRIORITY_ORDER = ("HIGH", "MEDIUM", "LOW", "")
TRIPWIRE = "TRIPWIRE"


@dataclass
class LearnComparison:
    a: Side
    b: Side
    operation: str
    candidates_a: list[dict[str, Any]]
    candidates_b: list[dict[str, Any]]
    matched: list[tuple[dict[str, Any], dict[str, Any]]]
    only_a: list[dict[str, Any]]
    only_b: list[dict[str, Any]]
    jaccard: float | None  # |matched| / |union|; None when neither run has a candidate
    items_a: dict[str, list[str]]  # documentation items by priority ("" for none given)
    items_b: dict[str, list[str]]
    plan_a: str
    plan_b: str


def jaccard(keys_a: set[str], keys_b: set[str]) -> float | None:
    union = keys_a | keys_b
    return len(keys_a & keys_b) / len(union) if union else None


def _candidates(run: Run) -> dict[str, dict[str, Any]]:
    rows = run.items.filter(group=TRIPWIRE).order_by("position")
    return {row.key: row.data for row in rows}


def _plan_items(run: Run) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {p: [] for p in PRIORITY_ORDER}
    for row in run.items.exclude(group=TRIPWIRE).order_by("position"):
        grouped.setdefault(row.group, []).append(row.data.get("text", row.key))
    return grouped


def plan_of(run: Run) -> str:
    """The learn plan alone: the report is the plan followed by sections erkweb adds, the first of which
    is its tripwire candidates table."""
    return run.report.rsplit("\n## Tripwire Candidates\n", 1)[0]


def compare(run_a: Run, run_b: Run) -> LearnComparison:
    cands_a, cands_b = _candidates(run_a), _candidates(run_b)
    matched_keys = [key for key in cands_a if key in cands_b]
    return LearnComparison(
        a=Side.of(run_a, len(cands_a)),
        b=Side.of(run_b, len(cands_b)),
        operation=run_a.operation,
        candidates_a=list(cands_a.values()),
        candidates_b=list(cands_b.values()),
        matched=[(cands_a[key], cands_b[key]) for key in matched_keys],
        only_a=[c for key, c in cands_a.items() if key not in cands_b],
        only_b=[c for key, c in cands_b.items() if key not in cands_a],
        jaccard=jaccard(set(cands_a), set(cands_b)),
        items_a=_plan_items(run_a),
        items_b=_plan_items(run_b),
        plan_a=plan_of(run_a),
        plan_b=plan_of(run_b),
    )


def comparison_json(c: LearnComparison) -> dict[str, Any]:
    def side(s: Side) -> dict[str, Any]:
        return {
            "run_id": s.run.run_id,
            "model": s.run.model,
            "model_id": s.run.model_id,
            "status": s.run.status,
            "duration_seconds": s.duration_seconds,
            "tokens": s.tokens,
            "cost_usd": s.cost_usd,
            "simulator": s.run.used_simulator,
        }

    return {
        "operation": c.operation,
        "a": side(c.a),
        "b": side(c.b),
        "jaccard": c.jaccard,
        "matched": [{"a": a, "b": b} for a, b in c.matched],
        "only_a": c.only_a,
        "only_b": c.only_b,
        "documentation_items": {"a": c.items_a, "b": c.items_b},
    }


def comparison_text(c: LearnComparison) -> str:
    overlap = "n/a" if c.jaccard is None else f"{c.jaccard:.0%}"
    lines = [
        f"A  {c.a.run.run_id}  {c.a.run.model} ({c.a.run.model_id})  {c.a.run.status}",
        f"B  {c.b.run.run_id}  {c.b.run.model} ({c.b.run.model_id})  {c.b.run.status}",
        f"tripwire candidates: {len(c.candidates_a)} in A, {len(c.candidates_b)} in B, "
        f"{len(c.matched)} matched, Jaccard overlap {overlap}",
    ]
    for a, _b in c.matched:
        lines.append(f"  = {a['action']}")
    lines += [f"  A only: {x['action']}" for x in c.only_a]
    lines += [f"  B only: {x['action']}" for x in c.only_b]
    for priority in PRIORITY_ORDER:
        n_a, n_b = len(c.items_a.get(priority, [])), len(c.items_b.get(priority, []))
        if n_a or n_b:
            lines.append(f"documentation items {priority or 'no priority'}: {n_a} in A, {n_b} in B")
    return "\n".join(lines)
