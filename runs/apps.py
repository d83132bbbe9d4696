import sys

from django.apps import AppConfig


class RunsConfig(AppConfig):
    name = "runs"
    verbose_name = "Runs"

    def ready(self):
        from django_q.signals import post_spawn

        # Workers are forked from the qcluster process: importing the batch task (and with it the SDK)
        # there once lets every worker start warm. Otherwise each fresh worker pays for those imports
        # (about a second each, eight at once on two cores) inside its first batch, which shows as a
        # delay between a run's creation and its batches starting.
        if "qcluster" in sys.argv[1:2]:
            warm_worker(sender=None, proc_name="qcluster")
        post_spawn.connect(warm_worker, dispatch_uid="runs.warm_worker")


def warm_worker(sender, proc_name, **kwargs):
    """Import the batch task now (a no-op when the worker inherited it already)."""
    import runs.tasks  # noqa: F401
