from django.apps import apps
from django.contrib import admin
from django.http import HttpResponse
from django.urls import include, path, re_path
from django.views.generic import RedirectView

from lcm import health
from lcm.api.docs import SchemaView, SwaggerView
from lcm.api.urls import unknown_endpoint

admin.site.site_header = "lcm — List and Campaign Manager"
admin.site.site_title = "lcm console"
admin.site.index_title = "Contacts, calls and their audit trail"
# No "View site" link (the console is the site) and no side menu: the
# dashboard lists every page, the breadcrumbs lead back to it, and the
# lists get the page's whole width (docs/admin.md, "Fits the screen").
admin.site.site_url = None
admin.site.enable_nav_sidebar = False
# DRF's tokens, titled as supervisors know them (DRF says "Auth Token"). The
# app must stay listed as "rest_framework.authtoken" (its proxy model checks).
apps.get_app_config("authtoken").verbose_name = "API tokens"

# The console's icon (a browser asks for /favicon.ico on every page).
FAVICON = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16">'
    '<rect width="16" height="16" rx="3" fill="#417690"/>'
    '<path d="M4 3v10h8v-2H6V3z" fill="#fff"/></svg>'
)


def favicon(request):
    response = HttpResponse(FAVICON, content_type="image/svg+xml")
    response["Cache-Control"] = "public, max-age=86400"
    return response


urlpatterns = [
    path("favicon.ico", favicon, name="favicon"),
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", admin.site.urls),
    path("api/lcm/", include("lcm.urls")),  # as any host mounts lcm, under our prefix
    path("api/schema/", SchemaView.as_view(), name="schema"),
    # The split view serves its init script as a file, so the page runs under
    # a Content-Security-Policy without inline scripts.
    path("api/docs/", SwaggerView.as_view(url_name="schema"), name="api-docs"),
    # Ready (the database takes writes) and live (the process answers): lcm/health.py.
    path("healthz", health.healthz, name="healthz"),
    path("healthz/live", health.live, name="healthz-live"),
    # Anything else under /api/ is the API's JSON 404, never Django's page.
    re_path(r"^api(?:/(?P<rest>[\s\S]*))?$", unknown_endpoint, name="api-unknown-endpoint"),
]
