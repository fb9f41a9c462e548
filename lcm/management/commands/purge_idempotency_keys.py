"""Delete expired Idempotency-Keys: `python manage.py purge_idempotency_keys`.

A key older than LCM_IDEMPOTENCY_KEY_TTL_HOURS already counts as new when it is
sent again; this only reclaims the space. Run it from cron, e.g. hourly.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand

from lcm import idempotency
from lcm.conf import lcm_settings


class Command(BaseCommand):
    help = "Delete the Idempotency-Keys older than LCM_IDEMPOTENCY_KEY_TTL_HOURS."

    def handle(self, *args, **options):
        deleted = idempotency.purge_expired()
        self.stdout.write(
            f"Deleted {deleted} idempotency key(s) older than "
            f"{lcm_settings.LCM_IDEMPOTENCY_KEY_TTL_HOURS} hour(s)."
        )
