"""WSGI entry point (gunicorn config.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

application = get_wsgi_application()

# gunicorn runs no system check: a bad AUDIT_SIGNING_KEY_FILE stops the
# worker here, with the reason, instead of serving unsigned (docs/audit.md).
from lcm.audit.checkpoints import check_configuration  # noqa: E402

check_configuration()
