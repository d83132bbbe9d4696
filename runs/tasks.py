"""django-q2 entry points: thin, by primary key; the engine does the work."""

from . import engine


def run_batch(batch_pk: int) -> None:
    engine.execute_batch(batch_pk)


def sweep() -> None:
    """The schedule's backstop (runs/apps.py): advance every unfinished run."""
    engine.sweep()
