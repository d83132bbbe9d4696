"""A template loader for the operations' own partials: ``<operation package>/templates/``.

Operations are not Django apps, so the app-directories loader does not see them; this loader looks in
the template folder of every operation the registry holds (``ERKWEB_OPERATIONS``) when it is asked.
"""

import inspect
from pathlib import Path

from django.template.loaders.filesystem import Loader as FilesystemLoader


class Loader(FilesystemLoader):
    def get_dirs(self) -> list[str | Path]:
        from . import operations

        dirs: list[str | Path] = []
        for op in operations():
            folder = Path(inspect.getfile(type(op.presentation))).parent / "templates"
            if folder.is_dir() and folder not in dirs:
                dirs.append(folder)
        return dirs
