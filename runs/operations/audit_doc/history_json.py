"""The two histories as JSON and as text: what ``erk history --docs-root DIR [--doc PATH] [--json]``
prints, from the same history.py the pages read."""

from typing import Any

from .history import Changes, DocHistory, Moved, RootHistory


def _moved(moved: list[Moved]) -> list[dict[str, str]]:
    return [{"doc": m.doc, "from": m.tier_before, "to": m.tier_after} for m in moved]


def _changes(c: Changes | None) -> dict[str, Any] | None:
    if c is None:
        return None
    return {
        "scan": c.scan,
        "previous": c.previous,
        "new": c.new,
        "removed": c.removed,
        "audited": c.audited,
        "back": c.back,
        "up": _moved(c.up),
        "down": _moved(c.down),
    }


def root_json(h: RootHistory) -> dict[str, Any]:
    return {
        "docs_root": h.root,
        "scans_total": h.total,
        "scans": [
            {"run_id": s.run_id, "created_at": s.created_at.isoformat(), "tiers": s.tiers} for s in h.scans
        ],
        "since_previous": _changes(h.latest),
    }


def doc_json(h: DocHistory) -> dict[str, Any]:
    return {
        "docs_root": h.root,
        "doc": h.doc,
        "scans": [
            {
                "run_id": s.run_id,
                "created_at": s.created_at.isoformat(),
                "score": s.score,
                "tier": s.tier,
                "category": s.category or None,
                "changed": [{"signal": k, "before": a, "after": b} for k, a, b in s.changed],
            }
            for s in h.scans
        ],
        "audits": [
            {
                "run_id": a.run_id,
                "created_at": a.created_at.isoformat(),
                "model": a.model,
                "heuristic": a.heuristic,
                "verdict": a.verdict,
                "bad": a.bad,
                "good": a.good,
                "broken": a.broken,
                "revision_proposed": a.revised,
            }
            for a in h.audits
        ],
        "edits": [
            {
                "run_id": e.run_id,
                "applied_at": e.applied_at.isoformat(),
                "result": e.result,
                "last_audited": e.last_audited,
                "verdict": e.verdict,
                "reverted_at": e.reverted_at.isoformat() if e.reverted_at else None,
                "lines_added": e.diff.added,
                "lines_removed": e.diff.removed,
            }
            for e in h.edits
        ],
    }


def root_text(h: RootHistory) -> str:
    lines = [f"{h.root}: {h.total} scan{'s' if h.total != 1 else ''}"]
    for s in h.scans:
        tiers = ", ".join(f"{tier} {n}" for tier, n in s.tiers.items())
        lines.append(f"{s.run_id}  {s.created_at:%Y-%m-%d %H:%M}  {tiers}")
    c = h.latest
    if c is not None and c.previous:
        counts = (
            f"{len(c.new)} new, {len(c.removed)} removed, {len(c.audited)} left out as audited, "
            f"{len(c.back)} back after an audit, {len(c.up)} up, {len(c.down)} down"
        )
        lines.append(f"since {c.previous}: {counts}")
        lines += [f"  up    {m.doc}: {m.tier_before} -> {m.tier_after}" for m in c.up]
        lines += [f"  down  {m.doc}: {m.tier_before} -> {m.tier_after}" for m in c.down]
        lines += [f"  new   {doc}" for doc in c.new] + [f"  gone  {doc}" for doc in c.removed]
        lines += [f"  audited  {doc}" for doc in c.audited] + [f"  back  {doc}" for doc in c.back]
    return "\n".join(lines)


def doc_text(h: DocHistory) -> str:
    lines = [f"{h.doc} in {h.root}"]
    for s in h.scans:
        changed = "; ".join(f"{k} {a} -> {b}" for k, a, b in s.changed)
        lines.append(f"scan   {s.run_id}  score {s.score} {s.tier}" + (f"  ({changed})" if changed else ""))
    for a in h.audits:
        who = "local heuristic" if a.heuristic else a.model
        lines.append(f"audit  {a.run_id}  {a.verdict} (bad {a.bad}%, good {a.good}%) by {who}")
    for e in h.edits:
        reverted = f", reverted {e.reverted_at:%Y-%m-%d %H:%M}" if e.reverted_at else ""
        lines.append(
            f"edit   {e.run_id}  {e.last_audited} {e.result} +{e.diff.added} -{e.diff.removed}{reverted}"
        )
    return "\n".join(lines)
