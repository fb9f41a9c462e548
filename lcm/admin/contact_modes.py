"""Contact modes: every number, live or deleted, read-only."""

from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from lcm.models import ContactMode

from .display import number, number_text, when
from .shared import search_by_identity
from .words import PlainWords


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
    search_help_text = "A number (any spelling) or an exact LCM key."
    fields = [
        "account_link",
        "mode",
        "number_display",
        "typed_as",
        "consent",
        "consent_detail",
        "time_zone",
        "window",
        "changed",
        "changed_by",
        "deleted",
        "deleted_by",
    ]
    readonly_fields = fields
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

    def get_search_results(self, request, queryset, search_term):
        return search_by_identity(super().get_search_results, request, queryset, search_term, "")

    def object_title(self, obj):
        deleted = " (deleted)" if obj.deleted_at else ""
        shown = number_text(obj.number, obj.number_e164, country=obj.account.country)
        return (
            f"Mode {obj.mode_type_id} ({obj.mode_type.name}) of "
            f"{obj.account.account_number}: {shown}{deleted}"
        )

    @admin.display(description="Account")
    def account_link(self, obj):
        url = reverse("admin:lcm_account_change", args=[obj.account_id])
        return format_html('<a href="{}">{}</a>', url, obj.account)

    @admin.display(description="Typed as")
    def typed_as(self, obj):
        """The number as it was given (the mode is the subject of this page)."""
        return obj.number_as_given or obj.number

    @admin.display(description="Consent given")
    def consent_detail(self, obj):
        if not obj.has_consent:
            return "—"
        source = obj.get_consent_source_display().lower()
        return format_html("{} {}, {}", source, obj.consent_by or "", when(obj.consent_at))

    @admin.display(description="Calling window")
    def window(self, obj):
        if obj.window_start and obj.window_end:
            return f"{obj.window_start:%H:%M}-{obj.window_end:%H:%M} (this mode's)"
        return "the mode type's"

    @admin.display(description="Mode", ordering="mode_type_id")
    def mode(self, obj):
        return f"{obj.mode_type_id} {obj.mode_type.name}"

    @admin.display(description="Number", ordering="number")
    def number_display(self, obj):
        return number(obj.number, obj.number_e164, country=obj.account.country)

    @admin.display(description="Consent", ordering="has_consent")
    def consent(self, obj):
        return "yes" if obj.has_consent else "no"

    @admin.display(description="changed", ordering="changed_at")
    def changed(self, obj):
        return when(obj.changed_at)

    @admin.display(description="deleted", ordering="deleted_at")
    def deleted(self, obj):
        return when(obj.deleted_at)
