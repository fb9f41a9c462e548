"""Callbacks for supervisors: due now, overdue, needing attention.

Read-only but for two actions, each through `lcm.actions.callbacks`
(checked, locked, audited): reassign a scheduled callback to another agent,
or cancel it with a reason. "Needing attention" is computed live, as the
dialer's due list is: the mode deleted, holding another number, or its
number on the do-not-call list since scheduling.
"""

from __future__ import annotations

import threading

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from lcm import errors
from lcm.actions import callbacks, permissions
from lcm.models import Callback

from .display import callee_window, number, when
from .shared import in_console_words, request_context, search_by_identity
from .words import PlainWords

DUE, OVERDUE, ATTENTION, UPCOMING = "due", "overdue", "attention", "upcoming"
# The page being rendered's attention reasons (pk -> reason), computed once
# per page in one query each for modes and the do-not-call list; per thread,
# as a ModelAdmin instance is shared by every request.
_page = threading.local()


def _scheduled_needing_attention(now) -> dict[int, str]:
    scheduled = list(
        Callback.objects.filter(state=Callback.State.SCHEDULED).select_related("account")
    )
    return callbacks.attention(scheduled, now=now)


class StatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [
            (DUE, "Due now"),
            (OVERDUE, "Overdue (window passed)"),
            (ATTENTION, "Needing attention"),
            (UPCOMING, "Upcoming"),
        ]

    def queryset(self, request, queryset):
        now = timezone.now()
        scheduled = queryset.filter(state=Callback.State.SCHEDULED)
        if self.value() == ATTENTION:
            return scheduled.filter(pk__in=list(_scheduled_needing_attention(now)))
        if self.value() == DUE:
            return queryset.filter(pk__in=[cb.pk for cb in callbacks.due_now(now)])
        if self.value() == OVERDUE:
            return queryset.filter(pk__in=callbacks.overdue(now).values("pk"))
        if self.value() == UPCOMING:
            return scheduled.filter(window_start__gt=now)
        return queryset


class ReassignForm(forms.Form):
    agent = forms.CharField(label="AgentID", max_length=64)


class CancelForm(forms.Form):
    reason = forms.CharField(max_length=100, help_text="Why it is cancelled (audited).")


@admin.register(Callback)
class CallbackAdmin(PlainWords, admin.ModelAdmin):
    list_display = [
        "id", "row_actions", "account_key", "mode_and_number", "kind", "agent", "local_window",
        "status",
    ]  # fmt: skip
    list_filter = [StatusFilter, "state", "kind"]
    search_fields = ["=account__account_number", "=agent__agent_id", "=callid", "=number"]
    search_help_text = "An exact LCM key, AgentID or call ID, or a number (any spelling)."
    list_select_related = ["account", "agent"]
    list_per_page = 50
    fields = [
        "kind", "account_link", "mode_and_number", "number_e164", "local_window", "agent",
        "callid", "comments", "status", "closing", "created", "created_by", "closed",
        "closed_by",
    ]  # fmt: skip
    readonly_fields = fields

    def get_list_display(self, request):
        if permissions.may(request.user, permissions.CHANGE_CALLBACKS):
            return self.list_display
        return [name for name in self.list_display if name != "row_actions"]

    def get_search_results(self, request, queryset, search_term):
        return search_by_identity(super().get_search_results, request, queryset, search_term, "")

    def object_title(self, obj):
        return f"Callback #{obj.pk} of {obj.account.account_number}, mode {obj.mode_id}"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False  # the change page is read-only: reassign and cancel are actions

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        _page.attention = _scheduled_needing_attention(timezone.now())
        return super().changelist_view(request, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra = {**(extra_context or {})}
        callback = Callback.objects.filter(pk=object_id).first() if object_id.isdigit() else None
        if callback is not None:
            _page.attention = callbacks.attention([callback], now=timezone.now())
            if callback.state == Callback.State.SCHEDULED and permissions.may(
                request.user, permissions.CHANGE_CALLBACKS
            ):
                extra["callback_actions"] = [
                    ("Reassign", reverse("admin:lcm_callback_reassign", args=[callback.pk])),
                    ("Cancel", reverse("admin:lcm_callback_cancel", args=[callback.pk])),
                ]
        return super().change_view(request, object_id, form_url, extra)

    @admin.display(description="account", ordering="account__account_number")
    def account_key(self, obj):
        return obj.account.account_number

    @admin.display(description="Account")
    def account_link(self, obj):
        url = reverse("admin:lcm_account_change", args=[obj.account_id])
        return format_html('<a href="{}">{}</a>', url, obj.account)

    @admin.display(description="mode")
    def mode_and_number(self, obj):
        shown = number(obj.number, obj.number_e164, country=obj.account.country)
        return format_html("{}: {}", obj.mode_id, shown)

    @admin.display(description="window (callee's time)")
    def local_window(self, obj):
        return callee_window(obj.window_start, obj.window_end, obj.time_zone)

    @admin.display(description="", empty_value="")
    def row_actions(self, obj):
        """Reassign… and Cancel… on a scheduled callback, on its row."""
        if obj.state != Callback.State.SCHEDULED:
            return ""
        return format_html(
            '<a href="{}" class="lcm-row-action" aria-label="Reassign… callback #{}">Reassign…</a>'
            ' <a href="{}" class="lcm-row-action" aria-label="Cancel… callback #{}">Cancel…</a>',
            reverse("admin:lcm_callback_reassign", args=[obj.pk]), obj.pk,
            reverse("admin:lcm_callback_cancel", args=[obj.pk]), obj.pk,
        )  # fmt: skip

    @admin.display(description="Reason or outcome")
    def closing(self, obj):
        """Why it was cancelled, or the dialer's outcome of a done one."""
        if obj.state == Callback.State.CANCELLED:
            return f"cancelled: {obj.outcome}" if obj.outcome else "cancelled"
        if obj.state == Callback.State.DONE:
            return f"outcome: {obj.outcome}" if obj.outcome else "done"
        return "—"

    @admin.display(description="Scheduled at")
    def created(self, obj):
        return when(obj.created_at)

    @admin.display(description="Closed at")
    def closed(self, obj):
        return when(obj.closed_at)

    @admin.display(description="status")
    def status(self, obj):
        if obj.state == Callback.State.CANCELLED:
            return f"Cancelled: {obj.outcome}" if obj.outcome else "Cancelled"
        if obj.state == Callback.State.DONE:
            return f"Done: {obj.outcome}" if obj.outcome else "Done"
        if obj.state != Callback.State.SCHEDULED:
            return obj.get_state_display()
        reason = getattr(_page, "attention", {}).get(obj.pk)
        if reason:
            return f"Needs attention: {reason}"
        now = timezone.now()
        if obj.window_end <= now:
            return "Overdue"
        if obj.window_start <= now:
            return "Due now"
        return "Upcoming"

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<int:callback_id>/reassign/", view(self.reassign_view),
                 name="lcm_callback_reassign"),
            path("<int:callback_id>/cancel/", view(self.cancel_view), name="lcm_callback_cancel"),
            *super().get_urls(),
        ]  # fmt: skip

    def _action_view(self, request, callback_id, form_class, title, run):
        if not permissions.may(request.user, permissions.CHANGE_CALLBACKS):
            raise PermissionDenied
        callback = get_object_or_404(Callback.objects.select_related("account", "agent"),
                                     pk=callback_id)  # fmt: skip
        form = form_class(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                message = run(callback, form.cleaned_data)
            except errors.LcmError as exc:
                form.add_error(None, in_console_words(exc))
            else:
                self.message_user(request, message, messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:lcm_callback_changelist"))
        return TemplateResponse(
            request,
            "admin/lcm/callback/action.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "title": title,
                "callback": callback,
                "form": form,
                "callback_url": reverse("admin:lcm_callback_change", args=[callback.pk]),
            },
        )

    def reassign_view(self, request, callback_id):
        def run(callback, data):
            callbacks.reassign(
                callback_id=callback.pk, agent_id=data["agent"], actor=request.user,
                context=request_context(request),
            )  # fmt: skip
            return f"Callback #{callback.pk} reassigned to agent {data['agent']}."

        return self._action_view(request, callback_id, ReassignForm,
                                 f"Reassign callback #{callback_id}", run)  # fmt: skip

    def cancel_view(self, request, callback_id):
        def run(callback, data):
            callbacks.cancel_as_supervisor(
                callback_id=callback.pk, reason=data["reason"], actor=request.user,
                context=request_context(request),
            )  # fmt: skip
            return f"Callback #{callback.pk} cancelled (reason: {data['reason']})."

        return self._action_view(request, callback_id, CancelForm,
                                 f"Cancel callback #{callback_id}", run)  # fmt: skip
