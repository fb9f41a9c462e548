"""Calls: the dialer's record, read-only but for "End this call…"."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import admin
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from lcm.actions import calls as call_actions
from lcm.actions import permissions
from lcm.models import Call

from . import as_of as as_of_views
from .display import when, when_text
from .filters import date_range_filter, input_filter
from .shared import ConsoleActionMixin
from .words import PlainWords


class CallStateFilter(admin.SimpleListFilter):
    """Active calls unless asked otherwise: what a supervisor watches."""

    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [*Call.State.choices, ("all", "All")]

    def queryset(self, request, queryset):
        value = self.value() or Call.State.ACTIVE
        return queryset if value == "all" else queryset.filter(state=value)

    def choices(self, changelist):
        current = self.value() or Call.State.ACTIVE
        for value, label in self.lookup_choices:
            yield {
                "selected": current == value,
                "query_string": changelist.get_query_string({self.parameter_name: value}),
                "display": label,
            }


@admin.register(Call)
class CallAdmin(PlainWords, ConsoleActionMixin, admin.ModelAdmin):
    """Calls are the dialer's (`lcm.actions.calls`, with a `CallEvent` per
    change): read-only here, for everyone. A call the dialer never ended is
    ended with "End this call…", a recorded event with a reason."""

    list_display = ["callid", "state", "agent", "account_key", "started", "duration"]
    list_filter = [
        CallStateFilter,
        input_filter("agent", "agent", "agent__agent_id", "AgentID"),
        input_filter("campaign", "campaign", "account__campaign", "campaign"),
        date_range_filter("started_at", "start date"),
    ]
    search_fields = ["=callid", "=account__account_number", "=agent__agent_id"]
    list_select_related = ["account", "agent"]
    fields = ["callid", "state", "account_link", "agent", "started", "ended", "duration"]
    readonly_fields = fields
    show_full_result_count = False
    list_per_page = 50
    change_form_template = "admin/lcm/call/change_form.html"

    def has_add_permission(self, request):
        return False  # the dialer registers calls (POST /api/lcm/calls/)

    def has_change_permission(self, request, obj=None):
        return False  # no free edits: "End this call…" is the console's action

    @admin.display(description="account", ordering="account__account_number")
    def account_key(self, obj):
        return obj.account.account_number

    @admin.display(description="Account")
    def account_link(self, obj):
        url = reverse("admin:lcm_account_change", args=[obj.account_id])
        return format_html('<a href="{}">{}</a>', url, obj.account)

    @admin.display(description="started", ordering="started_at")
    def started(self, obj):
        return when(obj.started_at)

    @admin.display(description="Ended", ordering="ended_at")
    def ended(self, obj):
        return when(obj.ended_at)

    @admin.display(description="duration")
    def duration(self, obj):
        end = obj.ended_at or timezone.now()
        seconds = max(int((end - obj.started_at).total_seconds()), 0)
        return str(timedelta(seconds=seconds))

    def get_urls(self):
        return [
            path(
                "<int:object_id>/end/",
                self.admin_site.admin_view(self.end_view),
                name="lcm_call_end",
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra = dict(extra_context or {})
        extra["may_end"] = permissions.may(request.user, permissions.END_STUCK_CALLS)
        call = self.get_object(request, object_id)
        if call is not None:
            extra["call_events"] = call.events.order_by("-at", "-pk")[:20]
            if as_of_views.may_read(request.user):
                # What we knew when this was dialled: the log at the call's start.
                extra["as_of_panel"] = True
                extra.update(as_of_views.context(call.account, call.started_at))
        return super().change_view(request, object_id, form_url, extra_context=extra)

    def end_view(self, request, object_id):
        call = get_object_or_404(Call.objects.select_related("account", "agent"), pk=object_id)
        return self._reason_action(
            request,
            call,
            perm=permissions.END_STUCK_CALLS,
            title=f"End call {call.callid}",
            explain=(
                f"Call {call.callid} of agent {call.agent} on account {call.account} is "
                f"{call.get_state_display().lower()} since {when_text(call.started_at)}. "
                "End it when the dialer's end never arrived; the end is recorded in the "
                "call's history with your reason."
            ),
            button="End the call",
            action=lambda reason: call_actions.end_stuck_call(
                callid=call.callid, reason=reason, actor=request.user
            ),
            describe=lambda event: (
                f"Call {call.callid} ended at {when_text(event.at)} (reason: {event.reason})."
            ),
        )
