"""Every exception an API view lets out, as an error with a stable code.

The envelope endpoint renders errors as envelopes; every other JSON API
(the dialer's doors, the auditors' log) as ``{"code", "message"[, "fields"]}``
(`json_error`, the schema's `Error`). All decide *what* the error is here, so
that none of them ever answers with Django's HTML page:

- a domain refusal (`lcm.errors.LcmError`) is itself;
- DRF's own exceptions (401, 405, 415, 429…) get their codes
  (`lcm.api.envelope.from_drf`);
- a fault of the database is a 503 with ``Retry-After``, as
  `lcm.faults.database_fault` names it: `database_unavailable` (lost,
  unreachable, or a lock waited for past `LCM_DATABASE_LOCK_TIMEOUT`:
  transient, retry), `database_full` (its disk is full), `database_read_only`
  (a standby, or read-only);
- anything else is a bug: 500 `internal_error` naming the request id,
  logged with its traceback on ``lcm.request`` with the request id, method
  and path (the console handler masks numbers and tokens); the 503 is
  logged too, as a warning. Django adds its own one-line
  ``django.request`` "Internal Server Error" for every 5xx answer.

The service's transaction has rolled back by the time a view sees the
exception, so a failed request leaves nothing half-written.
"""

from __future__ import annotations

import logging
import math

from rest_framework import exceptions
from rest_framework.response import Response

from lcm import errors
from lcm.faults import database_fault
from lcm.logs import request_id_of

from . import envelope

logger = logging.getLogger("lcm.request")


def request_id(request) -> str:
    """The request's id, made once: the answer's ``X-Request-ID`` and the
    logged line carry the same one."""
    if not getattr(request, "lcm_request_id", ""):
        request.lcm_request_id = request_id_of(request)
    return request.lcm_request_id


def error_of(exc: Exception, request) -> tuple[errors.LcmError, dict[str, str]]:
    """The error to answer for `exc`, and the headers of that answer."""
    headers = {}
    if isinstance(exc, errors.LcmError):
        error = exc
    elif isinstance(exc, exceptions.ValidationError):
        error = _invalid(exc.detail)
    elif isinstance(exc, exceptions.APIException):
        error = envelope.from_drf(exc)
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        if getattr(exc, "wait", None):
            headers["Retry-After"] = str(math.ceil(exc.wait))
    else:
        error = _unexpected(exc, request)
        headers["X-Request-ID"] = request_id(request)
    if error.retry_after:
        headers["Retry-After"] = str(error.retry_after)
    return error, headers


def _invalid(detail) -> errors.LcmError:
    """DRF's ValidationError (the auditors' filters and format): invalid_fields,
    each parameter with its reasons."""
    if not isinstance(detail, dict):
        detail = {"non_field_errors": detail if isinstance(detail, list) else [detail]}
    fields = {
        name: [str(reason) for reason in (reasons if isinstance(reasons, list) else [reasons])]
        for name, reasons in detail.items()
    }
    return errors.InvalidInput(
        "Invalid parameters: " + ", ".join(sorted(fields)) + ".", fields=fields
    )


def _unexpected(exc: Exception, request) -> errors.LcmError:
    exc_info = (type(exc), exc, exc.__traceback__)
    fields = {"request_id": request_id(request), "method": request.method, "path": request.path}
    fault = database_fault(exc)
    if fault is not None:
        said = fault.code.replace("_", " ")  # "database unavailable", "database full"…
        logger.warning(said, exc_info=exc_info, extra={"api_request": fields})
        return fault
    logger.error("unhandled exception", exc_info=exc_info, extra={"api_request": fields})
    return errors.InternalError(fields["request_id"])


def json_error(exc: Exception, context) -> Response:
    """An API view's exception handler: ``{"code", "message"[, "fields"]}``
    with the status of its class."""
    error, headers = error_of(exc, context["request"])
    body = {"code": error.code, "message": error.message}
    if error.fields:
        body["fields"] = error.fields
    return Response(body, status=error.status, headers=headers)
