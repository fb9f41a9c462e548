"""API tokens: rotation and revocation by supervisors (`lcm.admin.tokens`).

Not audited in the ModeChange chain (they change no number); each rotation
and revocation is logged with who did it, never with a key.
"""

from __future__ import annotations

import logging

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from rest_framework.authtoken.models import Token

from . import permissions

token_log = logging.getLogger("lcm.tokens")


@transaction.atomic
def rotate_token(*, user: AbstractBaseUser, actor: AbstractBaseUser) -> Token:
    """Give `user` a new API token; the old key stops working at once.

    DRF's token key is its primary key, so a new key is a new row: the old
    one is deleted and a new one created in one transaction (a client
    racing the rotation sees either key, never none).
    """
    permissions.require(actor, permissions.CHANGE_TOKENS)
    Token.objects.select_for_update().filter(user=user).delete()
    token = Token.objects.create(user=user)
    token_log.info("API token of %s rotated by %s", user.get_username(), actor.get_username())
    return token


@transaction.atomic
def revoke_token(*, user: AbstractBaseUser, actor: AbstractBaseUser) -> bool:
    """Delete `user`'s API token; False when there was none."""
    permissions.require(actor, permissions.DELETE_TOKENS)
    deleted, _ = Token.objects.filter(user=user).delete()
    if deleted:
        token_log.info("API token of %s revoked by %s", user.get_username(), actor.get_username())
    return bool(deleted)
