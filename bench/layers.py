"""The floor's SetNewModeNumber inside Django, and inside DRF: where the
product's CPU goes, layer by layer.

    DJANGO_SETTINGS_MODULE=bench.layers_settings …  # the product's settings, these URLs too

Two views run `floor.set_new_mode_number` — the floor's checks, statements
and audit entry, unchanged — through Django's database connection (its
cursor wrapper, `transaction.atomic`, the product's prepared statements):

- ``/api/bench/django/``: a plain Django function view (`json.loads` of the
  body, an `HttpResponse`), behind the product's whole middleware stack;
- ``/api/bench/drf/``: a minimal DRF `APIView` (DRF's own JSON parser and
  renderer, no authentication, permission or throttle classes: the floor's
  token query authenticates), behind the same stack.

So, per request: floor → plain Django is Django's cost (WSGI handler,
middleware, URL resolver, the database layer), plain Django → minimal DRF
is DRF's (its Request, dispatch, negotiation, parsing, rendering), and
minimal DRF → product is ours (authentication and throttle classes,
envelope, serializer, the action, the kernel, Idempotency-Key).
`bench/request_instructions.py --server …` counts each one's instructions.
Under /api/, so the request log middleware writes its line for them too.
"""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path

from django.db import connection, transaction
from django.http import HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

sys.path.insert(0, str(Path(__file__).resolve().parent))
import floor  # bench/ is not a package: floor.py runs alone under gunicorn


class DjangoDatabase:
    """What `floor.set_new_mode_number` asks of a connection, on Django's:
    one cursor for the request, `transaction.atomic` for the transaction."""

    def __init__(self, cursor):
        self.cursor = cursor

    def execute(self, sql: str, params=()):
        self.cursor.execute(sql, params)
        return self.cursor

    def transaction(self):
        return transaction.atomic()


def _status_code(status: str) -> int:
    return int(status.split(None, 1)[0])


def run(body, *, authorization: str, client_ip) -> tuple[int, bytes, str]:
    request_id = uuid.uuid4().hex
    try:
        with connection.cursor() as cursor:
            callid = floor.set_new_mode_number(
                DjangoDatabase(cursor),
                body,
                authorization=authorization,
                client_ip=client_ip,
                request_id=request_id,
            )
    except floor.Refused as refused:
        return _status_code(refused.status), None, ""
    return 200, callid, request_id


@csrf_exempt
def plain_django(request):
    try:
        body = json.loads(request.body)
        status, callid, request_id = run(
            body,
            authorization=request.META.get("HTTP_AUTHORIZATION", ""),
            client_ip=request.META.get("REMOTE_ADDR") or None,
        )
    except ValueError:
        status, callid, request_id = 400, None, ""
    reply = floor.reply_body(floor.REPLY_SUBTOPIC, callid, {"success": callid is not None})
    response = HttpResponse(reply, status=status, content_type="application/json")
    response["X-Request-ID"] = request_id
    return response


class MinimalDrf(APIView):
    authentication_classes = []
    permission_classes = []
    throttle_classes = []
    parser_classes = [JSONParser]
    renderer_classes = [JSONRenderer]

    def post(self, request):
        status, callid, request_id = run(
            request.data,
            authorization=request.META.get("HTTP_AUTHORIZATION", ""),
            client_ip=request.META.get("REMOTE_ADDR") or None,
        )
        body = {
            "channel": "LCM",
            "topic": "WebService",
            "subtopic": floor.REPLY_SUBTOPIC,
            "message": {"callid": callid, "response": {"success": callid is not None}},
        }
        return Response(body, status=status, headers={"X-Request-ID": request_id})


PATHS = {"django": "/api/bench/django/", "drf": "/api/bench/drf/"}

urlpatterns = [
    path(PATHS["django"].strip("/") + "/", plain_django),
    path(PATHS["drf"].strip("/") + "/", MinimalDrf.as_view()),
]
urlpatterns += __import__("config.urls", fromlist=["urlpatterns"]).urlpatterns
