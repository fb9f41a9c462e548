"""The floor: SetNewModeNumber with no framework, for comparison.

    DATABASE_URL=postgres://… gunicorn --chdir bench floor:application

A bare WSGI callable that does, per request, the same SQL work as the
product's SetNewModeNumber on PostgreSQL, with psycopg 3 and its automatic
server-side prepared statements: the token lookup, the same statements in
the same transaction (the call, agent, account and mode type with the
account row locked ``FOR UPDATE OF``; the live modes; the do-not-call lookup
by the number's identity, made with phonenumbers as the product does; the
upsert of the mode; one UPDATE for the deleted modes; the audit append on
the chain head sealed as `lcm.audit` seals in format 4: one HMAC over the
personal layout, one SHA-256 over the entry layout, the entry's before and
after of every touched mode included), and the same envelope
back. It checks
what the product checks on the agent's own path (the token's user is the
call's agent, call and account match, active call or logged-in agent, the
number's shape and length) and answers anything else with a non-200, which
the load generator counts as an error. What it leaves out is the framework:
no Django, no ORM, no DRF, no serializer.

It is the speed the database, the HTTP server and Python itself allow; the
product's distance to it is our overhead.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import uuid
from datetime import UTC, datetime

import phonenumbers
import psycopg

_SEPARATORS = re.compile(r"[\s\-.()]")
_CLEAN = re.compile(r"\+?[0-9]+")

# The statements, in the order the product issues them (lcm.actions.agent_requests).
TOKEN_USER = """
    SELECT u.id, u.username, u.is_active
    FROM authtoken_token t JOIN auth_user u ON u.id = t.user_id
    WHERE t.key = %s"""
CALL_LOCKING_ACCOUNT = """
    SELECT c.id, c.state, c.agent_id, ag.agent_id, ag.user_id, ag.is_logged_in,
           c.account_id, ac.account_number, ac.country,
           mt.id, mt.min_length, mt.max_length
    FROM lcm_call c
    JOIN lcm_agent ag ON ag.id = c.agent_id
    JOIN lcm_account ac ON ac.id = c.account_id
    LEFT JOIN lcm_modetype mt ON mt.id = %s
    WHERE c.callid = %s
    FOR UPDATE OF ac"""
LIVE_MODES = """
    SELECT id, mode_type_id, number, number_e164, number_national, number_as_given, has_consent,
           consent_source, consent_by, consent_at, time_zone, window_start, window_end
    FROM lcm_contactmode WHERE account_id = %s AND deleted_at IS NULL"""
DO_NOT_CALL_KNOWN = """
    SELECT d.number FROM lcm_donotcallnumber d
    WHERE (d.expires_at IS NULL OR d.expires_at > %s)
      AND (d.number_e164 = %s OR (d.number_e164 = '' AND
           (d.number_national IN (%s) OR d.number IN (%s))))
    ORDER BY d.id LIMIT 1"""
DO_NOT_CALL_UNKNOWN = """
    SELECT d.number FROM lcm_donotcallnumber d
    WHERE (d.expires_at IS NULL OR d.expires_at > %s)
      AND (d.number_national IN (%s, %s) OR (d.number_e164 = '' AND d.number IN (%s, %s)))
    ORDER BY d.id LIMIT 1"""
# The live modes with a do-not-call lookup above as a subquery column.
LIVE_MODES_CHECKING = {
    check: LIVE_MODES.replace(" FROM lcm_contactmode", f", ({check}) FROM lcm_contactmode")
    for check in (DO_NOT_CALL_KNOWN, DO_NOT_CALL_UNKNOWN)
}
UPSERT_MODE = """
    INSERT INTO lcm_contactmode (account_id, mode_type_id, number, number_e164, number_national,
        number_as_given, has_consent, consent_source, consent_by, consent_at, time_zone,
        window_start, window_end, changed_at, changed_by, deleted_by)
    VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, '')
    ON CONFLICT (account_id, mode_type_id) WHERE deleted_at IS NULL DO UPDATE SET
        number = excluded.number, number_e164 = excluded.number_e164,
        number_national = excluded.number_national, number_as_given = excluded.number_as_given,
        has_consent = excluded.has_consent, consent_source = excluded.consent_source,
        consent_by = excluded.consent_by, consent_at = excluded.consent_at,
        time_zone = excluded.time_zone, window_start = excluded.window_start,
        window_end = excluded.window_end, changed_at = excluded.changed_at,
        changed_by = excluded.changed_by"""
DELETE_OTHER_MODES = """
    UPDATE lcm_contactmode SET deleted_at = %s, deleted_by = %s
    WHERE account_id = %s AND deleted_at IS NULL AND mode_type_id = ANY(%s)"""
NEXT_SEQ = "UPDATE lcm_auditchainhead SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash"
# The entry and the head's new hash in one statement, as lcm.audit does on PostgreSQL.
INSERT_ENTRY_MOVING_HEAD = """
    WITH entry AS (
        INSERT INTO lcm_modechange (seq, created_at, action, account_id, account_number, call_id,
            callid, agent_id, agent_code, user_id, username, source, mode_id, old_number,
            new_number, new_number_e164, deleted_modes, modes, reverts_id, client_ip, request_id,
            prev_hash, hash, salt, version)
        VALUES (%s, %s, 'set', %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, NULL,
            %s, %s, %s, %s, %s, 4)
        RETURNING id)
    UPDATE lcm_auditchainhead SET hash = %s WHERE id = 1 RETURNING (SELECT id FROM entry)"""

_connection: psycopg.Connection | None = None


def _db() -> psycopg.Connection:
    """One persistent connection per worker process (prepare_threshold 5:
    psycopg prepares each statement on the server after five uses)."""
    global _connection
    if _connection is None or _connection.closed:
        _connection = psycopg.connect(os.environ["DATABASE_URL"], autocommit=True)
    return _connection


def _json(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _field(value) -> bytes:
    """A layout field (docs/audit.md, "Format 3", as format 4): 4-byte
    big-endian length and UTF-8 text (an int's decimal); null is ff ff ff ff."""
    if value is None:
        return b"\xff\xff\xff\xff"
    data = str(value).encode()
    return len(data).to_bytes(4, "big") + data


_ENTRY = ("created_at", "action", "call_id", "callid", "agent_id", "agent_code", "user_id",
          "username", "source", "client_ip", "request_id", "reverts_id", "erasure", "details",
          "seq", "account_id", "account_number", "mode_id", "personal_digest",
          "prev_hash")  # fmt: skip
_PERSONAL = ("old_number", "new_number", "new_number_e164", "deleted_modes", "modes",
             "do_not_call", "callback", "business_fields")  # fmt: skip
_JSON = {
    "deleted_modes",
    "modes",
    "do_not_call",
    "callback",
    "business_fields",
    "erasure",
    "details",
}


def _hash(entry: dict, secret: bytes) -> str:
    """`lcm.audit`'s format 4 seal on a plain dict (format 3's layouts with
    the tags of 4 and business_fields last): one HMAC-SHA256 with the entry's
    secret over the personal layout, then one SHA-256 over the entry layout
    holding that digest and `prev_hash`."""

    def text(name):
        value = entry.get(name)
        if name in _JSON:
            return None if value is None else _json(value)
        if name == "created_at":
            return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return value

    personal = _field("lcm-audit-personal-4") + b"".join(_field(text(n)) for n in _PERSONAL)
    entry["personal_digest"] = hmac.new(secret, personal, hashlib.sha256).hexdigest()
    layout = _field("lcm-audit-entry-4") + b"".join(_field(text(n)) for n in _ENTRY)
    return hashlib.sha256(layout).hexdigest()


def _identify(number: str, region: str) -> tuple[str, str]:
    """(E.164, national key) as `lcm.numbers.identify` makes them (no
    default region: the account's country only)."""
    if number.startswith("+"):
        parsed = phonenumbers.parse(number, None)
        return _e164(parsed), phonenumbers.national_significant_number(parsed)
    if region:
        try:
            parsed = phonenumbers.parse(number, region)
        except phonenumbers.NumberParseException:
            parsed = None
        if parsed is not None and phonenumbers.is_valid_number(parsed):
            return _e164(parsed), phonenumbers.national_significant_number(parsed)
    try:
        parsed = phonenumbers.parse("+" + number, None)
    except phonenumbers.NumberParseException:
        parsed = None
    if parsed is not None and phonenumbers.is_valid_number(parsed):
        return "", phonenumbers.national_significant_number(parsed)
    return "", number.lstrip("0") or number


def _e164(parsed) -> str:
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _state(number, e164, consent=False, source="", by="", at=None, zone="", start=None, end=None):
    """A mode's state as the audit entry records it (`ModeState.audit`)."""
    at = at and at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    window = [start.strftime("%H:%M"), end.strftime("%H:%M")] if start else None
    return {"number": number, "e164": e164, "pewc": consent, "pewc_source": source,
            "pewc_by": by, "pewc_at": at, "time_zone": zone, "window": window}  # fmt: skip


class Refused(Exception):
    def __init__(self, status: str):
        self.status = status


class BadRequest(Refused):
    def __init__(self):
        super().__init__("400 Bad Request")


def set_new_mode_number(db, body, *, authorization: str, client_ip, request_id: str) -> str:
    """The floor's whole SetNewModeNumber on `db` (a psycopg connection, or
    anything with its `execute(sql, params)` and `transaction()`): the
    checks, the statements and the audit entry. Returns the callid to echo;
    raises `Refused` with the HTTP status of a refusal. The plain-Django and
    minimal-DRF views of bench/layers.py run this same function."""
    try:
        if body.get("channel") != "LCM" or body.get("subtopic") != "SetNewModeNumber":
            raise BadRequest()
        data = body["data"]
        callid, account_number = data["callid"], data["AccountNumber"]
        mode_id, raw_number = int(data["ModeID"]), data["ContactNumber"]
        delete_others, agent_code = data["DeleteOtherModes"], data["AgentID"]
        source = body.get("source") or ""
        if not authorization.startswith("Token "):
            raise Refused("401 Unauthorized")
        number = _SEPARATORS.sub("", raw_number.strip())
    except (ValueError, KeyError, TypeError, AttributeError):
        raise BadRequest() from None
    if not _CLEAN.fullmatch(number):
        raise BadRequest()

    user = db.execute(TOKEN_USER, (authorization[6:],)).fetchone()
    if user is None or not user[2]:
        raise Refused("401 Unauthorized")
    user_id, username, _ = user
    with db.transaction():
        call = db.execute(CALL_LOCKING_ACCOUNT, (mode_id, callid)).fetchone()
        if call is None:
            raise Refused("404 Not Found")
        call_pk, state, agent_pk, call_agent_code, agent_user_id, logged_in = call[:6]
        account_pk, call_account_number, country, type_id, low, high = call[6:]
        if type_id is None:
            raise BadRequest()
        digits = len(number.lstrip("+"))
        if not (low or 3) <= digits <= (high or 20):
            raise BadRequest()
        e164, national = _identify(number, country)
        if call_agent_code != agent_code or agent_user_id != user_id:
            raise Refused("403 Forbidden")
        if call_account_number != account_number:
            raise Refused("409 Conflict")
        if state != "active" and not logged_in:
            raise Refused("409 Conflict")

        now = datetime.now(UTC)
        # The do-not-call lookup rides on the live modes' read, as in the
        # product (lcm.actions.modes.live_states); without a live mode, apart.
        if e164:
            check, check_params = DO_NOT_CALL_KNOWN, (now, e164, national, national)
        else:
            check, check_params = DO_NOT_CALL_UNKNOWN, (now, national, number, national, number)
        rows = db.execute(LIVE_MODES_CHECKING[check], (*check_params, account_pk)).fetchall()
        live = {row[1]: row[:13] for row in rows}
        if rows:
            listed = rows[0][13]
        else:
            found = db.execute(check, check_params).fetchone()
            listed = found[0] if found else None
        if listed is not None:
            raise Refused("409 Conflict")
        held = live.pop(mode_id, None)
        before = _state(held[2], held[3], *held[6:]) if held else None
        if held and (held[3] or held[2]) == (e164 or number):  # the same number keeps all
            after = dict(before, number=number, e164=e164)
            kept = held[6:]
        else:
            after = _state(number, e164)
            kept = (False, "", "", None, "", None, None)
        db.execute(UPSERT_MODE, (account_pk, mode_id, number, e164, national, raw_number,
                                 *kept, now, agent_code))  # fmt: skip
        old_number = held[2] if held else ""
        touched = [{"mode_id": mode_id, "before": before, "after": after}]
        deleted = []
        if delete_others and live:
            db.execute(DELETE_OTHER_MODES, (now, agent_code, account_pk, sorted(live)))
            deleted = [{"mode_id": m, "number": row[2]} for m, row in sorted(live.items())]
            touched += [
                {"mode_id": m, "before": _state(row[2], row[3], *row[6:]), "after": None}
                for m, row in sorted(live.items())
            ]
            touched.sort(key=lambda t: t["mode_id"])

        seq, prev_hash = db.execute(NEXT_SEQ).fetchone()
        entry = {
            "seq": seq,
            "created_at": datetime.now(UTC),
            "action": "set",
            "account_id": account_pk,
            "account_number": call_account_number,
            "call_id": call_pk,
            "callid": callid,
            "agent_id": agent_pk,
            "agent_code": agent_code,
            "user_id": user_id,
            "username": username,
            "source": source,
            "mode_id": mode_id,
            "old_number": old_number,
            "new_number": number,
            "new_number_e164": e164,
            "deleted_modes": deleted,
            "modes": touched,
            "reverts_id": None,
            "client_ip": client_ip,
            "request_id": request_id,
            "prev_hash": prev_hash,
        }
        secret = secrets.token_bytes(32)
        entry_hash = _hash(entry, secret)
        db.execute(
            INSERT_ENTRY_MOVING_HEAD,
            (
                seq,
                entry["created_at"],
                account_pk,
                call_account_number,
                call_pk,
                callid,
                agent_pk,
                agent_code,
                user_id,
                username,
                source,
                mode_id,
                old_number,
                number,
                e164,
                json.dumps(deleted),
                json.dumps(touched),
                client_ip,
                request_id,
                prev_hash,
                entry_hash,
                secret.hex(),
                entry_hash,
            ),
        )
    return callid


def reply_body(subtopic: str, callid, response: dict) -> bytes:
    return json.dumps(
        {
            "channel": "LCM",
            "topic": "WebService",
            "subtopic": subtopic,
            "message": {"callid": callid, "response": response},
        },
        separators=(",", ":"),
    ).encode()


REPLY_SUBTOPIC = "SetNewModeNumberResult"


def application(environ, start_response):
    request_id = uuid.uuid4().hex
    status, callid = "200 OK", None
    try:
        body = json.loads(environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0)))
        callid = set_new_mode_number(
            _db(),
            body,
            authorization=environ.get("HTTP_AUTHORIZATION", ""),
            client_ip=environ.get("REMOTE_ADDR") or None,
            request_id=request_id,
        )
    except Refused as refused:
        status, request_id = refused.status, ""
    except (ValueError, KeyError, TypeError, AttributeError):  # not JSON, or not the shape
        status, request_id = "400 Bad Request", ""
    response = {"success": callid is not None}
    reply = reply_body(REPLY_SUBTOPIC, callid, response)
    start_response(
        status,
        [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(reply))),
            ("X-Request-ID", request_id),
        ],
    )
    return [reply]
