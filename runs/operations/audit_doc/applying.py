"""Applying a run's audits to their docs, and reverting one: the one module the run page's buttons and
``erk apply`` / ``erk revert`` both call (specs/audit-doc.md, "Applying").

apply.py does the writing (confined to the docs root, never over a doc that changed since its audit);
this module picks what to write from the database (the verified audit file, the hash the run recorded)
and keeps what was written as an AppliedEdit row, which a revert gives back. The row is made (pending)
before the doc is written and finalised after, so there is never a stamped doc without its record. Bad
requests (not an audit-doc run, a doc it did not audit) are InputError before anything is read; a doc
that cannot be written is an Outcome that says why, and nothing was written for it.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from django.db import IntegrityError, transaction
from django.utils import timezone

from runs.errors import InputError
from runs.models import Batch, Run

from .apply import Applied, ApplyError, Conflict, apply_audit, revert_doc, snapshot
from .auditfile import revised_document
from .models import AppliedEdit
from .printable import printable as shown

OPERATION = "audit-doc"
APPLIED, ALREADY, CONFLICT, REFUSED, REVERTED = (
    "applied",
    "already applied",
    "conflict",
    "refused",
    "reverted",
)
DONE = frozenset({APPLIED, ALREADY, REVERTED})
# Applying writes one file in well under a second; a pending row this old is a crash's, not an apply's.
PENDING_GRACE = timedelta(minutes=5)


@dataclass(frozen=True)
class Outcome:
    doc: str
    status: str  # one of the names above
    message: str
    result: str = ""  # the stamp's audit_result, when applied: edited or clean

    @property
    def done(self) -> bool:
        return self.status in DONE

    def data(self) -> dict[str, str]:
        return {"doc": self.doc, "status": self.status, "message": self.message, "result": self.result}


def audit_run(run_id: str) -> Run:
    run = Run.objects.filter(run_id=run_id).first()
    if run is None:
        raise InputError(f"no run {shown(run_id)!r}")
    if run.operation != OPERATION:
        raise InputError(f"{run.run_id} is an {run.operation} run: only an {OPERATION} run's audits apply")
    return run


def audited(run: Run) -> dict[str, tuple[str, int]]:
    """{doc: (verdict, its batch's primary key)} for every doc whose audit was verified, in run order."""
    rows = run.items.order_by("position").values_list("key", "group", "batch_id")
    return {doc: (verdict, batch) for doc, verdict, batch in rows}


def nothing_applied(run: Run) -> str:
    """What erk apply and the page say when a run has no verified audit to apply."""
    return f"nothing applied: {run.run_id} has no verified audit (retry its failed batches first)"


def live_edits(run: Run) -> dict[str, AppliedEdit]:
    edits = AppliedEdit.objects.filter(run=run, reverted_at__isnull=True).defer("original", "written")
    return {edit.doc: edit for edit in edits}


def _wanted(run: Run, docs: list[str] | None, verified: dict[str, tuple[str, int]]) -> list[str]:
    if not docs:
        return list(verified)
    asked = list(dict.fromkeys(docs))
    for doc in asked:
        if doc not in run.params.get("doc", []):
            raise InputError(f"{shown(doc)} is not a doc {run.run_id} audited")
        if doc not in verified:
            raise InputError(f"{shown(doc)} has no verified audit in {run.run_id}: retry its batch first")
    return asked


class _Taken(Exception):
    """Another apply holds this doc's live edit: nothing is written."""


class _Claim:
    """The doc's AppliedEdit, made pending before the write (apply_audit's before_write) in a transaction
    that locks the run, so two applies of one run take turns and the second finds the first's row."""

    def __init__(self, run: Run, doc: str, verdict: str):
        self.run, self.doc, self.verdict = run, doc, verdict
        self.edit: AppliedEdit | None = None

    def __call__(self, done: Applied) -> None:
        try:
            with transaction.atomic():
                Run.objects.select_for_update().filter(pk=self.run.pk).exists()
                if AppliedEdit.objects.filter(run=self.run, doc=self.doc, reverted_at__isnull=True).exists():
                    raise _Taken
                self.edit = AppliedEdit.objects.create(
                    run=self.run,
                    doc=self.doc,
                    docs_root=self.run.params["docs_root"],
                    result=done.result,
                    last_audited=done.last_audited,
                    verdict=self.verdict,
                    original=done.original,
                    written=done.written,
                    written_sha256=done.written_sha256,
                    pending=True,
                )
        except IntegrityError:  # the partial unique constraint, where the lock is not enforced
            raise _Taken from None

    def drop(self) -> None:
        if self.edit is not None:
            AppliedEdit.objects.filter(pk=self.edit.pk, pending=True).delete()

    def finalise(self) -> None:
        if self.edit is not None:
            AppliedEdit.objects.filter(pk=self.edit.pk).update(pending=False)


def settle_pending(run: Run, *, now: datetime | None = None) -> None:
    """Resolve the pending rows a crash left between making the row and finalising it: finalised when the
    doc holds what the row says was written, dropped when it does not and the row is older than
    PENDING_GRACE (a younger one may be an apply still writing)."""
    now = now or timezone.now()
    docs_root = Path(run.params["docs_root"])
    for edit in AppliedEdit.objects.filter(run=run, pending=True).defer("original", "written"):
        try:
            on_disk = snapshot(docs_root, edit.doc).sha256
        except ApplyError:
            on_disk = ""
        if on_disk == edit.written_sha256:
            AppliedEdit.objects.filter(pk=edit.pk).update(pending=False)
        elif edit.applied_at < now - PENDING_GRACE:
            AppliedEdit.objects.filter(pk=edit.pk, pending=True).delete()


def _already(edit: AppliedEdit) -> str:
    if edit.pending:
        return f"{edit.doc} is being applied by another request (since {edit.applied_at:%H:%M:%S})"
    return f"{edit.doc} was applied at {edit.last_audited}"


def apply_run(run: Run, docs: list[str] | None = None, *, now: datetime | None = None) -> list[Outcome]:
    """Apply the audits of ``docs`` (every verified one when None or empty); an Outcome per doc."""
    verified = audited(run)
    wanted = _wanted(run, docs, verified)
    now = now or timezone.now()
    settle_pending(run)
    live = live_edits(run)
    docs_root = Path(run.params["docs_root"])
    outputs = dict(
        Batch.objects.filter(pk__in=[verified[doc][1] for doc in wanted]).values_list("pk", "output")
    )
    outcomes = []
    for doc in wanted:
        if doc in live:
            outcomes.append(Outcome(doc, ALREADY, _already(live[doc])))
            continue
        verdict, batch = verified[doc]
        if doc in run.summary.get("truncated", []):
            outcomes.append(Outcome(doc, REFUSED, f"{doc} is over 1 MiB: its audit read only its first MiB"))
            continue
        claim = _Claim(run, doc, verdict)
        try:
            done = apply_audit(
                docs_root,
                doc,
                recorded_sha256=run.params["doc_sha256"][doc],
                revised=revised_document(outputs[batch]),
                now=now,
                before_write=claim,
            )
        except _Taken:
            raced = AppliedEdit.objects.filter(run=run, doc=doc, reverted_at__isnull=True).first()
            outcomes.append(Outcome(doc, ALREADY, _already(raced) if raced else f"{doc} was applied"))
            continue
        except Conflict as exc:
            claim.drop()  # nothing was written
            # Another request (a second tab, erk apply) may have applied it a moment ago: say so.
            raced = AppliedEdit.objects.filter(run=run, doc=doc, reverted_at__isnull=True).first()
            if raced is not None:
                outcomes.append(Outcome(doc, ALREADY, _already(raced)))
            else:
                outcomes.append(Outcome(doc, CONFLICT, exc.reason))
            continue
        except ApplyError as exc:
            claim.drop()
            outcomes.append(Outcome(doc, REFUSED, exc.reason))
            continue
        claim.finalise()
        what = "rewritten and stamped" if done.result == "edited" else "stamped"
        outcomes.append(Outcome(doc, APPLIED, f"{doc}: {what} audit_result: {done.result}", done.result))
    return outcomes


def revert(run: Run, doc: str) -> Outcome:
    """Put back what ``doc`` held before this run's audit was applied, while it still holds what was
    written; InputError when this run's audit of it is not applied."""
    settle_pending(run)
    edit = AppliedEdit.objects.filter(run=run, doc=doc, reverted_at__isnull=True).order_by("-id").first()
    if edit is None:
        raise InputError(f"{shown(doc)} is not applied from {run.run_id}: there is nothing to revert")
    try:
        revert_doc(
            Path(run.params["docs_root"]),
            doc,
            original=bytes(edit.original),
            written_sha256=edit.written_sha256,
        )
    except Conflict as exc:
        return Outcome(doc, CONFLICT, exc.reason)
    except ApplyError as exc:
        return Outcome(doc, REFUSED, exc.reason)
    edit.mark_reverted()
    return Outcome(doc, REVERTED, f"{doc}: put back as it was before the audit was applied")
