"""The OpenAPI document and its browsable page, with JSON errors.

drf-spectacular's views render a refusal (a 405 for a POST, a 406) with
their own renderer: YAML, or the Swagger page's HTML. Under /api/ every
error is JSON (docs/security.md), so these answer errors in JSON and
everything else as drf-spectacular does.
"""

from __future__ import annotations

from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response


class JsonErrorsMixin:
    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if isinstance(response, Response) and response.status_code >= 400:
            response.accepted_renderer = JSONRenderer()
            response.accepted_media_type = JSONRenderer.media_type
        return response


class SchemaView(JsonErrorsMixin, SpectacularAPIView):
    pass


class SwaggerView(JsonErrorsMixin, SpectacularSwaggerSplitView):
    pass
