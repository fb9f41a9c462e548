"""The console's middleware, stepped over by token-authenticated API requests.

The session's user and messages serve the admin (and a supervisor trying
the API from the docs page, signed in by session); the floor's time zone
serves the admin's pages only. A request under /api/ whose
``Authorization`` scheme is ``Token`` needs none of them: DRF's
`TokenAuthentication` either authenticates it or refuses it (401), so
`SessionAuthentication` — the only reader of the session's user on the
API — is never asked. Such a request goes straight past these three;
every other request (the console, the docs page, an API call signed in by
session or without credentials) runs them as before. The answer is the
same either way: none of them touches a response it did not use
(tests/test_api_*.py, tests/test_middleware.py).

The settings list these subclasses in the places of Django's and lcm's
own, so the admin's checks (admin.E408, E409) still find them. The
session and CSRF middleware stay Django's own, by name: `check --deploy`
looks for those strings (security.W003, W012). For a token request they
cost little: the session store is made but never read (no cookie is
set), and the view is CSRF-exempt.
"""

from __future__ import annotations

from django.contrib.auth.middleware import AuthenticationMiddleware as DjangoAuthentication
from django.contrib.messages.middleware import MessageMiddleware as DjangoMessages
from rest_framework.authentication import get_authorization_header

from lcm.admin.display import FloorTimeZoneMiddleware as LcmFloorTimeZone

API_PREFIX = "/api/"  # config/urls.py: lcm's API, the schema and the docs page


def token_api_request(request) -> bool:
    """Under /api/ with ``Authorization: Token …``: DRF's own reading of the
    scheme (`TokenAuthentication.authenticate`), so exactly the requests it
    keeps from the session. Worked out once per request."""
    try:
        return request._lcm_token_api
    except AttributeError:
        scheme = get_authorization_header(request).split()[:1]
        request._lcm_token_api = request.path_info.startswith(API_PREFIX) and (
            scheme[0].lower() == b"token" if scheme else False
        )
        return request._lcm_token_api


class _ConsoleOnly:
    def __call__(self, request):
        if token_api_request(request):
            return self.get_response(request)
        return super().__call__(request)


class AuthenticationMiddleware(_ConsoleOnly, DjangoAuthentication):
    pass


class MessageMiddleware(_ConsoleOnly, DjangoMessages):
    pass


class FloorTimeZoneMiddleware(_ConsoleOnly, LcmFloorTimeZone):
    pass
