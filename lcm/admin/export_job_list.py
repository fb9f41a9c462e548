"""Exports: every export made in the background, for the auditors and the
supervisors (read-only). Who exported which list, when, with which filters
and search, how many rows, the file's size and SHA-256, and where the job
is (waiting, exporting, done, expired, stopped).

The rows are the worker's (lcm.actions.export_jobs): nobody adds, changes
or deletes one here. Who may read them is `permissions.VIEW_EXPORT_JOBS`
(the Auditors and Supervisors groups, migration 0033). The job's own page,
with its download while the file is kept, is the list's
(lcm.admin.export_jobs), for whoever may export that list.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils.html import format_html

from lcm.actions import export_jobs, permissions
from lcm.models import ExportJob

from .display import EMPTY, when
from .filters import date_range_filter, input_filter
from .words import PlainWords

SHORT_HASH = 16  # hex digits shown in the list; the record's page shows all 64
LIST_MODEL = {ExportJob.List.ACCOUNTS: "account", ExportJob.List.DO_NOT_CALL: "donotcallnumber"}


class ListFilter(admin.SimpleListFilter):
    title = "list"
    parameter_name = "list"

    def lookups(self, request, model_admin):
        return ExportJob.List.choices

    def queryset(self, request, queryset):
        return queryset.filter(list=self.value()) if self.value() else queryset


class StateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return ExportJob.State.choices

    def queryset(self, request, queryset):
        return queryset.filter(state=self.value()) if self.value() else queryset


@admin.register(ExportJob)
class ExportJobListAdmin(PlainWords, admin.ModelAdmin):
    list_title = "Exports"
    items_name = "exports"
    list_display = [
        "number",
        "list_shown",
        "what",
        "exported_by",
        "asked",
        "finished",
        "rows_shown",
        "state_shown",
        "sha256_short",
    ]
    list_display_links = ["number"]
    list_filter = [
        ListFilter,
        StateFilter,
        input_filter("by", "exported by", f"created_by__{get_user_model().USERNAME_FIELD}",
                     "username"),
        date_range_filter("created_at", "date"),
    ]  # fmt: skip
    search_fields = ["=sha256"]
    search_help_text = "A file's SHA-256 (all 64 hex digits): which export wrote it."
    list_select_related = ["created_by"]
    list_per_page = 50
    sortable_by = ["number", "asked"]
    show_full_result_count = False
    fieldsets = [
        ("What", {"fields": ["number", "list_shown", "what", "query_shown"]}),
        ("Who and when", {"fields": ["exported_by", "asked", "started", "finished"]}),
        ("The file", {"fields": ["state_shown", "rows_shown", "size_shown", "file_name_shown",
                                 "sha256_full", "kept", "resumed", "error_shown", "job_page"]}),
    ]  # fmt: skip
    readonly_fields = [
        "number",
        "list_shown",
        "what",
        "query_shown",
        "exported_by",
        "asked",
        "started",
        "finished",
        "state_shown",
        "rows_shown",
        "size_shown",
        "file_name_shown",
        "sha256_full",
        "kept",
        "resumed",
        "error_shown",
        "job_page",
    ]

    def object_title(self, obj) -> str:
        return str(obj)  # "Export 12 (accounts)"

    # --- Read-only, for the auditors and supervisors ------------------------------

    def has_view_permission(self, request, obj=None):
        return permissions.may(request.user, permissions.VIEW_EXPORT_JOBS)

    def has_module_permission(self, request):
        return self.has_view_permission(request)

    def has_add_permission(self, request):
        return False  # an export is started from its list, or POST /api/lcm/exports/

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # the record stays when the file expires

    # --- Columns and fields ---------------------------------------------------------

    @admin.display(description="Export", ordering="pk")
    def number(self, obj):
        return obj.pk

    @admin.display(description="List")
    def list_shown(self, obj):
        return obj.get_list_display()

    @admin.display(description="What was exported")
    def what(self, obj):
        return export_jobs.status(obj)["description"]

    @admin.display(description="Filters and search, as a query")
    def query_shown(self, obj):
        return format_html("<code>{}</code>", obj.query) if obj.query else "none: the whole list"

    @admin.display(description="Exported by")
    def exported_by(self, obj):
        return obj.created_by.get_username()

    @admin.display(description="Asked at", ordering="created_at")
    def asked(self, obj):
        return when(obj.created_at)

    @admin.display(description="Started")
    def started(self, obj):
        return when(obj.started_at)

    @admin.display(description="Finished")
    def finished(self, obj):
        return when(obj.finished_at)

    @admin.display(description="Rows")
    def rows_shown(self, obj):
        return f"{obj.rows:,}"

    @admin.display(description="State")
    def state_shown(self, obj):
        return obj.get_state_display()

    @admin.display(description="Size")
    def size_shown(self, obj):
        return filesizeformat(obj.size) if obj.size else EMPTY

    @admin.display(description="File name")
    def file_name_shown(self, obj):
        return obj.file_name

    @admin.display(description="SHA-256")
    def sha256_short(self, obj):
        if not obj.sha256:
            return EMPTY
        return format_html("<code>{}…</code>", obj.sha256[:SHORT_HASH])

    @admin.display(description="SHA-256")
    def sha256_full(self, obj):
        return format_html("<code>{}</code>", obj.sha256) if obj.sha256 else EMPTY

    @admin.display(description="Kept until")
    def kept(self, obj):
        if obj.state == ExportJob.State.EXPIRED:
            return format_html("deleted at {}", when(obj.expired_at))
        bound = export_jobs.expires_at(obj)
        return when(bound) if bound else EMPTY

    @admin.display(description="Resumed")
    def resumed(self, obj):
        if obj.resumed_from is None:
            return "no"
        if obj.resumed_from:
            return f"after {obj.resumed_from:,} rows already written"
        return "from the start: nothing written before could be kept"

    @admin.display(description="Error")
    def error_shown(self, obj):
        return obj.error or EMPTY

    @admin.display(description="The export's page")
    def job_page(self, obj):
        """Its page, with the download while the file is kept; that page is
        for whoever may export the list (lcm.admin.export_jobs checks it)."""
        url = reverse(f"admin:lcm_{LIST_MODEL[obj.list]}_export_job_page", args=[obj.pk])
        return format_html('<a href="{}">Open export {}</a>', url, obj.pk)
