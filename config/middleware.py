"""The console's middleware, stepped over by token-authenticated API requests.

Sessions, CSRF, the session user and messages serve the admin (and a
supervisor trying the API from the docs page, signed in by session). A
request under /api/ whose ``Authorization`` scheme is ``Token`` never reaches
any of them: DRF's `TokenAuthentication` either authenticates it or refuses
it (401), so `SessionAuthentication` — the only reader of the session and
of the session user on the API — is never asked, and DRF checks CSRF only
there. Such a request goes straight past these four; every other request
(the console, the docs page, an API call signed in by session or without
credentials) runs them as Django's own. The answer is the same either way:
none of them touches a response it did not use (tests/test_api_*.py,
tests/test_middleware.py).

On SetNewModeNumber they were about a tenth of the instructions of a
request (docs/benchmarks.md). The settings list these subclasses in the
places of Django's own, so the admin's checks (admin.E408-E410) still find
them.
"""

from __future__ import annotations

from django.contrib.auth.middleware import AuthenticationMiddleware as DjangoAuthentication
from django.contrib.messages.middleware import MessageMiddleware as DjangoMessages
from django.contrib.sessions.middleware import SessionMiddleware as DjangoSessions
from django.middleware.csrf import CsrfViewMiddleware as DjangoCsrf
from rest_framework.authentication import get_authorization_header

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


class SessionMiddleware(_ConsoleOnly, DjangoSessions):
    pass


class CsrfViewMiddleware(_ConsoleOnly, DjangoCsrf):
    def process_view(self, request, callback, callback_args, callback_kwargs):
        if token_api_request(request):
            return None
        return super().process_view(request, callback, callback_args, callback_kwargs)


class AuthenticationMiddleware(_ConsoleOnly, DjangoAuthentication):
    pass


class MessageMiddleware(_ConsoleOnly, DjangoMessages):
    pass
