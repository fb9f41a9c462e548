"""The auditors' view of the audit log: read-only for everyone."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from lcm.models import ModeChange


@admin.register(ModeChange)
class ModeChangeAdmin(admin.ModelAdmin):
    """Read-only for everyone: the table is append-only."""

    list_display = [
        "seq",
        "created_at",
        "account_link",
        "mode_id",
        "old_number",
        "new_number",
        "deleted_modes",
        "callid",
        "agent_code",
        "username",
        "source",
    ]
    list_filter = ["action", "source", "mode_id"]
    search_fields = ["=account_number", "=callid", "=agent_code", "=new_number", "=old_number"]
    list_select_related = ["account"]
    show_full_result_count = False
    actions = None

    @admin.display(description="account", ordering="account_number")
    def account_link(self, obj):
        url = reverse("admin:lcm_account_change", args=[obj.account_id])
        return format_html('<a href="{}">{}</a>', url, obj.account_number)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
