"""The Django admin: the supervisors' console, the auditors' log, API tokens.

One module per topic, as `lcm.actions`: accounts (and, in supervisor, the
account page's changes to numbers), contact_modes, calls, agents,
do_not_call, mode_types, callbacks, audit, tokens, intake, uploads (the
import). What they share: shared (action context, reason pages, number
search), words, filters, forms.
"""

from . import (  # noqa: F401  (registers the ModelAdmins)
    accounts,
    agents,
    audit,
    callbacks,
    calls,
    campaigns,
    contact_modes,
    do_not_call,
    intake,
    mode_types,
    tokens,
)
