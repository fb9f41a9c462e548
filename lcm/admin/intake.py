"""Agent sessions as the dialer reported them: a read-only history."""

from django.contrib import admin

from lcm.models import AgentSessionEvent

from .words import PlainWords


@admin.register(AgentSessionEvent)
class AgentSessionEventAdmin(PlainWords, admin.ModelAdmin):
    """Written only by `lcm.actions.calls.log_agent_in` / `log_agent_out`."""

    list_display = ["agent", "event", "at", "username", "recorded_at"]
    list_filter = ["event", ("at", admin.DateFieldListFilter)]
    search_fields = ["=agent__agent_id"]
    list_select_related = ["agent"]
    readonly_fields = ["agent", "event", "at", "recorded_at", "user", "username"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
