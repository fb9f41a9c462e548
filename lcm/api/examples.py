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
    "modes,do_not_call,callback,erased\r\n"
    f"1,2026-11-26T14:30:00.123456Z,set,{DAVID},12345,testagent,testagent,agentapp,1,"
    f"6491462346,961084836,,,,10.1.2.3,req-1,{'0' * 64},{MODE_CHANGE['hash']},"
    f"{_csv_json(MODE_CHANGE['modes'])},,,\r\n"
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
# A format 2 entry seals its personal fields as salted digests; the proof
# discloses each value with its salt (docs/audit.md, "Erasure").
_SECRET = "5e" * 32
_PERSONAL = {
    "old_number": "6491462346",
    "new_number": "961084836",
    "new_number_e164": "",
    "deleted_modes": [],
    "modes": MODE_CHANGE["modes"],
}


def _salt(name: str) -> bytes:
    return hmac.digest(bytes.fromhex(_SECRET), name.encode(), "sha256")


def _digest(name: str) -> str:
    value = json.dumps(
        _PERSONAL[name], sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode()
    return hashlib.sha256(_salt(name) + value).hexdigest()


MODE_CHANGE_PROOF = {
    "seq": 1,
    "hash": MODE_CHANGE["hash"],
    "entry": {
        "seq": 1,
        "created_at": MODE_CHANGE["created_at"],
        "action": "set",
        "account_id": 1,
        "account_number": DAVID,
        "call_id": 1,
        "callid": "12345",
        "agent_id": 1,
        "agent_code": "testagent",
        "user_id": 2,
        "username": "testagent",
        "source": "agentapp",
        "mode_id": 1,
        **{name: _digest(name) for name in _PERSONAL},
        "reverts_id": None,
        "client_ip": "10.1.2.3",
        "request_id": "req-1",
        "prev_hash": "0" * 64,
        "v": 2,
    },
    "personal": {
        name: {"value": value, "salt": _salt(name).hex()} for name, value in _PERSONAL.items()
    },
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
