"""What a run's batches leave behind besides their status: their transcripts, the items parsed from their
outputs."""

import re
from typing import Any

from django.db import models
from django.db.models.functions import Now

from .batch import Batch
from .run import Run

_SURROGATE = re.compile("[\ud800-\udfff]")


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
        ordering = ["run", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["run", "key"], name="unique_item_per_run")]

    def __str__(self) -> str:
        return f"{self.run.run_id}: {self.key}"


class TranscriptEntry(models.Model):
    """One request part, response, tool result or error of a batch's conversation: appended as its own
    row (one INSERT per entry, never a rewrite of the transcript), by the attempt that made it."""

    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="transcript_entries")
    attempt = models.PositiveIntegerField()
    sequence = models.PositiveIntegerField(help_text="order within its attempt, from 1")
    role = models.CharField(max_length=20, help_text="system, user, assistant or error")
    content = models.JSONField(default=dict, help_text="the entry as the agent loop gave it, but its role")
    created = models.DateTimeField(db_default=Now())

    class Meta:
        ordering = ["batch", "attempt", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["batch", "attempt", "sequence"], name="unique_transcript_entry")
        ]

    def __str__(self) -> str:
        return f"{self.batch}: attempt {self.attempt}, entry {self.sequence} ({self.role})"

    def as_entry(self) -> dict[str, Any]:
        """The entry as the agent loop wrote it (what the batch page's presenter reads)."""
        return {**self.content, "role": self.role}


def storable(value: Any) -> Any:
    """``value`` with every string made storable as JSON text by any database: a NUL (which PostgreSQL
    refuses in text and JSON) and a lone surrogate (which is not UTF-8) become U+FFFD. A file an agent
    read can hold either; the transcript must still be written."""
    if isinstance(value, str):
        if "\x00" in value:
            value = value.replace("\x00", "\ufffd")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            value = _SURROGATE.sub("\ufffd", value)
        return value
    if isinstance(value, dict):
        return {storable(k): storable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [storable(v) for v in value]
    return value


class RunFile(models.Model):
    """An input the operation prepared for a run's agents (learn: the session chunks, the diff...), kept
    so that any host can write it into its own scratch folder before an agent reads it."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="files")
    path = models.CharField(max_length=500, help_text="relative to the run's scratch folder")
    content = models.TextField()

    class Meta:
        ordering = ["run", "path"]
        constraints = [models.UniqueConstraint(fields=["run", "path"], name="unique_file_per_run")]

    def __str__(self) -> str:
        return f"{self.run.run_id}: {self.path}"
