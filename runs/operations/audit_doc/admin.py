"""The applied edits in the Django admin, read only: an edit is changed by Apply and Revert alone (a
hand-edited hash would let a revert write over a doc erkweb did not write)."""

from django.contrib import admin
from django.http import HttpRequest

from .models import AppliedEdit


@admin.register(AppliedEdit)
class AppliedEditAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("doc", "run", "result", "verdict", "last_audited", "applied_at", "reverted_at")
    list_filter = ("result", "verdict")
    search_fields = ("doc", "docs_root", "run__run_id")
    list_select_related = ("run",)
    exclude = ("original", "written")
    readonly_fields = (
        "run",
        "doc",
        "docs_root",
        "result",
        "last_audited",
        "verdict",
        "written_sha256",
        "applied_at",
        "reverted_at",
        "pending",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AppliedEdit | None = None) -> bool:
        return False
