"""Requests and replies shown in the OpenAPI document, against the demo data.

The schema's examples (lcm.api.views, lcm.api.intake) and the tests'
fixtures (tests/conftest.py) are these very values, and tests/test_client.py
sends each example request to a live server and compares the reply with the
documented one: an example that drifts from the API fails a test.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import hashlib
import hmac
import json
import zoneinfo

from django.utils import timezone
from drf_spectacular.utils import OpenApiExample

from lcm import errors
from lcm.audit.filters import NOT_A_DATE

DAVID = "5|3|1|0|0|44|1"

# The spec's sample, exactly (set-new-mode-number.md).
SET_NEW_MODE_NUMBER = {
    "channel": "LCM",
    "topic": "WebService",
    "subtopic": "SetNewModeNumber",
    "data": {
        "callid": "12345",
        "AccountNumber": DAVID,
        "ModeID": 1,
        "ContactNumber": "961084836",
        "DeleteOtherModes": False,
        "AgentID": "testagent",
    },
}
SET_NEW_MODE_NUMBER_RESULT = {
    "channel": "LCM",
    "topic": "WebService",
    "subtopic": "SetNewModeNumberResult",
    "message": {"callid": "12345", "response": {"success": True}},
}
GET_CONTACT_MODES = {
    "channel": "LCM",
    "topic": "WebService",
    "subtopic": "GetContactModes",
    "data": {"callid": "12345", "AccountNumber": DAVID},
}
# The element of dialable-modes.md section 2, with our E164 and ChannelType.
CONTACT_MODE = {
    "ModeID": 1,
    "ModeDesc": "Home",
    "CampaignID": "Spring",
    "CValue": "2025550143",
    "ModeDialingStartTime": "08:00",
    "ModeDialingEndTime": "21:00",
    "TimeZone": "America/New_York",
    "TimeZone1": "",
    "TimeZone2": "",
    "TimeZone3": "",
    "PEWC": False,
    "AreaCode": "202",
    "ZipCode": "20500",
    "DNC": False,
    "Callable": True,
    "E164": "+12025550143",
    "ChannelType": "voice",
}
SET_CONTACT_MODES = {
    "channel": "LCM",
    "topic": "WebService",
    "subtopic": "SetContactModes",
    "message": {"callid": "12345", "response": {"success": True, "Contactmodes": [CONTACT_MODE]}},
}

# --- Callbacks (dialable-modes.md section 4) -------------------------------------
#
# A callback must start ahead of now and at most 31 days ahead, so these
# examples cannot hold fixed dates: they are built from today's date in New
# York (the zone of David's modes in the demo) each time they are read, as
# `examples.CALLBACK_DATA` and the other names in DATED (a module
# `__getattr__`, PEP 562), and each time the schema is built (`DatedExample`).
# The callback is tomorrow, 10:00-12:00 the callee's time: ahead of now and
# inside the default calling window, on any day.

NEW_YORK = zoneinfo.ZoneInfo("America/New_York")


def demo_today() -> dt.date:
    """Today in New York, the zone of the demo's callback examples."""
    return timezone.now().astimezone(NEW_YORK).date()


def _day(date: dt.date) -> str:
    return date.strftime("%d/%m/%Y")


def _utc(date: dt.date, time: str, minutes: int = 0) -> str:
    hour, minute = map(int, time.split(":"))
    local = dt.datetime.combine(date, dt.time(hour, minute), tzinfo=NEW_YORK)
    moment = local.astimezone(dt.UTC) + dt.timedelta(minutes=minutes)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _envelope(subtopic: str, data: dict) -> dict:
    return {"channel": "LCM", "topic": "WebService", "subtopic": subtopic, "data": data}


def _reply(subtopic: str, callid, response: dict) -> dict:
    return {
        "channel": "LCM",
        "topic": "WebService",
        "subtopic": subtopic,
        "message": {"callid": callid, "response": response},
    }


@functools.lru_cache(maxsize=2)
def dated(today: dt.date) -> dict:
    """The examples that hold dates, for `today` (New York): names as below."""
    tomorrow = today + dt.timedelta(days=1)
    day = _day(tomorrow)
    callback_data = {
        "callid": "12345",
        "AccountNumber": DAVID,
        "StartDate": day,
        "EndDate": day,
        "StartTime": "10:00",
        "EndTime": "12:00",
        "CallbackModeId": 2,
        "UserID": "testagent",
        "AgentComments": "Call back about the renewal",
    }
    too_long = f"The window ({day} 09:00 to {day} 17:01) is longer than 8 hours."
    callback = {
        "RowNumber": 1,
        "CallbackID": 7,
        "AccountNumber": DAVID,
        "ModeID": 2,
        "ModeDescription": "Office",
        "CValue": "2025550143",
        "CallStartDate": day,
        "CallEndDate": day,
        "CallStartTime": "10:00",
        "CallEndTime": "12:00",
        "AgentComments": "Call back about the renewal",
    }
    # The dialer's side (lcm.api.callbacks).
    state = {
        "CallbackID": 7,
        "Kind": "personal",
        "AccountNumber": DAVID,
        "ModeID": 2,
        "CValue": "2025550143",
        "E164": "+12025550143",
        "TimeZone": "America/New_York",
        "Start": _utc(tomorrow, "10:00"),
        "End": _utc(tomorrow, "12:00"),
        "AgentID": "testagent",
        "AgentComments": "Call back about the renewal",
        "State": "scheduled",
        "Outcome": "",
        "ClosedAt": None,
    }
    closed_at = _utc(tomorrow, "10:00", minutes=10)
    requests = {
        "SetCallbackWithComments": _envelope("SetCallbackWithComments", callback_data),
        "SetPersonalCallbackWithComments": _envelope(
            "SetPersonalCallbackWithComments", callback_data
        ),
        "ScheduledCallBackOverlap": _envelope(
            "ScheduledCallBackOverlap",
            {
                "callid": "12345",
                "AccountNumber": DAVID,
                "StartFromDate": day,
                "StartToDate": day,
                "StartFromTime": "11:00",
                "StartToTime": "11:30",
                "UserID": "testagent",
            },
        ),
        "GetPersonalCallbackList": _envelope(
            "GetPersonalCallbackList",
            {
                "UserID": "testagent",
                "FromDate": _day(today),
                "ToDate": _day(today + dt.timedelta(days=30)),
                "StartingNoOfRecord": 1,
                "NoofRecords": 20,
            },
        ),
    }
    replies = {
        "SetPersonalCallbackWithCommentsResult": _reply(
            "SetPersonalCallbackWithCommentsResult", "12345", {"success": True, "CallbackID": 7}
        ),
        "ScheduledCallBackOverlapResult": _reply(
            "ScheduledCallBackOverlapResult", "12345", {"RequestResult": True, "IsOverlap": True}
        ),
        "GetPersonalCallbackListResult": _reply(
            "GetPersonalCallbackListResult", None, {"Callbacks": [callback], "Total": 1}
        ),
    }
    return {
        "CALLBACK_DATA": callback_data,
        "SET_CALLBACK_WITH_COMMENTS": requests["SetCallbackWithComments"],
        "SET_PERSONAL_CALLBACK_WITH_COMMENTS": requests["SetPersonalCallbackWithComments"],
        "SET_PERSONAL_CALLBACK_WITH_COMMENTS_RESULT": replies[
            "SetPersonalCallbackWithCommentsResult"
        ],
        "SCHEDULED_CALLBACK_OVERLAP": requests["ScheduledCallBackOverlap"],
        "SCHEDULED_CALLBACK_OVERLAP_RESULT": replies["ScheduledCallBackOverlapResult"],
        "GET_PERSONAL_CALLBACK_LIST": requests["GetPersonalCallbackList"],
        "CALLBACK": callback,
        "GET_PERSONAL_CALLBACK_LIST_RESULT": replies["GetPersonalCallbackListResult"],
        "CALLBACK_REQUESTS": requests,
        "CALLBACK_REPLIES": replies,
        "CALLBACK_TOO_LONG": {
            "channel": "LCM",
            "topic": "WebService",
            "subtopic": "SetCallbackWithCommentsResult",
            "message": {
                "callid": "12345",
                "response": {"success": False},
                "error": {
                    "errorType": "WS_Error",
                    "errorMessage": too_long,
                    "msg": too_long,
                    "code": "callback_too_long",
                    "fields": {"EndTime": [too_long]},
                },
            },
        },
        "CALLBACK_STATE": state,
        "DUE_CALLBACKS": {"Callbacks": [state], "Total": 1},
        "CALLBACK_DONE": {**state, "State": "done", "Outcome": "sale", "ClosedAt": closed_at},
        "CALLBACK_CANCELLED": {
            **state,
            "State": "cancelled",
            "Outcome": "customer unreachable",
            "ClosedAt": closed_at,
        },
        # SetDNC on David's Home mode (his Office one is the callbacks'), 30 days.
        "SET_DNC": {
            "channel": "LCM",
            "topic": "WebService",
            "subtopic": "SetDNC",
            "source": "AgentDesktop",
            "data": {
                "callid": "12345",
                "AccountNumber": DAVID,
                "AgentID": "testagent",
                "isPhoneNoDNC": True,
                "ModeID": 1,
                "DNCBlockEndDate": _day(today + dt.timedelta(days=30)),
                "CampaignSpecificDNC": False,
                "AgentComments": "Customer asked not to be called at home.",
            },
        },
    }


DATED = frozenset(dated(dt.date(2000, 1, 1)))


def __getattr__(name: str):
    """`examples.CALLBACK_DATA` and the other dated examples, for today."""
    if name in DATED:
        return copy.deepcopy(dated(demo_today())[name])
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class DatedExample(OpenApiExample):
    """An OpenAPI example whose value is `examples.<name>` for the day the
    schema is built (read at each generation), not the day the module loaded."""

    def __init__(self, example_name: str, name: str, **kwargs):
        self._name = name
        super().__init__(example_name, **kwargs)

    @property
    def value(self):
        return __getattr__(self._name)

    @value.setter
    def value(self, value):  # OpenApiExample.__init__ sets it: the name decides
        pass


# The callback requests and replies the envelope's schema shows, by example name.
CALLBACK_REQUEST_NAMES = {
    "SetCallbackWithComments": "SET_CALLBACK_WITH_COMMENTS",
    "SetPersonalCallbackWithComments": "SET_PERSONAL_CALLBACK_WITH_COMMENTS",
    "ScheduledCallBackOverlap": "SCHEDULED_CALLBACK_OVERLAP",
    "GetPersonalCallbackList": "GET_PERSONAL_CALLBACK_LIST",
}
CALLBACK_REPLY_NAMES = {
    "SetPersonalCallbackWithCommentsResult": "SET_PERSONAL_CALLBACK_WITH_COMMENTS_RESULT",
    "ScheduledCallBackOverlapResult": "SCHEDULED_CALLBACK_OVERLAP_RESULT",
    "GetPersonalCallbackListResult": "GET_PERSONAL_CALLBACK_LIST_RESULT",
}

CALLBACK_CANCELLED_BEFORE = {
    "code": "callback_closed",
    "message": "Callback #7 is already cancelled.",
}
CALLBACK_DONE_BEFORE = {"code": "callback_closed", "message": "Callback #7 is already done."}

UNKNOWN_CALL = "99999"
INVALID_CALL_ID = {
    "channel": "LCM",
    "topic": "WebService",
    "subtopic": "SetNewModeNumberResult",
    "message": {
        "callid": UNKNOWN_CALL,
        "response": {"success": False},
        "error": {
            "errorType": "WS_Error",
            "errorMessage": errors.INVALID_CALL_ID.format(callid=UNKNOWN_CALL),
            "msg": errors.INVALID_CALL_ID_MSG,
            "code": "unknown_call",
        },
    },
}

# --- The dialer's doors ---------------------------------------------------------

REGISTER_CALL = {
    "callid": "20001",
    "AccountNumber": DAVID,
    "AgentID": "testagent",
    "StartTime": "2026-11-26T15:00:00Z",
}
CALL = {**REGISTER_CALL, "State": "active", "EndTime": None}
CALL_IN_WRAP_UP = {**CALL, "State": "wrapup"}
END_CALL = {"EndTime": "2026-11-26T15:04:30Z"}
CALL_ENDED = {**CALL, "State": "ended", **END_CALL}
AGENT_LOGIN = {"Time": "2026-11-26T08:59:00Z"}
AGENT_LOGGED_IN = {"AgentID": "offagent", "LoggedIn": True, "ChangedAt": AGENT_LOGIN["Time"]}
AGENT_LOGOUT = {"Time": "2026-11-26T17:31:00Z"}
AGENT_LOGGED_OUT = {"AgentID": "offagent", "LoggedIn": False, "ChangedAt": AGENT_LOGOUT["Time"]}
UNKNOWN_AGENT = {
    "code": "unknown_agent",
    "message": errors.UNKNOWN_AGENT.format(agent_id="nobody"),
}
UNKNOWN_CALL_ERROR = {
    "code": "unknown_call",
    "message": errors.INVALID_CALL_ID.format(callid=UNKNOWN_CALL),
}
CALL_AGENT_TAKEN = {
    "code": "call_agent_mismatch",
    "message": errors.CALL_AGENT_TAKEN.format(callid="20001", agent_id="testagent"),
}
_END_BEFORE_START = errors.END_BEFORE_START.format(
    ended_at="2026-11-26T14:00:00+00:00", started_at="2026-11-26T15:00:00+00:00"
)
END_BEFORE_START = {
    "code": "end_before_start",
    "message": _END_BEFORE_START,
    "fields": {"EndTime": [_END_BEFORE_START]},
}

# --- The import door (lcm.api.import_jobs) -----------------------------------------

# A list as the dialer's integration sends it: one good row, one refused.
IMPORT_CSV = "AccountNumber,FirstName,Mode1\nIMP|1,Ada,2025550101\nIMP|2,Bob,12\n"
IMPORT_SHA256 = hashlib.sha256(IMPORT_CSV.encode()).hexdigest()
IMPORT_URL = "https://lcm.example.com/api/lcm/imports/1/"
IMPORT_QUEUED = {
    "id": 1,
    "state": "queued",
    "state_text": "waiting for a worker",
    "file_name": "spring.csv",
    "sha256": IMPORT_SHA256,
    "size": len(IMPORT_CSV),
    "total": 2,
    "through": 0,
    "percent": 0.0,
    "rows_per_second": None,
    "seconds_left": None,
    "rows": 0,
    "accounts_created": 0,
    "accounts_updated": 0,
    "rows_changed": 0,
    "rows_unchanged": 0,
    "modes_added": 0,
    "modes_changed": 0,
    "rejected": 0,
    "broken": "",
    "error": "",
    "resumable": False,
    "stale": False,
    "created_at": "2026-11-26T14:30:00Z",
    "created_by": "dialer",
    "finished_at": None,
    "url": IMPORT_URL,
    "rejected_url": IMPORT_URL + "rejected/",
}
IMPORT_DONE = {
    **IMPORT_QUEUED,
    "state": "done",
    "state_text": "done",
    "through": 2,
    "percent": 100.0,
    "rows": 1,
    "accounts_created": 1,
    "modes_added": 1,
    "rejected": 1,
    "finished_at": "2026-11-26T14:30:01Z",
}
IMPORT_REJECTED_CSV = (
    "line,LCM key,column,reason\r\n"
    "3,IMP|2,Mode1,Mode1: The number has 2 digits; Home numbers need at least 3.\r\n"
)
UNKNOWN_IMPORT = {"code": "unknown_import", "message": errors.UNKNOWN_IMPORT.format(job_id="999")}

# --- The export door (lcm.api.export_jobs) -----------------------------------------

EXPORT_URL = "https://lcm.example.com/api/lcm/exports/1/"
EXPORT_QUEUED = {
    "id": 1,
    "list": "accounts",
    "description": "accounts, the whole list",
    "state": "queued",
    "state_text": "waiting for a worker",
    "total": 0,
    "rows": 0,
    "percent": 0.0,
    "size": 0,
    "sha256": "",
    "file_name": "accounts-20261126T143000Z.csv",
    "error": "",
    "resumable": False,
    "created_at": "2026-11-26T14:30:00Z",
    "created_by": "dialer",
    "finished_at": None,
    "expires_at": None,
    "url": EXPORT_URL,
    "file_url": EXPORT_URL + "file/",
}
EXPORT_CSV = (
    "account_number,first_name,last_name,campaign,country,time_zone,zip_code,created_at,modes\r\n"
    f"{DAVID},David,Smith,Spring,US,America/New_York,20500,2026-11-26T14:00:00Z,"
    "1:2025550143\r\n"
)
EXPORT_DONE = {
    **EXPORT_QUEUED,
    "state": "done",
    "state_text": "done",
    "total": 1,
    "rows": 1,
    "percent": 100.0,
    "size": len(EXPORT_CSV.encode()),
    "sha256": hashlib.sha256(EXPORT_CSV.encode()).hexdigest(),
    "finished_at": "2026-11-26T14:30:01Z",
    "expires_at": "2026-11-27T14:30:01Z",
}
UNKNOWN_EXPORT = {"code": "unknown_export", "message": errors.UNKNOWN_EXPORT.format(job_id="999")}
EXPORT_NOT_READY = {
    "code": "export_job_state",
    "message": errors.EXPORT_NOT_READY.format(job=1, state="waiting for a worker"),
}
EXPORT_RESUMED = {
    **EXPORT_QUEUED,
    "total": 1_000_000,
    "rows": 420_000,
    "percent": 42.0,
}
EXPORT_NOT_RESUMABLE = {
    "code": "export_job_state",
    "message": errors.EXPORT_NOT_RESUMABLE.format(job=1, state="done"),
}
EXPORT_EXPIRED = {
    "code": "export_expired",
    "message": errors.EXPORT_EXPIRED.format(job=1, hours=24),
}

# --- The auditors' API -------------------------------------------------------

NOT_AN_AUDITOR = {
    "code": "forbidden",
    "message": "Only auditors and supervisors may read the audit log.",
}
BAD_SINCE = {
    "code": "invalid_fields",
    "message": "Invalid parameters: since.",
    "fields": {"since": [NOT_A_DATE % {"value": "'2026-13-01'"}]},
}


def _mode_state(number: str) -> dict:
    """A mode's state as an audit entry records it (lcm.actions.modes.STATE_KEYS)."""
    return {
        "number": number,
        "e164": "",
        "pewc": False,
        "pewc_source": "",
        "pewc_by": "",
        "pewc_at": None,
        "time_zone": "America/New_York",
        "window": ["08:00", "21:00"],
    }


MODE_CHANGE = {
    "seq": 1,
    "created_at": "2026-11-26T14:30:00.123456Z",
    "action": "set",
    "account": DAVID,
    "callid": "12345",
    "agent": "testagent",
    "username": "testagent",
    "source": "agentapp",
    "mode": 1,
    "old_number": "6491462346",
    "new_number": "961084836",
    "new_number_e164": "",
    "deleted_modes": [],
    "reverts_seq": None,
    "client_ip": "10.1.2.3",
    "request_id": "req-1",
    "prev_hash": "0" * 64,
    "hash": "8df0b5861dbcd638f062e71a56ce25f6e4e6d5de4dd131a4487bbc4fc7bd64ef",
    "modes": [
        {"mode_id": 1, "before": _mode_state("6491462346"), "after": _mode_state("961084836")}
    ],
    "do_not_call": None,
    "callback": None,
    "erased": None,
    "details": None,
    "business_fields": None,
}
MODE_CHANGES_PAGE = {
    "next": None,
    "previous": None,
    "next_cursor": None,
    "previous_cursor": None,
    "results": [MODE_CHANGE],
}


def _csv_json(value) -> str:
    """A JSON column as the CSV export writes it, quoted as csv.writer quotes."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return '"' + text.replace('"', '""') + '"'


MODE_CHANGES_CSV = (
    "seq,created_at,action,account,callid,agent,username,source,mode,old_number,new_number,"
    "new_number_e164,deleted_modes,reverts_seq,client_ip,request_id,prev_hash,hash,"
    "modes,do_not_call,callback,erased,details,business_fields\r\n"
    f"1,2026-11-26T14:30:00.123456Z,set,{DAVID},12345,testagent,testagent,agentapp,1,"
    f"6491462346,961084836,,,,10.1.2.3,req-1,{'0' * 64},{MODE_CHANGE['hash']},"
    f"{_csv_json(MODE_CHANGE['modes'])},,,,,\r\n"
)

# Proofs (issue 17): an entry's inclusion proof, a consistency proof.
CHECKPOINT = {
    "log": "lcm",
    "tree_size": 8,
    "root_hash": "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    "head_hash": "3f1b1e0c4a6d2b7e9c8f5a4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b",
    "timestamp": "2026-11-26T15:00:00.000000Z",
    "key_id": "6a1f0c3e5b7d9f21",
    "signature": (
        "q83vEjRWeJASNFZ4kBI0VniQEjRWeJASNFZ4kBI0VniQEjRWeJASNFZ4kBI0VniQEjRWeJASNFZ4kBI0Vg=="
    ),
}
# A format 4 entry (as every append since migration 0030) seals its personal
# fields together as one digest, HMAC keyed with the entry's secret over their
# byte layout; the proof discloses each value with that secret (docs/audit.md,
# "Format 3", "Format 4").
_SECRET = "5e" * 32
_PERSONAL = {
    "old_number": "6491462346",
    "new_number": "961084836",
    "new_number_e164": "",
    "deleted_modes": [],
    "modes": MODE_CHANGE["modes"],
    "do_not_call": None,
    "callback": None,
    "business_fields": None,
}
_JSON = ("deleted_modes", "modes", "do_not_call", "callback", "business_fields", "erasure",
         "details")  # fmt: skip


def _layout(tag: str, values: dict) -> bytes:
    """A format 3 or 4 layout (lcm.audit.seal): each field its length and UTF-8 text."""
    fields = [tag]
    for name, value in values.items():
        if value is not None and name in _JSON:
            value = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        fields.append(value)
    return b"".join(
        b"\xff\xff\xff\xff"
        if v is None
        else len(str(v).encode()).to_bytes(4, "big") + str(v).encode()
        for v in fields
    )


_ENTRY = {
    "created_at": MODE_CHANGE["created_at"],
    "action": "set",
    "call_id": 1,
    "callid": "12345",
    "agent_id": 1,
    "agent_code": "testagent",
    "user_id": 2,
    "username": "testagent",
    "source": "agentapp",
    "client_ip": "10.1.2.3",
    "request_id": "req-1",
    "reverts_id": None,
    "erasure": None,
    "details": None,
    "seq": 1,
    "account_id": 1,
    "account_number": DAVID,
    "mode_id": 1,
    "personal_digest": hmac.digest(
        bytes.fromhex(_SECRET), _layout("lcm-audit-personal-4", _PERSONAL), "sha256"
    ).hex(),
    "prev_hash": "0" * 64,
}

MODE_CHANGE_PROOF = {
    "seq": 1,
    "hash": hashlib.sha256(_layout("lcm-audit-entry-4", _ENTRY)).hexdigest(),
    "entry": {**_ENTRY, "v": 4},
    "personal": {name: {"value": value, "salt": _SECRET} for name, value in _PERSONAL.items()},
    "leaf_index": 0,
    "tree_size": 8,
    "inclusion_proof": [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    "checkpoint": CHECKPOINT,
}
CONSISTENCY_PROOF = {
    "first": {
        **CHECKPOINT,
        "tree_size": 2,
        "root_hash": "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "timestamp": "2026-11-26T14:40:00.000000Z",
    },
    "second": CHECKPOINT,
    "consistency_proof": [
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
}
UNKNOWN_ENTRY = {
    "code": "unknown_mode_change",
    "message": errors.UNKNOWN_MODE_CHANGE.format(ref="#999999"),
}
NOT_CHECKPOINTED = {
    "code": "not_checkpointed",
    "message": errors.NOT_CHECKPOINTED.format(seq=1),
}
FIRST_REQUIRED = {
    "code": "invalid_fields",
    "message": "Invalid parameters: first.",
    "fields": {"first": [errors.PARAMETER_REQUIRED]},
}
UNKNOWN_CHECKPOINT = {
    "code": "unknown_checkpoint",
    "message": errors.UNKNOWN_CHECKPOINT.format(size=9),
}


def reply_example(name: str, value, status: int) -> OpenApiExample:
    """An example of the reply sent with `status` (never of a request), as the
    OpenAPI document declares it."""
    return OpenApiExample(name, value=value, response_only=True, status_codes=[str(status)])


def dated_reply_example(name: str, dated_name: str, status: int) -> OpenApiExample:
    """`reply_example` of a dated example (DATED), built for the schema's day."""
    return DatedExample(name, dated_name, response_only=True, status_codes=[str(status)])


# --- As-of reads (lcm.api.as_of) ---------------------------------------------------

AS_OF_MODE = {
    "ModeID": 2,
    "ModeDesc": "Office",
    "CampaignID": "Spring",
    "CValue": "2025550143",
    "ModeDialingStartTime": "08:00",
    "ModeDialingEndTime": "21:00",
    "Window": ["08:00", "21:00"],
    "TimeZone": "America/New_York",
    "TimeZone1": "",
    "TimeZone2": "",
    "TimeZone3": "",
    "TimeZones": ["America/New_York"],
    "TimeZoneSource": "number",
    "PEWC": True,
    "PEWCSource": "supervisor",
    "PEWCBy": "supervisor",
    "PEWCAt": "2026-03-14T14:10:00.000000Z",
    "AreaCode": "202",
    "ZipCode": "20500",
    "DNC": True,
    "DNCNumber": True,
    "DNCContact": False,
    "Callable": False,
    "Reason": "on the do-not-call list",
    "LocalTime": "2026-03-14T10:25:00-0400",
    "E164": "+12025550143",
    "ChannelType": "voice",
    "set_by": {
        "CValue": 2,
        "E164": 2,
        "PEWC": 5,
        "PEWCSource": 5,
        "PEWCBy": 5,
        "PEWCAt": 5,
        "TimeZone": 2,
        "Window": None,
        "DNCNumber": 6,
        "DNCContact": None,
    },
}
AS_OF = {
    "account": DAVID,
    "at": "2026-03-14T14:25:00.000000Z",
    "CampaignID": "Spring",
    "campaign_rules_set_by": None,
    "DNCContact": False,
    "DNCContactSetBy": None,
    "replayed": [2, 5],
    "erased": None,
    "Contactmodes": [AS_OF_MODE],
}
AT_IN_THE_FUTURE = {
    "code": "invalid_fields",
    "message": "Invalid parameters: at.",
    "fields": {"at": [errors.AT_IN_THE_FUTURE.format(at="2099-01-01T00:00:00.000000Z")]},
}
BEFORE_THE_ACCOUNT = {
    "code": "account_not_yet_created",
    "message": errors.BEFORE_ACCOUNT.format(
        key=DAVID, at="2026-01-01T00:00:00.000000Z", created="2026-03-14T14:00:00.000000Z"
    ),
}


# --- The agent's campaign services (campaign-services.md sections 3, 6, 7, 8) -----
# Shown in the OpenAPI document (lcm.api.agent_services.SCHEMA_EXAMPLES) and sent
# by tests/test_agent_services.py, which compares each reply with the one shown.

GET_CAMPAIGN_MODES = _envelope("GetCampaignModes", {"callid": "12345", "AccountNumber": DAVID})


def _campaign_mode(mode_id: int, name: str, number: str | None) -> dict:
    return {
        "ModeID": str(mode_id), "Description": name, "ChannelType": "voice", "MinLength": "3",
        "MaxLength": "20", "Cvalue": number, "PEWC": False, "CampaignPEWC": False,
    }  # fmt: skip


CAMPAIGN_MODES = _reply(
    "CampaignModes",
    "12345",
    [
        _campaign_mode(1, "Home", "6491462346"),
        _campaign_mode(2, "Office", "2025550143"),
        _campaign_mode(3, "Mobile", None),
    ],
)
GET_SCREEN_POP_DATA = _envelope("GetScreenPopData", {"callid": "12345", "AccountNumber": DAVID})
SCREEN_POP_DATA = _reply(
    "ScreenPopData",
    "12345",
    {
        "FName": "David", "LName": "Berry", "CustomerRef": "DB-0001", "Balance": "120.50",
        "DueDate": "", "Email": "", "Home": "6491462346", "Office": "2025550143", "Mobile": "",
    },
)  # fmt: skip
SET_CONTACT_BUSINESS_FIELDS = _envelope(
    "SetContactBusinessFields",
    {
        "callid": "12345",
        "AccountNumber": DAVID,
        "AgentID": "testagent",
        "businessField": [
            {"FieldName": "Email", "Value": "david.berry@example.com", "DataType": "String",
             "Format": "100"},
        ],
    },
)  # fmt: skip
SET_CONTACT_BUSINESS_FIELDS_RESULT = _reply(
    "SetContactBusinessFieldsResult", "12345", {"success": True}
)
GET_CAMPAIGNS_FOR_MCD = _envelope(
    "GetCampaignsForMCDRequest", {"ANI": "+1 202 555 0143", "CallType": "INBOUND"}
)
SET_CAMPAIGNS_FOR_MCD = _reply(
    "SetCampaignsForMCDResponse",
    None,
    [
        {
            "CampaignId": "Spring", "CampaignName": "Spring", "ContactID": 1,
            "CallType": "Regular", "AgentID": "", "Mode": "Office", "PhoneNo": "2025550143",
            "AccountNumber": DAVID,
        }
    ],
)  # fmt: skip
SEND_AGENT_STATE = _envelope("SendAgentState", {"agentID": "testagent", "agentState": "READY"})
SEND_AGENT_STATE_RESULT = _reply("SendAgentStateResult", None, {"success": True})
AGENT_SERVICE_EXAMPLES = {
    "GetCampaignModes": (GET_CAMPAIGN_MODES, CAMPAIGN_MODES),
    "GetScreenPopData": (GET_SCREEN_POP_DATA, SCREEN_POP_DATA),
    "SetContactBusinessFields": (SET_CONTACT_BUSINESS_FIELDS, SET_CONTACT_BUSINESS_FIELDS_RESULT),
    "GetCampaignsForMCDRequest": (GET_CAMPAIGNS_FOR_MCD, SET_CAMPAIGNS_FOR_MCD),
    "SendAgentState": (SEND_AGENT_STATE, SEND_AGENT_STATE_RESULT),
}
