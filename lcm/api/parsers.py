"""The API's body handling: JSON, bounded in size and in depth.

DRF reads the whole body (`request.body`) before its JSONParser sees it, and
Python's decoder recurses as deep as the JSON nests: a large body costs
memory, a deep one ends in a RecursionError (a 500). Here:

- `BoundedContentNegotiation` refuses a body whose declared length is over
  `lcm_settings.LCM_API_MAX_BODY_BYTES` (413) when DRF picks a parser, which is
  before DRF reads the body;
- `BoundedJSONParser` re-checks the bytes it gets and refuses JSON nested
  deeper than `MAX_DEPTH` (400).

`BoundedContentNegotiation` also remembers DRF's choice of renderer: it
depends only on the view's renderer classes, the format asked for and the
``Accept`` header, and DRF parses that header again on every request.
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


# DRF's answers, (renderer classes, format, Accept) -> (index of the
# renderer, media type). Bounded, as the Accept header is the client's to
# vary: at most this many answers, each for a header of at most this length.
_RENDERER_CHOICES: dict[tuple, tuple[int, str]] = {}
MAX_RENDERER_CHOICES = 256
MAX_REMEMBERED_ACCEPT = 200


class BoundedContentNegotiation(DefaultContentNegotiation):
    """Picks no parser for a body declared larger than the limit.

    DRF asks for a parser before it reads the body, so this is where an
    oversized request can be refused unread. The renderer is DRF's choice,
    remembered per (renderer classes, format, Accept header); a refusal
    (406) is never remembered.
    """

    def select_parser(self, request, parsers):
        if declared_length(request) > lcm_settings.LCM_API_MAX_BODY_BYTES:
            raise too_large(lcm_settings.LCM_API_MAX_BODY_BYTES)
        return super().select_parser(request, parsers)

    def select_renderer(self, request, renderers, format_suffix=None):
        format = format_suffix
        if not format and request.META.get("QUERY_STRING"):
            format = request.query_params.get(self.settings.URL_FORMAT_OVERRIDE)
        accept = request.META.get("HTTP_ACCEPT")
        key = (tuple(type(r) for r in renderers), format, accept)
        known = _RENDERER_CHOICES.get(key)
        if known is not None:
            return renderers[known[0]], known[1]
        renderer, media_type = super().select_renderer(request, renderers, format_suffix)
        if (
            len(_RENDERER_CHOICES) < MAX_RENDERER_CHOICES
            and len(accept or "") <= MAX_REMEMBERED_ACCEPT
        ):
            _RENDERER_CHOICES[key] = (renderers.index(renderer), media_type)
        return renderer, media_type


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
