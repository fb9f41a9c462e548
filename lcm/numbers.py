"""The number rules of the spec, shared by the API, the admin and imports."""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers

from .conf import lcm_settings
from .errors import InvalidNumber

DEFAULT_MIN_LENGTH = 3
DEFAULT_MAX_LENGTH = 20
MAX_DIGITS = 20  # ContactMode.number holds 21 characters: + and 20 digits

_SEPARATORS = re.compile(r"[\s\-.()]")
_CLEAN = re.compile(r"\+?[0-9]+")

NOT_A_NUMBER = "Enter a number: an optional + followed by digits."
TOO_SHORT = "The number has {n} digits; {mode} numbers need at least {min}."
TOO_LONG = "The number has {n} digits; {mode} numbers allow at most {max}."
NOT_VALID_FOR_REGION = "The number is not a valid number for region {region}."


@dataclass(frozen=True)
class CleanNumber:
    number: str  # optional + and digits: the stored CValue
    e164: str  # E.164 form when a default region is configured, else ""


def clean_number(
    raw: str,
    *,
    min_length: int | None = None,
    max_length: int | None = None,
    mode_name: str = "this mode's",
    region: str | None = None,
) -> CleanNumber:
    """Trim, drop separators, and check shape, length and (optionally) region.

    Raises InvalidNumber with a message a person can act on.
    """
    number = _SEPARATORS.sub("", raw.strip())
    if not _CLEAN.fullmatch(number):
        raise InvalidNumber(NOT_A_NUMBER)
    digits = len(number.lstrip("+"))
    low = DEFAULT_MIN_LENGTH if min_length is None else min_length
    high = DEFAULT_MAX_LENGTH if max_length is None else max_length
    if digits < low:
        raise InvalidNumber(TOO_SHORT.format(n=digits, mode=mode_name, min=low))
    if digits > high:
        raise InvalidNumber(TOO_LONG.format(n=digits, mode=mode_name, max=high))
    region = lcm_settings.LCM_DEFAULT_REGION if region is None else region
    if not region:
        return CleanNumber(number=number, e164="")
    try:
        parsed = phonenumbers.parse(number, region.upper())
    except phonenumbers.NumberParseException:
        parsed = None
    if parsed is None or not phonenumbers.is_valid_number(parsed):
        raise InvalidNumber(NOT_VALID_FOR_REGION.format(region=region.upper()))
    return CleanNumber(
        number=number,
        e164=phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164),
    )


def clean_for_mode(raw: str, mode_type) -> CleanNumber:
    """`clean_number` within a ModeType's bounds."""
    return clean_number(
        raw,
        min_length=mode_type.min_length,
        max_length=mode_type.max_length,
        mode_name=mode_type.name,
    )
