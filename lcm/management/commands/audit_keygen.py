"""Make the Ed25519 key pair that signs the audit checkpoints.

    python manage.py audit_keygen /etc/lcm/audit-signing-key.pem

Writes the private key (PEM, PKCS#8, mode 0600, refused if the file exists)
and the public key next to it (`….pub.pem`), and says where each belongs.
Needs no database and no key setting, so it runs before signing is on.
"""

from __future__ import annotations

import os
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from lcm.audit.checkpoints import key_id


class Command(BaseCommand):
    help = "Make the Ed25519 key pair that signs the audit log's checkpoints."
    requires_system_checks = []  # the key it makes is what the checks look for

    def add_arguments(self, parser):
        parser.add_argument("private_key", help="Where to write the private key (PEM).")
        parser.add_argument(
            "--public-key", help="Where to write the public key (default: PRIVATE_KEY.pub.pem)."
        )

    def handle(self, *args, private_key, public_key=None, **options):
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        private_path = Path(private_key).absolute()
        public_path = Path(public_key).absolute() if public_key else Path(f"{private_path}.pub.pem")
        for path in (private_path, public_path):
            if path.exists():
                raise CommandError(f"{path} exists: a key is never overwritten. Choose another.")
            if not path.parent.is_dir():
                raise CommandError(f"{path.parent} is not a directory.")
        key = Ed25519PrivateKey.generate()
        private_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        public_pem = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as file:
            file.write(private_pem)
        public_path.write_bytes(public_pem)
        self.stdout.write(
            f"Key {key_id(key.public_key())}:\n"
            f"- private key: {private_path} (mode 0600). Keep it on the application servers "
            "only, readable by the user the app runs as, and set "
            f"LCM_AUDIT_SIGNING_KEY_FILE={private_path} (our project's environment: "
            "AUDIT_SIGNING_KEY_FILE). Never put it in the database, the repository or a "
            "backup the database administrators can read.\n"
            f"- public key: {public_path}. Give it to the auditors and to whoever runs "
            f"verify_audit (LCM_AUDIT_PUBLIC_KEY_FILE={public_path}); tools/verify_proof.py "
            "checks proofs with it. It is not secret."
        )
