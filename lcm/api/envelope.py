"""The dialer's envelope: parse the request's, render every answer as one.

Errors of every kind (domain refusals, DRF's own 401/405/415, bad JSON)
become the same envelope: ``message.response.success = false`` and
``message.error = {errorType, errorMessage, msg, code[, fields]}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rest_framework import exceptions, status
from rest_framework.response import Response

from lcm import errors, inputs

from .parsers import PayloadTooLarge

CHANNEL = "LCM"
TOPIC = "WebService"
ERROR_SUBTOPIC = "Error"
MAX_SOURCE = 100
SOURCE_NOT_A_STRING = f"source must be a string of at most {MAX_SOURCE} characters."


class EnvelopeError(errors.InvalidInput):
    """The envelope itself is wrong (400)."""


class MalformedJson(EnvelopeError):
    code = "malformed_json"


class InvalidEnvelope(EnvelopeError):
    code = "invalid_envelope"


class WrongChannel(EnvelopeError):
    code = "wrong_channel"


class WrongTopic(EnvelopeError):
    code = "wrong_topic"


class UnknownSubtopic(EnvelopeError):
    code = "unknown_subtopic"


@dataclass(frozen=True)
class Envelope:
    subtopic: str
    source: str
    data: dict[str, Any]


def parse(body: Any, known_subtopics: list[str]) -> Envelope:
    if not isinstance(body, dict):
        raise InvalidEnvelope("The request body must be a JSON object (the envelope).")
    channel = body.get("channel")
    if channel != CHANNEL:
        raise WrongChannel(f"channel must be {CHANNEL!r}, got {channel!r}.")
    topic = body.get("topic")
    if not isinstance(topic, str) or topic.lower() != TOPIC.lower():
        raise WrongTopic(f"topic must be {TOPIC!r}, got {topic!r}.")
    subtopic = body.get("subtopic")
    if subtopic not in known_subtopics:
        raise UnknownSubtopic(
            f"Unknown subtopic {subtopic!r}; known: {', '.join(known_subtopics)}."
        )
    source = body.get("source", "")
    if source is None:
        source = ""
    if not isinstance(source, str) or len(source) > MAX_SOURCE:
        raise InvalidEnvelope(SOURCE_NOT_A_STRING)
    problem = inputs.text_problem(source)  # the free text the audit entry hashes
    if problem:
        raise InvalidEnvelope(f"source {problem}", fields={"source": [problem]})
    data = body.get("data")
    if not isinstance(data, dict):
        raise InvalidEnvelope("data must be a JSON object.")
    return Envelope(subtopic=subtopic, source=source.strip(), data=data)


def echoed_callid(body: Any) -> str | None:
    """The callid to echo back, when the request carried a usable one."""
    if isinstance(body, dict) and isinstance(body.get("data"), dict):
        callid = body["data"].get("callid")
        if isinstance(callid, str) and inputs.text_problem(callid) is None:
            return callid[:64]
    return None


def success(reply_subtopic: str, callid: str | None, response: dict) -> Response:
    return Response(
        {
            "channel": CHANNEL,
            "topic": TOPIC,
            "subtopic": reply_subtopic,
            "message": {"callid": callid, "response": response},
        },
        status=status.HTTP_200_OK,
    )


def failure(
    error: errors.LcmError, *, reply_subtopic: str, callid: str | None, headers=None
) -> Response:
    detail = {
        "errorType": error.error_type,
        "errorMessage": error.message,
        "msg": error.msg,
        "code": error.code,
    }
    if error.fields:
        detail["fields"] = error.fields
    return Response(
        {
            "channel": CHANNEL,
            "topic": TOPIC,
            "subtopic": reply_subtopic,
            "message": {"callid": callid, "response": {"success": False}, "error": detail},
        },
        status=error.status,
        headers=headers,
    )


# DRF's own exceptions, as domain-shaped errors with stable codes.
_DRF_CODES = {
    exceptions.NotAuthenticated: ("not_authenticated", "Authentication required."),
    exceptions.AuthenticationFailed: ("authentication_failed", "Invalid credentials."),
    exceptions.PermissionDenied: ("forbidden", "You may not do this."),
    exceptions.ParseError: ("malformed_json", "The request body is not valid JSON."),
    exceptions.UnsupportedMediaType: (
        "unsupported_media_type",
        "Send the envelope as Content-Type: application/json.",
    ),
    exceptions.MethodNotAllowed: ("method_not_allowed", "Use POST."),
    exceptions.NotAcceptable: ("not_acceptable", "The API answers in JSON."),
    exceptions.Throttled: ("throttled", "Too many requests; slow down."),
    PayloadTooLarge: ("payload_too_large", "The request is too large."),
}


def from_drf(exc: exceptions.APIException) -> errors.LcmError:
    code, msg = next(
        (value for cls, value in _DRF_CODES.items() if isinstance(exc, cls)),
        ("error", "The request was refused."),
    )
    error = errors.LcmError(str(exc.detail), msg=msg)
    error.code = code
    error.status = exc.status_code
    return error
