"""Per-token throttling of the API.

One bucket per token (`lcm_settings.LCM_API_THROTTLE_RATE`, e.g. "600/min"); a
session-authenticated user (a supervisor trying the API from the docs page)
gets one per user. Anonymous requests are refused by authentication before
throttling, so they need no bucket. The counters live in the default cache:
workers share the limit exactly when they share the cache (CACHE_URL).
"""

from __future__ import annotations

import hashlib

from rest_framework.authtoken.models import Token
from rest_framework.throttling import SimpleRateThrottle

from lcm.conf import lcm_settings


class TokenRateThrottle(SimpleRateThrottle):
    scope = "token"

    def get_rate(self) -> str:
        # Read at each request, not frozen into DRF's settings at import.
        return lcm_settings.LCM_API_THROTTLE_RATE

    def get_cache_key(self, request, view) -> str | None:
        if not (request.user and request.user.is_authenticated):
            return None
        if isinstance(request.auth, Token):
            # The cache (possibly a database table) never sees the key itself.
            ident = "t" + hashlib.sha256(request.auth.key.encode()).hexdigest()[:32]
        else:
            ident = f"u{request.user.pk}"
        return self.cache_format % {"scope": self.scope, "ident": ident}
