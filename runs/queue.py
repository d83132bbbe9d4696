"""Handing batches to the broker: one django-q2 task per attempt to be made.

With django-q2's ORM broker on our own database (the default), a batch's task is written in the same
transaction as the batch's ``pending`` transition, so a batch is pending if and only if its task exists:
a process that dies in between leaves neither. Any other broker (Redis) cannot join the transaction:
the task is sent once it commits, and a batch left pending without one (the sender died in between, or
the broker lost it) is enqueued again by the driver once it has waited ``ERKWEB_CLAIM_TIMEOUT`` without
being claimed; a duplicate delivery is refused by the claim.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import DEFAULT_DB_ALIAS, transaction

if TYPE_CHECKING:
    from .models import Batch

TASK = "runs.tasks.run_batch"


def transactional() -> bool:
    """True when tasks are rows of our own database, written in the caller's transaction."""
    from django_q.conf import Conf

    return not Conf.SYNC and Conf.ORM == DEFAULT_DB_ALIAS and not Conf.REDIS


def send(batch: Batch) -> None:
    """Enqueue the task of ``batch``, just made pending in the caller's transaction."""
    from django_q.tasks import async_task

    from .models import RunMode

    if batch.run.mode == RunMode.BATCH:
        return  # a batch-mode run's batches have no task: its message-batch step takes them (driver)
    run_id = batch.run.run_id
    name = f"{run_id}-batch-{batch.index}"
    if transactional():
        async_task(TASK, batch.pk, task_name=name, group=run_id)
    else:
        # In-process (tests) or an outside broker: only once the batch is pending for everyone. Robust: a
        # broker that is down then must not undo what committed; the driver sends the task again.
        transaction.on_commit(lambda: async_task(TASK, batch.pk, task_name=name, group=run_id), robust=True)
