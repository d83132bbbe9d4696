"""Following docs over time: a doc's history and a docs root's, from the runs the database holds; what
``/docs/history/``, ``/docs/`` and ``erk history`` show (one module for the pages and the command line).

A docs root's scans are the succeeded audit-scan runs whose ``docs_root`` param is that root; a doc's
scans are those whose items hold it. Every query is bounded and reads only the columns it shows (values),
whatever the number of runs: a doc's history is three queries (its scan items, its audits, its edits),
a root's two plus one per compared scan, and the charts take the last CHART_SCANS scans. A scan of a
category (a sub-folder) covers part of the root, so it takes part in a doc's history but not in the
root's tier counts, where it would read as docs that disappeared.
"""

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from django.db.models import Q, QuerySet
from django.urls import reverse

from runs.models import ItemResult, Run, RunStatus
from runs.operations.audit_scan.scoring import TIERS

from .diff import Diff, MatchBudget, diff
from .models import AppliedEdit

SCAN, AUDIT = "audit-scan", "audit-doc"
CHART_SCANS = 100
LOCAL = "local"


def root_key(raw: str) -> str:
    """A docs root as runs record it (resolved, absolute); the text as given when it cannot be."""
    try:
        return str(Path(raw).expanduser().resolve())
    except (OSError, RuntimeError, ValueError):
        return raw


def doc_url(root: str, doc: str) -> str:
    return reverse("runs:doc-history") + "?" + urlencode({"root": root, "doc": doc})


def root_url(root: str) -> str:
    return reverse("runs:docs-root") + "?" + urlencode({"root": root})


# A scan made without a category has it null (or missing, or empty).
WHOLE_ROOT = Q(params__category=None) | Q(params__category__isnull=True) | Q(params__category="")


def _scans(root: str, *, whole: bool = False) -> "QuerySet[Run]":
    scans = Run.objects.filter(operation=SCAN, status=RunStatus.SUCCEEDED, params__docs_root=root)
    return scans.filter(WHOLE_ROOT) if whole else scans


# --- a doc ----------------------------------------------------------------------------------------------
@dataclass
class ScanPoint:
    run_id: str
    created_at: datetime
    score: int | None
    tier: str
    category: str
    changed: list[tuple[str, Any, Any]] = field(default_factory=list)  # (signal, before, after)


@dataclass
class AuditPoint:
    run_id: str
    created_at: datetime
    model: str
    verdict: str
    bad: int
    good: int
    broken: int
    revised: bool

    @property
    def heuristic(self) -> bool:
        return self.model == LOCAL


@dataclass
class EditPoint:
    run_id: str
    applied_at: datetime
    result: str
    last_audited: str
    verdict: str
    reverted_at: datetime | None
    diff: Diff


@dataclass
class DocHistory:
    root: str
    doc: str
    scans: list[ScanPoint]
    audits: list[AuditPoint]
    edits: list[EditPoint]


def _changed(before: dict[str, Any], after: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    keys = [k for k in after if k != "path"] + [k for k in before if k not in after and k != "path"]
    return [(k, before.get(k), after.get(k)) for k in keys if before.get(k) != after.get(k)]


def doc_history(root: str, doc: str) -> DocHistory:
    scan_rows = (
        ItemResult.objects.filter(
            key=doc, run__operation=SCAN, run__status=RunStatus.SUCCEEDED, run__params__docs_root=root
        )
        .order_by("run__created_at", "run_id")
        .values_list("run__run_id", "run__created_at", "score", "group", "data", "run__params__category")
    )
    scans: list[ScanPoint] = []
    previous: dict[str, Any] | None = None
    for run_id, created, score, tier, signals, category in scan_rows:
        point = ScanPoint(run_id, created, score, tier, category or "")
        if previous is not None:
            point.changed = _changed(previous, signals)
        scans.append(point)
        previous = signals
    audit_rows = (
        ItemResult.objects.filter(key=doc, run__operation=AUDIT, run__params__docs_root=root)
        .order_by("run__created_at", "run_id")
        .values_list("run__run_id", "run__created_at", "run__model_id", "group", "data")
    )
    audits = [
        AuditPoint(run_id, created, model, verdict, d["bad"], d["good"], d["broken"], d["revised"])
        for run_id, created, model, verdict, d in audit_rows
    ]
    edit_rows = (
        AppliedEdit.objects.filter(docs_root=root, doc=doc)
        .order_by("applied_at", "id")
        .values_list(
            "run__run_id",
            "applied_at",
            "result",
            "last_audited",
            "verdict",
            "reverted_at",
            "original",
            "written",
        )
    )
    budget = MatchBudget()  # one for all the doc's edits: each may be a hostile revision
    edits = [
        EditPoint(
            run_id, applied, result, stamp, verdict, reverted, diff(_text(original), _text(written), budget)
        )
        for run_id, applied, result, stamp, verdict, reverted, original, written in edit_rows
    ]
    return DocHistory(root, doc, scans, audits, edits)


def _text(data: bytes | memoryview) -> str:
    return bytes(data).decode("utf-8", errors="replace")


# --- a scan against the one before it -------------------------------------------------------------------
@dataclass
class Moved:
    doc: str
    tier_before: str
    tier_after: str
    score_before: int | None
    score_after: int | None

    @property
    def up(self) -> bool:
        """Moved toward HIGH: it needs an audit more than it did."""
        return _rank(self.tier_after) < _rank(self.tier_before)


def _rank(tier: str) -> int:
    return TIERS.index(tier) if tier in TIERS else len(TIERS)


@dataclass
class Changes:
    scan: str
    previous: str | None  # None: the first scan of its root
    new: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    # A doc audited within 7 days is excluded from a scan (audit-scan's rule): not removed, and not new
    # when a later scan holds it again.
    audited: list[str] = field(default_factory=list)  # scanned before, excluded as audited now
    back: list[str] = field(default_factory=list)  # excluded as audited before, scanned again now
    up: list[Moved] = field(default_factory=list)
    down: list[Moved] = field(default_factory=list)


def _items(run_pk: int) -> dict[str, tuple[int | None, str]]:
    return {
        key: (score, tier)
        for key, score, tier in ItemResult.objects.filter(run_id=run_pk).values_list("key", "score", "group")
    }


def _excluded(run_pk: int) -> set[str]:
    """The docs a scan left out as audited within 7 days (audit-scan records them in its summary)."""
    paths = Run.objects.filter(pk=run_pk).values_list("summary__excluded_paths", flat=True).first()
    return {path for path in paths or () if isinstance(path, str)}


def previous_scan(scan: Run) -> Run | None:
    """The scan of the same docs root (and category) made just before ``scan``."""
    category = scan.params.get("category") or None
    earlier = _scans(scan.params["docs_root"]).filter(created_at__lt=scan.created_at).exclude(pk=scan.pk)
    earlier = earlier.filter(params__category=category) if category else earlier.filter(WHOLE_ROOT)
    return earlier.order_by("-created_at", "-id").only("pk", "run_id").first()


def since_previous(scan: Run) -> Changes:
    before_run = previous_scan(scan)
    if before_run is None:
        return Changes(scan.run_id, None)
    return compare_scans(scan, before_run)


def compare_scans(scan: Run, before_run: Run) -> Changes:
    now, before = _items(scan.pk), _items(before_run.pk)
    changes = Changes(scan.run_id, before_run.run_id)
    excluded_now, excluded_before = _excluded(scan.pk), _excluded(before_run.pk)
    changes.new = [doc for doc in now if doc not in before and doc not in excluded_before]
    changes.back = [doc for doc in now if doc not in before and doc in excluded_before]
    changes.removed = [doc for doc in before if doc not in now and doc not in excluded_now]
    changes.audited = [doc for doc in before if doc not in now and doc in excluded_now]
    for doc, (score, tier) in now.items():
        if doc in before and before[doc][1] != tier:
            moved = Moved(doc, before[doc][1], tier, before[doc][0], score)
            (changes.up if moved.up else changes.down).append(moved)
    return changes


# --- a docs root ----------------------------------------------------------------------------------------
@dataclass
class RootScan:
    run_id: str
    created_at: datetime
    tiers: dict[str, int]


@dataclass
class RootHistory:
    root: str
    scans: list[RootScan]  # oldest first, the last CHART_SCANS whole-root scans
    total: int  # every whole-root scan
    latest: Changes | None


def root_history(root: str) -> RootHistory:
    scans = _scans(root, whole=True)
    recent = list(
        scans.order_by("-created_at", "-id").only("pk", "run_id", "created_at", "group_counts", "params")[
            :CHART_SCANS
        ]
    )
    recent.reverse()
    points = [
        RootScan(r.run_id, r.created_at, {t: int((r.group_counts or {}).get(t, 0)) for t in TIERS})
        for r in recent
    ]
    latest = compare_scans(recent[-1], recent[-2]) if len(recent) >= 2 else None
    if len(recent) == 1:
        latest = Changes(recent[0].run_id, None)
    return RootHistory(root, points, scans.count(), latest)


def known_roots() -> list[str]:
    """Every docs root a scan was made of, for the docs page's picker (one query, distinct values)."""
    roots = Run.objects.filter(operation=SCAN, status=RunStatus.SUCCEEDED).values_list(
        "params__docs_root", flat=True
    )
    return sorted({root for root in roots.distinct() if isinstance(root, str)})


def linked(changes: Changes, root: str) -> dict[str, Any]:
    """``changes`` with each doc's history link, as the templates show them."""
    return {
        "previous": changes.previous,
        "new": [(doc, doc_url(root, doc)) for doc in changes.new],
        "removed": [(doc, doc_url(root, doc)) for doc in changes.removed],
        "audited": [(doc, doc_url(root, doc)) for doc in changes.audited],
        "back": [(doc, doc_url(root, doc)) for doc in changes.back],
        "up": [(m, doc_url(root, m.doc)) for m in changes.up],
        "down": [(m, doc_url(root, m.doc)) for m in changes.down],
    }
