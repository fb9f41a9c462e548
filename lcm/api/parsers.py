"""The API's body handling: JSON, bounded in size and in depth.

DRF reads the whole body (`request.body`) before its JSONParser sees it, and
Python's decoder recurses as deep as the JSON nests: a large body costs
memory, a deep one ends in a RecursionError (a 500). Here:

- `BoundedContentNegotiation` refuses a body whose declared length is over
  `lcm_settings.LCM_API_MAX_BODY_BYTES` (413) when DRF picks a parser, which is
  before DRF reads the body;
- `BoundedJSONParser` re-checks the bytes it gets and refuses JSON nested
  deeper than `MAX_DEPTH` (400).
"""

from __future__ import annotations

import io

from rest_framework import exceptions, status
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import JSONParser

from lcm.conf import lcm_settings

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


def declared_length(request) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


class BoundedContentNegotiation(DefaultContentNegotiation):
    """Picks no parser for a body declared larger than the limit.

    DRF asks for a parser before it reads the body, so this is where an
    oversized request can be refused unread.
    """

    def select_parser(self, request, parsers):
        if declared_length(request) > lcm_settings.LCM_API_MAX_BODY_BYTES:
            raise too_large(lcm_settings.LCM_API_MAX_BODY_BYTES)
        return super().select_parser(request, parsers)


class BoundedJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        limit = lcm_settings.LCM_API_MAX_BODY_BYTES
        body = stream.read(limit + 1)  # whatever was declared, never more
        if len(body) > limit:
            raise too_large(limit)
        try:
            data = super().parse(io.BytesIO(body), media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError(f"JSON nested deeper than {MAX_DEPTH} levels.") from None
        if _depth_exceeds(data, MAX_DEPTH):
            raise exceptions.ParseError(f"JSON nested deeper than {MAX_DEPTH} levels.")
        return data
