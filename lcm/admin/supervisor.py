"""The account page's changes to numbers, each one action of
`lcm.actions.supervisor` (validated, locked, audited with the supervisor as
the actor): change a number, a mode's settings, restore a deleted mode,
revert an audit entry. No admin form writes a mode itself.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone

from lcm import errors
from lcm.actions import do_not_call, permissions, supervisor
from lcm.actions.dialing import dialable_modes
from lcm.models import Account, ContactMode, ModeChange

from .display import number_text
from .forms import ModeSettingsForm, RestoreForm, RevertForm, SetNumberForm
from .shared import in_console_words, request_context


class ModeChangeViews:
    """The views behind the account page's forms (AccountAdmin mixes them in;
    `get_urls` there names them)."""

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
        account page, opening on its live modes with the changed one marked.
        Returns (form, redirect or None)."""
        try:
            entry = action()
        except errors.LcmError as exc:
            return _refused(form, exc, account), None
        self.message_user(request, describe(entry), messages.SUCCESS)
        url = reverse("admin:lcm_account_change", args=[account.pk])
        return form, HttpResponseRedirect(f"{url}?{urlencode({'changed': entry.mode_id})}")

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
                # A refusal is said before the confirmation page, not after it.
                refusal = (
                    supervisor.set_number_refusal(
                        account_id=account.pk,
                        mode_id=data["mode_type"].pk,
                        contact_number=data["number"],
                        delete_other_modes=True,
                    )
                    if doomed and not data["confirm_delete"]
                    else None
                )
                if refusal is not None:
                    form.add_lcm_error(refusal)
                elif doomed and not data["confirm_delete"]:
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
                else:
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
                        f"Settings of mode {entry.mode_id} ({_number(entry, entry.new_number)}) "
                        f"saved (audit entry #{entry.seq})."
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
                        f"Mode {entry.mode_id} restored: {_number(entry, entry.new_number)} "
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
                # "Revert the rest": the modes the list blocks keep their number.
                left = (
                    sorted(supervisor.plan_revert(entry).blocked) if data["leave_blocked"] else []
                )
                form, done = self._submit(
                    request,
                    form,
                    account,
                    lambda: supervisor.revert_mode_change(
                        change_id=entry.pk,
                        actor=request.user,
                        expected_seq=data["expected_seq"],
                        confirm_superseded=data["confirm_superseded"],
                        leave_blocked=data["leave_blocked"],
                        context=request_context(request),
                    ),
                    lambda revert: describe_revert(entry, revert, left),
                )
                if done:
                    return done
        plan = supervisor.plan_revert(entry)
        reverted_by = entry.reverted_by.filter(reverted_by__isnull=True).order_by("seq").first()
        may_lift = permissions.may(request.user, do_not_call.LIFT)
        blocked = [
            (
                mode_id,
                in_console_words(refusal),
                reverse("admin:lcm_donotcallnumber_lift", args=[refusal.entry_id])
                + "?"
                + urlencode({"next": request.path})
                if may_lift and refusal.entry_id
                else None,
            )
            for mode_id, refusal in sorted(plan.blocked.items())
        ]
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
            blocked=blocked,
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


def _number(entry: ModeChange, number: str) -> str:
    """A number of `entry` in the console's way, in its account's country."""
    e164 = entry.new_number_e164 if number == entry.new_number else ""
    return number_text(number, e164, country=entry.account.country if entry.account else "")


def describe_set_number(entry: ModeChange) -> str:
    """The success message: the changed mode and every mode deleted with it."""
    text = f"Mode {entry.mode_id} now holds {_number(entry, entry.new_number)}"
    if entry.deleted_modes:
        deleted = " and ".join(
            f"mode {m['mode_id']}: {_number(entry, m['number'])}" for m in entry.deleted_modes
        )
        text += f"; deleted {deleted}"
    return f"{text} (audit entry #{entry.seq})."


def describe_revert(entry: ModeChange, revert: ModeChange, left: list[int]) -> str:
    """The success message of a revert, naming the modes it left alone."""
    text = f"Entry #{entry.seq} reverted (audit entry #{revert.seq})."
    if left:
        modes = " and ".join(f"mode {mode_id}" for mode_id in left)
        text += f" Left as they are, their former number being on the do-not-call list: {modes}."
    return text


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
