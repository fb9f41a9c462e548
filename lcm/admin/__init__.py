"""The Django admin: the supervisors' console and the auditors' log."""

from . import audit, console, intake  # noqa: F401  (registers the ModelAdmins)
