"""The console's as-of views: an account as the audit log says it was at an
instant ("As of…" on the account page) and, on each call's page, "what we
knew when this was dialled". Read-only; auditors and supervisors only
(`permissions.READ_AUDIT_LOG`); the answer is `lcm.audit.as_of`'s, the
same as the API's (docs/audit.md, "As-of reads").

Times are written in the floor's zone (`display.when`) and, for each mode,
in the callee's zone at that instant.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django.urls import reverse
from django.utils import timezone

from lcm.actions import permissions
from lcm.audit import as_of
from lcm.models import Account, ModeChange
from lcm.replica import auditor_db, auditor_reads

from .display import floor_zone, when_text

NOT_AN_INSTANT = "Enter a date and a time, such as 2026-03-14 10:02 (the floor's time)."
IN_THE_FUTURE = "{at} is in the future: the log can only say what was known until now."
BEFORE_ACCOUNT = "The account did not exist yet at {at}: it was created at {created}."
# The answer's fields in the supervisors' words ("set by entry #12: number, consent").
WORDS = {
    "CValue": "number",
    "E164": "number",
    "PEWC": "consent",
    "PEWCSource": "consent",
    "PEWCBy": "consent",
    "PEWCAt": "consent",
    "TimeZone": "time zone",
    "Window": "calling window",
    "DNCNumber": "do-not-call (number)",
    "DNCContact": "do-not-call (whole contact)",
}


def may_read(user) -> bool:
    return permissions.may(user, permissions.READ_AUDIT_LOG)


def parse_floor_time(text: str) -> dt.datetime | None:
    """A `datetime-local` value (or "YYYY-MM-DD HH:MM[:SS]"), in the floor's zone."""
    try:
        moment = dt.datetime.fromisoformat((text or "").strip().replace(" ", "T"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=floor_zone())
    return moment


def context(account: Account, at: dt.datetime) -> dict:
    """What the as-of templates show: the answer's modes, each with its
    callee's local time and links to the entries that set its fields."""
    if at > timezone.now():
        return {"as_of_error": IN_THE_FUTURE.format(at=when_text(at))}
    with auditor_reads():
        try:
            result = as_of.read(account, at, using=auditor_db())
        except as_of.BeforeAccount:
            return {
                "as_of_error": BEFORE_ACCOUNT.format(
                    at=when_text(at), created=when_text(account.created_at)
                )
            }
        answer = result.answer
        seqs = {
            seq
            for mode in answer["Contactmodes"]
            for seq in mode["set_by"].values()
            if seq is not None
        }
        if answer["DNCContactSetBy"]:
            seqs.add(answer["DNCContactSetBy"])
        pks = dict(
            ModeChange.objects.using(auditor_db()).filter(seq__in=seqs).values_list("seq", "pk")
        )
    rows = []
    for mode in answer["Contactmodes"]:
        sources: dict[int, list[str]] = {}
        for name, seq in mode["set_by"].items():
            if seq is not None and seq in pks and WORDS.get(name, name) not in sources.get(seq, []):
                sources.setdefault(seq, []).append(WORDS.get(name, name))
        zone = mode.get("TimeZone")
        rows.append(
            {
                **mode,
                "callee_time": at.astimezone(zoneinfo.ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M %Z")
                if zone
                else "",
                "consent_at": as_of.parse_iso(mode.get("PEWCAt")),
                "sources": [
                    (seq, reverse("admin:lcm_modechange_change", args=[pks[seq]]), words)
                    for seq, words in sorted(sources.items())
                ],
            }
        )
    return {
        "as_of": answer,
        "as_of_at": at,
        "as_of_rows": rows,
        "as_of_entries": len(answer["replayed"]),
        "as_of_api": reverse("lcm-api:account-as-of", args=[account.account_number])
        + "?at="
        + as_of.iso(at),
    }
