"""What a floor manager opens first: live figures, each a link to its list.
Each figure is one COUNT through an index (call state, agent login, audit
entry time, do-not-call entry time, callback state and window), but
"Callbacks due now", which reads the callbacks open now to leave out those
needing attention, as the dialer's due list does
(`lcm.actions.callbacks.due_now`); a figure the user may not view is left
out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode

from django.urls import reverse
from django.utils import timezone

from lcm.actions import callbacks
from lcm.models import Agent, Call, DoNotCallNumber, ModeChange


@dataclass(frozen=True)
class Figure:
    key: str
    label: str
    count: int
    url: str


def figures(user, now=None) -> list[Figure]:
    now = now or timezone.now()
    hour_ago = now - timedelta(hours=1)
    today = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    rows = [
        (
            "lcm.view_call",
            "active-calls",
            "Active calls",
            lambda: Call.objects.filter(state=Call.State.ACTIVE).count(),
            reverse("admin:lcm_call_changelist"),  # active calls by default
        ),
        (
            "lcm.view_agent",
            "logged-in-agents",
            "Logged-in agents",
            lambda: Agent.objects.filter(is_logged_in=True).count(),
            reverse("admin:lcm_agent_changelist") + "?is_logged_in__exact=1",
        ),
        (
            "lcm.view_modechange",
            "changes-last-hour",
            "Changes in the last hour",
            lambda: ModeChange.objects.filter(created_at__gte=hour_ago).count(),
            reverse("admin:lcm_modechange_changelist")
            + "?"
            + urlencode({"since": timezone.localtime(hour_ago).isoformat(timespec="seconds")}),
        ),
        (
            "lcm.view_donotcallnumber",
            "do-not-call-today",
            "Do-not-call entries added today",
            lambda: DoNotCallNumber.objects.filter(added_at__gte=today).count(),
            reverse("admin:lcm_donotcallnumber_changelist"),
        ),
        (
            "lcm.view_callback",
            "callbacks-due",
            "Callbacks due now",
            lambda: len(callbacks.due_now(now)),
            reverse("admin:lcm_callback_changelist") + "?status=due",
        ),
        (
            "lcm.view_callback",
            "callbacks-overdue",
            "Callbacks overdue",
            lambda: callbacks.overdue(now).count(),
            reverse("admin:lcm_callback_changelist") + "?status=overdue",
        ),
    ]
    return [
        Figure(key, label, count(), url)
        for perm, key, label, count, url in rows
        if user.has_perm(perm)
    ]
