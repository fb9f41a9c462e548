"""Retries that do not repeat a change: the `Idempotency-Key` request header.

A client that times out cannot know whether its change was made. Sending the
same request again with the same key is safe: the first success stores its
reply in the same transaction as the change, and a retry gets that reply back
(marked `Idempotent-Replayed: true`) without running the change again. See
docs/api.md, "Retries and Idempotency-Key", and the IETF draft "The
Idempotency-Key HTTP Header Field" (draft-ietf-httpapi-idempotency-key-header).

How one keyed request runs (`run_once`, one transaction):

1. Claim the key: `INSERT … ON CONFLICT DO UPDATE … WHERE expired`. A new
   key (or one past `LCM_IDEMPOTENCY_KEY_TTL_HOURS`) inserts its row; a live one
   inserts nothing. While another transaction holds an uncommitted claim on
   the same key, PostgreSQL makes this statement wait on the unique index
   until that transaction ends (SQLite's IMMEDIATE transactions run one at a
   time anyway): a concurrent duplicate then sees the stored reply, or, when
   the first one was refused and rolled back, claims the key itself.
2. Not claimed: the stored fingerprint must be this request's, else the key
   was reused for another request (422); the stored reply is returned.
3. Claimed: run the change (its own `transaction.atomic` is a savepoint
   here), then store its reply. A refusal (`errors.LcmError`) rolls back the
   claim with the change, so a failed request leaves no trace and its retry
   runs again.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.utils import timezone

from lcm.conf import lcm_settings

from . import cursors, errors
from .models import IdempotencyKey

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
# 1 to 255 visible ASCII characters (RFC 9110 VCHAR: "!" to "~"), as Stripe
# takes them; also published as the header's pattern in the OpenAPI schema.
KEY_PATTERN = r"^[!-~]{1,255}$"
_KEY = re.compile(KEY_PATTERN)


@dataclass(frozen=True)
class Reply:
    """An HTTP status and the JSON body sent with it."""

    status: int
    body: dict[str, Any]
    replayed: bool = False


def parse_key(value: str | None) -> str | None:
    """The key of a header value (None when the header was not sent).

    The value is taken as it is: a draft-style quoted string ("…") is a key
    with its quotes, the same on every retry.
    """
    if value is None:
        return None
    if not _KEY.fullmatch(value):
        raise errors.InvalidIdempotencyKey()
    return value


def fingerprint(body: Any) -> str:
    """SHA-256 of the request's JSON in a canonical form (sorted keys, no
    spaces, ASCII escapes), so that key order and spacing do not matter."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


def expiry_cutoff() -> datetime:
    """Keys created before this moment count as absent."""
    return timezone.now() - timedelta(hours=lcm_settings.LCM_IDEMPOTENCY_KEY_TTL_HOURS)


# Hand-written: the ORM has no ON CONFLICT … DO UPDATE … WHERE. Portable to
# SQLite (3.24+) and PostgreSQL. "key" is quoted: SQLite knows it as a keyword.
_CLAIM = """
    INSERT INTO lcm_idempotencykey (user_id, "key", fingerprint, response_body, created_at)
    VALUES (%s, %s, %s, '', %s)
    ON CONFLICT (user_id, "key") DO UPDATE SET
        fingerprint = excluded.fingerprint,
        response_status = NULL,
        response_body = '',
        created_at = excluded.created_at
    WHERE lcm_idempotencykey.created_at < %s"""
_STORED = """
    SELECT fingerprint, response_status, response_body FROM lcm_idempotencykey
    WHERE user_id = %s AND "key" = %s"""
_STORE = """
    UPDATE lcm_idempotencykey SET response_status = %s, response_body = %s
    WHERE user_id = %s AND "key" = %s"""


@transaction.atomic
def run_once(
    *, user: AbstractBaseUser, key: str, fingerprint: str, run: Callable[[], Reply]
) -> Reply:
    """`run()` once per (user, key): its reply, or the one stored by the
    first success of the same request. Raises `errors.IdempotencyKeyReused`
    when the key was used for a request with another fingerprint."""
    now = timezone.now()
    adapt = connection.ops.adapt_datetimefield_value
    with cursors.cursor() as cursor:
        cursor.execute(_CLAIM, [user.pk, key, fingerprint, adapt(now), adapt(expiry_cutoff())])
        if cursor.rowcount == 0:
            cursor.execute(_STORED, [user.pk, key])
            stored_fingerprint, status, body = cursor.fetchone()
            if stored_fingerprint != fingerprint:
                raise errors.IdempotencyKeyReused(key)
            return Reply(status, json.loads(body), replayed=True)
    reply = run()
    with cursors.cursor() as cursor:
        cursor.execute(_STORE, [reply.status, json.dumps(reply.body), user.pk, key])
    return reply


def purge_expired() -> int:
    """Delete the keys past their retention; how many were deleted."""
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=expiry_cutoff()).delete()
    return deleted
