"""The API's only parser: JSON, bounded in size and in depth.

DRF's JSONParser reads whatever body it is given and lets Python's decoder
recurse as deep as the JSON nests, so a large body costs memory and a deep
one ends in a RecursionError (a 500). This one refuses a body larger than
`settings.API_MAX_BODY_BYTES` before reading it (413) and JSON nested deeper
than `MAX_DEPTH` (400).
"""

from __future__ import annotations

import io

from django.conf import settings
from rest_framework import exceptions, status
from rest_framework.parsers import JSONParser

# The envelope nests three levels (envelope, data, a value); leave room for
# the other endpoints' bodies, refuse anything built to exhaust the stack.
MAX_DEPTH = 32


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


def too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"The request body is larger than {limit} bytes.")


def _depth_exceeds(value, limit: int) -> bool:
    """Whether `value` nests deeper than `limit`, without recursing."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = item.values()
        elif not isinstance(item, list):
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in item)
    return False


class BoundedJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.API_MAX_BODY_BYTES
        request = (parser_context or {}).get("request")
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0) if request else 0
        except ValueError:
            declared = 0
        if declared > limit:
            raise too_large(limit)  # refused unread
        body = stream.read(limit + 1)  # a lying or missing length reads no further
        if len(body) > limit:
            raise too_large(limit)
        try:
            data = super().parse(io.BytesIO(body), media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError(f"JSON nested deeper than {MAX_DEPTH} levels.") from None
        if _depth_exceeds(data, MAX_DEPTH):
            raise exceptions.ParseError(f"JSON nested deeper than {MAX_DEPTH} levels.")
        return data
