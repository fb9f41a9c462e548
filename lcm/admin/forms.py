"""The console's forms. Each carries the account's latest audit `seq` at
the time it was rendered, so the service can refuse a stale submission."""

from __future__ import annotations

from django import forms

from lcm import dialable, errors
from lcm.models import ModeType

from .shared import in_console_words


class StaleGuardForm(forms.Form):
    expected_seq = forms.IntegerField(widget=forms.HiddenInput, min_value=0)

    # Which form field a domain refusal belongs next to; the rest go on top.
    error_fields: dict[type[errors.LcmError], str] = {}

    def add_lcm_error(self, exc: errors.LcmError) -> None:
        for error_class, field in self.error_fields.items():
            if isinstance(exc, error_class):
                self.add_error(field, in_console_words(exc))
                return
        self.add_error(None, in_console_words(exc))


class SetNumberForm(StaleGuardForm):
    mode_type = forms.ModelChoiceField(
        queryset=ModeType.objects.order_by("id"), label="Mode", empty_label=None
    )
    number = forms.CharField(
        max_length=64,
        help_text="Spaces, dashes, dots and brackets are dropped: an optional + and digits remain.",
    )
    delete_other_modes = forms.BooleanField(
        required=False,
        label="Delete the other numbers",
        help_text="Every other number of this contact is deleted (the next page names "
        "them for you to confirm; a deleted number can be restored).",
    )
    # Set by the confirmation page that names every number to be deleted.
    confirm_delete = forms.BooleanField(required=False, widget=forms.HiddenInput)

    error_fields = {
        errors.UnknownModeType: "mode_type",
        errors.InvalidNumber: "number",
        errors.DoNotCall: "number",
    }


class RevertForm(StaleGuardForm):
    confirm_superseded = forms.BooleanField(
        required=False,
        label="Overwrite the later changes listed above",
    )
    # Set by the "Revert the rest" button: the modes whose former number is
    # on the do-not-call list keep what they hold.
    leave_blocked = forms.BooleanField(required=False, widget=forms.HiddenInput)


class RestoreForm(StaleGuardForm):
    replace = forms.BooleanField(
        required=False, label="Replace the live mode that holds this ModeID"
    )

    error_fields = {errors.ModeSlotTaken: "replace"}


class TimeZoneField(forms.CharField):
    """An IANA zone, or empty; refused in `lcm.dialable`'s words."""

    def clean(self, value):
        value = super().clean(value).strip()
        try:
            return dialable.validate_time_zone(value) if value else ""
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None


class ModeSettingsForm(StaleGuardForm):
    consent = forms.BooleanField(
        required=False,
        label="Consent (PEWC)",
        help_text="Prior express written consent for this number. Granting or withdrawing "
        "it is recorded with you as its source.",
    )
    time_zone = TimeZoneField(
        required=False,
        max_length=64,
        help_text="An IANA zone such as America/Chicago. Empty: the zones the number, "
        "then the account, tell.",
    )
    window_start = forms.TimeField(
        required=False, label="Calling from", help_text="HH:MM, the callee's local time."
    )
    window_end = forms.TimeField(
        required=False, label="Calling until", help_text="Empty both: the mode type's window."
    )

    error_fields = {errors.InvalidInput: "time_zone"}

    def clean(self):
        data = super().clean()
        start, end = data.get("window_start"), data.get("window_end")
        data["window"] = None
        if (start is None) != (end is None):
            self.add_error("window_end", "Give both ends of the window, or neither.")
        elif start is not None:
            try:
                data["window"] = dialable.validate_window(start, end)
            except ValueError as exc:
                self.add_error("window_end", str(exc))
        return data
