"""One handler per envelope subtopic. A new message is one entry in HANDLERS.

A handler validates `data` with its serializer, calls the service and
returns the reply's `response` object. It raises `lcm.errors.LcmError`
for every refusal; the view renders it. `changes` says whether the message
changes anything: only those store their reply under an `Idempotency-Key`
(a read is safe to retry as it is, and its reply holds contact numbers).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rest_framework import serializers

from lcm import errors
from lcm.actions import RequestContext, agent_requests

from .serializers import GetContactModesData, SetDNCData, SetNewModeNumberData


@dataclass(frozen=True)
class Handler:
    reply_subtopic: str
    serializer: type[serializers.Serializer]
    run: Callable[..., dict]
    changes: bool


def _validated(serializer_class, data: dict) -> dict:
    serializer = serializer_class(data=data)
    if serializer.is_valid():
        return serializer.validated_data
    fields = {name: [str(e) for e in errs] for name, errs in serializer.errors.items()}
    callid = data.get("callid")
    callid_required = "callid" in serializer.fields and serializer.fields["callid"].required
    if callid_required and (callid is None or (isinstance(callid, str) and not callid.strip())):
        raise errors.CallidEmpty(fields=fields)
    raise errors.InvalidInput("Invalid data: " + ", ".join(sorted(fields)) + ".", fields=fields)


def set_new_mode_number(data: dict, *, user, context: RequestContext) -> dict:
    valid = _validated(SetNewModeNumberData, data)
    agent_requests.set_new_mode_number(
        callid=valid["callid"],
        account_number=valid["AccountNumber"],
        mode_id=valid["ModeID"],
        contact_number=valid["ContactNumber"],
        delete_other_modes=valid["DeleteOtherModes"],
        agent_id=valid["AgentID"],
        actor=user,
        context=context,
    )
    return {"success": True}


def set_dnc(data: dict, *, user, context: RequestContext) -> dict:
    valid = _validated(SetDNCData, data)
    agent_requests.set_dnc(
        callid=valid["callid"],
        account_number=valid["AccountNumber"],
        agent_id=valid["AgentID"],
        whole_contact=not valid["isPhoneNoDNC"],
        mode_id=valid.get("ModeID"),
        start=valid.get("DNCBlockStartDate"),
        end=valid.get("DNCBlockEndDate"),
        campaign_specific=valid["CampaignSpecificDNC"],
        comments=valid["AgentComments"].strip(),
        actor=user,
        context=context,
    )
    return {"success": True}


def get_contact_modes(data: dict, *, user, context: RequestContext) -> dict:
    valid = _validated(GetContactModesData, data)
    modes = agent_requests.contact_modes(
        account_number=valid["AccountNumber"], callid=valid.get("callid") or None, actor=user
    )
    return {"success": True, "Contactmodes": [mode.element() for mode in modes]}


HANDLERS: dict[str, Handler] = {
    "SetNewModeNumber": Handler(
        "SetNewModeNumberResult", SetNewModeNumberData, set_new_mode_number, changes=True
    ),
    "SetDNC": Handler("SetDNCResult", SetDNCData, set_dnc, changes=True),
    "GetContactModes": Handler(
        "SetContactModes", GetContactModesData, get_contact_modes, changes=False
    ),
}
