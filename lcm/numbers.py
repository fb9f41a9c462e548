"""The number rules of the specs, shared by every door (API, console, imports).

Two things happen to a typed number:

1. **Cleaning** (`clean_number`): trim, drop separators, check the shape
   (an optional ``+`` and digits) and the mode type's length bounds. The
   cleaned text is what is stored and shown (`CValue`).
2. **Identity** (`identify`): what the number *is*, so that ``202-555-0199``,
   ``+12025550199`` and ``12025550199`` compare as one number. Per
   dialable-modes.md section 1, identity is the E.164 form when it can be
   known — the number starts with ``+``, or a region is known (the account's
   `Country`, else `LCM_DEFAULT_REGION`) and the number is valid there —
   and otherwise the cleaned digits. Beside it, every number keeps a
   *national key*: its national significant number (NSN) when the country
   is known, else the best guess at one (the digits read as an international
   number when that is a valid number, else the digits without a trunk
   ``0``).

Comparison (`same_number`, and the database conditions of
`lcm.actions.do_not_call`, which are the same rule): two numbers whose
countries are both known are the same when their E.164 forms are equal.
When one side's country is unknown, they are the same when their national
candidates meet (`candidates`): a do-not-call block errs on the side of not
calling, so ``2025550199`` with no country blocks ``+12025550199`` and
``12025550199`` alike.
"""

from __future__ import annotations

import functools
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
UNKNOWN_REGION = "{region!r} is not a country code phonenumbers knows (use ISO 3166, e.g. US, ES)."


@dataclass(frozen=True)
class CleanNumber:
    """A cleaned number and its identity."""

    number: str  # optional + and digits: the stored CValue
    e164: str  # E.164 when the country is known, else ""
    national: str  # the national key: NSN when the country is known, else the best guess

    @property
    def identity(self) -> str:
        """E.164 when the country is known, else the cleaned digits."""
        return self.e164 or self.number

    @property
    def country_known(self) -> bool:
        return bool(self.e164)


def normalise_region(region: str) -> str:
    """An ISO 3166 region phonenumbers knows, upper-cased; "" stays "".
    Raises ValueError with a message otherwise."""
    region = (region or "").strip().upper()
    if region and region not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(UNKNOWN_REGION.format(region=region))
    return region


def _shape(raw: str, *, min_length, max_length, mode_name: str) -> str:
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
    return number


def _parse(text: str, region: str | None):
    try:
        return phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None


def _e164(parsed) -> str:
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


@functools.lru_cache(maxsize=65_536)
def identify(number: str, *, region: str = "", strict: bool = False) -> CleanNumber:
    """The identity of an already cleaned `number` (optional + and digits).

    `region` is where a number without ``+`` is read (the account's
    country, else the default region). With `strict` (an operator set
    `LCM_DEFAULT_REGION`), such a number must be valid there; without it,
    a number that is not valid there simply keeps an unknown country.

    A pure function of its arguments, remembered per process: phonenumbers'
    parsing is the costliest step of a SetNewModeNumber in Python.
    """
    if number.startswith("+"):
        parsed = _parse(number, None)
        if parsed is None:  # "+0…": no country code to read
            return CleanNumber(number, number, number[1:].lstrip("0") or number[1:])
        return CleanNumber(number, _e164(parsed), phonenumbers.national_significant_number(parsed))
    if region:
        parsed = _parse(number, region)
        if parsed is not None and phonenumbers.is_valid_number(parsed):
            return CleanNumber(
                number, _e164(parsed), phonenumbers.national_significant_number(parsed)
            )
        if strict:
            raise InvalidNumber(NOT_VALID_FOR_REGION.format(region=region))
    # Country unknown: guess the national key without deciding the country.
    parsed = _parse("+" + number, None)
    if parsed is not None and phonenumbers.is_valid_number(parsed):
        national = phonenumbers.national_significant_number(parsed)
    else:
        national = number.lstrip("0") or number
    return CleanNumber(number, "", national)


def region_for(country: str = "") -> tuple[str, bool]:
    """Where a number without ``+`` is read, and whether it must be valid
    there: the account's country, else `LCM_DEFAULT_REGION`; strict only
    when the operator configured a default region (set-new-mode-number.md)."""
    default = lcm_settings.LCM_DEFAULT_REGION.upper()
    return (country or default), bool(default)


def clean_number(
    raw: str,
    *,
    min_length: int | None = None,
    max_length: int | None = None,
    mode_name: str = "this mode's",
    country: str = "",
) -> CleanNumber:
    """Trim, drop separators, check shape and length, and identify the
    number (for an account in `country`, "" when unknown).

    Raises InvalidNumber with a message a person can act on.
    """
    number = _shape(raw, min_length=min_length, max_length=max_length, mode_name=mode_name)
    region, strict = region_for(country)
    return identify(number, region=region, strict=strict)


def clean_for_mode(raw: str, mode_type, *, country: str = "") -> CleanNumber:
    """`clean_number` within a ModeType's bounds."""
    return clean_number(
        raw,
        min_length=mode_type.min_length,
        max_length=mode_type.max_length,
        mode_name=mode_type.name,
        country=country,
    )


def clean_any(raw: str) -> CleanNumber:
    """A number typed where no mode type applies (the do-not-call list,
    searches): any 3 to 20 digits, identified with the default region, never
    refused for it (a block or a search errs on the side of matching)."""
    number = _shape(raw, min_length=None, max_length=None, mode_name="phone")
    return identify(number, region=lcm_settings.LCM_DEFAULT_REGION.upper())


def candidates(number: CleanNumber) -> tuple[str, ...]:
    """The national keys a number may match on when a country is unknown on
    either side: its national key, and when its own country is unknown, its
    digits as typed too."""
    if number.country_known:
        return (number.national,)
    return tuple(dict.fromkeys((number.national, number.number)))


def same_number(a: CleanNumber, b: CleanNumber) -> bool:
    """The comparison rule of the module docstring, on two numbers."""
    if a.country_known and b.country_known:
        return a.e164 == b.e164
    return bool(set(candidates(a)) & set(candidates(b)))


def shown(number: str, e164: str = "", *, region: str = "") -> tuple[str, str]:
    """A stored number as a person reads it, and its E.164 form ("" when its
    country is unknown): the national format of its country when that is
    known and the number valid there ((202) 555-0143 for +12025550143, 961 08
    48 36 for +34961084836), else the number as stored. `e164` is the stored
    identity when there is one; without it, the number is read in `region`
    (the account's country, else `LCM_DEFAULT_REGION`), never refused. The
    console writes every number this way (lcm/admin/display.py)."""
    if not number:
        return "", ""
    if not e164:
        e164 = identify(number, region=(region or lcm_settings.LCM_DEFAULT_REGION).upper()).e164
    parsed = _parse(e164, None) if e164 else None
    if parsed is None or not phonenumbers.is_valid_number(parsed):
        return number, e164
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL), e164
