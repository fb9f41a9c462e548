"""The Django admin: the supervisors' console, the auditors' log, API tokens."""

from . import audit, callbacks, console, intake, tokens  # noqa: F401  (registers the ModelAdmins)
