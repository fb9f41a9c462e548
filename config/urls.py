from django.contrib import admin
from django.urls import include, path, re_path
from django.views.generic import RedirectView

from lcm.api.docs import SchemaView, SwaggerView
from lcm.api.urls import unknown_endpoint
from lcm.health import healthz

admin.site.site_header = "lcm — List and Campaign Manager"
admin.site.site_title = "lcm admin"
admin.site.index_title = "Contacts, calls and their audit trail"

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", admin.site.urls),
    path("api/lcm/", include("lcm.urls")),  # as any host mounts lcm, under our prefix
    path("api/schema/", SchemaView.as_view(), name="schema"),
    # The split view serves its init script as a file, so the page runs under
    # a Content-Security-Policy without inline scripts.
    path("api/docs/", SwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("healthz", healthz, name="healthz"),
    # Anything else under /api/ is the API's JSON 404, never Django's page.
    re_path(r"^api(?:/(?P<rest>[\s\S]*))?$", unknown_endpoint, name="api-unknown-endpoint"),
]
