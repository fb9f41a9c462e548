"""How an audit entry is written: the same in the audit log, on the entry's
page and in an account's change history (one rule, one place).

- **Old number**: only an entry that changed modes had one (a do-not-call
  or a callback entry names one number, its subject: the new one); "—"
  when the mode was added.
- **New number**: "(deleted)" when a revert deleted the mode; the
  callback's or the block's number for those entries.
- **Source**: the app the request named (`admin`, `import`, `dialer`…);
  an agent's request through the envelope that named none is **API**.
- **By**: the AgentID acted for (and the user, when another), else the user.

Numbers as `lcm.admin.display` writes them, in the account's country.
"""

from __future__ import annotations

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from lcm.models import ModeChange

from .display import EMPTY, number


def country_of(entry: ModeChange) -> str:
    """The account's country, where the numbers of the entry are read (the
    list selects the account with the entry)."""
    account = entry.account if entry.account_id else None
    return account.country if account is not None else ""


def old_number(entry: ModeChange) -> SafeString:
    if not (entry.changes_modes and entry.old_number):
        return format_html("{}", EMPTY)
    return number(entry.old_number, country=country_of(entry))


def new_number(entry: ModeChange) -> SafeString:
    if entry.action == ModeChange.Action.CALLBACK and entry.callback:
        subject = entry.callback.get("number") or entry.new_number
        e164 = entry.new_number_e164 if subject == entry.new_number else ""
        return number(subject, e164, country=country_of(entry))
    if not entry.new_number:
        return format_html("{}", "(deleted)" if entry.changes_modes else EMPTY)
    return number(entry.new_number, entry.new_number_e164, country=country_of(entry))


def deleted_with(entry: ModeChange) -> SafeString:
    """The other modes deleted with it: "mode 2: (202) 555-0143, …"."""
    if not entry.deleted_modes:
        return format_html("{}", EMPTY)
    country = country_of(entry)
    return format_html_join(
        ", ",
        "mode {}: {}",
        ((m["mode_id"], number(m["number"], country=country)) for m in entry.deleted_modes),
    )


def source_label(entry: ModeChange) -> str:
    """What sent the change: the app the request named, else "API" for an
    agent's request (an envelope that named no source)."""
    if entry.source:
        return entry.source
    return "API" if entry.agent_code else EMPTY


def by(entry: ModeChange) -> str:
    """The AgentID acted for, else the user."""
    if entry.agent_code and entry.username and entry.agent_code != entry.username:
        return f"{entry.agent_code} ({entry.username})"
    return entry.agent_code or entry.username or EMPTY


def action(entry: ModeChange) -> str:
    """The action, with the entry a revert reverts ("Revert of #12")."""
    shown = entry.get_action_display()
    if entry.reverts_id:
        shown = f"{shown} of #{entry.reverts.seq}"
    return shown
