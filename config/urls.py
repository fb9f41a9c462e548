from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from lcm.health import healthz

admin.site.site_header = "lcm — List and Campaign Manager"
admin.site.site_title = "lcm admin"
admin.site.index_title = "Contacts, calls and their audit trail"

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", admin.site.urls),
    path("api/lcm/", include("lcm.urls")),  # as any host mounts lcm, under our prefix
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its init script as a file, so the page runs under
    # a Content-Security-Policy without inline scripts.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("healthz", healthz, name="healthz"),
]
