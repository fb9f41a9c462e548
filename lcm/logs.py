"""Logs that an operator can ship anywhere: JSON lines, no number, no token.

- `RequestLogMiddleware` writes one line per API request to the logger
  ``lcm.request``: request id (the one the API answers in ``X-Request-ID``
  and stores in the audit entry), method, path, status, duration, user id,
  the envelope's reply subtopic and, on failure, the error code.
- `MaskSecretsFilter`, on the console handler, masks whatever any logger
  wrote: every run of 6 or more digits (a phone number, spaces and dashes
  included) keeps only its last 3 digits, and DRF tokens are replaced.
- `JsonFormatter` renders each record as one JSON object.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from datetime import UTC, datetime

from django.db import DatabaseError

logger = logging.getLogger("lcm.request")

API_PREFIX = "/api/"
API_NAMESPACE = "lcm-api"  # lcm.api.urls.app_name
KEPT_DIGITS = 3

_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def request_id_of(request) -> str:
    """The request's id: the client's `X-Request-ID` when it is a sane one
    (1-64 of A-Z a-z 0-9 . _ -), else a new one. The API answers it in
    `X-Request-ID`, the audit entry stores it, the log line carries it."""
    given = request.headers.get("X-Request-ID", "")
    return given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex


# A phone number as people write it: 6+ digits, optionally after a `+`, with
# spaces, dots, dashes or brackets between them; not glued to a word (so
# hashes and hex request ids stay whole).
_NUMBER = re.compile(r"(?<![\w+])\+?\d(?:[ ().-]{0,2}\d){5,}(?!\w)")
# A DRF token (40 hex characters), alone or after "Token ".
_TOKEN = re.compile(r"(?<![0-9A-Fa-f])[0-9a-fA-F]{40}(?![0-9A-Fa-f])")


def _mask_one(match: re.Match) -> str:
    text = match.group(0)
    digits = sum(c.isdigit() for c in text)
    keep_from = digits - KEPT_DIGITS
    out, seen = [], 0
    for c in text:
        if c.isdigit():
            out.append(c if seen >= keep_from else "*")
            seen += 1
        else:
            out.append(c)
    return "".join(out)


def mask(text: str) -> str:
    """`text` with tokens replaced and numbers masked but their last digits."""
    return _NUMBER.sub(_mask_one, _TOKEN.sub("[token]", text))


class MaskSecretsFilter(logging.Filter):
    """Masks the message, its arguments, the traceback and the request fields.

    Runs on the handler, so it covers every logger: Django's own
    ("Bad Request: …"), a library's exception text, ours.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = mask(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask(record.exc_text)
        fields = getattr(record, "api_request", None)
        if isinstance(fields, dict):
            record.api_request = {
                key: mask(value) if isinstance(value, str) and key != "request_id" else value
                for key, value in fields.items()
            }
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request fields."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "api_request", None)
        if isinstance(fields, dict):
            line.update(fields)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = record.exc_text
        return json.dumps(line, default=str, ensure_ascii=False)


def _envelope_fields(response) -> tuple[str | None, str | None]:
    """The reply subtopic and the error code of an API answer, when it has them."""
    data = getattr(response, "data", None)
    if not isinstance(data, dict):
        return None, None
    subtopic = data.get("subtopic") if isinstance(data.get("subtopic"), str) else None
    message = data.get("message")
    error = message.get("error") if isinstance(message, dict) else None
    if isinstance(error, dict):
        return subtopic, error.get("code")
    code = data.get("code")  # the other APIs' {"code", "message"}
    return subtopic, code if isinstance(code, str) else None


def _is_api(request) -> bool:
    """Under /api/, or anywhere a host mounted lcm's URLs (`include("lcm.urls")`)."""
    match = getattr(request, "resolver_match", None)
    return request.path.startswith(API_PREFIX) or (
        match is not None and API_NAMESPACE in match.namespaces
    )


class RequestLogMiddleware:
    """One `lcm.request` line per API request, after the response is made."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        duration_ms = round((time.perf_counter() - started) * 1000, 1)
        if not _is_api(request):
            return response
        if not response.has_header("X-Request-ID"):
            response["X-Request-ID"] = request_id_of(request)
        subtopic, code = _envelope_fields(response)
        user = getattr(request, "user", None)
        try:
            user_id = user.pk if user is not None and user.is_authenticated else None
        except DatabaseError:  # a session's user not loaded yet, and the database down
            user_id = None
        fields = {
            "request_id": response["X-Request-ID"],
            "method": request.method,
            "path": request.path,
            "status": response.status_code,
            "duration_ms": duration_ms,
            "user_id": user_id,
            "subtopic": subtopic,
        }
        if response.status_code >= 400:
            fields["code"] = code
        if response.has_header("Idempotent-Replayed"):  # lcm.idempotency: nothing ran
            fields["replayed"] = True
        level = logging.INFO if response.status_code < 500 else logging.ERROR
        logger.log(level, "api_request", extra={"api_request": fields})
        return response
