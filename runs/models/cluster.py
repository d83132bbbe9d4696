"""The workers' side of the database: who is alive (heartbeats) and who sweeps (a lease)."""

import contextlib
from datetime import timedelta

from django.db import IntegrityError, models, transaction
from django.db.models import Q
from django.db.models.functions import Now


class ClusterHeartbeat(models.Model):
    """One worker process of a cluster (a ``qcluster`` on some host), and when it last said it was
    alive. A batch's attempt names the worker it runs on (``Batch.worker``), so the driver on any host
    can tell that attempt's worker is gone; and any fresh row means a cluster is running."""

    worker = models.CharField(max_length=200, unique=True, help_text="host:pid:token")
    host = models.CharField(max_length=200)
    pid = models.PositiveIntegerField()
    cluster = models.CharField(max_length=200, help_text="host:pid of the qcluster the worker belongs to")
    started_at = models.DateTimeField(db_default=Now())
    # Indexed: "is any worker alive" and "which of these workers are alive" are asked every few seconds.
    beat_at = models.DateTimeField(db_default=Now(), db_index=True)

    class Meta:
        ordering = ["-beat_at"]

    def __str__(self) -> str:
        return self.worker

    @classmethod
    def fresh(cls, stale_after: float) -> models.QuerySet["ClusterHeartbeat"]:
        return cls.objects.filter(beat_at__gte=Now() - timedelta(seconds=stale_after))


class Lease(models.Model):
    """A named, time-limited claim that one holder has at a time (the sweep's, a batch-mode run's step).
    The owner names the holder: a process (the sweep), or one call of it (a step: two threads of one
    process must not both hold it), so that only its holder renews or releases it."""

    name = models.CharField(max_length=40, unique=True)
    owner = models.CharField(max_length=200, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.name

    @classmethod
    def take(cls, name: str, owner: str, seconds: float) -> bool:
        """Take the lease ``name`` for ``seconds`` if it is free or expired (by the database clock)."""
        free = Q(expires_at__isnull=True) | Q(expires_at__lt=Now()) | Q(owner=owner)
        # A read first: most tries find it held, and a read takes no write lock (SQLite).
        if not cls.objects.filter(free, name=name).exists():
            if cls.objects.filter(name=name).exists():
                return False
            # Another process may make it first; the savepoint keeps a transaction around us usable.
            with contextlib.suppress(IntegrityError), transaction.atomic():
                cls.objects.create(name=name)
        until = Now() + timedelta(seconds=seconds)
        return bool(cls.objects.filter(free, name=name).update(owner=owner, expires_at=until))

    @classmethod
    def renew(cls, name: str, owner: str, seconds: float) -> bool:
        """Extend the lease ``owner`` holds for another ``seconds``; False when it is no longer theirs."""
        until = Now() + timedelta(seconds=seconds)
        return bool(cls.objects.filter(name=name, owner=owner).update(expires_at=until))

    @classmethod
    def release(cls, name: str, owner: str) -> None:
        """Let go of the lease, only if ``owner`` still holds it (another may have taken it since)."""
        cls.objects.filter(name=name, owner=owner).delete()
