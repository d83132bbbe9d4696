"""The operations erkweb runs, by name. Each is a plug-in implementing ``base.Operation``."""

from runs.errors import InputError

from .base import Operation


def _registry() -> dict[str, Operation]:
    from .audit_scan.operation import AuditScan
    from .learn.operation import Learn

    return {op.name: op for op in (AuditScan(), Learn())}


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
