"""How much of the disk gathering may look at before it gives up with a clear message.

The new-run preview is a GET the page sends as the user types, and run creation gathers the same way: a
folder such as ``/usr`` or ``~`` typed by mistake must be answered within seconds with a sentence saying
what to do, not walked for as long as it takes. Both bounds are settings (README "Configuration"):
``ERKWEB_GATHER_MAX_FILES`` entries seen and ``ERKWEB_GATHER_MAX_SECONDS`` spent.
"""

import time
from pathlib import Path

from django.conf import settings

from .errors import InputError


class GatherBounds:
    """Counts the folder entries one gather sees and the time it has spent; raises InputError (about
    ``field``) as soon as either goes over its bound, before anything is created."""

    def __init__(self, folder: Path, field: str, *, pick: str = "the docs folder itself"):
        self.folder = folder
        self.field = field
        self.pick = pick  # what the message tells the user to pick instead
        self.max_files = settings.ERKWEB_GATHER_MAX_FILES
        self.max_seconds = settings.ERKWEB_GATHER_MAX_SECONDS
        self.seen = 0
        self._deadline = time.monotonic() + self.max_seconds

    def see(self) -> None:
        """Count one folder entry (files and folders alike: listing them is what costs), check the time."""
        self.seen += 1
        if self.seen > self.max_files:
            raise InputError(
                f"More than {self.max_files:,} files under {self.folder}: pick {self.pick} "
                "(or raise ERKWEB_GATHER_MAX_FILES).",
                field=self.field,
            )
        self.check_time()

    def check_time(self) -> None:
        if time.monotonic() > self._deadline:
            raise InputError(
                f"Looking through {self.folder} took more than {self.max_seconds:g} s "
                f"({self.seen:,} files seen): pick {self.pick} "
                "(or raise ERKWEB_GATHER_MAX_SECONDS).",
                field=self.field,
            )
