"""Every setting lcm reads, with its default, in one place.

A host project needs none of them to start. Each is a Django setting of the
same name (``settings.LCM_…``); when the host leaves it out, the default
below applies. lcm's code reads them only through `lcm_settings`, at use
time, so ``override_settings`` and pytest-django's ``settings`` work::

    from lcm.conf import lcm_settings
    lcm_settings.LCM_API_THROTTLE_RATE   # the host's value, or "600/min"

A wrong value is reported by ``manage.py check`` (and by ``runserver``,
``migrate``…) as an error ``lcm.E001`` naming the setting, never as a
traceback at the first request: see `check_settings`, registered by
`lcm.apps.LcmConfig.ready`.

Adding a setting is one entry in `SETTINGS`: its default, a function that
returns what is wrong with a value (``None`` when it is fine), and one line
of documentation; plus its row in docs/install.md's table (tests/test_conf.py
compares the two) and, for our standalone project, the line of
config/settings.py that reads it from the environment (listed in
.env.example). For example::

    "LCM_DEFAULT_TIME_ZONE": Setting("", time_zone_name, "IANA zone, e.g. Europe/Madrid"),

with ``time_zone_name`` written beside the other checks below, e.g.::

    def time_zone_name(value):
        if value == "":
            return None
        try:
            zoneinfo.ZoneInfo(value)
        except (TypeError, ValueError, zoneinfo.ZoneInfoNotFoundError):
            return "must be an IANA time zone name such as 'Europe/Madrid', or ''"
        return None
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core import checks

# --- What a value may be ------------------------------------------------------
# Each returns what is wrong with the value, in words that complete
# "LCM_X <problem>, not <value>.", or None when the value is fine.


def positive_int(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        return "must be a whole number of at least 1"
    return None


def non_negative_int(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return "must be a whole number, 0 or more"
    return None


_RATE = re.compile(r"[1-9][0-9]*/(s|sec|m|min|h|hour|d|day)")


def throttle_rate(value: Any) -> str | None:
    # As DRF writes rates; DRF itself would fail on the first request.
    if not isinstance(value, str) or not _RATE.fullmatch(value):
        return "must look like 600/min (a count, then /s, /min, /hour or /day)"
    return None


def region_code(value: Any) -> str | None:
    if value == "":
        return None
    import phonenumbers

    if not isinstance(value, str) or value.upper() not in phonenumbers.SUPPORTED_REGIONS:
        return "must be an ISO 3166 region that phonenumbers knows, such as 'US' or 'ES', or ''"
    return None


def time_zone_name(value: Any) -> str | None:
    if value == "":
        return None
    from lcm.dialable import validate_time_zone

    try:
        validate_time_zone(value if isinstance(value, str) else "")
    except ValueError:
        return "must be an IANA time zone name such as 'America/New_York', or ''"
    return None


def positive_number(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        return "must be a number of seconds above 0"
    return None


def non_negative_number(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        return "must be a number of seconds, 0 or more"
    return None


def absolute_path_or_empty(value: Any) -> str | None:
    if not isinstance(value, str) or (value and not value.startswith("/")):
        return "must be an absolute file path, or ''"
    return None


def witness(value: Any) -> str | None:
    if not isinstance(value, str) or (value and not value.startswith(("/", "https://"))):
        return "must be an absolute file path or an https:// URL, or ''"
    return None


def database_alias(value: Any) -> str | None:
    from django.db import DEFAULT_DB_ALIAS

    if not isinstance(value, str) or value not in settings.DATABASES:
        return "must name a database of DATABASES (e.g. 'replica'), or 'default'"
    if value != DEFAULT_DB_ALIAS and "lcm.replica.AuditorReadsRouter" not in getattr(
        settings, "DATABASE_ROUTERS", []
    ):
        return "needs 'lcm.replica.AuditorReadsRouter' in DATABASE_ROUTERS"
    return None


def log_name(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip() or "\n" in value:
        return "must be a name on one line"
    return None


# --- The settings ---------------------------------------------------------------


@dataclass(frozen=True)
class Setting:
    default: Any
    problem: Callable[[Any], str | None]
    doc: str


SETTINGS: dict[str, Setting] = {
    "LCM_API_MAX_BODY_BYTES": Setting(
        64 * 1024, positive_int, "Larger API request bodies are refused unread (413)"
    ),
    "LCM_API_THROTTLE_RATE": Setting(
        "600/min", throttle_rate, "API requests per token (per user), 429 beyond it"
    ),
    "LCM_IDEMPOTENCY_KEY_TTL_HOURS": Setting(
        24, positive_int, "Hours a reply stored under an Idempotency-Key is replayed"
    ),
    "LCM_DEFAULT_REGION": Setting(
        "",
        region_code,
        "ISO region numbers without + are read in and must be valid for, '' for none",
    ),
    "LCM_DEFAULT_TIME_ZONE": Setting(
        "",
        time_zone_name,
        "IANA zone for modes whose zone nothing else tells, '' for none (not callable)",
    ),
    "LCM_FLOOR_TIME_ZONE": Setting(
        "",
        time_zone_name,
        "IANA zone the console writes times in (the floor's), '' for TIME_ZONE",
    ),
    "LCM_PERMISSION_CACHE_SECONDS": Setting(
        60, non_negative_int, "Seconds a process caches lcm.act_for_any_agent, 0 for never"
    ),
    "LCM_IMPORT_UPLOAD_MAX_BYTES": Setting(
        512 * 1024 * 1024, positive_int, "Largest account list the console or API accepts"
    ),
    # Imports as background jobs (lcm.actions.import_jobs, docs/scaling.md).
    "LCM_IMPORT_DIR": Setting(
        "", absolute_path_or_empty, "Folder of uploaded lists, shared by web and workers"
    ),
    "LCM_IMPORT_JOB_STALE_SECONDS": Setting(
        120, positive_int, "A running job silent this long has lost its worker"
    ),
    "LCM_EXPORT_KEEP_HOURS": Setting(
        24, positive_int, "Hours a finished export's file is kept before it is deleted"
    ),
    # Signed checkpoints of the audit log (docs/audit.md, "Signed checkpoints").
    "LCM_AUDIT_SIGNING_KEY_FILE": Setting(
        "", absolute_path_or_empty, "Ed25519 private key (PEM) signing checkpoints; '' for off"
    ),
    "LCM_AUDIT_PUBLIC_KEY_FILE": Setting(
        "", absolute_path_or_empty, "Public key verify_audit checks with; '' for the signer's"
    ),
    "LCM_AUDIT_WITNESS": Setting(
        "", witness, "Where checkpoints are handed: a JSON-lines file or an https:// URL"
    ),
    "LCM_AUDIT_WITNESS_CA_FILE": Setting(
        "", absolute_path_or_empty, "CA certificates for an https:// witness; '' for the system's"
    ),
    "LCM_AUDIT_WITNESS_TIMEOUT": Setting(5, positive_number, "Seconds to wait for the witness"),
    "LCM_AUDIT_CHECKPOINT_EVERY": Setting(1000, positive_int, "A checkpoint every N entries"),
    "LCM_AUDIT_CHECKPOINT_MINUTES": Setting(
        10, positive_int, "… or after M minutes of appends without one"
    ),
    "LCM_AUDIT_LOG_NAME": Setting("lcm", log_name, "The log's name in every checkpoint"),
    # The auditors' reads on a read replica (lcm/replica.py, docs/scaling.md).
    "LCM_AUDIT_READS_DATABASE": Setting(
        "default", database_alias, "Database alias the auditors' reads go to (a read replica)"
    ),
    "LCM_AUDIT_REPLICA_MAX_LAG": Setting(
        60, positive_number, "Seconds the auditors' replica may lag before their reads are 503"
    ),
    # Faults (lcm/faults.py, docs/operations.md).
    "LCM_DATABASE_LOCK_TIMEOUT": Setting(
        2, non_negative_number, "Seconds a statement waits for another's lock (0: no bound)"
    ),
}


# Read unprefixed before 0.2.0: a host still setting one is told (lcm.W002).
RENAMED = {
    "API_MAX_BODY_BYTES": "LCM_API_MAX_BODY_BYTES",
    "API_THROTTLE_RATE": "LCM_API_THROTTLE_RATE",
    "IDEMPOTENCY_KEY_TTL_HOURS": "LCM_IDEMPOTENCY_KEY_TTL_HOURS",
}


class _LcmSettings:
    """``lcm_settings.LCM_X``: ``settings.LCM_X`` if the host set it, else the default."""

    def __getattr__(self, name: str) -> Any:
        try:
            setting = SETTINGS[name]
        except KeyError:
            raise AttributeError(f"lcm has no setting {name}; see lcm/conf.py") from None
        return getattr(settings, name, setting.default)


lcm_settings = _LcmSettings()


def check_settings(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """One `lcm.E001` per setting whose value is wrong."""
    errors = []
    for name, setting in SETTINGS.items():
        value = getattr(lcm_settings, name)
        problem = setting.problem(value)
        if problem:
            errors.append(
                checks.Error(
                    f"{name} {problem}, not {value!r}.",
                    hint=f"{setting.doc}; default {setting.default!r}. See docs/install.md.",
                    id="lcm.E001",
                )
            )
    for old, new in RENAMED.items():
        if hasattr(settings, old) and not hasattr(settings, new):
            errors.append(
                checks.Warning(
                    f"{old} is no longer read: lcm reads {new} "
                    f"(default {SETTINGS[new].default!r}).",
                    hint=f"Rename the setting to {new}. See CHANGELOG.md (0.2.0).",
                    id="lcm.W002",
                )
            )
    if not any(e.level >= checks.ERROR for e in errors):
        # Django refuses larger bodies itself (an HTML 400) before lcm can answer 413.
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None and limit < lcm_settings.LCM_API_MAX_BODY_BYTES:
            errors.append(
                checks.Warning(
                    f"LCM_API_MAX_BODY_BYTES ({lcm_settings.LCM_API_MAX_BODY_BYTES}) is over "
                    f"DATA_UPLOAD_MAX_MEMORY_SIZE ({limit}): larger bodies get Django's HTML "
                    "400 instead of lcm's 413 envelope.",
                    hint="Raise DATA_UPLOAD_MAX_MEMORY_SIZE to at least LCM_API_MAX_BODY_BYTES.",
                    id="lcm.W001",
                )
            )
    return errors
