"""What the run page shows of each audited doc: its audit, where it stands now (ready to apply, applied,
changed since the audit), and the proposed change as a diff against the doc as it is now.

The docs are read as they are on disk (confined like applying, apply.snapshot), once per page view of a
finished run (the page is not polled once a run ends); the audits and edits come from the database.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runs.models import Batch, Run

from .apply import ApplyError, snapshot
from .applying import audited, live_edits, settle_pending
from .auditfile import revised_document
from .diff import Diff, MatchBudget, diff
from .history import doc_url
from .models import AppliedEdit

READY, APPLIED, CHANGED, UNREADABLE = "ready", "applied", "changed", "unreadable"


@dataclass
class DocReview:
    doc: str
    verdict: str
    audit: dict[str, Any]  # Audit.data(): percentages, counts, sections, findings, collateral, summary
    state: str  # ready: apply offered; applied: revert offered; changed: a conflict; unreadable
    message: str
    diff: Diff | None  # the proposed change (applied: what was written) against the doc's text
    edit: AppliedEdit | None = None
    history_url: str = ""  # the doc's history page


def _text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


def review(run: Run) -> list[DocReview]:
    settle_pending(run)  # a crash's pending edit is shown as what the disk says it is
    verified = audited(run)
    items = dict(run.items.values_list("key", "data"))
    batches = Batch.objects.filter(run=run, pk__in=[b for _v, b in verified.values()])
    outputs = dict(batches.values_list("pk", "output"))
    edits = live_edits(run)
    full = {e.pk: e for e in AppliedEdit.objects.filter(pk__in=[e.pk for e in edits.values()])}
    docs_root = Path(run.params["docs_root"])
    budget = MatchBudget()  # one for the page: a run's every revision may be hostile
    reviews = []
    for doc, (verdict, batch) in verified.items():
        revised = revised_document(outputs[batch])
        edit = full.get(edits[doc].pk) if doc in edits else None
        try:
            now = snapshot(docs_root, doc)
        except ApplyError as exc:
            reviews.append(DocReview(doc, verdict, items[doc], UNREADABLE, exc.reason, None, edit))
            continue
        if edit is not None:
            written = bytes(edit.written)
            state, message = APPLIED, f"applied at {edit.last_audited} (audit_result: {edit.result})"
            # A doc that is applied is under 1 MiB (a bigger one never is), so its snapshot is all of it.
            if now.sha256 != edit.written_sha256:
                state, message = CHANGED, "changed since the audit was applied: a revert would write nothing"
            applied = diff(_text(bytes(edit.original)), _text(written), budget)
            reviews.append(DocReview(doc, verdict, items[doc], state, message, applied, edit))
            continue
        proposed = diff(now.text, revised, budget) if revised is not None else None
        if now.sha256 != run.params["doc_sha256"][doc]:
            message = "changed since the audit: applying it would write nothing"
            reviews.append(DocReview(doc, verdict, items[doc], CHANGED, message, proposed))
            continue
        message = "a revision is proposed" if revised is not None else "no revision: applying stamps it clean"
        reviews.append(DocReview(doc, verdict, items[doc], READY, message, proposed))
    for r in reviews:
        r.history_url = doc_url(run.params["docs_root"], r.doc)
    return reviews
