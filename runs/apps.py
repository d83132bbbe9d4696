import sys

from django.apps import AppConfig
from django.db.models.signals import post_migrate

SWEEP_SCHEDULE = "erkweb: advance every unfinished run"


class RunsConfig(AppConfig):
    name = "runs"
    verbose_name = "Runs"

    def ready(self) -> None:
        from django_q.signals import post_spawn

        # Workers are forked from the qcluster process: importing the batch task (and with it the SDK)
        # there once lets every worker start warm. Otherwise each fresh worker pays for those imports
        # (about a second each, eight at once on two cores) inside its first batch, which shows as a
        # delay between a run's creation and its batches starting.
        if "qcluster" in sys.argv[1:2]:
            warm_worker(sender=None, proc_name="qcluster")
        post_spawn.connect(warm_worker, dispatch_uid="runs.warm_worker")
        # Each worker process says it is alive and takes its turn sweeping the unfinished runs.
        post_spawn.connect(start_worker, dispatch_uid="runs.start_worker")
        post_migrate.connect(ensure_sweep_schedule, sender=self, dispatch_uid="runs.sweep_schedule")


def warm_worker(sender: object, proc_name: str, **kwargs: object) -> None:
    """Import the batch task now (a no-op when the worker inherited it already)."""
    import runs.tasks  # noqa: F401


def start_worker(sender: object, proc_name: str, **kwargs: object) -> None:
    from . import workers

    workers.start(sender, proc_name)


def ensure_sweep_schedule(sender: object, using: str = "default", **kwargs: object) -> None:
    """The driver's backstop: django-q2's scheduler (which a cluster runs about every 30 s) sweeps
    every unfinished run once a minute. Created or corrected on every migrate, so there is one."""
    from django_q.models import Schedule

    Schedule.objects.using(using).update_or_create(
        name=SWEEP_SCHEDULE,
        defaults={
            "func": "runs.tasks.sweep",
            "schedule_type": Schedule.MINUTES,
            "minutes": 1,
            "repeats": -1,
        },
    )
