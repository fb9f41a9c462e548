"""The audit entry of a settings change made in the console: a campaign, a
state's calling rule. One shape for all of them: no account, no mode, the
record's before and after in `details`. The caller decides whether anything
changed and what the details name; this writes the entry, in the caller's
transaction."""

from __future__ import annotations

from lcm.audit import append_entry
from lcm.models import ModeChange

from . import RequestContext, permissions


def append_settings_entry(
    action: str, *, actor, context: RequestContext, details: dict
) -> ModeChange:
    """Append the entry of one settings save or delete (`action` is a
    `ModeChange.Action` value) on behalf of `actor`."""
    return append_entry(
        ModeChange(
            action=action,
            user=actor,
            username=permissions.username(actor),
            source=context.source or "console",
            client_ip=context.client_ip,
            request_id=context.request_id,
            mode_id=0,
            new_number="",
            deleted_modes=[],
            details=details,
        )
    )
