"""The do-not-call list: add, edit an expiry, lift; never delete."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme

from lcm import errors, list_export
from lcm.actions import do_not_call, permissions
from lcm.admin.export_jobs import ExportJobViews
from lcm.models import DoNotCallNumber

from . import display
from .display import number, number_text, when
from .shared import in_console_words, request_context, search_by_identity
from .words import CsvExport, PlainWords


class DoNotCallForm(forms.ModelForm):
    """A new entry is checked by the action's own rules before saving."""

    def clean(self):
        data = super().clean()
        if self.instance.pk is None and "number" in data:
            try:
                do_not_call.validate_new(data["number"], data.get("expires_at"))
            except errors.LcmError as exc:
                for field, reasons in (exc.fields or {None: [exc.msg]}).items():
                    for reason in reasons:
                        self.add_error(field, in_console_words(exc) if field else reason)
        return data

    class Meta:
        model = DoNotCallNumber
        fields = ["number", "reason", "expires_at"]
        help_texts = {
            "number": "Any spelling: spaces, dashes, a + or a country code. The block "
            "matches the number however a mode holds it.",
        }


class LiftForm(forms.Form):
    reason = forms.CharField(
        max_length=do_not_call.MAX_LIFT_REASON,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="Why the customer may be called again (recorded with the entry and audited).",
    )


class LiftedFilter(admin.SimpleListFilter):
    """Lifted or in force, in the supervisor's words (not "Empty / Not empty");
    the parameter keeps the name Django's empty-field filter used."""

    title = "lifted"
    parameter_name = "lifted_at__isempty"

    def lookups(self, request, model_admin):
        return [("1", "Not lifted"), ("0", "Lifted")]

    def queryset(self, request, queryset):
        if self.value() in ("0", "1"):
            return queryset.filter(lifted_at__isnull=self.value() == "1")
        return queryset


@admin.register(DoNotCallNumber)
class DoNotCallNumberAdmin(ExportJobViews, CsvExport, PlainWords, admin.ModelAdmin):
    """The do-not-call list: who blocked what (a number or a whole contact),
    from which call, for which campaign, for which period, with what
    comment. Every write goes through `lcm.actions.do_not_call`. Nothing is
    deleted: a block is lifted, with a reason, and stays as evidence."""

    form = DoNotCallForm
    export_job_list = "do_not_call"
    export_lines = list_export.do_not_call_lines
    export_name = "do-not-call"
    list_display = [
        "target",
        "lift_link",
        "campaign_shown",
        "status",
        "period",
        "added",
        "why",
    ]
    list_filter = ["scope", LiftedFilter]
    search_fields = ["=number", "=account_number", "=callid", "=agent_code"]
    search_help_text = "A number (any spelling), an LCM key, a call ID or an AgentID."
    list_per_page = 50
    # The entry's page. The number is its subject: as typed, and its E.164.
    FIELDS = [
        "scope",
        "number",
        "number_e164",
        "account_number",
        "mode_id",
        "campaign",
        "starts",
        "expires_at",
        "reason",
        "comments",
        "added_at_shown",
        "added_by",
        "agent_code",
        "callid",
        "lifted",
        "lift_reason",
    ]
    # Read-only on every entry: display methods (the floor's time, UTC on hover).
    SHOWN = ["starts", "added_at_shown", "lifted"]

    def get_list_display(self, request):
        if permissions.may(request.user, do_not_call.LIFT):
            return self.list_display
        return [name for name in self.list_display if name != "lift_link"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        if obj.account_id is not None or obj.lifted_at is not None:
            # A contact's block (SetDNC) is evidence, and a lifted one is over:
            # neither is edited; a block is lifted, and a new one added.
            return [*self.FIELDS, "expires"]
        # A number is the entry's identity: to block another, add it.
        return [name for name in self.FIELDS if name not in ("reason", "expires_at")]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["number", "reason", "expires_at"]
        if obj.account_id is not None or obj.lifted_at is not None:
            return ["expires" if f == "expires_at" else f for f in self.FIELDS]
        return self.FIELDS

    def has_delete_permission(self, request, obj=None):
        return False  # never a hard delete: lift the block (`lift_view`)

    def get_urls(self):
        return [
            path(
                "<int:entry_pk>/lift/",
                self.admin_site.admin_view(self.lift_view),
                name="lcm_donotcallnumber_lift",
            ),
            *super().get_urls(),
        ]

    def object_title(self, obj):
        return f"Do-not-call block of {self.target_text(obj)}"

    def target_text(self, obj) -> str:
        """What the entry blocks, in running text (titles, messages)."""
        if obj.scope == DoNotCallNumber.Scope.CONTACT:
            return f"whole contact {obj.account_number}"
        shown = number_text(obj.number, obj.number_e164)
        if obj.account_number:
            return f"{shown} (mode {obj.mode_id} of {obj.account_number})"
        return shown

    @admin.display(description="blocks")
    def target(self, obj):
        if obj.scope == DoNotCallNumber.Scope.CONTACT:
            return f"whole contact {obj.account_number}"
        shown = number(obj.number, obj.number_e164)
        if obj.account_number:
            return format_html("{} (mode {} of {})", shown, obj.mode_id, obj.account_number)
        return shown

    @admin.display(description="campaign", ordering="campaign")
    def campaign_shown(self, obj):
        return obj.campaign or "every campaign"

    @admin.display(description="status")
    def status(self, obj):
        now = timezone.now()
        if obj.lifted_at:
            return format_html("lifted {} by {}", when(obj.lifted_at), obj.lifted_by or "—")
        if obj.expires_at and obj.expires_at <= now:
            return "expired"
        if obj.starts_at and obj.starts_at > now:
            return "scheduled"
        return "active"

    @admin.display(description="period")
    def period(self, obj):
        return display.period(obj.starts_at or obj.added_at, obj.expires_at)

    @admin.display(description="added by")
    def added(self, obj):
        """Who blocked it: the agent and the call for SetDNC, else the user."""
        if obj.agent_code:
            call = f", call {obj.callid}" if obj.callid else ""
            return f"agent {obj.agent_code}{call}"
        return obj.added_by or "—"

    @admin.display(description="why")
    def why(self, obj):
        """The reason, and the agent's comments (SetDNC) in quotes."""
        if obj.comments and obj.reason:
            return format_html("{}: “{}”", obj.reason, obj.comments)
        if obj.comments:
            return format_html("“{}”", obj.comments)
        return obj.reason or "—"

    @admin.display(description="Starts")
    def starts(self, obj):
        return when(obj.starts_at) if obj.starts_at else "when added"

    @admin.display(description="Expires")
    def expires(self, obj):
        return display.period(obj.starts_at or obj.added_at, obj.expires_at)

    @admin.display(description="Added at")
    def added_at_shown(self, obj):
        return when(obj.added_at)

    @admin.display(description="Lifted")
    def lifted(self, obj):
        if not obj.lifted_at:
            return "—"
        return format_html("{} by {}", when(obj.lifted_at), obj.lifted_by or "—")

    @admin.display(description="", empty_value="")
    def lift_link(self, obj):
        if obj.lifted_at:
            return ""
        return format_html(
            '<a href="{}" class="lcm-row-action" aria-label="Lift… the block of {}">Lift…</a>',
            reverse("admin:lcm_donotcallnumber_lift", args=[obj.pk]),
            self.target_text(obj),
        )

    def get_search_results(self, request, queryset, search_term):
        return search_by_identity(super().get_search_results, request, queryset, search_term, "")

    def save_model(self, request, obj, form, change):
        """Through the action; its refusal comes back on the form (`_changeform_view`)."""
        data = form.cleaned_data
        if change:
            saved = do_not_call.change_entry(
                entry_pk=obj.pk,
                reason=data["reason"],
                expires_at=data["expires_at"],
                actor=request.user,
                context=request_context(request),
            )
        else:
            saved, summary = do_not_call.add_number(
                number=data["number"],
                reason=data["reason"],
                expires_at=data["expires_at"],
                actor=request.user,
                context=request_context(request),
            )
            request.lcm_added_summary = summary  # the one message of the addition
        obj.pk, obj.number = saved.pk, saved.number
        obj._state.adding = False

    def response_add(self, request, obj, post_url_continue=None):
        """One message, the action's own (what the block now flags), and back
        to the list: not Django's "was added successfully" beside it."""
        summary = getattr(request, "lcm_added_summary", None)
        if summary is None:
            return super().response_add(request, obj, post_url_continue)
        self.message_user(request, summary, messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:lcm_donotcallnumber_changelist"))

    def response_change(self, request, obj):
        """One message in the floor's words, and back to the list."""
        self.message_user(
            request, f"The block of {self.target_text(obj)} is saved.", messages.SUCCESS
        )
        return HttpResponseRedirect(reverse("admin:lcm_donotcallnumber_changelist"))

    @staticmethod
    def _next(request) -> str | None:
        """Where a lift started elsewhere (a revert's warning) goes back to."""
        target = request.POST.get("next") or request.GET.get("next")
        if target and url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            return target
        return None

    def lift_view(self, request, entry_pk):
        """Lift a block: asks for the reason, then `do_not_call.lift`."""
        if not permissions.may(request.user, do_not_call.LIFT):
            raise PermissionDenied
        entry = DoNotCallNumber.objects.filter(pk=entry_pk).first()
        if entry is None:
            raise Http404(f"No do-not-call entry {entry_pk}.")
        list_url = reverse("admin:lcm_donotcallnumber_changelist")
        form = LiftForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                entry, lifted = do_not_call.lift(
                    entry_pk=entry.pk,
                    reason=form.cleaned_data["reason"],
                    actor=request.user,
                    context=request_context(request),
                )
            except errors.LcmError as exc:
                for field, reasons in (exc.fields or {None: [exc.msg]}).items():
                    for reason in reasons:
                        form.add_error(field, reason)
            else:
                if lifted:
                    self.message_user(
                        request,
                        f"The block of {self.target_text(entry)} is lifted.",
                        messages.SUCCESS,
                    )
                return HttpResponseRedirect(self._next(request) or list_url)
        return TemplateResponse(
            request,
            "admin/lcm/donotcallnumber/lift_confirm.html",
            {
                **self.admin_site.each_context(request),
                "title": "Lift a do-not-call block",
                "entry": entry,
                "target": self.target_text(entry),
                "next": self._next(request),
                "back_url": self._next(request) or list_url,
                "list_url": list_url,
                "form": form,
                "opts": self.model._meta,
            },
        )
