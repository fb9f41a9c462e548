"""Token authentication for the envelope API."""

from __future__ import annotations

import functools

from django.contrib.auth import get_user_model
from django.db import connection
from rest_framework import authentication, exceptions
from rest_framework.authtoken.models import Token

from lcm import cursors

# A client generated from the schema sends "Bearer" unless told the prefix;
# DRF would answer "credentials were not provided", which sends them looking
# for the wrong mistake.
BEARER_REFUSED = (
    'Use "Authorization: Token <key>", not Bearer (a generated client: prefix="Token").'
)

# The user fields a web-service request needs: who (the primary key and the
# USERNAME_FIELD, whatever the project's user model calls them) and what the
# permission checks read (is_active, is_superuser, is_staff). Any other field
# loads on first access.
_FLAGS = ("is_active", "is_superuser", "is_staff")


class TokenAuthentication(authentication.TokenAuthentication):
    """DRF's `TokenAuthentication` (``Authorization: Token <key>``, the same
    errors), with the lookup as one hand-written query.

    DRF runs ``Token.objects.select_related("user").get(key=key)``: the ORM
    compiles that statement again on every request, which costs more CPU
    than the database spends answering it (docs/benchmarks.md). Here it is
    one prepared statement reading only the fields a request needs.
    """

    def authenticate(self, request):
        scheme = authentication.get_authorization_header(request).split()[:1]
        if scheme and scheme[0].lower() == b"bearer":
            raise exceptions.AuthenticationFailed(BEARER_REFUSED)
        return super().authenticate(request)

    def authenticate_credentials(self, key):
        sql, attnames, names = _statement()
        with cursors.cursor() as cursor:
            cursor.execute(sql, [key])
            row = cursor.fetchone()
        if row is None:
            raise exceptions.AuthenticationFailed("Invalid token.")
        values = dict(zip(attnames, row[1:], strict=True))
        if not values["is_active"]:
            raise exceptions.AuthenticationFailed("User inactive or deleted.")
        user = get_user_model().from_db(connection.alias, names, [values[n] for n in names])
        token = Token.from_db(connection.alias, ["key", "user_id"], [row[0], user.pk])
        token.user = user
        return user, token


@functools.cache
def _statement() -> tuple[str, list[str], list[str]]:
    """The lookup's SQL, the attnames its user columns fill, and those names
    in the model's field order (as `from_db` wants them): built once."""
    User = get_user_model()
    meta = User._meta
    quote = connection.ops.quote_name
    fields = [meta.pk, meta.get_field(User.USERNAME_FIELD)]
    fields += [meta.get_field(name) for name in _FLAGS]
    columns = ", ".join(f"u.{quote(f.column)}" for f in fields)
    sql = (  # identifiers from the models' metadata, quoted; the key a parameter
        f"SELECT t.{quote('key')}, {columns} "  # noqa: S608
        f"FROM {quote(Token._meta.db_table)} t "
        f"JOIN {quote(meta.db_table)} u ON u.{quote(meta.pk.column)} = t.user_id "
        f"WHERE t.{quote('key')} = %s"
    )
    attnames = [f.attname for f in fields]
    names = [f.attname for f in meta.concrete_fields if f.attname in attnames]
    return sql, attnames, names
