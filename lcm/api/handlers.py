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
from lcm.actions import RequestContext, agent_requests, callbacks
from lcm.models import Callback

from . import agent_services as services
from . import compliance, outcomes
from .serializers import (
    GetContactModesData,
    GetPersonalCallbackListData,
    ScheduledCallBackOverlapData,
    SetCallbackData,
    SetDNCData,
    SetNewModeNumberData,
)


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


def _set_callback(kind: str):
    def run(data: dict, *, user, context: RequestContext) -> dict:
        valid = _validated(SetCallbackData, data)
        callback = callbacks.schedule(
            kind=kind,
            callid=valid["callid"],
            account_number=valid["AccountNumber"],
            mode_id=valid["CallbackModeId"],
            user_id=valid["UserID"],
            local=callbacks.LocalWindow(
                valid["StartDate"], valid["StartTime"], valid["EndDate"], valid["EndTime"]
            ),
            comments=valid.get("AgentComments", "").strip(),
            actor=user,
            context=context,
        )
        return {"success": True, "CallbackID": callback.pk}

    return run


def scheduled_callback_overlap(data: dict, *, user, context: RequestContext) -> dict:
    valid = _validated(ScheduledCallBackOverlapData, data)
    is_overlap = callbacks.overlap(
        callid=valid["callid"],
        account_number=valid["AccountNumber"],
        user_id=valid["UserID"],
        local=callbacks.LocalWindow(
            valid["StartFromDate"],
            valid["StartFromTime"],
            valid["StartToDate"],
            valid["StartToTime"],
            fields=("StartFromDate", "StartFromTime", "StartToDate", "StartToTime"),
        ),
        actor=user,
    )
    return {"RequestResult": True, "IsOverlap": is_overlap}


def get_personal_callback_list(data: dict, *, user, context: RequestContext) -> dict:
    valid = _validated(GetPersonalCallbackListData, data)
    page = callbacks.personal_list(
        user_id=valid["UserID"],
        from_date=valid["FromDate"],
        to_date=valid["ToDate"],
        first=valid["StartingNoOfRecord"],
        count=valid["NoofRecords"],
        actor=user,
    )
    names = callbacks.mode_names()
    return {
        "Callbacks": [
            callback_element(row, cb, names)
            for row, cb in enumerate(page.callbacks, page.first_row)
        ],
        "Total": page.total,
    }


def callback_element(row: int, callback: Callback, names: dict[int, str]) -> dict:
    import zoneinfo

    tz = zoneinfo.ZoneInfo(callback.time_zone)
    start, end = callback.window_start.astimezone(tz), callback.window_end.astimezone(tz)
    return {
        "RowNumber": row,
        "CallbackID": callback.pk,
        "AccountNumber": callback.account.account_number,
        "ModeID": callback.mode_id,
        "ModeDescription": names.get(callback.mode_id, ""),
        "CValue": callback.number,
        "CallStartDate": start.strftime("%d/%m/%Y"),
        "CallEndDate": end.strftime("%d/%m/%Y"),
        "CallStartTime": start.strftime("%H:%M"),
        "CallEndTime": end.strftime("%H:%M"),
        "AgentComments": callback.comments,
    }


HANDLERS: dict[str, Handler] = {
    "SetNewModeNumber": Handler(
        "SetNewModeNumberResult", SetNewModeNumberData, set_new_mode_number, changes=True
    ),
    "SetDNC": Handler("SetDNCResult", SetDNCData, set_dnc, changes=True),
    "GetContactModes": Handler(
        "SetContactModes", GetContactModesData, get_contact_modes, changes=False
    ),
    "SetCallbackWithComments": Handler(
        "SetCallbackWithCommentsResult",
        SetCallbackData,
        _set_callback(Callback.Kind.REGULAR),
        changes=True,
    ),
    "SetPersonalCallbackWithComments": Handler(
        "SetPersonalCallbackWithCommentsResult",
        SetCallbackData,
        _set_callback(Callback.Kind.PERSONAL),
        changes=True,
    ),
    "ScheduledCallBackOverlap": Handler(
        "ScheduledCallBackOverlapResult",
        ScheduledCallBackOverlapData,
        scheduled_callback_overlap,
        changes=False,
    ),
    "GetPersonalCallbackList": Handler(
        "GetPersonalCallbackListResult",
        GetPersonalCallbackListData,
        get_personal_callback_list,
        changes=False,
    ),
    "SetCallOutComeOffline": Handler(
        "SetCallOutComeOfflineResponse",
        outcomes.SetCallOutComeOfflineData,
        outcomes.set_call_outcome_offline,
        changes=False,
    ),
    "SetBusinessOutcomeWithComments": Handler(
        "SetBusinessOutcomeWithCommentsResult",
        outcomes.SetBusinessOutcomeWithCommentsData,
        outcomes.set_business_outcome_with_comments,
        changes=True,
    ),
    "SetBusinessOutcomeWithCallOutcome": Handler(
        "SetBusinessOutcomeWithCallOutcomeResult",
        outcomes.SetBusinessOutcomeWithCallOutcomeData,
        outcomes.set_business_outcome_with_call_outcome,
        changes=True,
    ),
    "ComplianceCheck": Handler(
        "ComplianceCheckResult",
        compliance.ComplianceCheckData,
        compliance.compliance_check,
        changes=False,
    ),
    "GetCampaignModes": Handler(
        "CampaignModes", services.CallAccountData, services.get_campaign_modes, changes=False
    ),
    "GetCallBackModes": Handler(
        "CallbackModes", services.CallAccountData, services.get_callback_modes, changes=False
    ),
    "GetModeInformation": Handler(
        "GetModeInformationResult",
        services.CallAccountData,
        services.get_mode_information,
        changes=False,
    ),
    "GetDNCBussField": Handler(
        "GetDNCBussFieldResult",
        services.CallAccountData,
        services.get_dnc_business_fields,
        changes=False,
    ),
    "SetContactBusinessFields": Handler(
        "SetContactBusinessFieldsResult",
        services.SetContactBusinessFieldsData,
        services.set_contact_business_fields,
        changes=True,
    ),
    "GetScreenPopData": Handler(
        "ScreenPopData", services.CallAccountData, services.get_screen_pop_data, changes=False
    ),
    "GetCampaignsForMCDRequest": Handler(
        "SetCampaignsForMCDResponse",
        services.GetCampaignsForMCDData,
        services.get_campaigns_for_mcd,
        changes=False,
    ),
    "SendAgentState": Handler(
        "SendAgentStateResult", services.SendAgentStateData, services.send_agent_state, changes=True
    ),
}
