"""Erase one contact's personal data: `manage.py erase_contact KEY --reason "…"`.

Removes the names, ZIP code and numbers of the account with that LCM key,
and the personal values of its audit entries, while the hash chain, the
Merkle proofs and the signed checkpoints still verify (lcm.actions.erasure,
docs/audit.md "Erasure"). The erasure is an audit entry of its own. When
checkpoints are signed, one is made first, so that every entry whose values
go is covered by a signature made while they could still be checked.

Exits 0 (also when the account was already erased: nothing changes), 1 for
an unknown key, an empty reason, a user without `lcm.erase_contact` or an
entry that no longer matches its hash; nothing is changed then.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from lcm import errors
from lcm.actions import erasure, permissions
from lcm.audit import checkpoints
from lcm.models import Account, AuditCheckpoint


class Command(BaseCommand):
    help = "Erase the personal data of one contact (its LCM key), keeping the audit proof."

    def add_arguments(self, parser):
        parser.add_argument("account_number", metavar="LCM_KEY", help="The account's LCM key.")
        parser.add_argument(
            "--reason",
            required=True,
            help="Why (e.g. the request's reference). Recorded in the audit log: no personal "
            "data in it.",
        )
        parser.add_argument("--user", help="Username recorded as the author of the erasure.")

    def handle(self, *args, account_number, reason, user=None, **options):
        actor = None
        if user:
            User = get_user_model()
            actor = User.objects.filter(**{User.USERNAME_FIELD: user}).first()
            if actor is None:
                raise CommandError(f"Unknown user {user!r}: nothing was erased.")
            try:
                permissions.require(actor, permissions.ERASE_CONTACT)
            except errors.NotAllowed as exc:
                raise CommandError(f"{exc.message} Nothing was erased.") from None
        if not (reason or "").strip():
            raise CommandError(errors.ERASURE_REASON_REQUIRED)
        if not Account.objects.filter(account_number=account_number).exists():
            raise CommandError(errors.UNKNOWN_ACCOUNT_KEY.format(key=account_number))
        sealed = self._seal()
        try:
            result = erasure.erase_contact(
                account_number=account_number, reason=reason, actor=actor
            )
        except errors.LcmError as exc:
            raise CommandError(exc.message) from None
        except DatabaseError as exc:  # the app role of docs/audit.md: no UPDATE on the log
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise CommandError(
                f"The database refused the erasure ({reason}): nothing was erased. With the "
                "PostgreSQL roles of docs/audit.md, run erase_contact with the owner role's "
                "DATABASE_URL."
            ) from None
        entry = result.entry
        if result.already:
            self.stdout.write(
                f"Account {result.account_number} was already erased on "
                f"{entry.created_at:%Y-%m-%d %H:%M:%S %Z} (audit entry #{entry.seq}): "
                "nothing changed."
            )
            return
        self.stdout.write(
            f"Erased the personal data of account {result.account_number} (audit entry "
            f"#{entry.seq}): {result.entries} audit entries, {result.modes} modes, "
            f"{result.callbacks} callbacks, {result.do_not_call} do-not-call comments, "
            f"{result.idempotency_keys} stored replies."
        )
        if result.format1_entries:
            seqs = ", ".join(f"#{s}" for s in result.format1_entries)
            covered = sealed is not None and sealed.tree_size >= max(result.format1_entries)
            attested = (
                f"their hashes stay attested by signed checkpoint #{sealed.tree_size}, made "
                "before the erasure"
                if covered
                else "no signed checkpoint covers them (signing is off): only the chain "
                "after them vouches for their hashes"
            )
            self.stdout.write(
                f"{len(result.format1_entries)} of them ({seqs}) were sealed before format 2, "
                f"with their values in the hash: {attested}; their content can no longer be "
                'recomputed (docs/audit.md, "Erasure").'
            )
        self.stdout.write(
            "Kept: the LCM key, do-not-call number blocks (the suppression list) and request "
            "addresses (client_ip)."
        )

    def _seal(self) -> AuditCheckpoint | None:
        """A signed checkpoint over every entry before the erasure, when
        signing is on: the latest one afterwards."""
        try:
            key = checkpoints.signing_key()
        except Exception as exc:  # ImproperlyConfigured: the reason is in the text
            raise CommandError(f"{exc} Nothing was erased.") from None
        if key is None:
            return None
        try:
            checkpoints.make_checkpoint()
        except checkpoints.CheckpointRefused as exc:
            raise CommandError(
                f"The audit chain cannot be checkpointed ({exc}): nothing was erased. Run "
                "`python manage.py verify_audit`."
            ) from None
        checkpoints.deliver_pending()
        return AuditCheckpoint.objects.order_by("-tree_size").first()
