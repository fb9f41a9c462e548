"""Agents: who they are here; whether they are logged in is the dialer's to say."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db.models import OuterRef, Subquery
from django.shortcuts import get_object_or_404
from django.urls import path
from django.utils.html import format_html

from lcm.actions import calls as call_actions
from lcm.actions import permissions
from lcm.models import Agent, Call

from .display import when, when_text
from .shared import ConsoleActionMixin
from .words import PlainWords


class LoggedInFilter(admin.BooleanFieldListFilter):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.title = "logged in"  # not the field's name, "is logged in"


@admin.register(Agent)
class AgentAdmin(PlainWords, ConsoleActionMixin, admin.ModelAdmin):
    """Who an agent is (AgentID, user) is edited here; whether the agent is
    logged in is the dialer's to say (`lcm.actions.calls`): the console
    only offers "Log out…", a recorded session event with a reason."""

    list_display = ["agent_id", "user_name", "logged_in", "since", "agent_state", "active_call"]
    list_filter = [("is_logged_in", LoggedInFilter)]
    search_fields = ["=agent_id", f"user__{get_user_model().USERNAME_FIELD}"]
    list_select_related = ["user"]
    list_per_page = 50
    change_form_template = "admin/lcm/agent/change_form.html"

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["agent_id", "user"]
        user = "user" if self.has_change_permission(request, obj) else "user_name"
        return ["agent_id", user, "logged_in", "since", "agent_state"]

    def get_readonly_fields(self, request, obj=None):
        # The AgentID is the dialer's identity of the agent; the session state
        # changes only through the dialer's API or "Log out…". A reader sees
        # the user's name (a link to the user would be a 403 for most).
        return ["agent_id", "user_name", "logged_in", "since", "agent_state"] if obj else []

    def get_queryset(self, request):
        active = Call.objects.filter(agent=OuterRef("pk"), state=Call.State.ACTIVE).order_by(
            "-started_at"
        )
        return (
            super()
            .get_queryset(request)
            .annotate(active_callid=Subquery(active.values("callid")[:1]))
        )

    @admin.display(description="Logged in", ordering="is_logged_in")
    def logged_in(self, obj):
        return "yes" if obj.is_logged_in else "no"  # words, as every yes/no of the console

    @admin.display(description="State", ordering="state")
    def agent_state(self, obj):
        """What the agent's desktop last said (SendAgentState), and since when."""
        if not obj.state:
            return "—"
        return format_html("{} (since {})", obj.get_state_display(), when(obj.state_changed_at))

    @admin.display(description="Since", ordering="logged_in_changed_at")
    def since(self, obj):
        return when(obj.logged_in_changed_at)

    @admin.display(description="User")
    def user_name(self, obj):
        """The user's name, not a link: supervisors do not manage users."""
        return obj.user.get_username() if obj.user_id else "—"

    @admin.display(description="On call")
    def active_call(self, obj):
        return getattr(obj, "active_callid", None) or "—"

    def get_urls(self):
        return [
            path(
                "<int:object_id>/log-out/",
                self.admin_site.admin_view(self.log_out_view),
                name="lcm_agent_log_out",
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra = dict(extra_context or {})
        extra["may_log_out"] = permissions.may(request.user, permissions.LOG_AGENTS_OUT)
        agent = self.get_object(request, object_id)
        if agent is not None:
            extra["session_events"] = agent.session_events.order_by("-at", "-pk")[:20]
        return super().change_view(request, object_id, form_url, extra_context=extra)

    def log_out_view(self, request, object_id):
        agent = get_object_or_404(Agent, pk=object_id)
        return self._reason_action(
            request,
            agent,
            perm=permissions.LOG_AGENTS_OUT,
            title=f"Log out agent {agent.agent_id}",
            explain=(
                f"Agent {agent.agent_id} is "
                + ("logged in" if agent.is_logged_in else "not logged in")
                + ". Log the agent out when the dialer's logout never arrived; "
                "the logout is recorded in the agent's session history with your reason."
            ),
            button="Log the agent out",
            action=lambda reason: call_actions.log_agent_out_from_console(
                agent_id=agent.agent_id, reason=reason, actor=request.user
            ),
            describe=lambda event: (
                f"Agent {agent.agent_id} logged out at {when_text(event.at)} "
                f"(reason: {event.reason})."
            ),
        )
