"""lcm's settings (lcm/conf.py): defaults for a host that sets none, and
wrong values reported by Django's system checks, not by a traceback."""

from pathlib import Path

import pytest
from django.core import checks

from lcm.conf import SETTINGS, lcm_settings

DEFAULTS = {
    "LCM_API_MAX_BODY_BYTES": 65536,
    "LCM_API_THROTTLE_RATE": "600/min",
    "LCM_IDEMPOTENCY_KEY_TTL_HOURS": 24,
    "LCM_DEFAULT_REGION": "",
    "LCM_DEFAULT_TIME_ZONE": "",
    "LCM_FLOOR_TIME_ZONE": "",
    "LCM_IMPORT_UPLOAD_MAX_BYTES": 512 * 1024 * 1024,
    "LCM_IMPORT_DIR": "",
    "LCM_IMPORT_JOB_STALE_SECONDS": 120,
    "LCM_EXPORT_KEEP_HOURS": 24,
    "LCM_PERMISSION_CACHE_SECONDS": 60,
    "LCM_AUDIT_SIGNING_KEY_FILE": "",
    "LCM_AUDIT_PUBLIC_KEY_FILE": "",
    "LCM_AUDIT_WITNESS": "",
    "LCM_AUDIT_WITNESS_CA_FILE": "",
    "LCM_AUDIT_WITNESS_TIMEOUT": 5,
    "LCM_AUDIT_CHECKPOINT_EVERY": 1000,
    "LCM_AUDIT_CHECKPOINT_MINUTES": 10,
    "LCM_AUDIT_LOG_NAME": "lcm",
    "LCM_AUDIT_READS_DATABASE": "default",
    "LCM_AUDIT_REPLICA_MAX_LAG": 60,
    "LCM_DATABASE_LOCK_TIMEOUT": 2,
}


def lcm_messages():
    return [(m.id, m.msg) for m in checks.run_checks() if m.id and m.id.startswith("lcm.")]


def test_a_host_that_sets_none_of_them_gets_the_documented_defaults(settings):
    for name in SETTINGS:
        if hasattr(settings, name):
            delattr(settings, name)

    assert {name: getattr(lcm_settings, name) for name in SETTINGS} == DEFAULTS
    assert lcm_messages() == []


def test_a_set_value_wins_over_the_default(settings):
    settings.LCM_API_THROTTLE_RATE = "20/s"
    settings.LCM_DEFAULT_REGION = "ES"

    assert lcm_settings.LCM_API_THROTTLE_RATE == "20/s"
    assert lcm_settings.LCM_DEFAULT_REGION == "ES"
    assert lcm_messages() == []


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="lcm has no setting LCM_NOPE"):
        lcm_settings.LCM_NOPE  # noqa: B018


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        (
            "LCM_API_MAX_BODY_BYTES",
            "64k",
            "LCM_API_MAX_BODY_BYTES must be a whole number of at least 1, not '64k'.",
        ),
        (
            "LCM_API_MAX_BODY_BYTES",
            0,
            "LCM_API_MAX_BODY_BYTES must be a whole number of at least 1, not 0.",
        ),
        (
            "LCM_API_THROTTLE_RATE",
            "lots",
            "LCM_API_THROTTLE_RATE must look like 600/min (a count, then /s, /min, /hour "
            "or /day), not 'lots'.",
        ),
        (
            "LCM_IDEMPOTENCY_KEY_TTL_HOURS",
            True,
            "LCM_IDEMPOTENCY_KEY_TTL_HOURS must be a whole number of at least 1, not True.",
        ),
        (
            "LCM_DEFAULT_REGION",
            "XX",
            "LCM_DEFAULT_REGION must be an ISO 3166 region that phonenumbers knows, such as "
            "'US' or 'ES', or '', not 'XX'.",
        ),
        (
            "LCM_DEFAULT_TIME_ZONE",
            "Mars/Olympus",
            "LCM_DEFAULT_TIME_ZONE must be an IANA time zone name such as "
            "'America/New_York', or '', not 'Mars/Olympus'.",
        ),
        (
            "LCM_PERMISSION_CACHE_SECONDS",
            -1,
            "LCM_PERMISSION_CACHE_SECONDS must be a whole number, 0 or more, not -1.",
        ),
        (
            "LCM_AUDIT_WITNESS",
            "ftp://witness.example/",
            "LCM_AUDIT_WITNESS must be an absolute file path or an https:// URL, or '', "
            "not 'ftp://witness.example/'.",
        ),
        (
            "LCM_AUDIT_SIGNING_KEY_FILE",
            "key.pem",
            "LCM_AUDIT_SIGNING_KEY_FILE must be an absolute file path, or '', not 'key.pem'.",
        ),
        (
            "LCM_AUDIT_CHECKPOINT_EVERY",
            0,
            "LCM_AUDIT_CHECKPOINT_EVERY must be a whole number of at least 1, not 0.",
        ),
        (
            "LCM_AUDIT_WITNESS_TIMEOUT",
            "5s",
            "LCM_AUDIT_WITNESS_TIMEOUT must be a number of seconds above 0, not '5s'.",
        ),
        (
            "LCM_AUDIT_REPLICA_MAX_LAG",
            0,
            "LCM_AUDIT_REPLICA_MAX_LAG must be a number of seconds above 0, not 0.",
        ),
        (
            "LCM_DATABASE_LOCK_TIMEOUT",
            -1,
            "LCM_DATABASE_LOCK_TIMEOUT must be a number of seconds, 0 or more, not -1.",
        ),
        (
            "LCM_AUDIT_READS_DATABASE",
            "replica",
            "LCM_AUDIT_READS_DATABASE must name a database of DATABASES (e.g. 'replica'), "
            "or 'default', not 'replica'.",
        ),
    ],
)
def test_a_wrong_value_is_a_system_check_error_naming_it(settings, name, value, message):
    setattr(settings, name, value)

    [error] = [m for m in checks.run_checks() if m.id == "lcm.E001"]

    assert error.level == checks.ERROR
    assert error.msg == message
    assert repr(SETTINGS[name].default) in error.hint


def test_a_replica_for_the_auditors_needs_lcms_router(settings):
    # Only the system check reads it here (no query goes to the alias): the
    # warning Django gives for overriding DATABASES is expected, and said so.
    with pytest.warns(UserWarning, match="Overriding setting DATABASES"):
        settings.DATABASES = {**settings.DATABASES, "replica": dict(settings.DATABASES["default"])}
    settings.LCM_AUDIT_READS_DATABASE = "replica"

    [error] = [m for m in checks.run_checks() if m.id == "lcm.E001"]
    assert error.msg == (
        "LCM_AUDIT_READS_DATABASE needs 'lcm.replica.AuditorReadsRouter' in DATABASE_ROUTERS, "
        "not 'replica'."
    )

    settings.DATABASE_ROUTERS = ["lcm.replica.AuditorReadsRouter"]
    assert [m for m in checks.run_checks() if m.id == "lcm.E001"] == []


def test_the_project_reads_the_replica_and_the_pooler_settings_from_the_environment(tmp_path):
    """DATABASE_REPLICA_URL adds the `replica` alias (a test mirror of the
    primary), lcm's router, and points the auditors' reads at it;
    DATABASE_PREPARED_STATEMENTS=false turns off prepared statements and
    server-side cursors (PgBouncer in transaction mode). Unset, neither."""
    from .processes import manage, production_env

    show = (
        "from django.conf import settings as s; d = s.DATABASES; "
        "print(sorted(d), s.DATABASE_ROUTERS, s.LCM_AUDIT_READS_DATABASE, "
        "d.get('replica', {}).get('TEST', {}).get('MIRROR'), d.get('replica', {}).get('PORT'), "
        "d['default'].get('OPTIONS', {}).get('prepare_threshold', '-'), "
        "d['default'].get('DISABLE_SERVER_SIDE_CURSORS'))"
    )
    primary = "postgres://lcm@127.0.0.1:5432/lcm"
    replica = "postgres://lcm@127.0.0.1:5433/lcm"

    plain = manage(production_env(primary), "shell", "--no-imports", "-c", show)
    both = manage(
        production_env(primary, DATABASE_REPLICA_URL=replica, DATABASE_PREPARED_STATEMENTS="false"),
        "shell",
        "--no-imports",
        "-c",
        show,
    )

    assert plain.stdout.strip() == "['default'] [] default None None 5 None"
    assert both.stdout.strip() == (
        "['default', 'replica'] ['lcm.replica.AuditorReadsRouter'] replica default 5433 None True"
    )


def test_a_body_limit_over_djangos_own_is_a_warning(settings):
    settings.LCM_API_MAX_BODY_BYTES = 4_000_000
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440

    assert lcm_messages() == [
        (
            "lcm.W001",
            "LCM_API_MAX_BODY_BYTES (4000000) is over DATA_UPLOAD_MAX_MEMORY_SIZE (2621440): "
            "larger bodies get Django's HTML 400 instead of lcm's 413 envelope.",
        )
    ]


def test_the_project_passes_a_malformed_environment_value_to_the_check(tmp_path):
    """config/settings.py maps API_MAX_BODY_BYTES onto LCM_API_MAX_BODY_BYTES;
    "64k" is no integer, and still no traceback: the check names it."""
    from .processes import manage, production_env

    env = production_env(f"sqlite:///{tmp_path / 'db.sqlite3'}", API_MAX_BODY_BYTES="64k")

    result = manage(env, "check")

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert (
        "(lcm.E001) LCM_API_MAX_BODY_BYTES must be a whole number of at least 1, not '64k'."
        in result.stderr
    )


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("LCM_DEFAULT_TIME_ZONE", "America/Nowhere", "LCM_DEFAULT_TIME_ZONE must be an IANA"),
        ("LCM_DEFAULT_REGION", "XX", "LCM_DEFAULT_REGION must be an ISO 3166 region"),
    ],
)
def test_a_wrong_region_or_time_zone_stops_every_process_at_start_up(tmp_path, variable, value,
                                                                      message):  # fmt: skip
    """Read on every number: not a check a server could run without
    (gunicorn runs none), but a refusal to start, naming the setting."""
    from .processes import manage, production_env

    env = production_env(f"sqlite:///{tmp_path / 'db.sqlite3'}", **{variable: value})

    result = manage(env, "migrate", "--noinput")

    assert result.returncode != 0
    assert f"ImproperlyConfigured: {message}" in result.stderr
    assert not (tmp_path / "db.sqlite3").exists() or "Applying" not in result.stdout


def test_a_setting_still_under_its_pre_0_2_name_is_a_warning(settings):
    settings.API_THROTTLE_RATE = "20/s"
    if hasattr(settings, "LCM_API_THROTTLE_RATE"):
        del settings.LCM_API_THROTTLE_RATE

    assert lcm_messages() == [
        (
            "lcm.W002",
            "API_THROTTLE_RATE is no longer read: lcm reads LCM_API_THROTTLE_RATE "
            "(default '600/min').",
        )
    ]


def test_docs_install_lists_every_setting_with_its_default():
    text = (Path(__file__).resolve().parent.parent / "docs" / "install.md").read_text()

    for name, setting in SETTINGS.items():
        assert f"| `{name}` | `{setting.default!r}` |" in text, name
