"""As-of reads (auditors and supervisors): what the log says an account's
modes were at an instant, and what was known when a call was dialled.

    GET /api/lcm/accounts/<LCM key>/as-of/?at=<ISO 8601 instant>[&proof=1]
    GET /api/lcm/calls/<callid>/as-dialled/[?proof=1]

Replayed from the audit log only (`lcm.audit.as_of`, rules in docs/audit.md,
"As-of reads"); `proof=1` adds the bundle `tools/verify_proof.py --as-of`
checks offline. Errors in the auditors' API shape (`failures.json_error`).
"""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response

from lcm import errors
from lcm.actions import permissions
from lcm.audit import as_of
from lcm.audit.filters import parse_moment
from lcm.models import Account, Call
from lcm.replica import auditor_db, auditor_reads

from . import examples
from .audit import (
    CheckpointSerializer,
    ModeChangeProofSerializer,
    _AuditReadView,
    _shown,
    proof_read_responses,
)

TRUE = {"1", "true", "yes"}
PROOF_VALUES = "Use proof=1 (or leave it out)."


class MayReadTheLog(BasePermission):
    """`lcm.actions.permissions.READ_AUDIT_LOG`, the one rule of who reads the log."""

    message = permissions.REFUSALS[permissions.READ_AUDIT_LOG]

    def has_permission(self, request, view):
        return permissions.may(request.user, permissions.READ_AUDIT_LOG)


# --- The schema ----------------------------------------------------------------


class SetBySerializer(serializers.Serializer):
    """The seq of the audit entry that set each field; null: not from the log
    (a derived zone, the mode type's window, the account's own fields)."""

    CValue = serializers.IntegerField(allow_null=True)
    E164 = serializers.IntegerField(allow_null=True, required=False)
    PEWC = serializers.IntegerField(allow_null=True, required=False)
    PEWCSource = serializers.IntegerField(allow_null=True, required=False)
    PEWCBy = serializers.IntegerField(allow_null=True, required=False)
    PEWCAt = serializers.IntegerField(allow_null=True, required=False)
    TimeZone = serializers.IntegerField(allow_null=True, required=False)
    Window = serializers.IntegerField(allow_null=True, required=False)
    DNCNumber = serializers.IntegerField(allow_null=True, required=False)
    DNCContact = serializers.IntegerField(allow_null=True, required=False)

    class Meta:
        ref_name = "AsOfSetBy"


class AsOfModeSerializer(serializers.Serializer):
    """GetContactModes' element as it was at the instant, plus `set_by`. On an
    erased account, a mode's personal values are null."""

    ModeID = serializers.IntegerField()
    ModeDesc = serializers.CharField()
    CampaignID = serializers.CharField(allow_blank=True)
    CValue = serializers.CharField(allow_null=True)
    ModeDialingStartTime = serializers.CharField(required=False, allow_blank=True)
    ModeDialingEndTime = serializers.CharField(required=False, allow_blank=True)
    Window = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="The configured window."
    )
    TimeZone = serializers.CharField(required=False, allow_blank=True)
    TimeZone1 = serializers.CharField(required=False, allow_blank=True)
    TimeZone2 = serializers.CharField(required=False, allow_blank=True)
    TimeZone3 = serializers.CharField(required=False, allow_blank=True)
    TimeZones = serializers.ListField(child=serializers.CharField(), required=False)
    TimeZoneSource = serializers.CharField(required=False, allow_blank=True)
    PEWC = serializers.BooleanField(allow_null=True)
    PEWCSource = serializers.CharField(required=False, allow_blank=True)
    PEWCBy = serializers.CharField(required=False, allow_blank=True)
    PEWCAt = serializers.CharField(required=False, allow_null=True)
    AreaCode = serializers.CharField(required=False, allow_blank=True)
    ZipCode = serializers.CharField(required=False, allow_blank=True)
    DNC = serializers.BooleanField(allow_null=True)
    DNCNumber = serializers.BooleanField(required=False)
    DNCContact = serializers.BooleanField(required=False)
    Callable = serializers.BooleanField(allow_null=True)
    Reason = serializers.CharField()
    LocalTime = serializers.CharField(required=False, allow_null=True)
    E164 = serializers.CharField(allow_null=True)
    ChannelType = serializers.CharField(required=False, allow_blank=True)
    set_by = SetBySerializer()

    class Meta:
        ref_name = "AsOfMode"


class AsOfEntrySerializer(ModeChangeProofSerializer):
    """One entry the answer was read from, as its proof gives it."""

    tree_size = None
    checkpoint = None

    class Meta:
        ref_name = "AsOfEntry"


class AsOfBundleSerializer(serializers.Serializer):
    format = serializers.CharField(help_text='"lcm as-of bundle v1".')
    account = serializers.CharField()
    account_id = serializers.IntegerField()
    at = serializers.CharField()
    account_seqs = serializers.ListField(
        child=serializers.IntegerField(), help_text="Every entry of the account up to `at`."
    )
    configuration = serializers.DictField(help_text="What the answer took from outside the log.")
    national_keys = serializers.DictField(child=serializers.CharField())
    entries = AsOfEntrySerializer(many=True)
    checkpoint = CheckpointSerializer()

    class Meta:
        ref_name = "AsOfBundle"


class CallRefSerializer(serializers.Serializer):
    callid = serializers.CharField()
    started_at = serializers.CharField()
    agent = serializers.CharField()

    class Meta:
        ref_name = "AsDialledCall"


class AsOfSerializer(serializers.Serializer):
    account = serializers.CharField(help_text="The LCM key.")
    at = serializers.CharField(help_text="The instant, UTC.")
    CampaignID = serializers.CharField(allow_blank=True)
    campaign_rules_set_by = serializers.IntegerField(
        allow_null=True, help_text="The campaign entry its rules come from; null: none in the log."
    )
    DNCContact = serializers.BooleanField(help_text="The whole contact was on the list.")
    DNCContactSetBy = serializers.IntegerField(allow_null=True)
    replayed = serializers.ListField(
        child=serializers.IntegerField(), help_text="The account's entries replayed."
    )
    erased = serializers.CharField(
        allow_null=True, help_text="On an erased account: what the erasure left, and why."
    )
    Contactmodes = AsOfModeSerializer(many=True)
    call = CallRefSerializer(required=False)
    proof = AsOfBundleSerializer(required=False, help_text="With proof=1.")

    class Meta:
        ref_name = "AsOf"


_ERRORS = dict(
    s400="`at` missing, not an instant or in the future, or `proof` not 1 (`invalid_fields`)",
    s409="proof=1 and no signed checkpoint covers the entries yet (`not_checkpointed`)",
)
PROOF_PARAMETER = OpenApiParameter(
    "proof", OpenApiTypes.STR, description="1: add the proof bundle (tools/verify_proof.py --as-of)"
)


# --- The views -------------------------------------------------------------------


def _instant(text: str | None) -> dt.datetime:
    if text is None or not text.strip():
        raise ValidationError({"at": [errors.PARAMETER_REQUIRED]})
    try:
        moment, is_date = parse_moment(text)
    except forms.ValidationError:
        is_date, moment = True, None
    if is_date or moment is None:
        raise ValidationError({"at": [errors.AT_NOT_AN_INSTANT.format(value=_shown(text))]})
    if moment > timezone.now():
        raise ValidationError({"at": [errors.AT_IN_THE_FUTURE.format(at=as_of.iso(moment))]})
    return moment


def _wants_proof(request) -> bool:
    value = request.query_params.get("proof")
    if value is None or value == "0":
        return False
    if value.lower() not in TRUE:
        raise ValidationError({"proof": [PROOF_VALUES]})
    return True


def answer(account: Account, at: dt.datetime, *, proof: bool) -> dict:
    using = auditor_db()
    try:
        result = as_of.read(account, at, using=using)
    except as_of.BeforeAccount as before:
        raise errors.AccountNotYet(
            errors.BEFORE_ACCOUNT.format(
                key=account.account_number, at=as_of.iso(at), created=before.args[0]
            )
        ) from None
    data = dict(result.answer)
    if proof:
        try:
            data["proof"] = as_of.bundle(result, using=using)
        except as_of.NotCovered as missing:
            raise errors.NotCheckpointed(
                errors.AS_OF_NOT_CHECKPOINTED.format(seq=missing.args[0])
            ) from None
    return data


class AccountAsOf(_AuditReadView):
    permission_classes = [IsAuthenticated, MayReadTheLog]

    @extend_schema(
        tags=["audit"],
        operation_id="account_as_of",
        summary="An account's modes as they were at an instant, from the log (auditors)",
        description=(
            "GetContactModes' elements as the audit log says they were at `at`: number, "
            "consent and its source, do-not-call (the number's and the contact's), zones, "
            "window and whether it was callable then, each field naming the entry that set "
            "it (`set_by`). Replayed from the log only (docs/audit.md, As-of reads). "
            "`proof=1` adds every entry read with its inclusion proof in the latest signed "
            "checkpoint: check it with `tools/verify_proof.py --as-of`."
        ),
        parameters=[
            OpenApiParameter("at", OpenApiTypes.DATETIME, required=True, description="ISO 8601"),
            PROOF_PARAMETER,
        ],
        responses=proof_read_responses(
            AsOfSerializer,
            s404="No such account (`unknown_account`), or it did not exist yet at `at` "
            "(`account_not_yet_created`)",
            **_ERRORS,
        ),
        examples=[
            examples.reply_example("Consent, and the number on the list", examples.AS_OF, 200),
            examples.reply_example("In the future", examples.AT_IN_THE_FUTURE, 400),
            examples.reply_example("Before the account", examples.BEFORE_THE_ACCOUNT, 404),
        ],
    )
    @auditor_reads()
    def get(self, request, key: str):
        at = _instant(request.query_params.get("at"))
        proof = _wants_proof(request)
        account = Account.objects.using(auditor_db()).filter(account_number=key).first()
        if account is None:
            raise errors.UnknownAccount(errors.UNKNOWN_ACCOUNT_KEY_AS_OF.format(key=_shown(key)))
        return Response(answer(account, at, proof=proof))


class CallAsDialled(_AuditReadView):
    permission_classes = [IsAuthenticated, MayReadTheLog]

    @extend_schema(
        tags=["audit"],
        operation_id="call_as_dialled",
        summary="What the log knew of the call's account when it was dialled (auditors)",
        description=(
            "The account's modes at the call's start, as `account_as_of` answers them (the "
            "dialer does not say which mode it dialled: every mode), with the call."
        ),
        parameters=[PROOF_PARAMETER],
        responses=proof_read_responses(
            AsOfSerializer, s404="No such call (`unknown_call`)", **_ERRORS
        ),
        examples=[
            examples.reply_example(
                "At the call's start",
                {
                    **examples.AS_OF,
                    "call": {
                        "callid": "12345",
                        "started_at": examples.AS_OF["at"],
                        "agent": "testagent",
                    },
                },
                200,
            ),
        ],
    )
    @auditor_reads()
    def get(self, request, callid: str):
        proof = _wants_proof(request)
        call = (
            Call.objects.using(auditor_db())
            .select_related("account", "agent")
            .filter(callid=callid)
            .first()
        )
        if call is None:
            raise errors.UnknownCall(_shown(callid))
        data = answer(call.account, call.started_at, proof=proof)
        data["call"] = {
            "callid": call.callid,
            "started_at": as_of.iso(call.started_at),
            "agent": call.agent.agent_id,
        }
        return Response(data)
