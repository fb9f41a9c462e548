"""The API's own authentication, parsing, throttling and rendering.

Declared on every lcm view rather than read from ``REST_FRAMEWORK``, so that
a host project's DRF defaults (session-only auth, the browsable API, form
parsers, its own throttles) never change lcm's contract (docs/api.md), and a
host needs no ``REST_FRAMEWORK`` entry for lcm at all.
"""

from rest_framework.authentication import SessionAuthentication
from rest_framework.renderers import JSONRenderer

from .authentication import TokenAuthentication
from .openapi import BlankSafeAutoSchema
from .parsers import BoundedContentNegotiation, BoundedJSONParser
from .throttling import TokenRateThrottle


class LcmApiPolicy:
    """Mix in first: ``class SomeView(LcmApiPolicy, APIView)``. A view may
    still set any of these itself (the audit list adds a CSV renderer)."""

    authentication_classes = [TokenAuthentication, SessionAuthentication]
    parser_classes = [BoundedJSONParser]
    content_negotiation_class = BoundedContentNegotiation
    throttle_classes = [TokenRateThrottle]
    renderer_classes = [JSONRenderer]
    schema = BlankSafeAutoSchema()  # a view may set its own (a subclass)
