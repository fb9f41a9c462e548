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
- **Settings changed**: a campaign's or a state's rule, each setting that
  changed, before → after, read from the entry's `details`.

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


# How a settings entry's lists are keyed: each item by its identity, so a
# change reads "mode 1 longest number: 15 → 14", not "modes[0]".
_ITEM_KEYS = {
    "modes": ("mode", lambda item: item["ModeID"]),
    "outcomes": ("outcome", lambda item: item[0]),
    "fields": ("business field", lambda item: item[0]),
    "barred_dates": ("barred date", lambda item: item[0]),
}
_ITEM_PARTS = {
    "modes": {
        "ChannelType": "channel type",
        "MinLength": "shortest number",
        "MaxLength": "longest number",
        "window": "calling window",
        "callback": "callbacks",
        "voicemail": "voicemail",
    },
    "outcomes": ("description", "implies telephony outcome"),
    "fields": ("type", "format", "mandatory", "agent editable", "DNC field", "screen pop"),
    "barred_dates": ("note",),
}


def _leaves(snapshot: dict | None, labels: dict[str, str]) -> tuple[dict, dict]:
    """A campaign's or a state's rule (lcm.actions.campaigns.snapshot,
    lcm.actions.compliance.snapshot) as label → value, one per setting, and
    its list items as label → (part, value) pairs."""
    leaves: dict[str, object] = {}
    items: dict[str, list[tuple[str, object]]] = {}
    snapshot = snapshot or {}
    # In the model's order, not the stored one (PostgreSQL's jsonb sorts keys).
    order = {key: i for i, key in enumerate([*labels, *_ITEM_KEYS])}
    for key in sorted(snapshot, key=lambda k: (order.get(k, len(order)), k)):
        value = snapshot[key]
        if key in _ITEM_KEYS and isinstance(value, list):
            noun, identity = _ITEM_KEYS[key]
            parts = _ITEM_PARTS[key]
            for item in value:
                if isinstance(item, dict):
                    pairs = [(label, item[k]) for k, label in parts.items() if k in item]
                    pairs += [
                        (k, item[k]) for k in sorted(item) if k not in parts and k != "ModeID"
                    ]
                else:
                    pairs = list(zip(parts, item[1:], strict=False))
                items[f"{noun} {identity(item)}"] = pairs
        else:
            leaves[labels.get(key, key.replace("_", " "))] = value
    return leaves, items


def _setting_text(value) -> str:
    if value in (None, "", []):
        return EMPTY
    if value is True:
        return "yes"
    if value is False:
        return "no"
    if isinstance(value, list):
        return " to ".join(_setting_text(v) for v in value)
    return str(value)


def _item_text(pairs: list[tuple[str, object]]) -> str:
    return ", ".join(f"{part} {_setting_text(value)}" for part, value in pairs) or "added"


def settings_changes(details: dict, labels: dict[str, str]) -> SafeString:
    """Each setting the entry changed, "label: before → after", one a line
    (`labels`: the model's words for its fields); a list item added or
    removed whole on one line; the reason last when one was given."""
    before, before_items = _leaves(details.get("before"), labels)
    after, after_items = _leaves(details.get("after"), labels)
    changed = [
        (label, _setting_text(before.get(label)), _setting_text(after.get(label)))
        for label in [*before, *(label for label in after if label not in before)]
        if before.get(label) != after.get(label)
    ]
    for label in [*before_items, *(label for label in after_items if label not in before_items)]:
        old, new = before_items.get(label), after_items.get(label)
        if old is None or new is None:
            changed.append(
                (label, EMPTY if old is None else _item_text(old),
                 EMPTY if new is None else _item_text(new))
            )  # fmt: skip
            continue
        old_parts = dict(old)
        changed += [
            (f"{label} {part}", _setting_text(old_parts.get(part)), _setting_text(value))
            for part, value in new
            if old_parts.get(part) != value
        ]
    lines = format_html_join(format_html("<br>"), "{}: {} → {}", changed)
    if not changed:
        lines = format_html("{}", EMPTY)
    if details.get("reason"):
        lines = format_html("{}<br>reason: {}", lines, details["reason"])
    return lines
