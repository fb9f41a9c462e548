"""The floor: SetNewModeNumber with no framework, for comparison.

    DATABASE_URL=postgres://… gunicorn --chdir bench floor:application

A bare WSGI callable that does, per request, the same SQL work as the
product's SetNewModeNumber on PostgreSQL, with psycopg 3 and its automatic
server-side prepared statements: the token lookup, the same statements in
the same transaction (the mode type; the call, agent and account with the
account row locked ``FOR UPDATE OF`` and the do-not-call lookup; the live
modes; the upsert of the mode; one UPDATE for the deleted modes; the audit
append on the chain head with the same SHA-256 hash as `lcm.audit`), and
the same envelope back. It checks
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
import json
import os
import re
import uuid
from datetime import UTC, datetime

import psycopg

_SEPARATORS = re.compile(r"[\s\-.()]")
_CLEAN = re.compile(r"\+?[0-9]+")

# The statements, in the order the product issues them (lcm.actions.agent_requests).
TOKEN_USER = """
    SELECT u.id, u.username, u.is_active
    FROM authtoken_token t JOIN auth_user u ON u.id = t.user_id
    WHERE t.key = %s"""
MODE_TYPE = "SELECT name, min_length, max_length FROM lcm_modetype WHERE id = %s"
CALL_LOCKING_ACCOUNT = """
    SELECT c.id, c.state, c.agent_id, ag.agent_id, ag.user_id, ag.is_logged_in,
           c.account_id, ac.account_number,
           EXISTS (SELECT 1 FROM lcm_donotcallnumber d WHERE d.number = %s)
    FROM lcm_call c
    JOIN lcm_agent ag ON ag.id = c.agent_id
    JOIN lcm_account ac ON ac.id = c.account_id
    WHERE c.callid = %s
    FOR UPDATE OF ac"""
LIVE_MODES = """
    SELECT mode_type_id, number FROM lcm_contactmode
    WHERE account_id = %s AND deleted_at IS NULL"""
UPSERT_MODE = """
    INSERT INTO lcm_contactmode (account_id, mode_type_id, number, number_as_given,
                                 number_e164, has_consent, changed_at, changed_by, deleted_by)
    VALUES (%s, %s, %s, %s, '', false, %s, %s, '')
    ON CONFLICT (account_id, mode_type_id) WHERE deleted_at IS NULL DO UPDATE SET
        number = excluded.number,
        number_as_given = excluded.number_as_given,
        number_e164 = excluded.number_e164,
        has_consent = lcm_contactmode.has_consent AND lcm_contactmode.number = excluded.number,
        changed_at = excluded.changed_at,
        changed_by = excluded.changed_by"""
DELETE_OTHER_MODES = """
    UPDATE lcm_contactmode SET deleted_at = %s, deleted_by = %s
    WHERE account_id = %s AND deleted_at IS NULL AND mode_type_id <> %s"""
NEXT_SEQ = "UPDATE lcm_auditchainhead SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash"
INSERT_ENTRY = """
    INSERT INTO lcm_modechange (seq, created_at, action, account_id, account_number, call_id,
        callid, agent_id, agent_code, user_id, username, source, mode_id, old_number,
        new_number, new_number_e164, deleted_modes, reverts_id, client_ip, request_id,
        prev_hash, hash)
    VALUES (%s, %s, 'set', %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, '', %s, NULL,
        %s, %s, %s, %s)"""
SET_HEAD_HASH = "UPDATE lcm_auditchainhead SET hash = %s WHERE id = 1"

_connection: psycopg.Connection | None = None


def _db() -> psycopg.Connection:
    """One persistent connection per worker process (prepare_threshold 5:
    psycopg prepares each statement on the server after five uses)."""
    global _connection
    if _connection is None or _connection.closed:
        _connection = psycopg.connect(os.environ["DATABASE_URL"], autocommit=True)
    return _connection


def _reply(start_response, status: str, subtopic: str, callid, response: dict, request_id=""):
    body = json.dumps(
        {
            "channel": "LCM",
            "topic": "WebService",
            "subtopic": subtopic,
            "message": {"callid": callid, "response": response},
        },
        separators=(",", ":"),
    ).encode()
    start_response(
        status,
        [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(body))),
            ("X-Request-ID", request_id),
        ],
    )
    return [body]


def _hash(entry: dict) -> str:
    """`lcm.audit.compute_hash`, on a plain dict."""
    payload = dict(entry)
    payload["created_at"] = entry["created_at"].astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


class Refused(Exception):
    def __init__(self, status: str):
        self.status = status


def application(environ, start_response):
    reply_subtopic = "SetNewModeNumberResult"
    request_id = uuid.uuid4().hex
    try:
        body = json.loads(environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0)))
        if body.get("channel") != "LCM" or body.get("subtopic") != "SetNewModeNumber":
            raise Refused("400 Bad Request")
        data = body["data"]
        callid, account_number = data["callid"], data["AccountNumber"]
        mode_id, raw_number = int(data["ModeID"]), data["ContactNumber"]
        delete_others, agent_code = data["DeleteOtherModes"], data["AgentID"]
        source = body.get("source") or ""
        auth = environ.get("HTTP_AUTHORIZATION", "")
        if not auth.startswith("Token "):
            raise Refused("401 Unauthorized")
        number = _SEPARATORS.sub("", raw_number.strip())
        if not _CLEAN.fullmatch(number):
            raise Refused("400 Bad Request")

        db = _db()
        user = db.execute(TOKEN_USER, (auth[6:],)).fetchone()
        if user is None or not user[2]:
            raise Refused("401 Unauthorized")
        user_id, username, _ = user
        with db.transaction():
            mode_type = db.execute(MODE_TYPE, (mode_id,)).fetchone()
            if mode_type is None:
                raise Refused("400 Bad Request")
            digits = len(number.lstrip("+"))
            if not (mode_type[1] or 3) <= digits <= (mode_type[2] or 20):
                raise Refused("400 Bad Request")
            call = db.execute(CALL_LOCKING_ACCOUNT, (number, callid)).fetchone()
            if call is None:
                raise Refused("404 Not Found")
            call_pk, state, agent_pk, call_agent_code, agent_user_id, logged_in = call[:6]
            account_pk, call_account_number, on_do_not_call = call[6:]
            if call_agent_code != agent_code or agent_user_id != user_id:
                raise Refused("403 Forbidden")
            if call_account_number != account_number:
                raise Refused("409 Conflict")
            if state != "active" and not logged_in:
                raise Refused("409 Conflict")
            if on_do_not_call:
                raise Refused("409 Conflict")

            now = datetime.now(UTC)
            live = dict(db.execute(LIVE_MODES, (account_pk,)).fetchall())
            old_number = live.pop(mode_id, "")
            db.execute(UPSERT_MODE, (account_pk, mode_id, number, raw_number, now, agent_code))
            deleted = []
            if delete_others and live:
                db.execute(DELETE_OTHER_MODES, (now, agent_code, account_pk, mode_id))
                deleted = [{"mode_id": m, "number": n} for m, n in sorted(live.items())]

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
                "new_number_e164": "",
                "deleted_modes": deleted,
                "reverts_id": None,
                "client_ip": environ.get("REMOTE_ADDR") or None,
                "request_id": request_id,
                "prev_hash": prev_hash,
            }
            entry_hash = _hash(entry)
            db.execute(
                INSERT_ENTRY,
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
                    json.dumps(deleted),
                    entry["client_ip"],
                    request_id,
                    prev_hash,
                    entry_hash,
                ),
            )
            db.execute(SET_HEAD_HASH, (entry_hash,))
    except Refused as refused:
        return _reply(start_response, refused.status, reply_subtopic, None, {"success": False})
    except (ValueError, KeyError, TypeError, AttributeError):
        return _reply(start_response, "400 Bad Request", reply_subtopic, None, {"success": False})
    return _reply(start_response, "200 OK", reply_subtopic, callid, {"success": True}, request_id)
