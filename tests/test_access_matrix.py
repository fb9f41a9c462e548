"""Who may do what: every URL the product serves against every role.

The tables below are the specification. Each cell is one test: it sends
the request as that role through the real stack (Django's test client,
DRF's APIClient, the real database) and asserts the exact outcome. A
refused request that would write must leave everything as it was; an
allowed one must have written something (so the cell proves the door).

The admin's URL names are read from the running URL configuration, and
every page of every registered ModelAdmin must be in `ADMIN`: a new admin
page cannot ship without a row here (`test_every_*_is_in_the_matrix`).

docs/admin.md "Who can do what" is rendered from `CAPABILITIES` and these
tables (`test_the_docs_table_is_this_matrix`).
"""

from __future__ import annotations

import datetime as dt
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.conf import settings
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from lcm.actions import agent_requests, callbacks, export_jobs, supervisor
from lcm.models import (
    Account,
    Agent,
    AgentSessionEvent,
    Call,
    Callback,
    Campaign,
    ContactMode,
    DoNotCallNumber,
    StateLaw,
)

from .conftest import DEMO_PASSWORD, WEBSERVICE, envelope, snapshot

DAVID = "5|3|1|0|0|44|1"  # testagent's active call 12345
MARIA = "596|485|587|0|0|44|59"  # otheragent's active call 12346

# --- Roles ----------------------------------------------------------------------

ROLES = (
    "anonymous",  # no credentials at all
    "bad_credentials",  # API: a token that does not exist; admin: a forged session cookie
    "agent",  # testagent's own user
    "other_agent",  # otheragent's user, aiming at testagent's call
    "integration",  # the demo `dialer`: group "Dialer integration"
    "supervisor",  # staff, group Supervisors
    "auditor",  # staff, group Auditors
    "superuser",  # the demo `admin`
)
USERS = {
    "agent": "testagent",
    "other_agent": "otheragent",
    "integration": "dialer",
    "supervisor": "supervisor",
    "auditor": "auditor",
    "superuser": "admin",
}
STAFF = ("supervisor", "auditor", "superuser")
NOT_STAFF = tuple(role for role in ROLES if role not in STAFF)

# --- Outcomes -------------------------------------------------------------------
# An API outcome is a status, or (status, error code) for a refusal.
# An admin outcome is a status, or LOGIN: a 302 to the admin's login page.

NOAUTH = (401, "not_authenticated")
BADAUTH = (401, "authentication_failed")
FORBID = (403, "forbidden")
LOGIN = "login"
MOVED = 302  # the admin's answer to a successful POST: a redirect, not to login


def api(
    anonymous, bad_credentials, agent, other_agent, integration, supervisor, auditor, superuser
):
    """One outcome per role, in the order of ROLES."""
    return dict(locals())


# --- The API --------------------------------------------------------------------


@dataclass(frozen=True)
class Api:
    method: str
    path: str
    body: dict | None
    expect: dict
    json_errors: bool = True  # refusals are JSON (the envelope or {code, message}), never HTML


SET_MODE = envelope(
    callid="12345",
    AccountNumber=DAVID,
    ModeID=3,
    ContactNumber="2025550177",
    DeleteOtherModes=False,
    AgentID="testagent",
)
SET_MODE_AS_OTHERAGENT = envelope(**{**SET_MODE["data"], "AgentID": "otheragent"})
SET_MODE_FOR_OTHERAGENT = envelope(
    **{**SET_MODE["data"], "callid": "12346", "AccountNumber": MARIA, "AgentID": "otheragent"}
)
SET_DNC = envelope(
    "SetDNC",
    callid="12345",
    AccountNumber=DAVID,
    AgentID="testagent",
    isPhoneNoDNC=True,
    ModeID=1,
    AgentComments="Asked not to be called on this number.",
)
SET_DNC_AS_OTHERAGENT = envelope("SetDNC", **{**SET_DNC["data"], "AgentID": "otheragent"})
SET_DNC_FOR_OTHERAGENT = envelope(
    "SetDNC",
    **{**SET_DNC["data"], "callid": "12346", "AccountNumber": MARIA, "AgentID": "otheragent"},
)
READ_WITH_CALL = envelope("GetContactModes", callid="12345", AccountNumber=DAVID)
READ_WITHOUT_CALL = envelope("GetContactModes", AccountNumber=DAVID)
READ_MARIA = envelope("GetContactModes", AccountNumber=MARIA)
NEW_CALL = {
    "callid": "30001",
    "AccountNumber": DAVID,
    "AgentID": "testagent",
    "StartTime": "2026-11-26T15:00:00Z",
}
# Callbacks two days ahead, 10:00-12:00 callee's time: in the future and
# inside the calling window whatever the real clock says when this runs.
CALLBACK_DAY = (timezone.now() + dt.timedelta(days=2)).strftime("%d/%m/%Y")
SET_CALLBACK = envelope(
    "SetCallbackWithComments", callid="12345", AccountNumber=DAVID, StartDate=CALLBACK_DAY,
    EndDate=CALLBACK_DAY, StartTime="10:00", EndTime="12:00", CallbackModeId=1,
    UserID="testagent", AgentComments="matrix",
)  # fmt: skip
PERSONAL_FOR_OTHERAGENT = envelope(
    "SetPersonalCallbackWithComments", **{**SET_CALLBACK["data"], "UserID": "otheragent"}
)
CALLBACK_OVERLAP = envelope(
    "ScheduledCallBackOverlap", callid="12345", AccountNumber=DAVID, StartFromDate=CALLBACK_DAY,
    StartToDate=CALLBACK_DAY, StartFromTime="10:00", StartToTime="12:00", UserID="testagent",
)  # fmt: skip
CALLBACK_LIST = envelope(
    "GetPersonalCallbackList", UserID="testagent", FromDate=CALLBACK_DAY, ToDate=CALLBACK_DAY
)
# The agent's campaign services (campaign-services.md sections 3, 6, 7, 8).
CAMPAIGN_MODES = envelope("GetCampaignModes", callid="12345", AccountNumber=DAVID)
SCREEN_POP = envelope("GetScreenPopData", callid="12345", AccountNumber=DAVID)
SET_FIELDS = envelope(
    "SetContactBusinessFields", callid="12345", AccountNumber=DAVID, AgentID="testagent",
    businessField=[{"FieldName": "Email", "Value": "m@example.com", "DataType": "String",
                    "Format": "100"}],
)  # fmt: skip
INBOUND = envelope("GetCampaignsForMCDRequest", ANI="+1 202 555 0143", CallType="INBOUND")
AGENT_STATE = envelope("SendAgentState", agentID="testagent", agentState="READY")
NOT_ALLOWED = (405, "method_not_allowed")
NO_SUCH = (404, "unknown_endpoint")
UNKNOWN_ENTRY = (404, "unknown_mode_change")
UNKNOWN_CHECKPOINT = (404, "unknown_checkpoint")
# The demo's account and calls were made today: allowed, an as-of read of an
# earlier instant is this 404 (tests/test_as_of.py reads real histories).
NOT_YET = (404, "account_not_yet_created")
NOT_A_LIST = (415, "unsupported_media_type")
UNKNOWN_IMPORT = (404, "unknown_import")
UNKNOWN_EXPORT = (404, "unknown_export")

# fmt: off
API = {
    # api(anonymous, bad_credentials, agent, other_agent, integration, supervisor, auditor,
    #     superuser)
    "SetNewModeNumber for testagent": Api("POST", WEBSERVICE, SET_MODE, api(
        NOAUTH, BADAUTH, 200, FORBID, 200, FORBID, FORBID, 200)),
    "SetNewModeNumber as otheragent on testagent's call": Api(
        "POST", WEBSERVICE, SET_MODE_AS_OTHERAGENT, api(
        NOAUTH, BADAUTH, FORBID, (409, "call_agent_mismatch"), (409, "call_agent_mismatch"),
        FORBID, FORBID, (409, "call_agent_mismatch"))),
    "SetNewModeNumber for otheragent": Api("POST", WEBSERVICE, SET_MODE_FOR_OTHERAGENT, api(
        NOAUTH, BADAUTH, FORBID, 200, 200, FORBID, FORBID, 200)),
    "SetDNC for testagent": Api("POST", WEBSERVICE, SET_DNC, api(
        NOAUTH, BADAUTH, 200, FORBID, 200, FORBID, FORBID, 200)),
    "SetDNC as otheragent on testagent's call": Api(
        "POST", WEBSERVICE, SET_DNC_AS_OTHERAGENT, api(
        NOAUTH, BADAUTH, FORBID, (409, "call_agent_mismatch"), (409, "call_agent_mismatch"),
        FORBID, FORBID, (409, "call_agent_mismatch"))),
    "SetDNC for otheragent": Api("POST", WEBSERVICE, SET_DNC_FOR_OTHERAGENT, api(
        NOAUTH, BADAUTH, FORBID, 200, 200, FORBID, FORBID, 200)),
    "GetContactModes with testagent's callid": Api("POST", WEBSERVICE, READ_WITH_CALL, api(
        NOAUTH, BADAUTH, 200, FORBID, 200, 200, 200, 200)),
    "GetContactModes of testagent's account, no callid": Api(
        "POST", WEBSERVICE, READ_WITHOUT_CALL, api(
        NOAUTH, BADAUTH, 200, FORBID, 200, 200, 200, 200)),
    "GetContactModes of otheragent's account, no callid": Api(
        "POST", WEBSERVICE, READ_MARIA, api(
        NOAUTH, BADAUTH, FORBID, 200, 200, 200, 200, 200)),
    "SetCallbackWithComments for testagent": Api("POST", WEBSERVICE, SET_CALLBACK, api(
        NOAUTH, BADAUTH, 200, FORBID, 200, FORBID, FORBID, 200)),
    "SetPersonalCallbackWithComments for otheragent on testagent's call": Api(
        "POST", WEBSERVICE, PERSONAL_FOR_OTHERAGENT, api(
        NOAUTH, BADAUTH, FORBID, (409, "call_agent_mismatch"), 200, FORBID, FORBID, 200)),
    "ScheduledCallBackOverlap for testagent": Api("POST", WEBSERVICE, CALLBACK_OVERLAP, api(
        NOAUTH, BADAUTH, 200, FORBID, 200, FORBID, FORBID, 200)),
    "GetPersonalCallbackList of testagent": Api("POST", WEBSERVICE, CALLBACK_LIST, api(
        NOAUTH, BADAUTH, 200, FORBID, 200, FORBID, FORBID, 200)),
    "GetCampaignModes with testagent's callid": Api("POST", WEBSERVICE, CAMPAIGN_MODES, api(
        NOAUTH, BADAUTH, 200, FORBID, 200, 200, 200, 200)),
    "GetScreenPopData with testagent's callid": Api("POST", WEBSERVICE, SCREEN_POP, api(
        NOAUTH, BADAUTH, 200, FORBID, 200, 200, 200, 200)),
    "SetContactBusinessFields for testagent": Api("POST", WEBSERVICE, SET_FIELDS, api(
        NOAUTH, BADAUTH, 200, FORBID, 200, FORBID, FORBID, 200)),
    "GetCampaignsForMCDRequest": Api("POST", WEBSERVICE, INBOUND, api(
        NOAUTH, BADAUTH, 200, 200, 200, 200, 200, 200)),
    "SendAgentState for testagent": Api("POST", WEBSERVICE, AGENT_STATE, api(
        NOAUTH, BADAUTH, 200, FORBID, 200, FORBID, FORBID, 200)),
    "list the due callbacks": Api("GET", "/api/lcm/callbacks/due/", None, api(
        NOAUTH, BADAUTH, FORBID, FORBID, 200, FORBID, FORBID, 200)),
    "close a callback as done": Api(
        "POST", "/api/lcm/callbacks/{callback}/done/", {"Outcome": "sale"}, api(
        NOAUTH, BADAUTH, FORBID, FORBID, 200, FORBID, FORBID, 200)),
    "cancel a callback": Api("POST", "/api/lcm/callbacks/{callback}/cancel/", {}, api(
        NOAUTH, BADAUTH, FORBID, FORBID, 200, FORBID, FORBID, 200)),
    # The import door: who may import reaches it (a JSON body is no list: 415;
    # no import 999999: 404).
    "import a list (JSON is no list)": Api("POST", "/api/lcm/imports/", {}, api(
        NOAUTH, BADAUTH, FORBID, FORBID, NOT_A_LIST, NOT_A_LIST, FORBID, NOT_A_LIST)),
    "an import's status": Api("GET", "/api/lcm/imports/999999/", None, api(
        NOAUTH, BADAUTH, FORBID, FORBID, UNKNOWN_IMPORT, UNKNOWN_IMPORT, FORBID, UNKNOWN_IMPORT)),
    "an import's rejected rows": Api("GET", "/api/lcm/imports/999999/rejected/", None, api(
        NOAUTH, BADAUTH, FORBID, FORBID, UNKNOWN_IMPORT, UNKNOWN_IMPORT, FORBID, UNKNOWN_IMPORT)),
    # The export door: who may read a list, or loads lists (the integration).
    "export a list": Api("POST", "/api/lcm/exports/", {"list": "accounts"}, api(
        NOAUTH, BADAUTH, FORBID, FORBID, 202, 202, 202, 202)),
    "an export's status": Api("GET", "/api/lcm/exports/999999/", None, api(
        NOAUTH, BADAUTH, FORBID, FORBID, UNKNOWN_EXPORT, UNKNOWN_EXPORT, UNKNOWN_EXPORT,
        UNKNOWN_EXPORT)),
    "an export's file": Api("GET", "/api/lcm/exports/999999/file/", None, api(
        NOAUTH, BADAUTH, FORBID, FORBID, UNKNOWN_EXPORT, UNKNOWN_EXPORT, UNKNOWN_EXPORT,
        UNKNOWN_EXPORT)),
    "resume an export": Api("POST", "/api/lcm/exports/999999/resume/", None, api(
        NOAUTH, BADAUTH, FORBID, FORBID, UNKNOWN_EXPORT, UNKNOWN_EXPORT, UNKNOWN_EXPORT,
        UNKNOWN_EXPORT)),
    "GET the envelope endpoint": Api("GET", WEBSERVICE, None, api(
        NOAUTH, BADAUTH, NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED,
        NOT_ALLOWED)),
    "read the audit log (JSON)": Api("GET", "/api/lcm/mode-changes/", None, api(
        NOAUTH, BADAUTH, FORBID, FORBID, FORBID, 200, 200, 200)),
    "read the audit log (CSV)": Api("GET", "/api/lcm/mode-changes/?format=csv", None, api(
        NOAUTH, BADAUTH, FORBID, FORBID, FORBID, 200, 200, 200)),
    "export the audit log (CSV)": Api("GET", "/api/lcm/mode-changes/export/", None, api(
        NOAUTH, BADAUTH, FORBID, FORBID, FORBID, 200, 200, 200)),
    "POST to the audit log": Api("POST", "/api/lcm/mode-changes/", {}, api(
        NOAUTH, BADAUTH, FORBID, FORBID, FORBID, NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED)),
    # Who may read the log may ask for proofs; with no checkpoint here, allowed is a 404.
    "an entry's inclusion proof": Api("GET", "/api/lcm/mode-changes/999999/proof/", None, api(
        NOAUTH, BADAUTH, FORBID, FORBID, FORBID,
        UNKNOWN_ENTRY, UNKNOWN_ENTRY, UNKNOWN_ENTRY)),
    "a consistency proof": Api("GET", "/api/lcm/checkpoints/consistency/?first=1", None, api(
        NOAUTH, BADAUTH, FORBID, FORBID, FORBID,
        UNKNOWN_CHECKPOINT, UNKNOWN_CHECKPOINT, UNKNOWN_CHECKPOINT)),
    "POST for a proof": Api("POST", "/api/lcm/mode-changes/1/proof/", {}, api(
        NOAUTH, BADAUTH, FORBID, FORBID, FORBID, NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED)),
    "an account as of an instant": Api(
        "GET", "/api/lcm/accounts/5%7C3%7C1%7C0%7C0%7C44%7C1/as-of/?at=2026-01-01T00:00:00Z",
        None, api(NOAUTH, BADAUTH, FORBID, FORBID, FORBID, NOT_YET, NOT_YET, NOT_YET)),
    "a call as dialled": Api("GET", "/api/lcm/calls/12345/as-dialled/", None, api(
        NOAUTH, BADAUTH, FORBID, FORBID, FORBID, NOT_YET, NOT_YET, NOT_YET)),
    "register a call": Api("POST", "/api/lcm/calls/", NEW_CALL, api(
        NOAUTH, BADAUTH, FORBID, FORBID, 201, FORBID, FORBID, 201)),
    "move a call to wrap-up": Api("POST", "/api/lcm/calls/12345/wrapup/", {}, api(
        NOAUTH, BADAUTH, FORBID, FORBID, 200, FORBID, FORBID, 200)),
    "end a call": Api("POST", "/api/lcm/calls/12345/end/", {}, api(
        NOAUTH, BADAUTH, FORBID, FORBID, 200, FORBID, FORBID, 200)),
    "log an agent in": Api("POST", "/api/lcm/agents/offagent/login/", {}, api(
        NOAUTH, BADAUTH, FORBID, FORBID, 200, FORBID, FORBID, 200)),
    "log an agent out": Api("POST", "/api/lcm/agents/testagent/logout/", {}, api(
        NOAUTH, BADAUTH, FORBID, FORBID, 200, FORBID, FORBID, 200)),
    "an unknown API URL": Api("POST", "/api/lcm/nothing-here/", {}, api(
        NO_SUCH, NO_SUCH, NO_SUCH, NO_SUCH, NO_SUCH, NO_SUCH, NO_SUCH, NO_SUCH)),
    # Public, whatever the credentials: the contract is no secret, a load balancer has none.
    "the OpenAPI schema": Api("GET", "/api/schema/", None, api(
        200, 200, 200, 200, 200, 200, 200, 200)),
    "the API docs page": Api("GET", "/api/docs/", None, api(
        200, 200, 200, 200, 200, 200, 200, 200), json_errors=False),
    "the favicon": Api("GET", "/favicon.ico", None, api(
        200, 200, 200, 200, 200, 200, 200, 200), json_errors=False),
    "/healthz": Api("GET", "/healthz", None, api(
        200, 200, 200, 200, 200, 200, 200, 200)),
    "/healthz, not a GET": Api("POST", "/healthz", {}, api(
        405, 405, 405, 405, 405, 405, 405, 405), json_errors=False),
    "/healthz/live": Api("GET", "/healthz/live", None, api(
        200, 200, 200, 200, 200, 200, 200, 200)),
    "the site root": Api("GET", "/", None, api(
        302, 302, 302, 302, 302, 302, 302, 302), json_errors=False),
}
# fmt: on


# --- The admin ------------------------------------------------------------------
# One row per URL name (and method): the outcome for the supervisor, the
# auditor and the superuser. Every role that is not staff (anonymous, a
# forged session, agents, the integration) gets LOGIN on every admin URL,
# unless the row says otherwise (`not_staff=`).


@dataclass(frozen=True)
class Page:
    name: str
    method: str
    supervisor: object
    auditor: object
    superuser: object
    not_staff: object = LOGIN
    query: str = ""
    data: str | None = None  # name of a POST body in `post_data()`
    label: str = ""

    @property
    def id(self) -> str:
        return self.label or f"{self.method} {self.name}{'?' + self.query if self.query else ''}"

    def expect(self, role: str):
        return getattr(self, role) if role in STAFF else self.not_staff


GET, POST = "GET", "POST"


def model_pages(label, changelist, add, change, delete, history):
    """The five pages every ModelAdmin has, (supervisor, auditor, superuser) each."""
    prefix = label.replace(".", "_")
    return [
        Page(f"{prefix}_changelist", GET, *changelist),
        Page(f"{prefix}_add", GET, *add),
        Page(f"{prefix}_change", GET, *change),
        Page(f"{prefix}_delete", GET, *delete),
        Page(f"{prefix}_history", GET, *history),
    ]


ALL = (200, 200, 200)
ROOT_ONLY = (403, 403, 200)
NOBODY = (403, 403, 403)
SUP_NOT_AUD = (200, 403, 200)

# fmt: off
ADMIN = [
    # The site's own pages.                      supervisor auditor superuser
    Page("index",                          GET,  200, 200, 200),
    Page("login",                          GET,  302, 302, 302, not_staff=200),
    Page("logout",                         GET,  405, 405, 405, not_staff=302),
    Page("logout",                         POST, 200, 200, 200, not_staff=302),
    Page("password_change",                GET,  200, 200, 200),
    Page("password_change_done",           GET,  200, 200, 200),
    Page("jsi18n",                         GET,  200, 200, 200),
    # No model has a public page (get_absolute_url): "view on site" is a 404.
    Page("view_on_site",                   GET,  404, 404, 404),
    # Autocomplete answers only for a model the user may view.
    Page("autocomplete",                   GET,  200, 200, 200,
         query="app_label=lcm&model_name=call&field_name=account&term=Berry"),
    Page("autocomplete",                   GET,  403, 403, 200,
         query="app_label=authtoken&model_name=tokenproxy&field_name=user&term=dial"),
    Page("app_list",                       GET,  200, 200, 200, label="GET app_list lcm"),
    Page("app_list",                       GET,  200, 404, 200, label="GET app_list authtoken"),
    Page("app_list",                       GET,  404, 404, 200, label="GET app_list auth"),
    Page("app_list",                       GET,  404, 404, 200, label="GET app_list axes"),

    # Contacts: the console.          changelist  add          change  delete       history
    *model_pages("lcm.account",       ALL,        SUP_NOT_AUD, ALL,    ROOT_ONLY,   ALL),
    Page("lcm_account_set_number",         GET,  200, 403, 200),
    Page("lcm_account_set_number",         POST, MOVED, 403, MOVED, data="set_number"),
    Page("lcm_account_mode_settings",      GET,  200, 403, 200),
    Page("lcm_account_mode_settings",      POST, MOVED, 403, MOVED, data="mode_settings"),
    Page("lcm_account_restore_mode",       GET,  200, 403, 200),
    Page("lcm_account_restore_mode",       POST, MOVED, 403, MOVED, data="restore"),
    Page("lcm_account_revert",             GET,  200, 403, 200),
    Page("lcm_account_revert",             POST, MOVED, 403, MOVED, data="revert"),
    Page("lcm_account_add",                POST, MOVED, 403, MOVED, data="account"),
    Page("lcm_account_export",             GET,  200, 200, 200),
    # "As of…": the account as the log says it was (read-only; who reads the log).
    Page("lcm_account_as_of",              GET,  200, 200, 200, query="at=2026-01-01T00:00"),

    # "Export … in the background": whoever may read the list; an export
    # job's pages, its file and its Resume (here an unknown one: 404).
    Page("lcm_account_export_job",         POST, MOVED, MOVED, MOVED),
    Page("lcm_account_export_job",         GET,  302, 302, 302),
    Page("lcm_account_export_job_page",    GET,  404, 404, 404),
    Page("lcm_account_export_job_file",    GET,  404, 404, 404),
    Page("lcm_account_export_job_resume",  POST, 404, 404, 404, data="empty"),
    # "Import accounts": lcm.import_accounts (the Supervisors'); an import
    # job's pages (here an unknown one: 404) are every importer's.
    Page("lcm_account_import",             GET,  200, 403, 200),
    Page("lcm_account_import",             POST, 200, 403, 200, data="empty"),
    Page("lcm_account_import_preview",     GET,  404, 403, 404),
    Page("lcm_account_import_run",         POST, 404, 403, 404, data="empty"),
    Page("lcm_account_import_cancel",      POST, 404, 403, 404, data="empty"),
    Page("lcm_account_import_resume",      POST, 404, 403, 404, data="empty"),
    Page("lcm_account_import_status",      GET,  404, 403, 404),
    Page("lcm_account_import_rejected",    GET,  404, 403, 404),
    Page("lcm_account_change",             POST, MOVED, 403, MOVED, data="rename"),
    # Modes change only through the console's forms: read-only here, for everyone.
    *model_pages("lcm.contactmode",   ALL,        NOBODY,      ALL,    NOBODY,      ALL),
    Page("lcm_contactmode_change",         POST, 403, 403, 403, data="contactmode"),
    # Calls are the dialer's: read-only for everyone (issue 14); the console's
    # legitimate actions, with a reason: end a stuck call, log an agent out.
    *model_pages("lcm.call",          ALL,        NOBODY,      ALL,    ROOT_ONLY,   ALL),
    Page("lcm_call_end",                   GET,  200, 403, 200),
    Page("lcm_call_end",                   POST, MOVED, 403, MOVED, data="reason"),
    *model_pages("lcm.agent",         ALL,        SUP_NOT_AUD, ALL,    ROOT_ONLY,   ALL),
    Page("lcm_agent_log_out",              GET,  200, 403, 200),
    Page("lcm_agent_log_out",              POST, MOVED, 403, MOVED, data="reason"),
    # The do-not-call list: never a hard delete, for anyone; a block is lifted
    # with a reason (kept as evidence, audited).
    *model_pages("lcm.donotcallnumber", ALL,      SUP_NOT_AUD, ALL,    NOBODY,      ALL),
    Page("lcm_donotcallnumber_add",        POST, MOVED, 403, MOVED, data="dnc"),
    Page("lcm_donotcallnumber_export",     GET,  200, 200, 200),
    Page("lcm_donotcallnumber_export_job", POST, MOVED, MOVED, MOVED),
    Page("lcm_donotcallnumber_export_job_page", GET, 404, 404, 404),
    Page("lcm_donotcallnumber_export_job_file", GET, 404, 404, 404),
    Page("lcm_donotcallnumber_export_job_resume", POST, 404, 404, 404, data="empty"),
    Page("lcm_donotcallnumber_delete",     POST, 403, 403, 403, data="delete"),
    Page("lcm_donotcallnumber_lift",       GET,  200, 403, 200),
    Page("lcm_donotcallnumber_lift",       POST, MOVED, 403, MOVED, data="lift"),
    *model_pages("lcm.modetype",      ALL,        SUP_NOT_AUD, ALL,    SUP_NOT_AUD, ALL),
    # Campaigns: supervisors edit them (each save audited); never deleted.
    *model_pages("lcm.campaign",      ALL,        SUP_NOT_AUD, ALL,    NOBODY,      ALL),
    # State calling rules: supervisors edit and remove them (each audited).
    *model_pages("lcm.statelaw",      ALL,        SUP_NOT_AUD, ALL,    SUP_NOT_AUD, ALL),
    # The agent session history: only the superuser (no group holds its
    # view permission; see the report of issue 7).
    *model_pages("lcm.agentsessionevent", ROOT_ONLY, NOBODY,   ROOT_ONLY, NOBODY,   ROOT_ONLY),

    # Callbacks: read-only but for reassign and cancel (lcm.change_callback).
    *model_pages("lcm.callback",      SUP_NOT_AUD, NOBODY,     SUP_NOT_AUD, NOBODY, SUP_NOT_AUD),
    Page("lcm_callback_reassign",          GET,  200, 403, 200),
    Page("lcm_callback_reassign",          POST, MOVED, 403, MOVED, data="reassign"),
    Page("lcm_callback_cancel",            GET,  200, 403, 200),
    Page("lcm_callback_cancel",            POST, MOVED, 403, MOVED, data="cancel_callback"),

    # The audit log: read-only for everyone, superusers included.
    *model_pages("lcm.modechange",    ALL,        NOBODY,      ALL,    NOBODY,      ALL),
    Page("lcm_modechange_export",          GET,  200, 200, 200),
    Page("lcm_modechange_change",          POST, 403, 403, 403, data="modechange"),
    Page("lcm_modechange_delete",          POST, 403, 403, 403, data="delete"),
    # Exports: who exported which list, when, the file's SHA-256; read-only
    # for the auditors and supervisors (the worker writes them).
    *model_pages("lcm.exportjob",     ALL,        NOBODY,      ALL,    NOBODY,      ALL),
    Page("lcm_exportjob_change",           POST, 403, 403, 403, data="empty"),
    Page("lcm_exportjob_delete",           POST, 403, 403, 403, data="delete"),

    # API tokens: supervisors rotate and revoke; only a superuser adds one.
    *model_pages("authtoken.tokenproxy", SUP_NOT_AUD, ROOT_ONLY, SUP_NOT_AUD, (302, 403, 302),
                 SUP_NOT_AUD),
    Page("authtoken_tokenproxy_rotate",    GET,  200, 403, 200),
    Page("authtoken_tokenproxy_rotate",    POST, MOVED, 403, MOVED, data="empty"),
    Page("authtoken_tokenproxy_revoke",    GET,  200, 403, 200),
    Page("authtoken_tokenproxy_revoke",    POST, MOVED, 403, MOVED, data="empty"),

    # Users, groups, login lockouts: the superuser's.
    *model_pages("auth.user",         ROOT_ONLY,  ROOT_ONLY,   ROOT_ONLY, ROOT_ONLY, ROOT_ONLY),
    Page("auth_user_add",                  POST, 403, 403, MOVED, data="user"),
    Page("auth_user_change",               POST, 403, 403, MOVED, data="promote",
         label="POST auth_user_change (make the agent a superuser)"),
    Page("auth_user_password_change",      GET,  403, 403, 200),
    Page("auth_user_password_change",      POST, 403, 403, MOVED, data="password"),
    *model_pages("auth.group",        ROOT_ONLY,  ROOT_ONLY,   ROOT_ONLY, ROOT_ONLY, ROOT_ONLY),
    *model_pages("axes.accessattempt", ROOT_ONLY, NOBODY,      ROOT_ONLY, ROOT_ONLY, ROOT_ONLY),
    *model_pages("axes.accesslog",    ROOT_ONLY,  NOBODY,      ROOT_ONLY, ROOT_ONLY, ROOT_ONLY),
    *model_pages("axes.accessfailurelog", ROOT_ONLY, NOBODY,   ROOT_ONLY, ROOT_ONLY, ROOT_ONLY),
]
# fmt: on

# URL names the matrix deliberately leaves out, and why.
NOT_IN_MATRIX = {
    "admin:<unnamed>": "Django's old-style object URL, a redirect to the change page",
    "lcm-api:unknown-endpoint": "the catch-all, covered by 'an unknown API URL'",
    "api-unknown-endpoint": "the same catch-all for the rest of /api/ "
    "(tests/test_hostile_input.py sends it every method)",
}


# --- The data set: the demo, loaded once per module ----------------------------


@dataclass
class World:
    pks: dict[str, object] = field(default_factory=dict)
    sessions: dict[str, str] = field(default_factory=dict)  # role -> session key


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """seed_demo, one audit entry (it deleted David's mode 2), an agent
    session event, login lockout rows and a token per user: loaded once in
    an outer transaction that is rolled back after the module. Each test
    runs in its own savepoint inside it (pytest-django's `db`)."""
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            yield _build_world()
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


def _build_world() -> World:
    call_command("seed_demo", password=DEMO_PASSWORD, stdout=io.StringIO())
    User = get_user_model()
    users = {username: User.objects.get(username=username) for username in USERS.values()}
    for user in users.values():
        Token.objects.get_or_create(user=user)
    entry = agent_requests.set_new_mode_number(
        callid="12345",
        account_number=DAVID,
        mode_id=1,
        contact_number="961084836",
        delete_other_modes=True,
        agent_id="testagent",
        actor=users["testagent"],
    )
    callback = callbacks.schedule(
        kind=Callback.Kind.PERSONAL,
        callid="12345",
        account_number=DAVID,
        mode_id=1,
        user_id="testagent",
        local=callbacks.LocalWindow(
            start_date=(timezone.now() + dt.timedelta(days=3)).date(),
            start_time=dt.time(15, 0),
            end_date=(timezone.now() + dt.timedelta(days=3)).date(),
            end_time=dt.time(16, 0),
        ),
        actor=users["testagent"],
    )
    david = Account.objects.get(account_number=DAVID)
    deleted = ContactMode.objects.get(account=david, mode_type_id=2, deleted_at__isnull=False)
    export = export_jobs.start("accounts", users["supervisor"])
    offagent = Agent.objects.get(agent_id="offagent")
    event = AgentSessionEvent.objects.create(
        agent=offagent, event="logout", at=timezone.now(), username="dialer"
    )
    lockout = {
        "user_agent": "test",
        "ip_address": "192.0.2.1",
        "username": "nobody",
        "http_accept": "*/*",
        "path_info": "/admin/login/",
    }
    attempt = AccessAttempt.objects.create(
        **lockout, get_data="", post_data="", failures_since_start=1
    )
    log = AccessLog.objects.create(**lockout)
    failure = AccessFailureLog.objects.create(**lockout)
    world = World()
    for role, username in USERS.items():  # one admin session per role, for the module
        client = Client()
        client.force_login(users[username])
        world.sessions[role] = client.cookies[settings.SESSION_COOKIE_NAME].value
    world.pks = {
        "lcm.account": david.pk,
        "lcm.contactmode": ContactMode.objects.get(
            account=david, mode_type_id=1, deleted_at=None
        ).pk,
        "lcm.call": Call.objects.get(callid="12345").pk,
        "lcm.agent": Agent.objects.get(agent_id="testagent").pk,
        "lcm.donotcallnumber": DoNotCallNumber.objects.get(number="2025550199").pk,
        "lcm.modetype": 3,
        "lcm.campaign": Campaign.objects.get(code="Spring").pk,
        "lcm.statelaw": StateLaw.objects.get(state="TX").pk,
        "lcm.agentsessionevent": event.pk,
        "lcm.modechange": entry.pk,
        "lcm.callback": callback.pk,
        "lcm.exportjob": export.pk,
        "authtoken.tokenproxy": users["dialer"].pk,  # token pages are addressed by user id
        "auth.user": users["testagent"].pk,
        "auth.group": Group.objects.get(name="Supervisors").pk,
        "axes.accessattempt": attempt.pk,
        "axes.accesslog": log.pk,
        "axes.accessfailurelog": failure.pk,
        "deleted_mode": deleted.pk,
        "live_mode_id": 1,  # the settings page of David's mode 1
    }
    return world


def admin_url(page: Page, world: World) -> str:
    pks = world.pks
    name = page.name
    if name == "app_list":
        args = [page.label.rsplit(" ", 1)[1]]
    elif name == "view_on_site":
        args = [ContentType.objects.get_for_model(Account).pk, pks["lcm.account"]]
    elif name == "lcm_account_restore_mode":
        args = [pks["lcm.account"], pks["deleted_mode"]]
    elif name == "lcm_account_revert":
        args = [pks["lcm.account"], pks["lcm.modechange"]]
    elif name.startswith("lcm_account_set_number") or name == "lcm_account_as_of":
        args = [pks["lcm.account"]]
    elif name == "lcm_account_mode_settings":
        args = [pks["lcm.account"], pks["live_mode_id"]]
    elif name.endswith(("_export_job_page", "_export_job_file", "_export_job_resume")):
        args = ["no-such-export"]
    elif name.startswith("lcm_account_import_"):
        args = ["no-such-upload"]
    elif name == "lcm_donotcallnumber_lift":
        args = [pks["lcm.donotcallnumber"]]
    elif name in ("lcm_call_end", "lcm_agent_log_out"):
        args = [pks[_model_label(name)]]
    elif name in ("lcm_callback_reassign", "lcm_callback_cancel"):
        args = [pks["lcm.callback"]]
    elif name.startswith("authtoken_tokenproxy_"):
        args = [] if name.endswith(("changelist", "add")) else [pks["authtoken.tokenproxy"]]
    else:
        label = _model_label(name)
        suffix = name.rsplit("_", 1)[-1]
        args = [pks[label]] if label and suffix in ("change", "delete", "history") else []
    url = reverse(f"admin:{name}", args=args)
    return f"{url}?{page.query}" if page.query else url


def _model_label(name: str) -> str | None:
    for model in admin.site._registry:
        prefix = f"{model._meta.app_label}_{model._meta.model_name}_"
        if name.startswith(prefix):
            return model._meta.label_lower
    return None


def post_data(kind: str, world: World) -> dict:
    seq = supervisor.latest_seq(world.pks["lcm.account"])
    return {
        "empty": {},
        "reason": {"reason": "The dialer lost it."},
        "delete": {"post": "yes"},
        "set_number": {"expected_seq": seq, "mode_type": 3, "number": "2025550166"},
        "restore": {"expected_seq": seq},
        "mode_settings": {"expected_seq": seq, "consent": "on", "time_zone": "America/Chicago"},
        "revert": {"expected_seq": seq},
        "account": {"account_number": "7|7|7|0|0|44|1", "first_name": "New", "last_name": "One"},
        "rename": {"first_name": "Dave", "last_name": "Berry", "campaign": ""},
        "contactmode": {"number": "2025550100"},
        "modechange": {"new_number": "2025550100"},
        "dnc": {"number": "2025550188", "reason": "asked"},
        "lift": {"reason": "The customer gave written consent again."},
        "reassign": {"agent": "otheragent"},
        "cancel_callback": {"reason": "customer moved"},
        "user": {
            "username": "intruder",
            "password1": "a-long-passphrase-42",
            "password2": "a-long-passphrase-42",
            "usable_password": "true",
        },
        "password": {
            "password1": "a-long-passphrase-42",
            "password2": "a-long-passphrase-42",
            "usable_password": "true",
        },
        "promote": {
            "username": "testagent",
            "is_active": "on",
            "is_staff": "on",
            "is_superuser": "on",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
        },
    }[kind]


# --- What a refused request must leave as it was -------------------------------


def state():
    """conftest.snapshot() and everything else a door in the matrix writes."""
    User = get_user_model()
    return (
        snapshot(),
        sorted(Token.objects.values_list("user_id", "key")),
        list(Account.objects.order_by("pk").values()),
        list(Call.objects.order_by("pk").values()),
        list(DoNotCallNumber.objects.order_by("pk").values()),
        AgentSessionEvent.objects.count(),
        list(
            User.objects.order_by("pk").values("username", "password", "is_staff", "is_superuser")
        ),
    )


# --- Clients --------------------------------------------------------------------


def api_client(role: str) -> APIClient:
    client = APIClient()
    if role == "bad_credentials":
        client.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)
    elif role != "anonymous":
        key = Token.objects.get(user__username=USERS[role]).key
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def admin_client(role: str, world: World) -> Client:
    client = Client()
    if role == "bad_credentials":
        client.cookies[settings.SESSION_COOKIE_NAME] = "forged0session0key0that0names0nothing"
    elif role != "anonymous":
        client.cookies[settings.SESSION_COOKIE_NAME] = world.sessions[role]
    return client


# --- The tests ------------------------------------------------------------------


def _is_html(response) -> bool:
    return response.get("Content-Type", "").startswith("text/html")


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", list(API))
def test_api(db, world, endpoint, role):
    spec = API[endpoint]
    expected = spec.expect[role]
    status, code = expected if isinstance(expected, tuple) else (expected, None)
    client = api_client(role)
    before = state() if spec.method == "POST" or status >= 400 else None

    path = spec.path.replace("{callback}", str(world.pks["lcm.callback"]))
    if spec.method == "GET":
        response = client.get(path)
    else:
        response = client.post(path, spec.body, format="json")

    assert response.status_code == status, response.content[:500]
    if status >= 400 and spec.json_errors:
        assert not _is_html(response)
        body = response.json()
        if spec.path == WEBSERVICE:
            assert body["message"]["response"]["success"] is False
            assert body["message"]["error"]["code"] == code
        else:  # every other JSON API: {"code", "message"}
            assert body["code"] == code
    if spec.method == "POST" and spec.path.startswith("/api/lcm/") and status < 300:
        writes = endpoint.startswith(
            ("SetNewModeNumber", "SetDNC", "SetCallback", "SetPersonal", "register", "move",
             "end", "log", "close", "cancel", "SetContactBusinessFields", "SendAgentState")
        )  # fmt: skip
        assert (state() != before) is writes
    elif spec.method == "POST" or status >= 400:
        assert state() == before


ADMIN_CASES = [pytest.param(page, id=page.id) for page in ADMIN]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("page", ADMIN_CASES)
def test_admin(db, world, page, role):
    expected = page.expect(role)
    url = admin_url(page, world)
    client = admin_client(role, world)
    data = post_data(page.data, world) if page.data else {}
    before = state() if page.method == POST else None

    response = client.post(url, data) if page.method == POST else client.get(url)

    location = response.get("Location", "")
    if expected == LOGIN:
        assert response.status_code == 302, response.content[:300]
        assert location.startswith(reverse("admin:login") + "?next=")
    else:
        assert response.status_code == expected, response.content[:300]
        if expected == 302:
            assert not location.startswith(reverse("admin:login"))
    if page.method == POST and page.data:
        if expected == MOVED:
            assert state() != before, "an allowed action changed nothing"
        else:
            assert state() == before


def test_every_admin_url_name_is_in_the_matrix():
    """A page added to the admin (a new ModelAdmin, a custom view) fails
    here until it has a row."""
    names = set()

    def walk(patterns, namespace=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
                walk(pattern.url_patterns, inner)
            elif isinstance(pattern, URLPattern):
                names.add(f"{namespace}{pattern.name or '<unnamed>'}")

    walk(get_resolver().url_patterns)
    covered = {f"admin:{page.name}" for page in ADMIN}
    covered |= {"lcm-api:" + name for name in _api_url_names()}
    covered |= {"<unnamed>", "schema", "api-docs", "healthz", "healthz-live", "favicon"}
    assert names - covered - set(NOT_IN_MATRIX) == set()


def _api_url_names() -> set[str]:
    from django.urls import resolve

    return {resolve(spec.path.split("?")[0]).url_name for spec in API.values()} - {None}


def test_every_registered_model_admin_has_its_five_pages_and_its_own_views():
    rows = {(page.name, page.method) for page in ADMIN}
    for model, model_admin in admin.site._registry.items():
        prefix = f"{model._meta.app_label}_{model._meta.model_name}"
        for suffix in ("changelist", "add", "change", "delete", "history"):
            assert (f"{prefix}_{suffix}", GET) in rows, f"{prefix}_{suffix}"
        for pattern in model_admin.get_urls():
            if pattern.name:
                assert any(name == pattern.name for name, _ in rows), pattern.name


def test_the_api_table_covers_every_role_and_endpoint():
    for name, spec in API.items():
        assert set(spec.expect) == set(ROLES), name


# --- docs/admin.md "Who can do what" -------------------------------------------

# Each capability is one or more cells of the tables above; a role has it when
# every one of those cells is allowed (2xx, or the admin's redirect after a POST).
CAPABILITIES = [
    ("SetNewModeNumber for testagent, on its call", ["api:SetNewModeNumber for testagent"]),
    ("SetNewModeNumber for otheragent, on its call", ["api:SetNewModeNumber for otheragent"]),
    ("SetDNC for testagent, on its call", ["api:SetDNC for testagent"]),
    ("SetDNC for otheragent, on its call", ["api:SetDNC for otheragent"]),
    ("GetContactModes of an account testagent has a call on",
     ["api:GetContactModes with testagent's callid",
      "api:GetContactModes of testagent's account, no callid"]),
    ("GetContactModes of any other account",
     ["api:GetContactModes of otheragent's account, no callid"]),
    ("Read a contact's campaign modes, business fields and screen pop through testagent's call",
     ["api:GetCampaignModes with testagent's callid",
      "api:GetScreenPopData with testagent's callid"]),
    ("Set business fields for testagent, on its call",
     ["api:SetContactBusinessFields for testagent"]),
    ("Look up an inbound caller's contacts (GetCampaignsForMCDRequest)",
     ["api:GetCampaignsForMCDRequest"]),
    ("Send testagent's state (SendAgentState)", ["api:SendAgentState for testagent"]),
    ("Register, wrap up and end calls (API)",
     ["api:register a call", "api:move a call to wrap-up", "api:end a call"]),
    ("Log agents in and out (API)", ["api:log an agent in", "api:log an agent out"]),
    ("Schedule callbacks for testagent, on its call; ask about them",
     ["api:SetCallbackWithComments for testagent", "api:ScheduledCallBackOverlap for testagent",
      "api:GetPersonalCallbackList of testagent"]),
    ("Reserve a personal callback for another agent than the call's",
     ["api:SetPersonalCallbackWithComments for otheragent on testagent's call"]),
    ("List due callbacks, close them as done or cancelled (API)",
     ["api:list the due callbacks", "api:close a callback as done", "api:cancel a callback"]),
    ("View callbacks: due, overdue, needing attention (admin)",
     ["admin:GET lcm_callback_changelist", "admin:GET lcm_callback_change"]),
    ("Reassign or cancel a callback (console)",
     ["admin:POST lcm_callback_reassign", "admin:POST lcm_callback_cancel"]),
    ("Read the audit log (API, JSON and CSV)",
     ["api:read the audit log (JSON)", "api:read the audit log (CSV)",
      "api:export the audit log (CSV)"]),
    ("Enter the admin", ["admin:GET index"]),
    ("View accounts, contact modes, calls, agents, DNC numbers, mode types",
     [f"admin:GET lcm_{m}_changelist" for m in
      ("account", "contactmode", "call", "agent", "donotcallnumber", "modetype")]),
    ("Change a number, consent and calling window, restore a mode, revert a change (console)",
     ["admin:POST lcm_account_set_number", "admin:POST lcm_account_mode_settings",
      "admin:POST lcm_account_restore_mode", "admin:POST lcm_account_revert"]),
    ("Add and change accounts and agents (who an agent is)",
     ["admin:POST lcm_account_add", "admin:GET lcm_agent_add"]),
    ("End a stuck call, log an agent out (console, with a reason)",
     ["admin:POST lcm_call_end", "admin:POST lcm_agent_log_out"]),
    ("Add or edit a call directly", ["admin:GET lcm_call_add"]),
    ("Add DNC numbers, lift a DNC block (with a reason); add and delete mode types",
     ["admin:POST lcm_donotcallnumber_add", "admin:POST lcm_donotcallnumber_lift",
      "admin:GET lcm_modetype_add", "admin:GET lcm_modetype_delete"]),
    ("Delete a DNC entry (never: blocks are lifted, kept as evidence)",
     ["admin:POST lcm_donotcallnumber_delete"]),
    ("Delete accounts, calls and agents",
     ["admin:GET lcm_account_delete", "admin:GET lcm_call_delete", "admin:GET lcm_agent_delete"]),
    ("Upload an account list: preview, then import (console)",
     ["admin:GET lcm_account_import", "admin:POST lcm_account_import"]),
    ("Export accounts and the do-not-call list as CSV (admin)",
     ["admin:GET lcm_account_export", "admin:GET lcm_donotcallnumber_export"]),
    ("View the audit log and export it as CSV (admin)",
     ["admin:GET lcm_modechange_changelist", "admin:GET lcm_modechange_export"]),
    ("See every export: who exported which list, when, its filters, rows and SHA-256 (console)",
     ["admin:GET lcm_exportjob_changelist", "admin:GET lcm_exportjob_change"]),
    ("Read an account as of an instant, and a call as dialled, from the log (console, API)",
     ["admin:GET lcm_account_as_of?at=2026-01-01T00:00"]),
    ("Change or delete an audit entry, or edit a contact mode directly",
     ["admin:POST lcm_modechange_change", "admin:POST lcm_contactmode_change"]),
    ("View the agent session history", ["admin:GET lcm_agentsessionevent_changelist"]),
    ("List, rotate and revoke API tokens",
     ["admin:GET authtoken_tokenproxy_changelist", "admin:POST authtoken_tokenproxy_rotate",
      "admin:POST authtoken_tokenproxy_revoke"]),
    ("Issue a token to a user who has none", ["admin:GET authtoken_tokenproxy_add"]),
    ("Manage users, groups and login lockouts",
     ["admin:GET auth_user_changelist", "admin:POST auth_user_add",
      "admin:GET auth_group_changelist", "admin:GET axes_accessattempt_changelist"]),
]  # fmt: skip
DOC_ROLES = ("agent", "integration", "supervisor", "auditor", "superuser")
DOC_HEADINGS = {
    "agent": "agent (`testagent`)",
    "integration": "integration (`dialer`)",
    "supervisor": "Supervisors",
    "auditor": "Auditors",
    "superuser": "superuser",
}


def _allowed(cell: str, role: str) -> bool:
    kind, key = cell.split(":", 1)
    if kind == "api":
        outcome = API[key].expect[role]
        return not isinstance(outcome, tuple) and outcome < 300
    pages = [page for page in ADMIN if page.id == key]
    assert len(pages) == 1, key
    return pages[0].expect(role) in (200, MOVED)


def docs_table() -> str:
    lines = [
        "| capability | " + " | ".join(DOC_HEADINGS[r] for r in DOC_ROLES) + " |",
        "|---" * (len(DOC_ROLES) + 1) + "|",
    ]
    for name, cells in CAPABILITIES:
        marks = ["yes" if all(_allowed(c, role) for c in cells) else "—" for role in DOC_ROLES]
        lines.append(f"| {name} | " + " | ".join(marks) + " |")
    return "\n".join(lines)


def test_the_docs_table_is_this_matrix():
    doc = (Path(__file__).resolve().parent.parent / "docs" / "admin.md").read_text()
    match = re.search(r"<!-- access-matrix -->\n(.*?)\n<!-- /access-matrix -->", doc, re.S)
    assert match, "docs/admin.md lost its 'Who can do what' table"
    assert match.group(1).strip() == docs_table(), "\n" + docs_table()
