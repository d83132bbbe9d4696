from django.contrib import admin

from .models import Batch, ItemResult, Run, TranscriptEntry


class BatchInline(admin.TabularInline):
    model = Batch
    fields = ("index", "stage", "status", "attempts", "turns", "input_tokens", "output_tokens", "cost_usd")
    readonly_fields = fields
    extra = 0
    show_change_link = True
    can_delete = False


@admin.register(Run)
class RunAdmin(admin.ModelAdmin):
    list_display = ("run_id", "operation", "model", "agents", "status", "cost_usd", "created_at")
    list_filter = ("operation", "model", "status", "used_simulator")
    search_fields = ("run_id", "params")
    readonly_fields = ("created_at", "started_at", "finished_at", "manifest", "summary")
    inlines = [BatchInline]


class TranscriptEntryInline(admin.TabularInline):
    model = TranscriptEntry
    fields = ("attempt", "sequence", "role", "created", "content")
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(Batch)
class BatchAdmin(admin.ModelAdmin):
    list_display = ("__str__", "stage", "status", "attempts", "turns", "cost_usd", "failure_reason")
    list_filter = ("status",)
    search_fields = ("run__run_id",)
    list_select_related = ("run",)
    readonly_fields = ("protocol_warnings",)
    inlines = [TranscriptEntryInline]


@admin.register(ItemResult)
class ItemResultAdmin(admin.ModelAdmin):
    list_display = ("key", "run", "score", "group")
    list_filter = ("group",)
    search_fields = ("key", "run__run_id")
    list_select_related = ("run",)
