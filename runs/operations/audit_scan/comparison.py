"""Two audit-scan runs side by side: tier agreement, Cohen's kappa, Spearman on scores, each signal's
difference, and each signal's accuracy against ``local`` (the ground truth).

``compare`` loads the two runs' item results (one query per run: comparisons never re-read batch files)
and pairs the items by key. Items are compared only where both runs have them ("common" items); items
found in one run only are listed apart and take no part in any metric. Every metric is None when it has
nothing to measure (no common items, or a correlation that is undefined), never a made-up 0 or 1.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeGuard

from runs.agreement import agreement, cohens_kappa, confusion_matrix, mean_abs_diff, mismatch_share, spearman
from runs.compare import Side, side_json
from runs.models import ItemResult, Run

from .scoring import TIERS
from .signals import BOOL_KEYS, INT_KEYS, SIGNAL_KEYS, STR_KEYS

# The item's identity, not a measurement: it is equal on both sides by construction.
IDENTITY_SIGNALS = frozenset({"path"})


def tier_gap(tier_a: str, tier_b: str) -> int:
    """How many tiers apart two tiers are in TIERS order (HIGH to SKIP is 3).

    A tier outside TIERS (an operation without tiers stores ``""``) is 0 apart from itself and 1 apart
    from anything else: it differs, by an unknown distance.
    """
    if tier_a == tier_b:
        return 0
    if tier_a in TIERS and tier_b in TIERS:
        return abs(TIERS.index(tier_a) - TIERS.index(tier_b))
    return 1


def _is_number(value: object) -> TypeGuard[float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def signal_kind(name: str, values: Sequence[Any] = ()) -> str:
    """``"numeric"`` (a mean absolute difference means something) or ``"exact"`` (only equality does).

    audit-scan's whole-number signals are numeric; its strings and booleans (``last_audited``,
    ``audit_result``, ``has_redirect``) are exact. A signal of another operation is numeric when every
    value seen is a number.
    """
    if name in INT_KEYS:
        return "numeric"
    if name in STR_KEYS or name in BOOL_KEYS:
        return "exact"
    present = [v for v in values if v is not None]
    return "numeric" if present and all(_is_number(v) for v in present) else "exact"


def signal_names(signal_dicts: Sequence[dict[str, Any]]) -> list[str]:
    """The compared signals: every key seen, in SIGNAL_KEYS order, then any others by name; no 'path'."""
    seen = {key for signals in signal_dicts for key in signals} - IDENTITY_SIGNALS
    known = [key for key in SIGNAL_KEYS if key in seen]
    return known + sorted(seen - set(known))


@dataclass
class ItemRow:
    key: str
    score_a: int | None
    score_b: int | None
    tier_a: str
    tier_b: str
    signals_a: dict[str, Any]
    signals_b: dict[str, Any]
    differing: tuple[str, ...]  # signals whose values differ, in SIGNAL_KEYS order, never 'path'
    score_gap: int | None  # |score_a - score_b|; None when either score is missing
    tier_gap: int  # see tier_gap()

    @property
    def disagrees(self) -> bool:
        return self.tier_a != self.tier_b or self.score_a != self.score_b or bool(self.differing)

    @property
    def differing_values(self) -> list[tuple[str, object, object]]:
        """``(signal, value in a, value in b)`` for each differing signal, in ``differing`` order."""
        return [(name, self.signals_a.get(name), self.signals_b.get(name)) for name in self.differing]

    def sort_key(self) -> tuple[int, int, int, str]:
        """Biggest disagreement first: tier gap, then score gap, then how many signals differ, then key."""
        return (-self.tier_gap, -(self.score_gap or 0), -len(self.differing), self.key)


@dataclass
class Comparison:
    a: Side
    b: Side
    operation: str
    common: list[ItemRow]  # sorted by ItemRow.sort_key
    only_a: list[str]  # keys in run a only, in a's item order
    only_b: list[str]
    tier_agreement: float | None
    kappa: float | None
    spearman: float | None  # over the common items that have a score on both sides
    # {signal: {"kind": "numeric", "mad": x}} or {signal: {"kind": "exact", "mismatch": share}}
    signal_mad: dict[str, dict[str, Any]]
    ground_truth: str | None  # "a" or "b": the side run by the local executor, when exactly one is
    accuracy: dict[str, float] | None  # per signal, the other side vs the ground truth
    confusion: dict[str, dict[str, int]]  # {tier_a: {tier_b: count}} over the common items

    @property
    def disagreements(self) -> list[ItemRow]:
        return [row for row in self.common if row.disagrees]

    def side(self, name: str) -> Side:
        return self.a if name == "a" else self.b


def _load_items(run: Run) -> dict[str, tuple[int | None, str, dict[str, Any]]]:
    """``{key: (score, tier, signals)}`` in the run's item order, in one query: an audit-scan item's group
    is its tier and its data its signals."""
    rows = ItemResult.objects.filter(run=run).order_by("position", "key")
    return {
        key: (score, tier, signals)
        for key, score, tier, signals in rows.values_list("key", "score", "group", "data")
    }


def _item_row(key: str, item_a: tuple[Any, ...], item_b: tuple[Any, ...], names: list[str]) -> ItemRow:
    score_a, tier_a, signals_a = item_a
    score_b, tier_b, signals_b = item_b
    return ItemRow(
        key=key,
        score_a=score_a,
        score_b=score_b,
        tier_a=tier_a,
        tier_b=tier_b,
        signals_a=signals_a,
        signals_b=signals_b,
        differing=tuple(name for name in names if signals_a.get(name) != signals_b.get(name)),
        score_gap=abs(score_a - score_b) if score_a is not None and score_b is not None else None,
        tier_gap=tier_gap(tier_a, tier_b),
    )


def _signal_metrics(
    rows: list[ItemRow], names: list[str], all_signals: list[dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    metrics: dict[str, dict[str, Any]] = {}
    for name in names:
        values_a = [row.signals_a.get(name) for row in rows]
        values_b = [row.signals_b.get(name) for row in rows]
        if signal_kind(name, [s.get(name) for s in all_signals]) == "numeric":
            # A value that is not a number (a missing key) cannot be subtracted: that pair is left out.
            pairs = [
                (x, y) for x, y in zip(values_a, values_b, strict=True) if _is_number(x) and _is_number(y)
            ]
            mad = mean_abs_diff([x for x, _ in pairs], [y for _, y in pairs])
            metrics[name] = {"kind": "numeric", "mad": mad}
        else:
            metrics[name] = {"kind": "exact", "mismatch": mismatch_share(values_a, values_b)}
    return metrics


def _ground_truth(a: Side, b: Side) -> str | None:
    # Both local: both are exact, so any difference comes from their inputs; neither is singled out.
    if a.is_local and not b.is_local:
        return "a"
    if b.is_local and not a.is_local:
        return "b"
    return None


def _accuracy(rows: list[ItemRow], names: list[str], truth: str) -> dict[str, float]:
    def values(row: ItemRow, side: str) -> dict[str, Any]:
        return row.signals_a if side == "a" else row.signals_b

    other = "b" if truth == "a" else "a"
    return {
        name: sum(values(row, other).get(name) == values(row, truth).get(name) for row in rows) / len(rows)
        for name in names
    }


def compare(run_a: Run, run_b: Run) -> Comparison:
    """Two audit-scan runs (runs.compare checked that they can be compared).

    With no common items every metric is None. ``accuracy`` is None when there is no ground truth
    (neither side, or both sides, local) or no common item.
    """
    items_a = _load_items(run_a)
    items_b = items_a if run_b.pk == run_a.pk else _load_items(run_b)
    side_a, side_b = Side.of(run_a, len(items_a)), Side.of(run_b, len(items_b))

    all_signals = [signals for _, _, signals in [*items_a.values(), *items_b.values()]]
    names = signal_names(all_signals)
    common = sorted(
        (_item_row(key, items_a[key], items_b[key], names) for key in items_a if key in items_b),
        key=ItemRow.sort_key,
    )
    tiers_a = [row.tier_a for row in common]
    tiers_b = [row.tier_b for row in common]
    scored = [(a, b) for row in common if (a := row.score_a) is not None and (b := row.score_b) is not None]
    truth = _ground_truth(side_a, side_b)
    return Comparison(
        a=side_a,
        b=side_b,
        operation=run_a.operation,
        common=common,
        only_a=[key for key in items_a if key not in items_b],
        only_b=[key for key in items_b if key not in items_a],
        tier_agreement=agreement(tiers_a, tiers_b),
        kappa=cohens_kappa(tiers_a, tiers_b, TIERS),
        spearman=spearman([a for a, _ in scored], [b for _, b in scored]),
        signal_mad=_signal_metrics(common, names, all_signals),
        ground_truth=truth,
        accuracy=_accuracy(common, names, truth) if truth and common else None,
        confusion=confusion_matrix(tiers_a, tiers_b, TIERS),
    )


def _json_value(value: object) -> object:
    """Signal values are JSON already (they came out of a JSONField); anything else becomes a string."""
    return value if value is None or isinstance(value, bool | int | float | str) else str(value)


def comparison_json(c: Comparison) -> dict[str, Any]:
    """The comparison as one JSON-safe object (``erk compare --json``); items in disagreement order."""
    return {
        "a": side_json(c.a),
        "b": side_json(c.b),
        "operation": c.operation,
        "agreement": {
            "common": len(c.common),
            "disagreements": len(c.disagreements),
            "tier_agreement": c.tier_agreement,
            "kappa": c.kappa,
            "spearman": c.spearman,
            "signals": c.signal_mad,
        },
        "ground_truth": c.ground_truth,
        "accuracy": c.accuracy,
        "confusion": c.confusion,
        "items": [
            {
                "key": row.key,
                "score_a": row.score_a,
                "score_b": row.score_b,
                "tier_a": row.tier_a,
                "tier_b": row.tier_b,
                "score_gap": row.score_gap,
                "tier_gap": row.tier_gap,
                "differing": list(row.differing),
                "values": {
                    name: {
                        "a": _json_value(row.signals_a.get(name)),
                        "b": _json_value(row.signals_b.get(name)),
                    }
                    for name in row.differing
                },
            }
            for row in c.common
        ],
        "only_a": c.only_a,
        "only_b": c.only_b,
    }


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _number(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _side_line(name: str, side: Side, truth: str | None) -> str:
    run = side.run
    duration = "-" if side.duration_seconds is None else f"{side.duration_seconds:.1f} s"
    per_item = "-" if side.cost_per_item is None else f"${side.cost_per_item:.5f}"
    parts = [
        f"{name.upper()}  {run.run_id}  {run.model} ({run.model_id})  {run.status}",
        f"{duration}, {side.tokens} tokens, ${side.cost_usd:.4f}, {side.items} items, {per_item}/item",
    ]
    notes = [note for note, on in (("ground truth", truth == name), ("simulator", run.used_simulator)) if on]
    return "  ".join(parts) + (f"  [{', '.join(notes)}]" if notes else "")


def comparison_text(c: Comparison) -> str:
    """A few lines for a terminal (``erk compare A B``): the header, agreement, then the disagreements."""
    lines = [
        _side_line("a", c.a, c.ground_truth),
        _side_line("b", c.b, c.ground_truth),
        f"{c.operation}: {len(c.common)} items in both, {len(c.only_a)} only in A, {len(c.only_b)} only in B",
        f"same tier {_share(c.tier_agreement)}, kappa {_number(c.kappa)}, spearman {_number(c.spearman)}",
    ]
    if c.signal_mad:
        lines.append("signals:")
        width = max(len(name) for name in c.signal_mad)
        for name, metric in c.signal_mad.items():
            if metric["kind"] == "numeric":
                text = f"mean abs diff {_number(metric['mad'], 2)}"
            else:
                text = f"mismatch {_share(metric['mismatch'])}"
            if c.accuracy is not None:
                text += f", accuracy {_share(c.accuracy.get(name))}"
            lines.append(f"  {name:<{width}}  {text}")
    disagreements = c.disagreements
    lines.append(f"disagreements: {len(disagreements)}")
    for row in disagreements:
        changes = ", ".join(f"{name} {va} -> {vb}" for name, va, vb in row.differing_values)
        lines.append(
            f"  {row.key}  {row.score_a} {row.tier_a} -> {row.score_b} {row.tier_b}"
            + (f"  {changes}" if changes else "")
        )
    for label, keys in (("only in A", c.only_a), ("only in B", c.only_b)):
        if keys:
            lines.append(f"{label}: {', '.join(keys)}")
    return "\n".join(lines)
