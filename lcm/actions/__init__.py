"""The domain actions, one module per topic (Zulip's `zerver/actions/`).

Every door — the envelope API (`lcm.api`), the dialer's intake API, the
supervisors' console (`lcm.admin`) and the management commands — calls
these functions; none of them writes a table itself.

- `modes`: the mode kernel, the only writer of `ContactMode` and of the
  audit entries of mode changes; every rule of a number (consent, soft
  delete, do-not-call, the account lock) is applied there.
- `permissions`: who may do what, checked by every action.
- `agent_requests`: what an agent app asks through the envelope
  (SetNewModeNumber, GetContactModes).
- `supervisor`: the console's changes (set a number, mode settings and
  consent, revert, restore).
- `do_not_call`: the do-not-call list and number-identity matching.
- `calls`: call lifecycle and agent sessions (the dialer's intake).
- `imports`: the account import writer.
- `tokens`: API token rotation and revocation.
- `settings_entries`: the one audit entry of a console settings save
  (campaigns, state calling rules).

A request travels: URL (`lcm/api/urls.py`) → view → handler → action here →
`modes.write` → rows and one audit entry, in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RequestContext:
    """Where a change came from, for the audit entry."""

    source: str = ""
    client_ip: str | None = None
    request_id: str = ""
