"""Handing batches to the broker: one django-q2 task per attempt to be made."""

from django.db import transaction

TASK = "runs.tasks.run_batch"


def send(batch) -> None:
    """Enqueue the task of ``batch`` (just made pending) once the transaction that did so commits."""
    from django_q.tasks import async_task

    name = f"{batch.run.run_id}-batch-{batch.index}"
    transaction.on_commit(lambda: async_task(TASK, batch.pk, task_name=name, group=batch.run.run_id))
