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
