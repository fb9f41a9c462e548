"""Settings for the test suite: the real settings, plus what makes tests fast.

The database is still whatever DATABASE_URL says (SQLite by default;
`make test` runs the suite a second time on a throwaway PostgreSQL).
"""

import os

os.environ.setdefault("SECRET_KEY", "test-only-not-secret")

from .settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405

# The test client speaks plain HTTP; production's redirect to HTTPS is proved
# by tests/test_deployment.py against the production settings.
SECURE_SSL_REDIRECT = False

# Schemathesis' WSGI client (tests/test_schema_fuzz.py) sends Host: localhost.
ALLOWED_HOSTS = [*ALLOWED_HOSTS, "localhost"]  # noqa: F405
# Every test sees permission changes at once (and SQLite reuses primary keys
# across rolled-back tests).
LCM_PERMISSION_CACHE_SECONDS = 0

# With DATABASE_REPLICA_URL set, the `replica` alias is a test mirror of
# default (settings.py), but a second connection, which cannot see a test's
# uncommitted rows: outside tests/test_replica.py (LCM_REPLICA_REQUIRED=1,
# `make test-replica`, a real primary and replica) the auditors read default.
if "replica" in DATABASES and os.environ.get("LCM_REPLICA_REQUIRED") != "1":  # noqa: F405
    LCM_AUDIT_READS_DATABASE = "default"

# Tests that hold a lock on purpose (to prove that requests queue behind it)
# must not race the 2 s production bound on a busy machine. The bound itself
# is proved under gunicorn with the production settings (tests/test_faults.py).
LCM_DATABASE_LOCK_TIMEOUT = 10
