"""Contact modes: every number, live or deleted, read-only."""

from __future__ import annotations

from django.contrib import admin

from lcm.models import ContactMode

from .words import PlainWords, short_time


class LiveFilter(admin.SimpleListFilter):
    """Live or deleted modes (the parameter keeps the old "is empty" name,
    so bookmarked lists and the account page's link still work)."""

    title = "status"
    parameter_name = "deleted_at__isempty"

    def lookups(self, request, model_admin):
        return [("1", "Live"), ("0", "Deleted")]

    def queryset(self, request, queryset):
        if self.value() == "1":
            return queryset.filter(deleted_at__isnull=True)
        if self.value() == "0":
            return queryset.filter(deleted_at__isnull=False)
        return queryset


class ConsentFilter(admin.BooleanFieldListFilter):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.title = "consent"  # not the field's name, "PEWC"


@admin.register(ContactMode)
class ContactModeAdmin(PlainWords, admin.ModelAdmin):
    """Read-only: numbers change only through the account page's forms,
    which call `lcm.actions.supervisor` (validated, locked, audited)."""

    show_facets = admin.ShowFacets.NEVER  # no COUNT per filter choice on big tables
    list_display = [
        "account_key",
        "mode",
        "number_display",
        "consent",
        "changed",
        "changed_by",
        "deleted",
    ]
    list_filter = [
        "mode_type",
        ("has_consent", ConsentFilter),
        LiveFilter,
    ]
    search_fields = ["=number", "=account__account_number"]
    list_select_related = ["account", "mode_type"]
    raw_id_fields = ["account"]
    show_full_result_count = False
    list_per_page = 50
    actions = None

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="account", ordering="account__account_number")
    def account_key(self, obj):
        return obj.account.account_number

    def object_title(self, obj):
        deleted = " (deleted)" if obj.deleted_at else ""
        return (
            f"Mode {obj.mode_type_id} ({obj.mode_type.name}) of "
            f"{obj.account.account_number}: {obj.number}{deleted}"
        )

    @admin.display(description="Mode", ordering="mode_type_id")
    def mode(self, obj):
        return f"{obj.mode_type_id} {obj.mode_type.name}"

    @admin.display(description="Number", ordering="number")
    def number_display(self, obj):
        return obj.number

    @admin.display(description="Consent", boolean=True, ordering="has_consent")
    def consent(self, obj):
        return obj.has_consent

    @admin.display(description="changed", ordering="changed_at")
    def changed(self, obj):
        return short_time(obj.changed_at)

    @admin.display(description="deleted", ordering="deleted_at")
    def deleted(self, obj):
        return short_time(obj.deleted_at) if obj.deleted_at else "—"
