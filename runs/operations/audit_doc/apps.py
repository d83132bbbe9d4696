"""audit-doc is a Django app as well as an operation: it keeps its own table (AppliedEdit) and its own
migrations, so the runs app knows nothing of applying an audit."""

from django.apps import AppConfig


class AuditDocConfig(AppConfig):
    name = "runs.operations.audit_doc"
    label = "audit_doc"
    verbose_name = "Doc audits"
    default_auto_field = "django.db.models.BigAutoField"
