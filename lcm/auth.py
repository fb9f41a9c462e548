"""Authentication backends: django-axes in front of Django's own."""

from axes.backends import AxesStandaloneBackend


class LoginLockoutBackend(AxesStandaloneBackend):
    """django-axes' lockout check, for logins that come through a request.

    Axes refuses to run without the request (it locks out a username from an
    address). An `authenticate()` without one does not come from a login
    page — Django's test client `login()`, a management command — so there
    is nothing to lock out: pass it on to the next backend instead of failing.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username, password, **kwargs)
