"""An inbound call: which contacts and campaigns does this caller's number
belong to (spec campaign-services.md section 7, GetCampaignsForMCDRequest).

A read, never audited. The caller's `ANI` matches live modes by **number
identity**, the do-not-call list's rule written once in
`lcm.actions.do_not_call.match_q` (E.164 form where both countries are
known, else the national key; `lcm.numbers.same_number`), so every spelling
of a number finds the same modes, through the indexes on
`number_e164` and `number_national`. lcm keeps no closed contacts: every
account is open (an erased one has no live modes left to match).

One statement: the matching modes with their accounts, campaigns and the
earliest callback scheduled on each (subqueries), the business field match,
when asked, in the same condition (its value read through the field's type:
`lcm.actions.business_fields.holders`, which reads the fields of that name
first: a second statement, only then). `bench/inbound_lookup.py` measures it at
1,000,000 accounts (docs/benchmarks.md).
"""

from __future__ import annotations

from django.db.models import OuterRef, Q, Subquery

from lcm import errors
from lcm.models import Callback, ContactMode
from lcm.numbers import clean_any

from . import business_fields, call_access, do_not_call

CALL_TYPES = ("INBOUND", "OUTBOUND")
MAX_ELEMENTS = 1000  # a reply's most elements (ours): the first, by contact and ModeID
BAD_QUERY = "BusinessFieldQueryToSearch must be FieldName=Value."


def business_query(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise errors.InvalidInput(BAD_QUERY, fields={"BusinessFieldQueryToSearch": [BAD_QUERY]})
    return name.strip(), value.strip()


def lookup(
    *,
    ani: str,
    actor,
    lcm_key: str = "",
    business_field: tuple[str, str] | None = None,
) -> list[dict]:
    """The live modes whose number is the caller's (`ani`, any spelling), and
    those of the contacts whose business field matches `business_field`
    (FieldName, Value), `lcm_key`'s contact first, each as the reply's element."""
    call_access.reader_agent(actor)
    try:
        clean = clean_any(ani)
    except errors.InvalidNumber as exc:
        raise errors.InvalidInput(exc.message, fields={"ANI": [exc.message]}) from None
    matching = do_not_call.match_q(clean)
    if business_field is not None:
        name, value = business_field
        matching |= Q(account_id__in=business_fields.holders(name, value))
    # The earliest callback scheduled on each mode, in the same statement.
    callbacks = Callback.objects.filter(
        account_id=OuterRef("account_id"),
        mode_id=OuterRef("mode_type_id"),
        state=Callback.State.SCHEDULED,
    ).order_by("window_start", "pk")
    modes = list(
        ContactMode.objects.filter(matching, deleted_at=None)
        .select_related("account__campaign", "mode_type")
        .annotate(
            callback_kind=Subquery(callbacks.values("kind")[:1]),
            callback_agent=Subquery(callbacks.values("agent__agent_id")[:1]),
        )
        .order_by("account_id", "mode_type_id")[:MAX_ELEMENTS]
    )
    if lcm_key:
        modes.sort(key=lambda m: m.account.account_number != lcm_key)  # stable: the rest in order
    return [_element(mode) for mode in modes]


def _element(mode: ContactMode) -> dict:
    account = mode.account
    call_type, agent = "Regular", ""
    if mode.callback_kind == Callback.Kind.PERSONAL:
        call_type, agent = "PersonalCallback", mode.callback_agent
    elif mode.callback_kind is not None:
        call_type = "Callback"
    return {
        "CampaignId": account.campaign_id,
        "CampaignName": account.campaign.name,
        "ContactID": account.pk,
        "CallType": call_type,
        "AgentID": agent,
        "Mode": mode.mode_type.name,
        "PhoneNo": mode.number,
        "AccountNumber": account.account_number,
    }
