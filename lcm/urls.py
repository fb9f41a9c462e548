"""lcm's URLs, for a host project: ``path("lcm/", include("lcm.urls"))``.

Mounted under any prefix: the envelope endpoint (``<prefix>webservice/``),
the dialer's calls and agent sessions, the auditors' ``mode-changes/``, and
a JSON 404 for anything else under the prefix. The URL names are in the
``lcm-api`` namespace (``reverse("lcm-api:webservice")``). The admin pages
are registered on the host's own admin site (``django.contrib.admin``'s
``admin.site``), wherever the host mounts it.
"""

from lcm.api.urls import app_name, urlpatterns

__all__ = ["app_name", "urlpatterns"]
