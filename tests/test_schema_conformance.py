"""Real replies against the schema the server publishes: every status each
operation declares, each provoked over HTTP on a live server and validated
with Schemathesis' response conformance (the body against the declared
schema for that status and content type), and no status sent that the
operation does not declare.

The fuzzing of tests/test_schema_fuzz.py rarely reaches a 409, a 413, a 429
or a 500; here each is made on purpose. Only the 503 is left to
tests/test_faults.py (it needs the database cut from under a request).
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from datetime import timedelta

import pytest
import requests
import schemathesis
from django.core.cache import cache
from django.db import connection
from django.utils import timezone
from openapi_core import Config, OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse

from lcm.api import examples
from lcm.audit import checkpoints
from lcm.models import ExportJob

from .test_client import SCHEMA_PATH, sign_checkpoints, token_of
from .test_faults import fail_inserts
from .test_import_jobs import work_off_the_queue

WEBSERVICE = "/api/lcm/webservice/"
CALLS = "/api/lcm/calls/"
WRAP_UP = "/api/lcm/calls/{callid}/wrapup/"
END = "/api/lcm/calls/{callid}/end/"
LOGIN = "/api/lcm/agents/{agent_id}/login/"
LOGOUT = "/api/lcm/agents/{agent_id}/logout/"
MODE_CHANGES = "/api/lcm/mode-changes/"
EXPORT = "/api/lcm/mode-changes/export/"
PROOF = "/api/lcm/mode-changes/{seq}/proof/"
CONSISTENCY = "/api/lcm/checkpoints/consistency/"
AS_OF = "/api/lcm/accounts/{key}/as-of/"
AS_DIALLED = "/api/lcm/calls/{callid}/as-dialled/"
DUE = "/api/lcm/callbacks/due/"
DONE = "/api/lcm/callbacks/{callback_id}/done/"
CANCEL = "/api/lcm/callbacks/{callback_id}/cancel/"
IMPORTS = "/api/lcm/imports/"
IMPORT = "/api/lcm/imports/{job_id}/"
REJECTED = "/api/lcm/imports/{job_id}/rejected/"
EXPORTS = "/api/lcm/exports/"
EXPORT_JOB = "/api/lcm/exports/{job_id}/"
EXPORT_FILE = "/api/lcm/exports/{job_id}/file/"
EXPORT_RESUME = "/api/lcm/exports/{job_id}/resume/"
# Declared, and not provoked here: a lost database (tests/test_faults.py),
# and a bug where the request inserts nothing an injected trigger could break
# (the audit API reads; wrap-up and end update the call). Their 500 is
# rendered by the same code as the doors' provoked ones.
NOT_PROVOKED = (
    {
        (path, "get", 500)
        for path in (
            MODE_CHANGES,
            EXPORT,
            DUE,
            PROOF,
            CONSISTENCY,
            AS_OF,
            AS_DIALLED,
            IMPORT,
            REJECTED,
            EXPORT_JOB,
            EXPORT_FILE,
        )
    }
    | {(path, "post", 500) for path in (WRAP_UP, END)}
    | {
        (path, method, 503)
        for path, method in [
            (WEBSERVICE, "post"),
            (CALLS, "post"),
            (WRAP_UP, "post"),
            (END, "post"),
            (LOGIN, "post"),
            (LOGOUT, "post"),
            (MODE_CHANGES, "get"),
            (EXPORT, "get"),
            (PROOF, "get"),
            (CONSISTENCY, "get"),
            (AS_OF, "get"),
            (AS_DIALLED, "get"),
            (DUE, "get"),
            (DONE, "post"),
            (CANCEL, "post"),
            (IMPORTS, "post"),
            (IMPORT, "get"),
            (REJECTED, "get"),
            (EXPORTS, "post"),
            (EXPORT_RESUME, "post"),
            (EXPORT_JOB, "get"),
            (EXPORT_FILE, "get"),
        ]
    }
)


@contextmanager
def injected_fault(table: str, condition: str):
    """A real database error on INSERT into `table` when `condition` holds,
    for as long as the block runs (a trigger; the live server sees it)."""
    fail_inserts(table, condition, "injected fault")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(f"DROP TRIGGER lcm_test_fault ON {table}")
                cursor.execute("DROP FUNCTION lcm_test_fault()")
            else:
                cursor.execute("DROP TRIGGER lcm_test_fault")


class Api:
    """Sends requests to the live server and holds each reply to the schema it
    serves, twice: Schemathesis' conformance check, and openapi-core's
    response validation (what an integrator's middleware runs)."""

    def __init__(self, url: str, published: dict):
        self.url = url
        self.published = published
        self.schema = schemathesis.openapi.from_dict(published)
        # The CSV export is text: its bytes are held to `type: string` as text.
        text = {"text/csv": lambda body, charset="utf-8", **_: body.decode(charset)}
        self.openapi = OpenAPI.from_dict(
            published, config=Config(extra_media_type_deserializers=text)
        )
        self.seen: set[tuple[str, str, int]] = set()
        self.session = requests.Session()

    def send(self, method, template, status, *, user=None, auth=None, path=None, **kwargs):
        headers = kwargs.pop("headers", {})
        if user:
            headers["Authorization"] = f"Token {token_of(user)}"
        if auth:
            headers["Authorization"] = auth
        url = self.url + (path or template)
        response = self.session.request(method, url, headers=headers, timeout=30, **kwargs)
        assert response.status_code == status, (method, url, response.content[:300])
        self.check(method.lower(), template, response)
        return response

    def check(self, method: str, template: str, response) -> None:
        label = f"{method.upper()} {template} {response.status_code}"
        item = self.published["paths"][template]
        if method not in item:  # a 405 answers a method the path lacks: its operation declares it
            assert response.status_code == 405, label
            (method,) = item
        operation = item[method]
        declared = operation["responses"].get(str(response.status_code))
        assert declared is not None, f"{label}: status not declared"
        media_type = response.headers["Content-Type"].split(";")[0]
        assert media_type in declared["content"], f"{label}: {media_type} not declared"
        self.schema[template][method.upper()].validate_response(response)
        if method == response.request.method.lower():  # not a 405 for a method it lacks
            self.openapi.validate_response(
                RequestsOpenAPIRequest(response.request), RequestsOpenAPIResponse(response)
            )
        self.seen.add((template, method, response.status_code))

    def declared(self) -> set[tuple[str, str, int]]:
        return {
            (path, method, int(status))
            for path, item in self.published["paths"].items()
            for method, operation in item.items()
            for status in operation["responses"]
        }


@pytest.fixture
def api(demo, live_server, settings):
    settings.LCM_API_THROTTLE_RATE = "100000/min"
    published = requests.get(live_server.url + SCHEMA_PATH, timeout=30).json()
    api = Api(live_server.url, published)
    with api.session:
        yield api


def with_data(**changes) -> dict:
    sample = examples.SET_NEW_MODE_NUMBER
    return {**sample, "data": {**sample["data"], **changes}}


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_every_declared_status_is_sent_as_declared(api, settings, tmp_path):
    agent = {"user": "testagent"}
    post = api.send

    # The envelope.
    post("POST", WEBSERVICE, 200, json=examples.SET_NEW_MODE_NUMBER, **agent)
    post("POST", WEBSERVICE, 400, json=with_data(callid=""), **agent)
    post("POST", WEBSERVICE, 400, json={**examples.SET_NEW_MODE_NUMBER, "subtopic": "X"}, **agent)
    post("POST", WEBSERVICE, 400, data="{", headers={"Content-Type": "application/json"}, **agent)
    post("POST", WEBSERVICE, 401, json=examples.SET_NEW_MODE_NUMBER)
    post("POST", WEBSERVICE, 401, json=examples.SET_NEW_MODE_NUMBER, auth="Bearer x")
    post("POST", WEBSERVICE, 403, json=with_data(AgentID="otheragent"), **agent)
    post("POST", WEBSERVICE, 404, json=with_data(callid=examples.UNKNOWN_CALL), **agent)
    post("GET", WEBSERVICE, 405, **agent)
    csv_only = {"headers": {"Accept": "text/csv"}}
    post("POST", WEBSERVICE, 406, json=examples.SET_NEW_MODE_NUMBER, **csv_only, **agent)
    post("POST", WEBSERVICE, 409, json=with_data(callid="12346"), **agent)
    post("POST", WEBSERVICE, 413, json=with_data(AgentID="x" * 70_000), **agent)
    not_json = {"data": "x", "headers": {"Content-Type": "text/plain"}}
    post("POST", WEBSERVICE, 415, **not_json, **agent)
    key = {"Idempotency-Key": "conformance-1"}
    post("POST", WEBSERVICE, 200, json=examples.SET_NEW_MODE_NUMBER, headers=dict(key), **agent)
    post("POST", WEBSERVICE, 422, json=with_data(ModeID=2), headers=dict(key), **agent)
    with injected_fault("lcm_modechange", "NEW.new_number = '3005550666'"):
        post("POST", WEBSERVICE, 500, json=with_data(ContactNumber="3005550666"), **agent)

    # The dialer's doors.
    dialer = {"user": "dialer"}
    call = examples.REGISTER_CALL
    post("POST", CALLS, 201, json=call, **dialer)
    post("POST", CALLS, 200, json=call, **dialer)
    post("POST", CALLS, 400, json={**call, "StartTime": "soon"}, **dialer)
    post("POST", CALLS, 401, json=call)
    post("POST", CALLS, 403, json=call, **agent)
    post("POST", CALLS, 404, json={**call, "AgentID": "nobody"}, **dialer)
    post("GET", CALLS, 405, **dialer)
    post("POST", CALLS, 406, json=call, headers={"Accept": "text/csv"}, **dialer)
    post("POST", CALLS, 409, json={**call, "AgentID": "otheragent"}, **dialer)
    post("POST", CALLS, 413, json={**call, "AgentID": "x" * 70_000}, **dialer)
    post("POST", CALLS, 415, **not_json, **dialer)
    with injected_fault("lcm_call", "NEW.callid = '20666'"):
        post("POST", CALLS, 500, json={**call, "callid": "20666"}, **dialer)
    for template, path, body in [
        (WRAP_UP, "/api/lcm/calls/20001/wrapup/", None),
        (END, "/api/lcm/calls/20001/end/", examples.END_CALL),
    ]:
        post("POST", template, 200, path=path, json=body, **dialer)
        post("POST", template, 401, path=path, json=body)
        post("POST", template, 403, path=path, json=body, **agent)
        post("POST", template, 404, path=path.replace("20001", "99999"), json=body, **dialer)
        post("GET", template, 405, path=path, **dialer)
        post("POST", template, 406, path=path, headers={"Accept": "text/csv"}, **dialer)
    post("POST", WRAP_UP, 400, path=f"/api/lcm/calls/{'9' * 65}/wrapup/", **dialer)  # too long
    # Wrap-up reads no body: only the end can refuse one.
    end = "/api/lcm/calls/20001/end/"
    post(
        "POST", END, 400, path=end, data="{", headers={"Content-Type": "application/json"}, **dialer
    )
    post("POST", END, 413, path=end, json={"x": "x" * 70_000}, **dialer)
    post("POST", END, 415, path=end, **not_json, **dialer)
    post("POST", WRAP_UP, 409, path="/api/lcm/calls/20001/wrapup/", **dialer)
    later = {"EndTime": "2026-11-26T16:00:00Z"}
    post("POST", END, 409, path="/api/lcm/calls/20001/end/", json=later, **dialer)
    too_early = {"EndTime": "2000-01-01T00:00:00Z"}
    post("POST", END, 400, path="/api/lcm/calls/12345/end/", json=too_early, **dialer)
    login, logout = "/api/lcm/agents/testagent/login/", "/api/lcm/agents/testagent/logout/"
    for template, path in [(LOGOUT, logout), (LOGIN, login)]:
        post("POST", template, 200, path=path, json={}, **dialer)
        post("POST", template, 400, path=path, json={"Time": "soon"}, **dialer)
        post("POST", template, 401, path=path, json={})
        post("POST", template, 403, path=path, json={}, **agent)
        post("POST", template, 404, path=path.replace("testagent", "nobody"), json={}, **dialer)
        post("GET", template, 405, path=path, **dialer)
        post("POST", template, 406, path=path, json={}, headers={"Accept": "text/csv"}, **dialer)
        post("POST", template, 413, path=path, json={"x": "x" * 70_000}, **dialer)
        post("POST", template, 415, path=path, **not_json, **dialer)
    long_ago = {"Time": "2000-01-01T00:00:00Z"}  # before the change just recorded
    post("POST", LOGOUT, 409, path=logout, json=long_ago, **dialer)
    post("POST", LOGOUT, 200, path=logout, json={}, **dialer)
    post("POST", LOGIN, 409, path=login, json=long_ago, **dialer)
    with injected_fault("lcm_agentsessionevent", "1 = 1"):
        post("POST", LOGIN, 500, path=login, json={}, **dialer)
    post("POST", LOGIN, 200, path=login, json={}, **dialer)  # the failed one left nothing
    with injected_fault("lcm_agentsessionevent", "1 = 1"):
        post("POST", LOGOUT, 500, path=logout, json={}, **dialer)

    # Callbacks: scheduled, checked and listed through the envelope, then the
    # dialer's side (due, done, cancel).
    def schedule(start: str, end: str) -> int:
        data = {**examples.CALLBACK_DATA, "StartTime": start, "EndTime": end}
        body = {**examples.SET_CALLBACK_WITH_COMMENTS, "data": data}
        reply = post("POST", WEBSERVICE, 200, json=body, **agent)
        return reply.json()["message"]["response"]["CallbackID"]

    done_id, cancel_id = schedule("10:00", "12:00"), schedule("13:00", "14:00")
    post("POST", WEBSERVICE, 200, json=examples.SET_PERSONAL_CALLBACK_WITH_COMMENTS, **agent)
    post("POST", WEBSERVICE, 200, json=examples.SCHEDULED_CALLBACK_OVERLAP, **agent)
    post("POST", WEBSERVICE, 200, json=examples.GET_PERSONAL_CALLBACK_LIST, **agent)
    post("GET", DUE, 200, **dialer)
    post("GET", DUE, 400, params={"limit": "0"}, **dialer)
    post("GET", DUE, 401)
    post("GET", DUE, 403, **agent)
    post("POST", DUE, 405, json={}, **dialer)
    post("GET", DUE, 406, headers={"Accept": "text/csv"}, **dialer)
    for template, action, pk, body in [
        (DONE, "done", done_id, {"Outcome": "sale"}),
        (CANCEL, "cancel", cancel_id, {"Reason": "customer unreachable"}),
    ]:
        path = f"/api/lcm/callbacks/{pk}/{action}/"
        post("POST", template, 400, path=f"/api/lcm/callbacks/x/{action}/", json=body, **dialer)
        post("POST", template, 401, path=path, json=body)
        post("POST", template, 403, path=path, json=body, **agent)
        post(
            "POST", template, 404, path=f"/api/lcm/callbacks/999999/{action}/", json=body, **dialer
        )
        post("GET", template, 405, path=path, **dialer)
        post("POST", template, 406, path=path, json=body, headers={"Accept": "text/csv"}, **dialer)
        post("POST", template, 413, path=path, json={"x": "x" * 70_000}, **dialer)
        post("POST", template, 415, path=path, **not_json, **dialer)
        post("POST", template, 200, path=path, json=body, **dialer)
    post(
        "POST",
        DONE,
        409,
        path=f"/api/lcm/callbacks/{cancel_id}/done/",
        json={"Outcome": "sale"},
        **dialer,
    )
    post("POST", CANCEL, 409, path=f"/api/lcm/callbacks/{done_id}/cancel/", json={}, **dialer)
    open_id = schedule("15:00", "16:00")
    with injected_fault("lcm_modechange", "1 = 1"):
        done = f"/api/lcm/callbacks/{open_id}/done/"
        post("POST", DONE, 500, path=done, json={"Outcome": "sale"}, **dialer)
        post("POST", CANCEL, 500, path=f"/api/lcm/callbacks/{open_id}/cancel/", json={}, **dialer)

    # The auditors' API.
    auditor = {"user": "auditor"}
    for template in (MODE_CHANGES, EXPORT):
        listed = post("GET", template, 200, **auditor)
        post("GET", template, 400, params={"since": "2026-13-01"}, **auditor)
        post("GET", template, 401)
        post("GET", template, 403, **agent)
        post("POST", template, 405, json={}, **auditor)
    assert listed.text.startswith("seq,created_at,")
    post("GET", MODE_CHANGES, 406, headers={"Accept": "text/html"}, **auditor)

    # The proofs: none while nothing is signed, then an entry's and a consistency proof.
    proof_of = "/api/lcm/mode-changes/{}/proof/".format
    post("GET", PROOF, 409, path=proof_of(1), **auditor)
    post("GET", CONSISTENCY, 404, params={"first": "1"}, **auditor)
    as_of = "/api/lcm/accounts/5%7C3%7C1%7C0%7C0%7C44%7C1/as-of/"

    def now():
        return {"at": timezone.now().isoformat()}

    as_dialled = "/api/lcm/calls/as-dialled-1/as-dialled/"
    dialled = {"callid": "as-dialled-1", "AccountNumber": examples.DAVID, "AgentID": "otheragent"}
    post("POST", CALLS, 201, json={**dialled, "StartTime": now()["at"]}, **dialer)

    proved = {"proof": "1"}
    post("GET", AS_OF, 409, path=as_of, params={**now(), **proved}, **auditor)
    post("GET", AS_DIALLED, 409, path=as_dialled, params=proved, **auditor)
    sign_checkpoints(settings, tmp_path)
    first = checkpoints.make_checkpoint().tree_size
    post("POST", WEBSERVICE, 200, json=with_data(ContactNumber="3005550777"), **agent)
    second = checkpoints.make_checkpoint().tree_size
    proof = post("GET", PROOF, 200, path=proof_of(second), **auditor).json()
    assert set(proof) == set(examples.MODE_CHANGE_PROOF)
    assert set(proof["checkpoint"]) == set(examples.CHECKPOINT)
    sizes = {"first": str(first), "second": str(second)}
    consistency = post("GET", CONSISTENCY, 200, params=sizes, **auditor).json()
    assert set(consistency) == set(examples.CONSISTENCY_PROOF)
    for template, path, params in [
        (PROOF, proof_of(1), {}),
        (CONSISTENCY, None, {"first": str(first)}),
    ]:
        post("GET", template, 400, path=path, params={**params, "format": "csv"}, **auditor)
        post("GET", template, 401, path=path, params=params)
        post("GET", template, 403, path=path, params=params, **agent)
        post("POST", template, 405, path=path, json={}, **auditor)
        csv_only = {"Accept": "text/csv"}
        post("GET", template, 406, path=path, params=params, headers=csv_only, **auditor)
    # As-of reads, with and without their proof bundle.
    checkpoints.make_checkpoint()
    post("GET", AS_OF, 200, path=as_of, params={**now(), **proved}, **auditor)
    post("GET", AS_OF, 200, path=as_of, params=now(), **auditor)
    post("GET", AS_DIALLED, 200, path=as_dialled, params=proved, **auditor)
    for template, path, params in [(AS_OF, as_of, now()), (AS_DIALLED, as_dialled, {})]:
        post("GET", template, 400, path=path, params={**params, "proof": "x"}, **auditor)
        post("GET", template, 401, path=path, params=params)
        post("GET", template, 403, path=path, params=params, **agent)
        post("POST", template, 405, path=path, json={}, **auditor)
        csv_only = {"Accept": "text/csv"}
        post("GET", template, 406, path=path, params=params, headers=csv_only, **auditor)
    post("GET", AS_OF, 404, path="/api/lcm/accounts/1%7C2/as-of/", params=now(), **auditor)
    post("GET", AS_DIALLED, 404, path="/api/lcm/calls/nope/as-dialled/", **auditor)
    post("GET", PROOF, 404, path=proof_of("x"), **auditor)
    post("GET", CONSISTENCY, 400, **auditor)
    post("GET", CONSISTENCY, 404, params={"first": str(second + 1)}, **auditor)

    # The import door (lcm.api.import_jobs).
    settings.LCM_IMPORT_DIR = str(tmp_path / "imports")
    listing = b"AccountNumber,Mode1\nIMP|1,2025550101\nIMP|2,12\n"

    def csv_body():  # a fresh headers dict per request: `send` adds the token to it
        return {"headers": {"Content-Type": "application/octet-stream"}}  # as declared

    job = post("POST", IMPORTS, 202, data=listing, **csv_body(), **dialer).json()
    post("POST", IMPORTS, 409, data=listing, **csv_body(), **dialer)
    post("POST", IMPORTS, 400, data=b"Name\nx\n", **csv_body(), **dialer)
    post("POST", IMPORTS, 401, data=listing, **csv_body())
    post("POST", IMPORTS, 403, data=listing, **csv_body(), **agent)
    post("POST", IMPORTS, 406, data=listing, headers={"Content-Type": "application/octet-stream",
         "Accept": "text/csv"}, **dialer)  # fmt: skip
    post("POST", IMPORTS, 202, files={"file": ("form.csv", listing + b"IMP|3,\n")}, **dialer)
    post("POST", IMPORTS, 415, **not_json, **dialer)
    keyed = {"Content-Type": "application/octet-stream", "Idempotency-Key": "import-1"}
    post("POST", IMPORTS, 202, data=listing + b"IMP|4,\n", headers=dict(keyed), **dialer)
    post("POST", IMPORTS, 202, data=listing + b"IMP|4,\n", headers=dict(keyed), **dialer)
    post("POST", IMPORTS, 422, data=listing + b"IMP|5,\n", headers=dict(keyed), **dialer)
    with injected_fault("lcm_importjob", "NEW.file_name = 'fault.csv'"):
        post("POST", IMPORTS, 500, path=IMPORTS + "?name=fault.csv", data=listing + b"IMP|6,\n",
             **csv_body(), **dialer)  # fmt: skip
    settings.LCM_IMPORT_UPLOAD_MAX_BYTES = 10
    post("POST", IMPORTS, 413, data=listing, **csv_body(), **dialer)
    job_path = f"/api/lcm/imports/{job['id']}/"
    for template, path in [(IMPORT, job_path), (REJECTED, job_path + "rejected/")]:
        post("GET", template, 200, path=path, **dialer)
        post("GET", template, 401, path=path)
        post("GET", template, 403, path=path, **agent)
        post("GET", template, 404, path=path.replace(str(job["id"]), "999"), **dialer)

    # The export door (lcm.api.export_jobs); its file once the worker wrote it.
    accounts = {"list": "accounts"}
    export = post("POST", EXPORTS, 202, json=accounts, **dialer).json()
    export_path = f"/api/lcm/exports/{export['id']}/"
    post("GET", EXPORT_FILE, 409, path=export_path + "file/", **dialer)
    work_off_the_queue()
    post("POST", EXPORTS, 400, json={"list": "everything"}, **dialer)
    post("POST", EXPORTS, 401, json=accounts)
    post("POST", EXPORTS, 403, json=accounts, **agent)
    post("POST", EXPORTS, 406, json=accounts, headers={"Accept": "text/csv"}, **dialer)
    post("POST", EXPORTS, 413, json={"list": "x" * 70_000}, **dialer)
    post("POST", EXPORTS, 415, **not_json, **dialer)
    with injected_fault("lcm_exportjob", "NEW.list = 'do_not_call'"):
        post("POST", EXPORTS, 500, json={"list": "do_not_call"}, **dialer)
    for template, path in [(EXPORT_JOB, export_path), (EXPORT_FILE, export_path + "file/")]:
        post("GET", template, 200, path=path, **dialer)
        post("GET", template, 401, path=path)
        post("GET", template, 403, path=path, **agent)
        post("GET", template, 404, path=path.replace(str(export["id"]), "999"), **dialer)
    # A second export, finished more than LCM_EXPORT_KEEP_HOURS ago: its file is gone.
    old = post("POST", EXPORTS, 202, json={"list": "do_not_call"}, **dialer).json()
    work_off_the_queue()
    ExportJob.objects.filter(pk=old["id"]).update(
        finished_at=timezone.now() - timedelta(hours=settings.LCM_EXPORT_KEEP_HOURS, seconds=1)
    )
    post("GET", EXPORT_FILE, 410, path=f"/api/lcm/exports/{old['id']}/file/", **dialer)
    # Resume: a done job is not resumable; one queued and silent too long (its
    # worker lost) is; a fault while queueing its task is a 500.
    post("POST", EXPORT_RESUME, 409, path=export_path + "resume/", **dialer)
    lost = post("POST", EXPORTS, 202, json=accounts, **dialer).json()
    lost_path = f"/api/lcm/exports/{lost['id']}/resume/"
    silent = timezone.now() - timedelta(seconds=settings.LCM_IMPORT_JOB_STALE_SECONDS + 1)
    ExportJob.objects.filter(pk=lost["id"]).update(heartbeat_at=silent)
    post("POST", EXPORT_RESUME, 202, path=lost_path, **dialer)
    ExportJob.objects.filter(pk=lost["id"]).update(heartbeat_at=silent)
    with injected_fault("django_tasks_database_dbtaskresult", "1 = 1"):
        post("POST", EXPORT_RESUME, 500, path=lost_path, **dialer)
    assert ExportJob.objects.get(pk=lost["id"]).attempt == 2  # the 500 changed nothing
    post("POST", EXPORT_RESUME, 401, path=lost_path)
    post("POST", EXPORT_RESUME, 403, path=lost_path, **agent)
    post("POST", EXPORT_RESUME, 404, path=lost_path.replace(str(lost["id"]), "999"), **dialer)
    work_off_the_queue()

    # Over the rate: every operation answers its declared 429.
    settings.LCM_API_THROTTLE_RATE = "1/min"
    cache.clear()
    post("POST", WEBSERVICE, 404, json=with_data(callid=examples.UNKNOWN_CALL), **agent)
    post("POST", WEBSERVICE, 429, json=examples.SET_NEW_MODE_NUMBER, **agent)
    post("POST", CALLS, 200, json=call, **dialer)
    for template, path in [
        (CALLS, None),
        (WRAP_UP, "/api/lcm/calls/20001/wrapup/"),
        (END, "/api/lcm/calls/20001/end/"),
        (LOGIN, "/api/lcm/agents/testagent/login/"),
        (LOGOUT, "/api/lcm/agents/testagent/logout/"),
        (DONE, f"/api/lcm/callbacks/{done_id}/done/"),
        (CANCEL, f"/api/lcm/callbacks/{cancel_id}/cancel/"),
    ]:
        post("POST", template, 429, path=path, json={}, **dialer)
    post("GET", DUE, 429, **dialer)
    post("POST", IMPORTS, 429, data=listing, **csv_body(), **dialer)
    post("GET", IMPORT, 429, path=job_path, **dialer)
    post("GET", REJECTED, 429, path=job_path + "rejected/", **dialer)
    post("POST", EXPORTS, 429, json=accounts, **dialer)
    post("GET", EXPORT_JOB, 429, path=export_path, **dialer)
    post("GET", EXPORT_FILE, 429, path=export_path + "file/", **dialer)
    post("POST", EXPORT_RESUME, 429, path=export_path + "resume/", **dialer)
    post("GET", MODE_CHANGES, 200, **auditor)
    post("GET", MODE_CHANGES, 429, **auditor)
    post("GET", EXPORT, 429, **auditor)
    post("GET", PROOF, 429, path=proof_of(1), **auditor)
    post("GET", CONSISTENCY, 429, params={"first": str(first)}, **auditor)
    post("GET", AS_OF, 429, path=as_of, params=now(), **auditor)
    post("GET", AS_DIALLED, 429, path=as_dialled, **auditor)

    assert api.declared() - api.seen == NOT_PROVOKED


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_get_contact_modes_replies_as_declared(api):
    unknown = {**examples.GET_CONTACT_MODES, "data": {"AccountNumber": "1|2|3"}}
    api.send("POST", WEBSERVICE, 404, json=unknown, user="dialer")

    reply = api.send("POST", WEBSERVICE, 200, json=examples.GET_CONTACT_MODES, user="testagent")

    assert json.loads(reply.content)["subtopic"] == "SetContactModes"
