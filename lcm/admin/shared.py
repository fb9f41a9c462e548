"""What every console admin shares: the request's context for an action's
audit entry, a reason-confirmed action on a record the dialer manages,
and the number search by identity.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db.models import OuterRef
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from lcm import errors
from lcm.actions import RequestContext, do_not_call, permissions, supervisor
from lcm.logs import request_id_of
from lcm.models import Account, ModeChange
from lcm.numbers import clean_any

from . import display

# A time of day as the floor writes it: 08:00, not Django's 08:00:00.
HOURS = forms.TimeInput(format="%H:%M", attrs={"size": 5, "placeholder": "HH:MM"})


class LowerCaseAddText(helpers.InlineAdminFormSet):
    """Django's inline button says "Add another Enabled mode" (capfirst of
    the verbose name mid-sentence); the floor's words are lower case. A
    ModelAdmin uses it through `lower_case_add_text`."""

    def inline_formset_data(self):
        data = json.loads(super().inline_formset_data())
        data["options"]["addText"] = f"Add another {self.opts.verbose_name}"
        return json.dumps(data)


class LowerCaseAddTextMixin:
    """For a ModelAdmin with inlines: their add buttons in lower case."""

    def get_inline_formsets(self, request, formsets, inline_instances, obj=None):
        wrapped = super().get_inline_formsets(request, formsets, inline_instances, obj)
        for inline_formset in wrapped:
            inline_formset.__class__ = LowerCaseAddText
        return wrapped


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


def console_number(number: str, e164: str = "") -> str:
    """A number in a refusal's words, as the console writes numbers."""
    return display.number_text(number, e164)


def in_console_words(exc: errors.LcmError) -> str:
    """A refusal's message, its numbers written as the console writes them
    (the action words it for the API: as stored)."""
    number, listed = getattr(exc, "number", None), getattr(exc, "listed", None)
    if number is not None and isinstance(exc, errors.DoNotCall):
        return do_not_call.refusal(number, listed, write=console_number).msg
    if number is not None and isinstance(exc, errors.AlreadyListed):
        return do_not_call.already_listed(number, listed, write=console_number).msg
    return exc.msg
