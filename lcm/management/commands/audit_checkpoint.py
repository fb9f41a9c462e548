"""Sign a checkpoint of the audit log now, and retry the witness.

    python manage.py audit_checkpoint

Appends make a checkpoint every AUDIT_CHECKPOINT_EVERY entries; run this
from cron every few minutes so that a log that went quiet is checkpointed
within AUDIT_CHECKPOINT_MINUTES too, and so that checkpoints queued while
the witness was unreachable are delivered. Signs nothing when the latest
checkpoint already covers every entry.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from lcm.audit import checkpoints
from lcm.conf import lcm_settings
from lcm.models import AuditCheckpoint


class Command(BaseCommand):
    help = "Sign a checkpoint over the audit log's new entries and deliver queued ones."

    def handle(self, *args, **options):
        if checkpoints.signing_key() is None:
            raise CommandError("Signing is off: set LCM_AUDIT_SIGNING_KEY_FILE (docs/audit.md).")
        try:
            made = checkpoints.make_checkpoint()
        except checkpoints.CheckpointRefused as refused:
            raise CommandError(
                f"Nothing signed: {refused}. Run `python manage.py verify_audit --full`."
            ) from refused
        if made is None:
            self.stdout.write("No new entries: the latest checkpoint covers the log.")
        else:
            self.stdout.write(f"Signed checkpoint #{made.tree_size} root {made.root_hash}.")
        checkpoints.deliver_pending()
        queued = AuditCheckpoint.objects.filter(witnessed_at=None).count()
        if queued:
            raise CommandError(
                f"The witness is behind: {queued} checkpoint(s) queued, not delivered to "
                f"{lcm_settings.LCM_AUDIT_WITNESS}. They stay queued; the next run retries."
            )
