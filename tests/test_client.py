"""An integrator's first hour: download the live schema, generate a client
with openapi-python-client (`--fail-on-warning`) and pydantic models with
datamodel-code-generator (default options), and drive the real API through
them over HTTP: the spec's sample, GetContactModes, a refusal of each
status class, the dialer's doors, an auditor's paged list and the CSV export.

The requests are the schema's own examples (`lcm.api.examples`), and the
replies must equal the documented ones: an example that drifts fails here.
The generated code lives in a temporary directory, never in the repository.
"""

from __future__ import annotations

import csv
import hashlib
import importlib
import io
import json
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests
import time_machine
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from rest_framework.authtoken.models import Token

from lcm import list_export
from lcm.api import examples
from lcm.api.authentication import BEARER_REFUSED
from lcm.api.handlers import HANDLERS
from lcm.api.schema import MESSAGES
from lcm.audit import checkpoints
from lcm.models import Account, Agent, ExportJob, ModeChange

from .conftest import live_modes
from .test_audit_proofs import verifier, verifier_key
from .test_import_jobs import work_off_the_queue

SCHEMA_PATH = "/api/schema/?format=json"
PACKAGE = "lcm_client"
MODELS = "lcm_models"
BIN = Path(sys.executable).parent


def _run(*command) -> None:
    # Our own venv's tools, with arguments this module builds.
    args = [str(c) for c in command]
    done = subprocess.run(args, capture_output=True, text=True, timeout=300)  # noqa: S603
    assert done.returncode == 0, f"{command[0]} failed:\n{done.stdout}\n{done.stderr}"


@pytest.fixture(scope="module")
def published() -> dict:
    """The schema the app serves, for the tests that only read it (no
    database, so no live server: a test using one is a transactional one)."""
    response = Client().get(SCHEMA_PATH)
    assert response.status_code == 200
    return response.json()


@pytest.fixture(scope="module")
def generator(tmp_path_factory):
    """Generates the client package and the pydantic models once per module,
    from the first schema it is handed; removes them from the imports after."""
    root = tmp_path_factory.mktemp("generated")
    made = []

    def generate(published: dict) -> SimpleNamespace:
        if not made:
            made.append(_generate(root, published))
        return made[0]

    try:
        yield generate
    finally:
        sys.path[:] = [p for p in sys.path if not p.startswith(str(root))]
        for name in [n for n in sys.modules if n == MODELS or n.split(".")[0] == PACKAGE]:
            del sys.modules[name]


@pytest.fixture
def generated(transactional_db, live_server, generator) -> SimpleNamespace:
    """The client and models made from the schema as an integrator downloads
    it from the running server: public, no credentials."""
    response = requests.get(live_server.url + SCHEMA_PATH, timeout=30)
    assert response.status_code == 200
    return generator(response.json())


def _generate(root: Path, published: dict) -> SimpleNamespace:
    schema = root / "schema.json"
    schema.write_text(json.dumps(published))
    config = root / "config.yml"
    config.write_text(f"package_name_override: {PACKAGE}\npost_hooks: []\n")
    _run(
        BIN / "openapi-python-client",
        "generate",
        "--path",
        schema,
        "--output-path",
        root / "client",
        "--config",
        config,
        "--fail-on-warning",
    )
    _run(
        BIN / "datamodel-codegen",
        "--input",
        schema,
        "--input-file-type",
        "openapi",
        "--output-model-type",
        "pydantic_v2.BaseModel",
        "--output",
        root / f"{MODELS}.py",
    )
    sys.path[:0] = [str(root / "client"), str(root)]
    return SimpleNamespace(
        client=importlib.import_module(f"{PACKAGE}.client"),
        api=SimpleNamespace(
            webservice=importlib.import_module(f"{PACKAGE}.api.webservice.webservice"),
            mode_changes_list=importlib.import_module(f"{PACKAGE}.api.audit.mode_changes_list"),
            mode_changes_export=importlib.import_module(f"{PACKAGE}.api.audit.mode_changes_export"),
            mode_change_proof=importlib.import_module(f"{PACKAGE}.api.audit.mode_change_proof"),
            audit_checkpoint_consistency=importlib.import_module(
                f"{PACKAGE}.api.audit.audit_checkpoint_consistency"
            ),
            **{
                name: importlib.import_module(f"{PACKAGE}.api.dialer.{name}")
                for name in (
                    "register_call",
                    "wrap_up_call",
                    "end_call",
                    "agent_login",
                    "agent_logout",
                    "import_accounts",
                    "import_status",
                    "import_rejected",
                    "export_list",
                    "export_status",
                    "export_file",
                    "export_resume",
                )
            },
        ),
        models=importlib.import_module(f"{PACKAGE}.models"),
        types=importlib.import_module(f"{PACKAGE}.types"),
        pydantic=importlib.import_module(MODELS),
    )


def sign_checkpoints(settings, folder: Path) -> None:
    """Signing on (a key pair made by audit_keygen), the witness a file."""
    call_command("audit_keygen", str(folder / "signing.pem"), stdout=io.StringIO())
    settings.LCM_AUDIT_SIGNING_KEY_FILE = str(folder / "signing.pem")
    settings.LCM_AUDIT_PUBLIC_KEY_FILE = str(folder / "signing.pem.pub.pem")
    settings.LCM_AUDIT_WITNESS = str(folder / "witness.jsonl")


def token_of(username: str) -> str:
    user = get_user_model().objects.get(username=username)
    return Token.objects.get_or_create(user=user)[0].key


@pytest.fixture
def clients(demo, live_server, generated):
    def client(username: str, prefix: str = "Token"):
        return generated.client.AuthenticatedClient(
            base_url=live_server.url, token=token_of(username), prefix=prefix
        )

    made = SimpleNamespace(
        agent=client("testagent"),
        dialer=client("dialer"),
        auditor=client("auditor"),
        # What an integrator gets who does not read the docs: the default prefix.
        bearer=client("testagent", prefix="Bearer"),
    )
    yield made
    # Closed before the test ends: a kept-alive connection would hold a server
    # thread, which then closes the test's shared SQLite connection from
    # another thread once the test is over.
    for each in vars(made).values():
        each.get_httpx_client().close()


def typed(response, status: int, model):
    """The parsed reply, checked: its status, its generated type, and the same
    JSON through the pydantic model of that name, which must say the same."""
    assert response.status_code == status, response.content
    parsed = response.parsed
    assert type(parsed).__name__ == model, (type(parsed), response.content)
    return parsed


def pydantic_says(generated, model: str, response) -> dict:
    """The reply through the datamodel-code-generator model `model`, as JSON
    again: it must be the reply as sent, nothing lost or refused."""
    value = getattr(generated.pydantic, model).model_validate_json(response.content)
    return value.model_dump(mode="json", by_alias=True, exclude_unset=True)


def sent(response) -> dict:
    return json.loads(response.content)


# --- The envelope -----------------------------------------------------------------


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_spec_sample_and_refusals_through_a_generated_client(generated, clients):
    models, webservice = generated.models, generated.api.webservice
    data = examples.SET_NEW_MODE_NUMBER["data"]
    sample = models.SetNewModeNumberRequest(data=models.SetNewModeNumberDataRequest.from_dict(data))
    # channel, topic and subtopic come from the schema's defaults, and are sent.
    assert sample.to_dict() == examples.SET_NEW_MODE_NUMBER

    reply = webservice.sync_detailed(client=clients.agent, body=sample)

    result = typed(reply, 200, "SetNewModeNumberResult")
    assert result.message.response.success is True
    assert result.message.callid == "12345"
    assert result.to_dict() == examples.SET_NEW_MODE_NUMBER_RESULT
    assert pydantic_says(generated, "SetNewModeNumberResult", reply) == sent(reply)
    assert live_modes(examples.DAVID)[1] == "961084836"

    def refused(body: dict, status: int, code: str, client=clients.agent):
        reply = webservice.sync_detailed(
            client=client, body=models.SetNewModeNumberRequest.from_dict(body)
        )
        error = typed(reply, status, "EnvelopeError")
        assert error.message.response.success is False
        assert error.message.error.code == code
        assert pydantic_says(generated, "EnvelopeError", reply) == sent(reply)
        return error

    def changed(**changes):
        return {**examples.SET_NEW_MODE_NUMBER, "data": {**data, **changes}}

    empty = refused(changed(callid=" "), 400, "callid_empty")
    assert (empty.message.error.error_message, empty.message.error.msg) == (
        "Callid is empty",
        "Invalid Call ID.",
    )
    bearer = refused(examples.SET_NEW_MODE_NUMBER, 401, "authentication_failed", clients.bearer)
    assert bearer.message.error.error_message == BEARER_REFUSED
    refused(changed(AgentID="otheragent"), 403, "forbidden")
    unknown = refused(changed(callid=examples.UNKNOWN_CALL), 404, "unknown_call")
    assert unknown.to_dict() == examples.INVALID_CALL_ID
    refused(changed(callid="12346"), 409, "call_account_mismatch")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_get_contact_modes_through_a_generated_client(generated, clients):
    """The element is dialable-modes.md section 2's, every field typed."""
    body = generated.models.GetContactModesRequest.from_dict(examples.GET_CONTACT_MODES)

    reply = generated.api.webservice.sync_detailed(client=clients.agent, body=body)

    result = typed(reply, 200, "SetContactModes")
    assert result.message.response.success is True
    modes = {mode.mode_id: mode for mode in result.message.response.contactmodes}
    assert {i: mode.c_value for i, mode in modes.items()} == live_modes(examples.DAVID)
    home = modes[1]
    assert isinstance(home.pewc, bool) and isinstance(home.dnc, bool)
    assert isinstance(home.callable_, bool)
    assert home.channel_type.value in {"voice", "sms"}
    assert list(result.to_dict()["message"]["response"]["Contactmodes"][0]) == list(
        examples.CONTACT_MODE
    )
    assert pydantic_says(generated, "SetContactModes", reply) == sent(reply)


# --- The dialer's doors -----------------------------------------------------------------


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_dialer_drives_a_call_and_a_session_through_a_generated_client(generated, clients):
    models, api, dialer = generated.models, generated.api, clients.dialer

    def call(reply, status=200, example=None):
        state = typed(reply, status, "CallState")
        assert pydantic_says(generated, "CallState", reply) == sent(reply)
        if example is not None:
            assert sent(reply) == example
        return state

    def error(reply, status, example):
        error = typed(reply, status, "Error")
        assert error.to_dict() == example
        assert pydantic_says(generated, "Error", reply) == example

    register = models.RegisterCallRequest.from_dict(examples.REGISTER_CALL)
    created = call(
        api.register_call.sync_detailed(client=dialer, body=register), 201, examples.CALL
    )
    assert created.end_time is None
    call(api.register_call.sync_detailed(client=dialer, body=register), 200, examples.CALL)
    call(api.wrap_up_call.sync_detailed("20001", client=dialer), 200, examples.CALL_IN_WRAP_UP)
    too_early = models.EndCallRequest.from_dict({"EndTime": "2026-11-26T14:00:00Z"})
    error(
        api.end_call.sync_detailed("20001", client=dialer, body=too_early),
        400,
        examples.END_BEFORE_START,
    )
    end = models.EndCallRequest.from_dict(examples.END_CALL)
    ended = call(
        api.end_call.sync_detailed("20001", client=dialer, body=end), 200, examples.CALL_ENDED
    )
    assert ended.end_time.isoformat() == "2026-11-26T15:04:30+00:00"
    taken = models.RegisterCallRequest.from_dict(
        {**examples.REGISTER_CALL, "AgentID": "otheragent"}
    )
    error(
        api.register_call.sync_detailed(client=dialer, body=taken), 409, examples.CALL_AGENT_TAKEN
    )
    error(
        api.wrap_up_call.sync_detailed(examples.UNKNOWN_CALL, client=dialer),
        404,
        examples.UNKNOWN_CALL_ERROR,
    )
    nobody = models.RegisterCallRequest.from_dict({**examples.REGISTER_CALL, "AgentID": "nobody"})
    error(api.register_call.sync_detailed(client=dialer, body=nobody), 404, examples.UNKNOWN_AGENT)
    forbidden = typed(
        api.register_call.sync_detailed(client=clients.agent, body=register), 403, "Error"
    )
    assert forbidden.code == "forbidden"

    # offagent, logged out since the evening before the examples' day, works a shift.
    Agent.objects.filter(agent_id="offagent").update(
        logged_in_changed_at=datetime(2026, 11, 25, 18, 0, tzinfo=UTC)
    )
    login = api.agent_login.sync_detailed(
        "offagent", client=dialer, body=models.AgentSessionRequest.from_dict(examples.AGENT_LOGIN)
    )
    assert typed(login, 200, "AgentSessionState").changed_at.isoformat() == (
        "2026-11-26T08:59:00+00:00"
    )
    assert sent(login) == examples.AGENT_LOGGED_IN
    logout = api.agent_logout.sync_detailed(
        "offagent", client=dialer, body=models.AgentSessionRequest.from_dict(examples.AGENT_LOGOUT)
    )
    assert typed(logout, 200, "AgentSessionState").logged_in is False
    assert sent(logout) == examples.AGENT_LOGGED_OUT
    assert pydantic_says(generated, "AgentSessionState", login) == examples.AGENT_LOGGED_IN


# --- The auditors' API ------------------------------------------------------------------


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_an_auditor_pages_and_exports_through_a_generated_client(generated, clients):
    models, api = generated.models, generated.api
    for number in ("961084836", "961084837", "961084838"):
        body = {
            **examples.SET_NEW_MODE_NUMBER,
            "data": {**examples.SET_NEW_MODE_NUMBER["data"], "ContactNumber": number},
        }
        reply = api.webservice.sync_detailed(
            client=clients.agent, body=models.SetNewModeNumberRequest.from_dict(body)
        )
        assert reply.status_code == 200, reply.content

    pages, cursor = [], None
    while True:
        kwargs = {"cursor": cursor} if cursor else {}
        reply = api.mode_changes_list.sync_detailed(client=clients.auditor, page_size=2, **kwargs)
        page = typed(reply, 200, "PaginatedModeChangeList")
        assert pydantic_says(generated, "PaginatedModeChangeList", reply) == sent(reply)
        pages.append(page)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor

    # The demo's own entries (its import) come first in the log.
    seqs = list(ModeChange.objects.order_by("-seq").values_list("seq", flat=True))
    assert len(seqs) >= 3
    assert [[entry.seq for entry in page.results] for page in pages] == [
        seqs[i : i + 2] for i in range(0, len(seqs), 2)
    ]
    newest = pages[0].results[0]
    assert (newest.action.value, newest.new_number, newest.reverts_seq) == (
        "set",
        "961084838",
        None,
    )
    assert newest.created_at.tzinfo is not None
    assert pages[1].previous_cursor is not None

    exported = api.mode_changes_export.sync_detailed(client=clients.auditor, agent="testagent")
    assert exported.status_code == 200
    assert isinstance(exported.parsed, str)
    rows = list(csv.DictReader(io.StringIO(exported.parsed)))
    assert [row["seq"] for row in rows] == [str(seq) for seq in seqs[:3]]
    header = examples.MODE_CHANGES_CSV.splitlines()[0].split(",")
    assert list(rows[0]) == header

    refused = api.mode_changes_list.sync_detailed(client=clients.agent)
    assert typed(refused, 403, "Error").to_dict() == examples.NOT_AN_AUDITOR
    refused = api.mode_changes_export.sync_detailed(client=clients.agent)
    assert typed(refused, 403, "Error").to_dict() == examples.NOT_AN_AUDITOR
    bad = api.mode_changes_list.sync_detailed(client=clients.auditor, since="2026-13-01")
    assert typed(bad, 400, "Error").to_dict() == examples.BAD_SINCE


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_an_auditor_gets_proofs_through_a_generated_client(generated, clients, settings, tmp_path):
    """The proofs as typed replies; the reply as received is what
    tools/verify_proof.py verifies (hash the JSON as sent, not a re-serialised
    model: a client may write a date another way)."""
    api = generated.api
    unsigned = api.mode_change_proof.sync_detailed("1", client=clients.auditor)
    assert typed(unsigned, 409, "Error").to_dict() == examples.NOT_CHECKPOINTED
    unknown = api.mode_change_proof.sync_detailed("999999", client=clients.auditor)
    assert typed(unknown, 404, "Error").to_dict() == examples.UNKNOWN_ENTRY
    refused = api.mode_change_proof.sync_detailed("1", client=clients.agent)
    assert typed(refused, 403, "Error").to_dict() == examples.NOT_AN_AUDITOR

    sign_checkpoints(settings, tmp_path)
    first = checkpoints.make_checkpoint().tree_size
    body = {
        **examples.SET_NEW_MODE_NUMBER,
        "data": {**examples.SET_NEW_MODE_NUMBER["data"], "ContactNumber": "961084839"},
    }
    reply = api.webservice.sync_detailed(
        client=clients.agent, body=generated.models.SetNewModeNumberRequest.from_dict(body)
    )
    assert reply.status_code == 200, reply.content
    second = checkpoints.make_checkpoint().tree_size
    public = verifier_key(settings.LCM_AUDIT_PUBLIC_KEY_FILE)

    reply = api.mode_change_proof.sync_detailed(str(second), client=clients.auditor)
    proof = typed(reply, 200, "ModeChangeProof")
    assert pydantic_says(generated, "ModeChangeProof", reply) == sent(reply)
    personal = proof.personal.additional_properties
    assert (proof.seq, personal["new_number"].value, proof.checkpoint.tree_size) == (
        second,
        "961084839",
        second,
    )
    # Format 3: the personal fields sealed together as one digest.
    assert re.fullmatch(r"[0-9a-f]{64}", proof.entry.personal_digest)
    assert personal["modes"].value[0]["after"]["number"] == "961084839"
    assert verifier.check_entry_proof(sent(reply), public).startswith(f"entry #{second}")

    reply = api.audit_checkpoint_consistency.sync_detailed(
        client=clients.auditor, first=first, second=second
    )
    consistency = typed(reply, 200, "ConsistencyProof")
    assert pydantic_says(generated, "ConsistencyProof", reply) == sent(reply)
    assert consistency.first.tree_size == first
    assert "are unchanged" in verifier.check_consistency(sent(reply), public)
    missing = api.audit_checkpoint_consistency.sync_detailed(client=clients.auditor, first=9999)
    assert typed(missing, 404, "Error").to_dict()["code"] == "unknown_checkpoint"


# --- The import door ---------------------------------------------------------------


def as_the_example(reply: dict, example: dict, door: str = "imports") -> dict:
    """The reply with what differs from run to run (the job's id, the live
    server's address, the clock) checked for its shape and set to the
    example's, so that the rest must equal the documented reply."""
    job = reply["id"]
    assert reply["url"].endswith(f"/api/lcm/{door}/{job}/")
    second = "rejected_url" if door == "imports" else "file_url"
    assert reply[second] == reply["url"] + second.removesuffix("_url") + "/"
    for stamp in ("created_at", "finished_at"):
        if example[stamp] is None:
            assert reply[stamp] is None, stamp
        else:
            assert datetime.fromisoformat(reply[stamp]).tzinfo is not None, stamp
    varying = ("id", "url", second, "created_at", "finished_at")
    return {**reply, **{field: example[field] for field in varying}}


@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # the worker closes connections
def test_the_dialer_imports_a_list_through_a_generated_client(
    generated, clients, settings, tmp_path
):
    """The schema's example list, sent as the body and as a form; the job run
    by the real worker; its status and rejected rows as documented."""
    settings.LCM_IMPORT_DIR = str(tmp_path / "imports")
    api, dialer, File = generated.api, clients.dialer, generated.types.File

    def the_list():
        return File(payload=io.BytesIO(examples.IMPORT_CSV.encode()), file_name="spring.csv")

    reply = api.import_accounts.sync_detailed(client=dialer, body=the_list(), name="spring.csv")
    queued = typed(reply, 202, "ImportStatus")
    assert pydantic_says(generated, "ImportStatus", reply) == sent(reply)
    assert as_the_example(sent(reply), examples.IMPORT_QUEUED) == examples.IMPORT_QUEUED
    assert reply.headers["Location"] == queued.url
    again = api.import_accounts.sync_detailed(client=dialer, body=the_list(), name="spring.csv")
    assert typed(again, 409, "Error").code == "import_job_state"

    work_off_the_queue()

    reply = api.import_status.sync_detailed(str(queued.id), client=dialer)
    done = typed(reply, 200, "ImportStatus")
    assert pydantic_says(generated, "ImportStatus", reply) == sent(reply)
    assert as_the_example(sent(reply), examples.IMPORT_DONE) == examples.IMPORT_DONE
    assert done.state.value == "done"
    rejected = api.import_rejected.sync_detailed(str(queued.id), client=dialer)
    assert rejected.status_code == 200
    assert rejected.parsed == examples.IMPORT_REJECTED_CSV
    assert live_modes("IMP|1") == {1: "2025550101"}

    form = generated.models.ImportAccountsFilesBody(file=the_list())
    reply = api.import_accounts.sync_detailed(client=dialer, body=form)
    assert typed(reply, 202, "ImportStatus").file_name == "spring.csv"
    unknown = api.import_status.sync_detailed("999", client=dialer)
    assert typed(unknown, 404, "Error").to_dict() == examples.UNKNOWN_IMPORT
    refused = api.import_accounts.sync_detailed(client=clients.agent, body=the_list())
    assert typed(refused, 403, "Error").code == "forbidden"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # the worker closes connections
def test_the_dialer_exports_the_accounts_through_a_generated_client(
    generated, clients, settings, tmp_path
):
    """The example request; the job run by the real worker; the file the
    console's download of the same list."""
    settings.LCM_IMPORT_DIR = str(tmp_path / "imports")
    api, models, dialer = generated.api, generated.models, clients.dialer
    body = models.ExportRequest.from_dict({"list": "accounts"})

    reply = api.export_list.sync_detailed(client=dialer, body=body)
    queued = typed(reply, 202, "ExportStatus")
    assert pydantic_says(generated, "ExportStatus", reply) == sent(reply)
    assert reply.headers["Location"] == queued.url
    queued_body = {**sent(reply), "file_name": examples.EXPORT_QUEUED["file_name"]}
    assert as_the_example(queued_body, examples.EXPORT_QUEUED, "exports") == examples.EXPORT_QUEUED
    early = api.export_file.sync_detailed(str(queued.id), client=dialer)
    not_ready = {**examples.EXPORT_NOT_READY, "message": examples.EXPORT_NOT_READY["message"]
                 .replace("Export 1 ", f"Export {queued.id} ")}  # fmt: skip
    assert typed(early, 409, "Error").to_dict() == not_ready

    work_off_the_queue()

    reply = api.export_status.sync_detailed(str(queued.id), client=dialer)
    done = typed(reply, 200, "ExportStatus")
    assert pydantic_says(generated, "ExportStatus", reply) == sent(reply)
    accounts = Account.objects.count()
    assert (done.state.value, done.rows, done.total, done.percent) == (
        "done", accounts, accounts, 100.0,
    )  # fmt: skip
    file = api.export_file.sync_detailed(str(queued.id), client=dialer)
    assert file.status_code == 200
    assert file.headers["Content-Type"].startswith("text/csv")
    console = "".join(list_export.account_lines(Account.objects.order_by("pk")))
    assert file.content.decode() == console
    assert (done.size, done.sha256) == (len(file.content), hashlib.sha256(file.content).hexdigest())
    assert file.content.decode().splitlines()[0] == examples.EXPORT_CSV.splitlines()[0]
    again = api.export_resume.sync_detailed(str(queued.id), client=dialer)
    assert typed(again, 409, "Error").to_dict() == {
        **examples.EXPORT_NOT_RESUMABLE,
        "message": f"Export {queued.id} cannot be resumed: it is done.",
    }
    expires = done.expires_at
    assert expires == ExportJob.objects.get(pk=queued.id).finished_at + timedelta(hours=24)
    with time_machine.travel(expires, tick=True):
        gone = api.export_file.sync_detailed(str(queued.id), client=dialer)
    expired = {**examples.EXPORT_EXPIRED, "message": examples.EXPORT_EXPIRED["message"]
               .replace("Export 1 ", f"Export {queued.id} ")}  # fmt: skip
    assert typed(gone, 410, "Error").to_dict() == expired

    unknown = api.export_status.sync_detailed("999", client=dialer)
    assert typed(unknown, 404, "Error").to_dict() == examples.UNKNOWN_EXPORT
    refused = api.export_list.sync_detailed(client=clients.agent, body=body)
    assert typed(refused, 403, "Error").code == "forbidden"


# --- The schema itself ------------------------------------------------------------------


# The vendor's replies to these carry no `success` (dialable-modes.md section 4):
# `RequestResult` and `IsOverlap`, or `Callbacks` and `Total`.
# GetScreenPopData's is an object of strings (campaign-services.md section 6).
NO_SUCCESS_FLAG = {"ScheduledCallBackOverlap", "GetPersonalCallbackList", "GetScreenPopData"}
# The operations whose request body is a file, not JSON.
FILE_BODIES = {("/api/lcm/imports/", "post")}


def test_every_subtopic_has_its_typed_request_and_reply(published):
    """A handler without an entry in lcm.api.schema.MESSAGES fails here."""
    assert set(MESSAGES) == set(HANDLERS)
    schemas = published["components"]["schemas"]

    def ref(schema: dict) -> dict:
        return schemas[schema["$ref"].rsplit("/", 1)[1]]

    for subtopic, handler in HANDLERS.items():
        assert f"{subtopic}Request" in schemas, subtopic
        reply = schemas[handler.reply_subtopic]
        assert ref(reply["properties"]["subtopic"])["enum"] == [handler.reply_subtopic]
        shape = ref(reply["properties"]["message"])["properties"]["response"]
        if MESSAGES[subtopic].many:  # `Message.many`: the reply is an array of the element
            assert shape.get("type") == "array", subtopic
        if shape.get("type") == "array":  # the vendor's array replies (campaign-services.md §2)
            assert ref(shape["items"])["required"], subtopic  # typed, field by field
            continue
        response = ref(shape) if "$ref" in shape else shape  # the screen pop's is inline
        assert response["required"], subtopic  # typed, field by field
        if subtopic in NO_SUCCESS_FLAG:
            assert "success" not in response["properties"], subtopic
            continue
        assert "success" in response["required"], subtopic
        assert response["properties"]["success"]["type"] == "boolean"
    errors = schemas["EnvelopeErrorSubtopicEnum"]["enum"]
    assert errors == [handler.reply_subtopic for handler in HANDLERS.values()] + ["Error"]


def test_every_operation_shows_its_examples_which_are_the_tested_ones(published):
    for path, item in published["paths"].items():
        for method, operation in item.items():
            label = f"{method.upper()} {path}"
            body = operation.get("requestBody")
            if body:
                # JSON, but for the import door, whose body is the file itself.
                media = ["application/json"]
                if (path, method) in FILE_BODIES:
                    media = ["application/octet-stream", "multipart/form-data"]
                assert list(body["content"]) == media, label
                assert all(body["content"][m].get("examples") for m in media), label
            success = next(s for s in operation["responses"] if s.startswith("2"))
            content = operation["responses"][success]["content"]
            assert all(media.get("examples") for media in content.values()), label

    def shown(path, method, status=None, media="application/json"):
        operation = published["paths"][path][method]
        if status is None:
            content = operation["requestBody"]["content"][media]
        else:
            content = next(iter(operation["responses"][status]["content"].values()))
        return [example["value"] for example in content["examples"].values()]

    webservice = "/api/lcm/webservice/"
    requests_shown = shown(webservice, "post")
    assert examples.SET_NEW_MODE_NUMBER in requests_shown
    assert examples.GET_CONTACT_MODES in requests_shown
    replies_shown = shown(webservice, "post", "200")
    assert examples.SET_NEW_MODE_NUMBER_RESULT in replies_shown
    assert examples.SET_CONTACT_MODES in replies_shown
    from lcm.api import compliance, outcomes  # their tests send these to the demo

    assert outcomes.SET_BUSINESS_OUTCOME_WITH_CALL_OUTCOME in requests_shown
    assert compliance.COMPLIANCE_CHECK in requests_shown
    assert outcomes.SET_CALL_OUTCOME_OFFLINE_RESPONSE in replies_shown
    assert compliance.COMPLIANCE_CHECK_RESULT in replies_shown
    assert shown(webservice, "post", "404") == [examples.INVALID_CALL_ID]
    assert shown("/api/lcm/calls/", "post") == [examples.REGISTER_CALL]
    assert shown("/api/lcm/calls/", "post", "201") == [examples.CALL]
    assert shown("/api/lcm/calls/{callid}/end/", "post", "200") == [examples.CALL_ENDED]
    assert shown("/api/lcm/mode-changes/", "get", "200") == [
        {**examples.MODE_CHANGES_PAGE, "results": [examples.MODE_CHANGE]}
    ]
    assert shown("/api/lcm/mode-changes/", "get", "400") == [examples.BAD_SINCE]
    assert shown("/api/lcm/mode-changes/export/", "get", "200") == [examples.MODE_CHANGES_CSV]
    imports = "/api/lcm/imports/"
    assert shown(imports, "post", media="application/octet-stream") == [examples.IMPORT_CSV]
    assert shown(imports, "post", media="multipart/form-data") == [{"file": examples.IMPORT_CSV}]
    assert shown(imports, "post", "202") == [examples.IMPORT_QUEUED]
    assert shown(imports + "{job_id}/", "get", "200") == [examples.IMPORT_DONE]
    assert shown(imports + "{job_id}/", "get", "404") == [examples.UNKNOWN_IMPORT]
    assert shown(imports + "{job_id}/rejected/", "get", "200") == [examples.IMPORT_REJECTED_CSV]
    assert shown("/api/lcm/exports/", "post") == [{"list": "accounts"}]
    assert shown("/api/lcm/exports/", "post", "202") == [examples.EXPORT_QUEUED]
    assert shown("/api/lcm/exports/{job_id}/", "get", "200") == [examples.EXPORT_DONE]
    assert shown("/api/lcm/exports/{job_id}/file/", "get", "200") == [examples.EXPORT_CSV]
    assert shown("/api/lcm/exports/{job_id}/file/", "get", "409") == [examples.EXPORT_NOT_READY]
    assert shown("/api/lcm/exports/{job_id}/file/", "get", "410") == [examples.EXPORT_EXPIRED]
    resume = "/api/lcm/exports/{job_id}/resume/"
    assert shown(resume, "post", "202") == [examples.EXPORT_RESUMED]
    assert shown(resume, "post", "409") == [examples.EXPORT_NOT_RESUMABLE]


def test_the_schema_says_how_to_authenticate(published):
    scheme = published["components"]["securitySchemes"]["tokenAuth"]
    assert (scheme["type"], scheme["in"], scheme["name"]) == ("apiKey", "header", "Authorization")
    assert 'prefix="Token"' in scheme["description"]
    docs = (Path(__file__).resolve().parent.parent / "docs" / "api.md").read_text()
    assert 'prefix="Token"' in docs


def test_no_component_name_doubles_its_suffix(published):
    # The vendor's own subtopic GetCampaignsForMCDRequest ends in Request: its
    # request envelope is, by the rule of every subtopic, ...RequestRequest.
    vendors = {f"{subtopic}Request" for subtopic in HANDLERS if subtopic.endswith("Request")}
    names = set(published["components"]["schemas"]) - vendors
    assert not [name for name in names if name.endswith(("RequestRequest", "SchemaRequest"))]


def test_the_contact_mode_element_is_typed_field_by_field(published):
    element = published["components"]["schemas"]["ContactMode"]
    assert list(element["properties"]) == list(examples.CONTACT_MODE)
    assert sorted(element["required"]) == sorted(examples.CONTACT_MODE)
    assert not any("null" in str(field.get("type")) for field in element["properties"].values())
