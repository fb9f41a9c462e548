"""The supervisors' console: accounts, modes, calls, agents, DNC, mode types.

Every change to a number goes through `lcm.actions.supervisor` (validated, locked,
audited with the supervisor as the actor): the account page hosts the
"Change a number" form, the Restore buttons of deleted modes and the
revert confirmation of an audit entry. No admin form writes a mode itself.
"""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlencode

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import Case, Exists, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Right
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from lcm import errors, list_export
from lcm.actions import RequestContext, do_not_call, permissions, supervisor
from lcm.actions import calls as call_actions
from lcm.actions.dialing import dialable_modes
from lcm.logs import request_id_of
from lcm.models import Account, Agent, Call, ContactMode, DoNotCallNumber, ModeChange, ModeType
from lcm.numbers import clean_any, normalise_region

from .filters import date_range_filter, input_filter
from .forms import ModeSettingsForm, RestoreForm, RevertForm, SetNumberForm, TimeZoneField
from .uploads import AccountImportViews
from .words import CsvExport, PlainWords, short_time

# The account page lists this many calls, deleted modes and audit entries,
# newest first, and links to the full filtered lists for the rest.
ACCOUNT_PAGE_ROWS = 20


def audit_list_url(account: Account) -> str:
    """The audit log filtered to one account (exact-match search on the LCM key)."""
    return (
        reverse("admin:lcm_modechange_changelist") + "?" + urlencode({"q": account.account_number})
    )


def active_reverts():
    """The revert of the outer entry that still stands (a revert that was
    itself reverted no longer counts: the entry can be reverted again)."""
    return ModeChange.objects.filter(reverts=OuterRef("pk"), reverted_by__isnull=True).order_by(
        "seq"
    )


def request_context(request) -> RequestContext:
    return RequestContext(
        source=supervisor.ADMIN_SOURCE,
        client_ip=request.META.get("REMOTE_ADDR") or None,
        request_id=request_id_of(request),  # the API's rule: a sane X-Request-ID, else a new one
    )


@admin.register(ModeType)
class ModeTypeAdmin(PlainWords, admin.ModelAdmin):
    """Bounds are checked by `ModeType.clean()`; a type in use cannot be
    deleted (its modes PROTECT it)."""

    list_display = ["id", "name", "channel_type", "min_length", "max_length"]
    list_filter = ["channel_type"]
    search_fields = ["name"]

    def get_readonly_fields(self, request, obj=None):
        # The id is the dialer's ModeID: renumbering would re-label stored modes.
        return ["id"] if obj else []


class ReasonForm(forms.Form):
    """The reason a console action on a system-managed record records."""

    reason = forms.CharField(
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="Kept with the record's history, with your name and the time.",
        error_messages={"required": errors.REASON_REQUIRED},
    )


class ConsoleActionMixin:
    """A console action on a record the dialer manages (a call, an agent's
    session): a confirmation page with a reason, one action of
    `lcm.actions.calls`, the outcome as a message on the record's page."""

    def _reason_action(self, request, obj, *, perm, title, explain, button, action, describe):
        if not permissions.may(request.user, perm):
            raise PermissionDenied
        back = reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_change", args=[obj.pk])
        form = ReasonForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                done = action(form.cleaned_data["reason"])
            except errors.LcmError as exc:
                for field, reasons in (exc.fields or {None: [exc.msg]}).items():
                    for reason in reasons:
                        form.add_error(field if field in form.fields else None, reason)
            else:
                self.message_user(request, describe(done), messages.SUCCESS)
                return HttpResponseRedirect(back)
        return TemplateResponse(
            request,
            "admin/lcm/console/reason_confirm.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "object": obj,
                "object_url": back,
                "title": title,
                "explain": explain,
                "button": button,
                "form": form,
            },
        )


class LoggedInFilter(admin.BooleanFieldListFilter):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.title = "logged in"  # not the field's name, "is logged in"


@admin.register(Agent)
class AgentAdmin(PlainWords, ConsoleActionMixin, admin.ModelAdmin):
    """Who an agent is (AgentID, user) is edited here; whether the agent is
    logged in is the dialer's to say (`lcm.actions.calls`): the console
    only offers "Log out…", a recorded session event with a reason."""

    show_facets = admin.ShowFacets.NEVER  # no COUNT per filter choice on big tables
    list_display = ["agent_id", "user", "logged_in", "since", "active_call"]
    list_filter = [("is_logged_in", LoggedInFilter)]
    search_fields = ["=agent_id", f"user__{get_user_model().USERNAME_FIELD}"]
    list_select_related = ["user"]
    list_per_page = 50
    change_form_template = "admin/lcm/agent/change_form.html"

    def get_fields(self, request, obj=None):
        return ["agent_id", "user", "logged_in", "since"] if obj else ["agent_id", "user"]

    def get_readonly_fields(self, request, obj=None):
        # The AgentID is the dialer's identity of the agent; the session state
        # changes only through the dialer's API or "Log out…".
        return ["agent_id", "logged_in", "since"] if obj else []

    def get_queryset(self, request):
        active = Call.objects.filter(agent=OuterRef("pk"), state=Call.State.ACTIVE).order_by(
            "-started_at"
        )
        return (
            super()
            .get_queryset(request)
            .annotate(active_callid=Subquery(active.values("callid")[:1]))
        )

    @admin.display(description="Logged in", boolean=True, ordering="is_logged_in")
    def logged_in(self, obj):
        return obj.is_logged_in

    @admin.display(description="Since", ordering="logged_in_changed_at")
    def since(self, obj):
        return short_time(obj.logged_in_changed_at) if obj.logged_in_changed_at else "—"

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
                f"Agent {agent.agent_id} logged out at {short_time(event.at)} "
                f"(reason: {event.reason})."
            ),
        )


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

    show_facets = admin.ShowFacets.NEVER  # no COUNT per filter choice on big tables
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
        return short_time(obj.started_at)

    @admin.display(description="Ended", ordering="ended_at")
    def ended(self, obj):
        return short_time(obj.ended_at) if obj.ended_at else "—"

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
                f"{call.get_state_display().lower()} since {short_time(call.started_at)}. "
                "End it when the dialer's end never arrived; the end is recorded in the "
                "call's history with your reason."
            ),
            button="End the call",
            action=lambda reason: call_actions.end_stuck_call(
                callid=call.callid, reason=reason, actor=request.user
            ),
            describe=lambda event: (
                f"Call {call.callid} ended at {short_time(event.at)} (reason: {event.reason})."
            ),
        )


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
                        self.add_error(field, reason)
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
class DoNotCallNumberAdmin(CsvExport, PlainWords, admin.ModelAdmin):
    """The do-not-call list: who blocked what (a number or a whole contact),
    from which call, for which campaign, for which period, with what
    comment. Every write goes through `lcm.actions.do_not_call`. Nothing is
    deleted: a block is lifted, with a reason, and stays as evidence."""

    form = DoNotCallForm
    export_lines = list_export.do_not_call_lines
    export_name = "do-not-call"
    show_facets = admin.ShowFacets.NEVER
    list_display = [
        "target",
        "campaign_shown",
        "status",
        "period",
        "added_by",
        "agent_code",
        "callid",
        "comments",
        "reason",
        "lift_link",
    ]
    list_filter = ["scope", LiftedFilter]
    search_fields = ["=number", "=account_number", "=callid", "=agent_code"]
    search_help_text = "A number (any spelling), an LCM key, a call ID or an AgentID."
    save_and_add_another = True  # blocking several numbers in a row
    list_per_page = 50
    FIELDS = [
        "scope",
        "number",
        "number_e164",
        "account_number",
        "mode_id",
        "campaign",
        "starts_at",
        "expires_at",
        "reason",
        "comments",
        "added_at",
        "added_by",
        "agent_code",
        "callid",
        "lifted_at",
        "lifted_by",
        "lift_reason",
    ]

    def get_fields(self, request, obj=None):
        return self.FIELDS if obj else ["number", "reason", "expires_at"]

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
            return self.FIELDS
        # A number is the entry's identity: to block another, add it.
        return [name for name in self.FIELDS if name not in ("reason", "expires_at")]

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
        return f"Do-not-call block of {self.target(obj)}"

    @admin.display(description="blocks")
    def target(self, obj):
        if obj.scope == DoNotCallNumber.Scope.CONTACT:
            return f"whole contact {obj.account_number}"
        if obj.account_number:
            return f"{obj.number} (mode {obj.mode_id} of {obj.account_number})"
        return obj.number

    @admin.display(description="campaign", ordering="campaign")
    def campaign_shown(self, obj):
        return obj.campaign or "every campaign"

    @admin.display(description="status")
    def status(self, obj):
        now = timezone.now()
        if obj.lifted_at:
            return f"lifted {short_time(obj.lifted_at)} by {obj.lifted_by}"
        if obj.expires_at and obj.expires_at <= now:
            return "expired"
        if obj.starts_at and obj.starts_at > now:
            return "scheduled"
        return "active"

    @admin.display(description="period")
    def period(self, obj):
        start = short_time(obj.starts_at or obj.added_at)
        end = short_time(obj.expires_at) if obj.expires_at else "permanent"
        return f"{start} → {end}"

    @admin.display(description="")
    def lift_link(self, obj):
        if obj.lifted_at:
            return ""
        return format_html(
            '<a href="{}">Lift…</a>', reverse("admin:lcm_donotcallnumber_lift", args=[obj.pk])
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
            self.message_user(request, summary, messages.INFO)
        obj.pk, obj.number = saved.pk, saved.number
        obj._state.adding = False

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
                        request, f"The block of {self.target(entry)} is lifted.", messages.SUCCESS
                    )
                return HttpResponseRedirect(list_url)
        return TemplateResponse(
            request,
            "admin/lcm/donotcallnumber/lift_confirm.html",
            {
                **self.admin_site.each_context(request),
                "title": "Lift a do-not-call block",
                "entry": entry,
                "target": self.target(entry),
                "list_url": list_url,
                "form": form,
                "opts": self.model._meta,
            },
        )


def search_by_identity(search, request, queryset, term, prefix):
    """Also match `term` as a number, by identity: however it was typed
    ("202-555 0199", "+1 202…"), and however the row holds it."""
    results, may_have_duplicates = search(request, queryset, term)
    try:
        number = clean_any(term)
    except errors.InvalidNumber:
        return results, may_have_duplicates
    results |= queryset.filter(do_not_call.match_q(number, prefix))
    return results, True


_SEPARATORS = re.compile(r"[\s\-().]")


def last_digits_modes(term: str):
    """Modes (live or deleted) whose number ends with `term`, 4 digits or
    more: an equality on the indexed last 4 digits, then the full suffix."""
    digits = _SEPARATORS.sub("", term or "")
    if not (digits.isdigit() and len(digits) >= 4):
        return None
    return ContactMode.objects.annotate(tail=Right("number", 4)).filter(
        tail=digits[-4:], number__endswith=digits
    )


def _number_keys(term: str) -> list[str] | None:
    try:
        number = clean_any(term)
    except errors.InvalidNumber:
        return None
    return list(dict.fromkeys(k for k in (number.number, number.national, number.e164) if k))


def former_number_entries(term: str):
    """Audit entries that set or replaced the number (indexed on old_number
    and new_number): the accounts that held it, then or now."""
    keys = _number_keys(term)
    if not keys:
        return None
    return ModeChange.objects.filter(Q(old_number__in=keys) | Q(new_number__in=keys))


def _search_term(request) -> str:
    """The list's search term, "" when there is none or when it holds a NUL:
    Django's search form refuses that one with its own message, and
    PostgreSQL could not even compare it."""
    term = request.GET.get("q", "").strip()
    return "" if "\x00" in term else term


def matched_field(term: str):
    """Which field made an account match `term`, for the list's column."""
    whens = [When(account_number=term, then=Value("LCM key"))]
    keys = _number_keys(term)
    if keys:
        number = clean_any(term)
        modes = ContactMode.objects.filter(do_not_call.match_q(number), account=OuterRef("pk"))
        whens += [
            When(Exists(modes.filter(deleted_at=None)), then=Value("number")),
            When(Exists(modes), then=Value("deleted number")),
        ]
    tail = last_digits_modes(term)
    if tail is not None:
        tail = tail.filter(account=OuterRef("pk"))
        whens += [
            When(Exists(tail.filter(deleted_at=None)), then=Value("last digits of a number")),
            When(Exists(tail), then=Value("last digits of a deleted number")),
        ]
    former = former_number_entries(term)
    if former is not None:
        whens.append(
            When(Exists(former.filter(account=OuterRef("pk"))), then=Value("former number"))
        )
    return Case(*whens, default=Value("name"), output_field=models.CharField())


class AccountForm(forms.ModelForm):
    """Country and time zone are checked as imports check them."""

    def clean_country(self):
        try:
            return normalise_region(self.cleaned_data["country"])
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None

    class Meta:
        field_classes = {"time_zone": TimeZoneField}


@admin.register(Account)
class AccountAdmin(AccountImportViews, CsvExport, PlainWords, admin.ModelAdmin):
    form = AccountForm
    export_lines = list_export.account_lines
    export_name = "accounts"
    show_facets = admin.ShowFacets.NEVER  # no COUNT per filter choice on big tables
    list_display = ["account_number", "first_name", "last_name", "campaign", "created_at"]
    list_filter = [input_filter("campaign", "campaign", "campaign", "campaign")]
    search_fields = ["=account_number", "first_name", "last_name", "=modes__number"]
    search_help_text = (
        "Exact LCM key, a name, any of the contact's numbers (any spelling), "
        "its last 4 or more digits, or a former number."
    )
    show_full_result_count = False
    list_per_page = 50
    change_form_template = "admin/lcm/account/change_form.html"

    def changelist_view(self, request, extra_context=None):
        extra = {"may_import": permissions.may(request.user, permissions.IMPORT_ACCOUNTS)}
        return super().changelist_view(request, extra_context={**extra, **(extra_context or {})})

    def get_search_results(self, request, queryset, search_term):
        results, _ = search_by_identity(
            super().get_search_results, request, queryset, search_term, "modes__"
        )
        tail = last_digits_modes(search_term)
        if tail is not None:
            results |= queryset.filter(pk__in=tail.values("account_id"))
        former = former_number_entries(search_term)
        if former is not None:
            results |= queryset.filter(pk__in=former.values("account_id"))
        return results, True

    def get_queryset(self, request):
        """While searching, each row says which field matched (`matched`)."""
        queryset = super().get_queryset(request)
        term = _search_term(request)
        return queryset.annotate(matched=matched_field(term)) if term else queryset

    def get_list_display(self, request):
        columns = super().get_list_display(request)
        return [*columns, "matched_on"] if _search_term(request) else columns

    @admin.display(description="Matched on")
    def matched_on(self, obj):
        return getattr(obj, "matched", "") or "—"

    def get_readonly_fields(self, request, obj=None):
        # The LCM key is the dialer's identity of the contact, and the audit
        # entries copy it: it is set once, when the account is created.
        return ["account_number", "created_at"] if obj else []

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path(
                "<int:account_id>/set-number/",
                view(self.set_number_view),
                name="lcm_account_set_number",
            ),
            path(
                "<int:account_id>/modes/<int:mode_id>/settings/",
                view(self.mode_settings_view),
                name="lcm_account_mode_settings",
            ),
            path(
                "<int:account_id>/modes/<int:mode_pk>/restore/",
                view(self.restore_view),
                name="lcm_account_restore_mode",
            ),
            path(
                "<int:account_id>/revert/<int:change_id>/",
                view(self.revert_view),
                name="lcm_account_revert",
            ),
            *super().get_urls(),
        ]

    # --- The account page -------------------------------------------------

    def change_view(self, request, object_id, form_url="", extra_context=None):
        account = self.get_object(request, object_id)
        extra = dict(extra_context or {})
        if account is not None:
            extra.update(self._console_context(request, account))
        return super().change_view(request, object_id, form_url, extra_context=extra)

    def _console_context(self, request, account, set_number_form=None):
        seq = supervisor.latest_seq(account)
        can_change = permissions.may(request.user, permissions.CHANGE_MODES)
        deleted = list(
            ContactMode.objects.filter(account=account, deleted_at__isnull=False)
            .select_related("mode_type")
            .order_by("-deleted_at", "-pk")[: ACCOUNT_PAGE_ROWS + 1]
        )
        calls = list(
            Call.objects.filter(account=account)
            .select_related("agent")
            .order_by("-started_at")[: ACCOUNT_PAGE_ROWS + 1]
        )
        history = list(
            ModeChange.objects.filter(account=account)
            .select_related("reverts")
            .annotate(reverted_by_seq=Subquery(active_reverts().values("seq")[:1]))
            .order_by("-seq")[: ACCOUNT_PAGE_ROWS + 1]
        )
        return {
            "account": account,
            "latest_seq": seq,
            "can_change_modes": can_change,
            "live_modes": dialable_modes(
                account,
                list(
                    ContactMode.objects.filter(account=account, deleted_at=None)
                    .select_related("mode_type")
                    .order_by("mode_type_id")
                ),
                now=timezone.now(),
            ),
            "deleted_modes": deleted[:ACCOUNT_PAGE_ROWS],
            "more_deleted_modes": len(deleted) > ACCOUNT_PAGE_ROWS,
            "deleted_modes_url": reverse("admin:lcm_contactmode_changelist")
            + "?"
            + urlencode({"q": account.account_number, "deleted_at__isempty": "0"}),
            "calls": calls[:ACCOUNT_PAGE_ROWS],
            "more_calls": len(calls) > ACCOUNT_PAGE_ROWS,
            "calls_url": reverse("admin:lcm_call_changelist")
            + "?"
            + urlencode({"state": "all", "q": account.account_number}),
            "history": history[:ACCOUNT_PAGE_ROWS],
            "more_history": len(history) > ACCOUNT_PAGE_ROWS,
            "audit_url": audit_list_url(account),
            "page_rows": ACCOUNT_PAGE_ROWS,
            "set_number_form": set_number_form
            or (SetNumberForm(initial={"expected_seq": seq}) if can_change else None),
        }

    # --- Console actions: each one calls one service ---------------------

    def _account_for_change(self, request, account_id) -> Account:
        if not permissions.may(request.user, permissions.CHANGE_MODES):
            raise PermissionDenied
        return get_object_or_404(Account, pk=account_id)

    def _render(self, request, template, account, **context):
        return TemplateResponse(
            request,
            template,
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "account": account,
                "account_url": reverse("admin:lcm_account_change", args=[account.pk]),
                **context,
            },
        )

    def _submit(self, request, form, account, action, describe):
        """Run one console action (a service call). A refusal comes back as
        the form with the reason on it; a success as a message and the
        redirect to the account page. Returns (form, redirect or None)."""
        try:
            entry = action()
        except errors.LcmError as exc:
            return _refused(form, exc, account), None
        self.message_user(request, describe(entry), messages.SUCCESS)
        return form, HttpResponseRedirect(reverse("admin:lcm_account_change", args=[account.pk]))

    def set_number_view(self, request, account_id):
        """The "Change a number" form: the account page posts here; a refusal
        re-renders the form alone, the reason next to the field."""
        account = self._account_for_change(request, account_id)
        if request.method != "POST":
            form = SetNumberForm(initial={"expected_seq": supervisor.latest_seq(account)})
        else:
            form = SetNumberForm(request.POST)
            if form.is_valid():
                data = form.cleaned_data
                doomed = _modes_deleted_with(account, data) if data["delete_other_modes"] else []
                if doomed and not data["confirm_delete"]:
                    return self._render(
                        request,
                        "admin/lcm/account/set_number_confirm.html",
                        account,
                        title=f"Delete {len(doomed)} other number{'s' if len(doomed) > 1 else ''}"
                        f" of {account}?",
                        form=form,
                        data=data,
                        doomed=doomed,
                    )
                form, done = self._submit(
                    request,
                    form,
                    account,
                    lambda: supervisor.set_mode_number_as_supervisor(
                        account_id=account.pk,
                        mode_id=data["mode_type"].pk,
                        contact_number=data["number"],
                        delete_other_modes=data["delete_other_modes"],
                        actor=request.user,
                        expected_seq=data["expected_seq"],
                        context=request_context(request),
                    ),
                    describe_set_number,
                )
                if done:
                    return done
        return self._render(
            request,
            "admin/lcm/account/set_number.html",
            account,
            title=f"Change a number of {account}",
            form=form,
        )

    def mode_settings_view(self, request, account_id, mode_id):
        """Consent (PEWC), time zone and calling window of one live mode."""
        account = self._account_for_change(request, account_id)
        mode = get_object_or_404(
            ContactMode.objects.select_related("mode_type"),
            account=account,
            mode_type_id=mode_id,
            deleted_at=None,
        )
        if request.method != "POST":
            form = ModeSettingsForm(
                initial={
                    "expected_seq": supervisor.latest_seq(account),
                    "consent": mode.has_consent,
                    "time_zone": mode.time_zone,
                    "window_start": mode.window_start,
                    "window_end": mode.window_end,
                }
            )
        else:
            form = ModeSettingsForm(request.POST)
            if form.is_valid():
                data = form.cleaned_data
                form, done = self._submit(
                    request,
                    form,
                    account,
                    lambda: supervisor.change_mode_settings(
                        account_id=account.pk,
                        mode_id=mode.mode_type_id,
                        consent=data["consent"],
                        time_zone=data["time_zone"],
                        window=data["window"],
                        actor=request.user,
                        expected_seq=data["expected_seq"],
                        context=request_context(request),
                    ),
                    lambda entry: (
                        f"Settings of mode {entry.mode_id} ({entry.new_number}) saved "
                        f"(audit entry #{entry.seq})."
                    ),
                )
                if done:
                    return done
        (channel,) = dialable_modes(account, [mode], now=timezone.now())
        return self._render(
            request,
            "admin/lcm/account/mode_settings.html",
            account,
            title=f"Settings of mode {mode.mode_type_id} ({mode.mode_type.name}) of {account}",
            mode=mode,
            channel=channel,
            form=form,
        )

    def restore_view(self, request, account_id, mode_pk):
        account = self._account_for_change(request, account_id)
        mode = get_object_or_404(
            ContactMode.objects.select_related("mode_type"), pk=mode_pk, account=account
        )
        live = (
            ContactMode.objects.filter(
                account=account, mode_type_id=mode.mode_type_id, deleted_at=None
            )
            .exclude(pk=mode.pk)
            .first()
        )
        if request.method != "POST":
            form = RestoreForm(initial={"expected_seq": supervisor.latest_seq(account)})
        else:
            form = RestoreForm(request.POST)
            if form.is_valid():
                data = form.cleaned_data
                form, done = self._submit(
                    request,
                    form,
                    account,
                    lambda: supervisor.restore_mode(
                        mode_pk=mode.pk,
                        actor=request.user,
                        expected_seq=data["expected_seq"],
                        replace=data["replace"],
                        context=request_context(request),
                    ),
                    lambda entry: (
                        f"Mode {entry.mode_id} restored: {entry.new_number} "
                        f"(audit entry #{entry.seq})."
                    ),
                )
                if done:
                    return done
        return self._render(
            request,
            "admin/lcm/account/restore_confirm.html",
            account,
            title=f"Restore mode {mode.mode_type_id} of {account}",
            mode=mode,
            live=live,
            form=form,
        )

    def revert_view(self, request, account_id, change_id):
        """The confirmation page of a revert: exactly what will change, and
        the later entries it overwrites, which must be confirmed."""
        account = self._account_for_change(request, account_id)
        entry = ModeChange.objects.select_related("reverts").filter(pk=change_id).first()
        if entry is None or entry.account_id != account.pk:
            raise Http404(errors.UNKNOWN_MODE_CHANGE.format(ref=change_id))
        if request.method != "POST":
            form = RevertForm(initial={"expected_seq": supervisor.latest_seq(account)})
        else:
            form = RevertForm(request.POST)
            if form.is_valid():
                data = form.cleaned_data
                form, done = self._submit(
                    request,
                    form,
                    account,
                    lambda: supervisor.revert_mode_change(
                        change_id=entry.pk,
                        actor=request.user,
                        expected_seq=data["expected_seq"],
                        confirm_superseded=data["confirm_superseded"],
                        context=request_context(request),
                    ),
                    lambda revert: f"Entry #{entry.seq} reverted (audit entry #{revert.seq}).",
                )
                if done:
                    return done
        plan = supervisor.plan_revert(entry)
        reverted_by = entry.reverted_by.filter(reverted_by__isnull=True).order_by("seq").first()
        return self._render(
            request,
            "admin/lcm/account/revert_confirm.html",
            account,
            title=f"Revert audit entry #{entry.seq}",
            entry=entry,
            entry_url=reverse("admin:lcm_modechange_change", args=[entry.pk]),
            plan=plan,
            reverted_by=reverted_by,
            already_reverted=reverted_by
            and errors.ALREADY_REVERTED.format(seq=entry.seq, by=reverted_by.seq),
            form=form,
        )


def _modes_deleted_with(account: Account, data) -> list[ContactMode]:
    """The live modes "Delete other modes" would delete: every one but the
    mode being set (the confirmation page names them)."""
    return list(
        ContactMode.objects.filter(account=account, deleted_at=None)
        .exclude(mode_type_id=data["mode_type"].pk)
        .select_related("mode_type")
        .order_by("mode_type_id")
    )


def describe_set_number(entry: ModeChange) -> str:
    """The success message: the changed mode and every mode deleted with it."""
    text = f"Mode {entry.mode_id} now holds {entry.new_number}"
    if entry.deleted_modes:
        deleted = ", ".join(f"mode {m['mode_id']} ({m['number']})" for m in entry.deleted_modes)
        text += f"; deleted {deleted}"
    return f"{text} (audit entry #{entry.seq})."


def _refused(form, exc: errors.LcmError, account: Account):
    """Show a refusal on the form. A stale form comes back carrying the
    account's current seq (the page now shows the current state), with any
    confirmation box cleared: confirming again is a new, informed decision."""
    if isinstance(exc, errors.StaleForm):
        data = form.data.copy()
        data["expected_seq"] = str(supervisor.latest_seq(account))
        for confirmation in ("confirm_superseded", "replace", "confirm_delete"):
            data.pop(confirmation, None)
        form = type(form)(data)
        form.is_valid()
    form.add_lcm_error(exc)
    return form


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
