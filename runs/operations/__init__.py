"""The operations erkweb runs, by name: the classes the ``ERKWEB_OPERATIONS`` setting names.

Each is a plug-in: a ``base.Operation`` (what the engine calls) whose ``presentation`` is a
``presentation.Presentation`` (what the pages, the command line, the comparison and the exports show).
Adding an operation is one package plus one line in that setting.
"""

from functools import cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from runs.errors import InputError

from .base import Operation
from .presentation import Presentation


@cache
def _load(paths: tuple[str, ...]) -> dict[str, Operation]:
    registry: dict[str, Operation] = {}
    for path in paths:
        try:
            cls = import_string(path)
        except ImportError as exc:
            raise ImproperlyConfigured(f"ERKWEB_OPERATIONS: cannot import {path}: {exc}") from None
        if not (isinstance(cls, type) and issubclass(cls, Operation)):
            raise ImproperlyConfigured(f"ERKWEB_OPERATIONS: {path} is not an Operation class")
        op = cls()
        presentation = getattr(op, "presentation", None)
        if not isinstance(presentation, Presentation):
            raise ImproperlyConfigured(f"ERKWEB_OPERATIONS: {path} has no presentation")
        # The form and the command line offer exactly the params the operation takes.
        fields = tuple(presentation.form_fields())
        if sorted(fields) != sorted(op.param_fields):
            raise ImproperlyConfigured(
                f"ERKWEB_OPERATIONS: {path}'s form fields ({', '.join(fields)}) are not its params "
                f"({', '.join(op.param_fields)})"
            )
        if op.name in registry:
            raise ImproperlyConfigured(f"ERKWEB_OPERATIONS: two operations are named {op.name!r}")
        registry[op.name] = op
    return registry


def _registry() -> dict[str, Operation]:
    # Keyed on the setting, so a test that overrides it gets its own registry.
    return _load(tuple(settings.ERKWEB_OPERATIONS))


def operations() -> list[Operation]:
    return list(_registry().values())


def operation_names() -> list[str]:
    return list(_registry())


def get_operation(name: str) -> Operation:
    registry = _registry()
    try:
        return registry[name]
    except KeyError:
        raise InputError(
            f"unknown operation {name!r}: choose one of {', '.join(registry)}", field="operation"
        ) from None


def presentation_of(name: str) -> Presentation:
    return get_operation(name).presentation
