"""What applying an audit leaves in the database: the doc's bytes before and after, so that the edit
can be shown as a diff and reverted (specs/audit-doc.md, "Applying": the original bytes are kept)."""

from django.db import models
from django.db.models.functions import Now

from runs.models import Run


class AppliedEdit(models.Model):
    """One application of one doc's audit. It is live until reverted; a doc has at most one live edit
    per run (the constraint below). The row is made, pending, before the doc is written and finalised
    after, so a crash between leaves a pending row that applying.settle_pending resolves from the disk."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="applied_edits")
    doc = models.CharField(max_length=500, help_text="relative to the run's docs root")
    docs_root = models.CharField(max_length=1000, help_text="as the run recorded it: the history's key")
    result = models.CharField(max_length=10, help_text="the stamp's audit_result: edited or clean")
    last_audited = models.CharField(max_length=30, help_text='the stamp: "YYYY-MM-DD HH:MM PT"')
    verdict = models.CharField(max_length=30)
    original = models.BinaryField(help_text="the doc's bytes before: what a revert writes back")
    written = models.BinaryField(help_text="what applying wrote")
    written_sha256 = models.CharField(max_length=64)
    applied_at = models.DateTimeField(db_default=Now())
    reverted_at = models.DateTimeField(null=True, blank=True)
    pending = models.BooleanField(default=False, help_text="made before the write, not yet finalised")

    class Meta:
        ordering = ["applied_at", "id"]
        indexes = [
            # The doc history page and the docs root's page read a root's (and a doc's) edits.
            models.Index(fields=["docs_root", "doc"], name="applied_edit_root_doc"),
        ]
        constraints = [
            # Two applies racing cannot both record the doc: the second is "already applied".
            models.UniqueConstraint(
                fields=["run", "doc"],
                condition=models.Q(reverted_at__isnull=True),
                name="one_live_edit_per_doc",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.run.run_id}: {self.doc} ({self.result})"

    @property
    def is_live(self) -> bool:
        return self.reverted_at is None

    def mark_reverted(self) -> bool:
        """Reverted, once: a conditional UPDATE, so two reverts racing cannot both record it."""
        changed = AppliedEdit.objects.filter(pk=self.pk, reverted_at__isnull=True).update(reverted_at=Now())
        self.refresh_from_db(fields=["reverted_at"])
        return changed == 1
