"""What a run's batches leave behind besides their status: the items parsed from their outputs."""

from django.db import models

from .batch import Batch
from .run import Run


class ItemResult(models.Model):
    """One item as verification parsed it, so comparisons and history never re-read the files."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="items")
    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="item_results")
    key = models.CharField(max_length=500, help_text="the item's identity within its run, e.g. a doc path")
    position = models.PositiveIntegerField(help_text="order in the run's gathered item list")
    score = models.IntegerField(null=True, blank=True)
    group = models.CharField(max_length=20, blank=True, db_index=True)
    data = models.JSONField(default=dict)

    class Meta:
        ordering = ["run", "position"]
        constraints = [models.UniqueConstraint(fields=["run", "key"], name="unique_item_per_run")]

    def __str__(self):
        return f"{self.run.run_id}: {self.key}"
