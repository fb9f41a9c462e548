"""Accounts: the list, its search by any number, and the account page.

The page shows the live modes (as dialable channels), the "Change a number"
form, the deleted modes, the calls and the change history; its forms post to
the views of `ModeChangeViews` (lcm/admin/supervisor.py).
"""

from __future__ import annotations

import re
from urllib.parse import urlencode

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import Case, Exists, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Right
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils import timezone

from lcm import errors, list_export
from lcm.actions import business_fields, do_not_call, permissions, supervisor
from lcm.actions.dialing import dialable_modes
from lcm.admin.export_jobs import ExportJobViews
from lcm.models import Account, Call, ContactMode, ModeChange
from lcm.numbers import clean_any, normalise_region

from . import as_of as as_of_views
from .display import floor_zone, when, when_text
from .filters import input_filter
from .forms import SetNumberForm, TimeZoneField
from .import_jobs import ImportJobViews
from .shared import active_reverts, audit_list_url, search_by_identity
from .supervisor import ModeChangeViews
from .words import CsvExport, PlainChoices, PlainWords

# The account page lists this many calls, deleted modes and audit entries,
# newest first, and links to the full filtered lists for the rest.
ACCOUNT_PAGE_ROWS = 20


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


class CampaignChoiceField(forms.ModelChoiceField):
    """The account's campaign by CampaignID. `""` is a real choice: the
    Default campaign (the accounts that had none), not "nothing chosen"."""

    def __init__(self, **kwargs):
        kwargs.update(to_field_name="code", empty_label=None, required=False)
        super().__init__(**kwargs)

    def to_python(self, value):
        if value in self.empty_values:
            value = ""
        try:
            return self.queryset.get(code=value)
        except (ValueError, TypeError, self.queryset.model.DoesNotExist):
            raise forms.ValidationError(
                self.error_messages["invalid_choice"], code="invalid_choice"
            ) from None


class AccountForm(forms.ModelForm):
    """Country and time zone are checked as imports check them."""

    def clean_country(self):
        try:
            return normalise_region(self.cleaned_data["country"])
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None

    class Meta:
        field_classes = {"time_zone": TimeZoneField, "campaign": CampaignChoiceField}


@admin.register(Account)
class AccountAdmin(
    ModeChangeViews,
    ImportJobViews,
    ExportJobViews,
    CsvExport,
    PlainChoices,
    PlainWords,
    admin.ModelAdmin,
):
    form = AccountForm
    export_job_list = "accounts"
    export_lines = list_export.account_lines
    export_name = "accounts"
    list_display = ["account_number", "first_name", "last_name", "campaign", "created"]
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
        return ["account_number", "created"] if obj else []

    @admin.display(description="Created", ordering="created_at")
    def created(self, obj):
        return when(obj.created_at)

    def response_change(self, request, obj):
        """Saved: one message, and the account page again (where the work is)."""
        self.message_user(request, f"Account {obj} saved.", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:lcm_account_change", args=[obj.pk]))

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
            path("<int:account_id>/as-of/", view(self.as_of_view), name="lcm_account_as_of"),
            *super().get_urls(),
        ]

    def as_of_view(self, request, account_id):
        """The account as the audit log says it was at `?at=` (read-only)."""
        if not as_of_views.may_read(request.user):
            raise PermissionDenied
        account = get_object_or_404(Account, pk=account_id)
        text = request.GET.get("at", "")
        at = as_of_views.parse_floor_time(text)
        extra = (
            as_of_views.context(account, at)
            if at is not None
            else {"as_of_error": as_of_views.NOT_AN_INSTANT}
        )
        shown = (at or timezone.now()).astimezone(floor_zone())
        return self._render(
            request,
            "admin/lcm/account/as_of.html",
            account,
            title=f"{account} as of {when_text(at)}" if at else f"{account} as of…",
            floor_zone=floor_zone().key,
            at_value=shown.strftime("%Y-%m-%dT%H:%M:%S"),
            **extra,
        )

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
            .select_related("reverts", "account")
            .annotate(reverted_by_seq=Subquery(active_reverts().values("seq")[:1]))
            .order_by("-seq")[: ACCOUNT_PAGE_ROWS + 1]
        )
        changed = request.GET.get("changed", "")
        return {
            "account": account,
            "changed_mode": int(changed) if changed.isdigit() and len(changed) < 6 else None,
            "latest_seq": seq,
            "can_change_modes": can_change,
            "may_read_as_of": as_of_views.may_read(request.user),
            "as_of_url": reverse("admin:lcm_account_as_of", args=[account.pk]),
            "as_of_default": timezone.localtime(timezone.now(), floor_zone()).strftime(
                "%Y-%m-%dT%H:%M:%S"
            ),
            "floor_zone": floor_zone().key,
            "live_modes": dialable_modes(
                account,
                list(
                    ContactMode.objects.filter(account=account, deleted_at=None)
                    .select_related("mode_type")
                    .order_by("mode_type_id")
                ),
                now=timezone.now(),
            ),
            # The campaign's typed business fields with this contact's values
            # (spec campaign-services.md section 6); agents set them.
            "business_fields": business_fields.values_of(account),
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
