"""As-of reads: an account's modes as they were at an instant, from the log only.

The question a compliance officer gets is "when you dialled, did you have
consent, was the number on your do-not-call list, was it inside the callee's
window?". The answer is replayed from audit entries, never from the live
tables (docs/audit.md, "As-of reads", states the rules; tools/verify_proof.py
--as-of re-derives them offline):

1. The account's entries with `created_at` ≤ the instant, in `seq` order.
   Each entry's `modes` item sets its mode to `after` (null: no live mode);
   an entry written before `modes` existed sets mode `mode_id` to
   `new_number` and removes its `deleted_modes`. A field's `set_by` is the
   seq of the entry that last changed its value.
2. Do-not-call blocks are the `dnc` / `dnc_change` / `dnc_lift` entries up
   to the instant: of the account (its whole-contact blocks, scope
   `contact`) and of any account or none holding the same number (scope
   `number`, `lcm.numbers.same_number`). A block counts at the instant when
   it was added and not lifted by then, its `starts_at` is not after it,
   and its expiry (the latest `dnc_change`'s, else the block's) is after
   it; and its campaign is "" or the account's.
3. The window: the mode's own (rule 1), else the campaign mode's, else the
   campaign's, as the latest `campaign` entry of the account's campaign up
   to the instant recorded it (`details.after`), else the mode type's.
4. Time zones, consent and window give "callable at the instant"
   (`lcm.dialable.callable_at`), with the campaign's rules (mode type
   enabled, written consent required).

What the log does not hold is named as such (`set_by` null): the mode
types' windows and names (configuration), the account's campaign, country,
time zone and ZIP code (the zones of last resort), and a campaign's rules
when no campaign entry records them (a campaign never saved in the console:
its current settings are used and the answer says so).

This module reads entries' contents only; how they are sealed is `seal`,
and the proofs come from `checkpoints` (`inclusion_proofs`: many entries'
proofs at once, reading their stored nodes and leaves once for all).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass, field

from .. import dialable
from ..conf import lcm_settings
from ..models import Account, AuditCheckpoint, ModeChange, ModeType
from ..numbers import CleanNumber, identify, same_number
from .checkpoints import inclusion_proofs

DNC_ACTIONS = ("dnc", "dnc_change", "dnc_lift")
MODE_ACTIONS = ("set", "revert", "restore", "import", "settings")
STATE_FIELDS = (
    "number",
    "e164",
    "pewc",
    "pewc_source",
    "pewc_by",
    "pewc_at",
    "time_zone",
    "window",
)


def iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_iso(text: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


# --- The replay: pure functions of entry records -----------------------------------


# The columns the replay reads, as `QuerySet.values` gives them (no model
# instances: an as-of read of 100 entries spends its time here otherwise).
COLUMNS = (
    "seq",
    "created_at",
    "action",
    "account_id",
    "mode_id",
    "new_number",
    "new_number_e164",
    "deleted_modes",
    "modes",
    "do_not_call",
    "details",
    "erased_by_id",
)


def record(row: dict) -> dict:
    """What the replay reads of an entry (a `values(*COLUMNS)` row): the same
    fields, with the same values, as its proof's `entry` (and `personal`)
    give the verifier."""
    out = {name: row[name] for name in COLUMNS if name not in ("created_at", "erased_by_id")}
    out["created_at"] = iso(row["created_at"])
    out["erased"] = row["erased_by_id"] is not None
    return out


@dataclass
class ModeAt:
    mode_id: int
    state: dict | None  # STATE_FIELDS; None: erased (values unknown)
    set_by: dict[str, int]


@dataclass
class Block:
    entry: int  # the list row
    scope: str
    number: str
    e164: str
    campaign: str
    account_id: int | None
    starts_at: str | None
    expires_at: str | None
    seq: int  # the entry that added it
    changed_by: int | None = None
    lifted_by: int | None = None

    def counts_at(self, at: dt.datetime) -> bool:
        if self.lifted_by is not None:
            return False
        starts, expires = parse_iso(self.starts_at), parse_iso(self.expires_at)
        return (starts is None or starts <= at) and (expires is None or expires > at)

    @property
    def set_by(self) -> int:
        return self.changed_by or self.seq


@dataclass
class Replayed:
    modes: dict[int, ModeAt] = field(default_factory=dict)
    blocks: dict[int, Block] = field(default_factory=dict)
    seqs: list[int] = field(default_factory=list)  # the account's entries replayed
    erased: bool = False


def replay_modes(entries: list[dict]) -> Replayed:
    """Rule 1 over the account's entries (seq order), and rule 2's
    bookkeeping over every do-not-call entry among `entries`."""
    out = Replayed()
    for entry in entries:
        seq = entry["seq"]
        out.seqs.append(seq)
        if entry["erased"]:
            out.erased = True
            if entry["action"] in MODE_ACTIONS and entry["mode_id"]:
                out.modes[entry["mode_id"]] = ModeAt(entry["mode_id"], None, {"*": seq})
            continue
        if entry["action"] in DNC_ACTIONS:
            track_block(out.blocks, entry)
            continue
        if entry["modes"] is None:  # written before `modes`: the headline says it
            touched = [(entry["mode_id"], _legacy_state(entry))]
            touched += [(d["mode_id"], None) for d in entry["deleted_modes"] or []]
        else:
            touched = [(item["mode_id"], item["after"]) for item in entry["modes"]]
        for mode_id, after in touched:
            if after is None:
                out.modes.pop(mode_id, None)
                continue
            known = out.modes.get(mode_id)
            previous = known.state if known is not None else None
            set_by = dict(known.set_by) if known is not None and previous is not None else {}
            for name in STATE_FIELDS:
                if previous is None or previous.get(name) != after.get(name) or name not in set_by:
                    set_by[name] = seq
            out.modes[mode_id] = ModeAt(mode_id, dict(after), set_by)
    return out


def _legacy_state(entry: dict) -> dict | None:
    if not entry["new_number"]:
        return None
    return {
        "number": entry["new_number"],
        "e164": entry["new_number_e164"],
        "pewc": False,
        "pewc_source": "",
        "pewc_by": "",
        "pewc_at": None,
        "time_zone": "",
        "window": None,
    }


def track_block(blocks: dict[int, Block], entry: dict) -> None:
    event = entry["do_not_call"] or {}
    row = event.get("entry")
    if event.get("event") == "block":
        blocks[row] = Block(
            entry=row,
            scope=event.get("scope", "number"),
            number=event.get("number", ""),
            e164=entry["new_number_e164"],
            campaign=event.get("campaign", ""),
            account_id=entry["account_id"],
            starts_at=event.get("starts_at"),
            expires_at=event.get("expires_at"),
            seq=entry["seq"],
        )
    elif row in blocks and event.get("event") == "change":
        blocks[row].expires_at = (event.get("after") or {}).get("expires_at")
        blocks[row].changed_by = entry["seq"]
    elif row in blocks and event.get("event") == "lift":
        blocks[row].lifted_by = entry["seq"]


def national_key(number: str, e164: str) -> str:
    """The national key lcm stored beside the number (lcm.numbers.identify)."""
    return identify(e164).national if e164 else identify(number).national


def clean(number: str, e164: str) -> CleanNumber:
    return CleanNumber(number, e164, national_key(number, e164))


def spellings(number: str, e164: str) -> set[str]:
    """How a do-not-call entry may have written the same number (its
    `new_number`): the log's index is on that column."""
    national = national_key(number, e164)
    found = {number, national, "0" + national}
    if e164:
        found |= {e164, e164.lstrip("+")}
    return {s for s in found if s}


# --- Reading the log ------------------------------------------------------------


class BeforeAccount(Exception):
    pass


@dataclass
class Read:
    """One as-of read: the answer, and the entries it was made from."""

    account: Account
    at: dt.datetime
    answer: dict
    records: list[dict]  # every entry the replay read, seq order
    account_seqs: list[int]
    configuration: dict


def account_entries(account: Account, at: dt.datetime, using: str) -> list[dict]:
    """The account's entries up to `at` (`modechange_account_seq_idx`)."""
    query = ModeChange.objects.using(using).filter(account_id=account.pk, created_at__lte=at)
    return [record(row) for row in query.order_by("seq").values(*COLUMNS)]


def number_entries(numbers: set[str], at: dt.datetime, using: str, exclude: int) -> list[dict]:
    """Do-not-call entries of other accounts or none naming one of `numbers`
    (`modechange_new_number_idx`); `same_number` decides afterwards."""
    if not numbers:
        return []
    query = (
        ModeChange.objects.using(using)
        .filter(new_number__in=sorted(numbers), action__in=DNC_ACTIONS, created_at__lte=at)
        .exclude(account_id=exclude)
    )
    return [record(row) for row in query.order_by("seq").values(*COLUMNS)]


def campaign_entry(code: str, at: dt.datetime, using: str) -> dict | None:
    """The latest campaign entry of campaign `code` up to `at` (campaign
    entries name no account: the account index's null range)."""
    row = (
        ModeChange.objects.using(using)
        .filter(account_id__isnull=True, action="campaign", created_at__lte=at)
        .filter(details__campaign=code)
        .order_by("-seq")
        .values(*COLUMNS)
        .first()
    )
    return record(row) if row is not None else None


def _window(pair) -> dialable.Window | None:
    if pair and pair[0] and pair[1]:
        return dialable.Window(dialable.parse_hhmm(pair[0]), dialable.parse_hhmm(pair[1]))
    return None


def read(account: Account, at: dt.datetime, *, using: str = "default") -> Read:
    """The account's modes at `at`, replayed from the log (module docstring)."""
    if at < account.created_at:
        raise BeforeAccount(iso(account.created_at))
    own = account_entries(account, at, using)
    replayed = replay_modes(own)
    numbers = set()
    for mode in replayed.modes.values():
        if mode.state is not None:
            numbers |= spellings(mode.state["number"], mode.state["e164"])
    others = number_entries(numbers, at, using, account.pk)
    for entry in others:
        if not entry["erased"]:
            track_block(replayed.blocks, entry)
    campaign = campaign_entry(account.campaign_id, at, using)
    configuration = _configuration(account, campaign, using)
    answer = answer_from(replayed, account=account, at=at, configuration=configuration)
    if replayed.erased:
        from lcm.actions.erasure import marker

        seq = next(e["seq"] for e in own if e["erased"])
        answer["erased"] = marker(
            ModeChange.objects.using(using).select_related("erased_by").get(seq=seq)
        )
    records = sorted([*own, *others, *([campaign] if campaign else [])], key=lambda e: e["seq"])
    return Read(account, at, answer, records, replayed.seqs, configuration)


def _configuration(account: Account, campaign: dict | None, using: str) -> dict:
    """What the answer takes from outside the log, stated (the bundle carries it)."""
    if campaign is not None:
        rules, rules_by = (campaign["details"] or {}).get("after") or {}, campaign["seq"]
    else:
        rules, rules_by = _current_rules(account.campaign_id, using), None
    return {
        "campaign": account.campaign_id,
        "campaign_rules": {
            "set_by": rules_by,
            "every_mode_type": rules.get("every_mode_type", True),
            "requires_consent": rules.get("requires_consent", False),
            "window": [rules.get("window_start"), rules.get("window_end")]
            if rules.get("window_start")
            else None,
            "modes": {
                str(m["ModeID"]): {"window": m.get("window"), "channel_type": m.get("ChannelType")}
                for m in rules.get("modes", [])
            },
        },
        "mode_types": {
            str(t["id"]): {
                "name": t["name"],
                "window": [dialable.hhmm(t["window_start"]), dialable.hhmm(t["window_end"])],
                "channel_type": t["channel_type"],
            }
            for t in ModeType.objects.using(using)
            .order_by("id")
            .values("id", "name", "window_start", "window_end", "channel_type")
        },
        "account": {
            "country": account.country,
            "time_zone": account.time_zone,
            "zip_code": account.zip_code,
        },
        "default_time_zone": lcm_settings.LCM_DEFAULT_TIME_ZONE,
    }


def _current_rules(code: str, using: str) -> dict:
    """A campaign no entry records (never saved in the console): its current
    settings, in the shape of a campaign entry's `details.after`. One query:
    the campaign joined with its modes (a row of nulls when it has none)."""
    from lcm.models import Campaign

    rows = list(
        Campaign.objects.using(using)
        .filter(code=code)
        .order_by("modes__mode_type_id")
        .values(
            "every_mode_type",
            "requires_consent",
            "window_start",
            "window_end",
            "modes__mode_type_id",
            "modes__channel_type",
            "modes__window_start",
            "modes__window_end",
        )
    )
    if not rows:
        return {}
    row = rows[0]
    return {
        "every_mode_type": row["every_mode_type"],
        "requires_consent": row["requires_consent"],
        "window_start": dialable.hhmm(row["window_start"]) if row["window_start"] else None,
        "window_end": dialable.hhmm(row["window_end"]) if row["window_end"] else None,
        "modes": [
            {
                "ModeID": m["modes__mode_type_id"],
                "ChannelType": m["modes__channel_type"],
                "window": [
                    dialable.hhmm(m["modes__window_start"]),
                    dialable.hhmm(m["modes__window_end"]),
                ]
                if m["modes__window_start"] and m["modes__window_end"]
                else None,
            }
            for m in rows
            if m["modes__mode_type_id"] is not None
        ],
    }


def answer_from(replayed: Replayed, *, account: Account, at: dt.datetime, configuration) -> dict:
    rules = configuration["campaign_rules"]
    contact = [
        b
        for b in replayed.blocks.values()
        if b.scope == "contact"
        and b.account_id == account.pk
        and b.campaign in ("", account.campaign_id)
        and b.counts_at(at)
    ]
    contact_block = min(contact, key=lambda b: b.seq) if contact else None
    modes = []
    for mode_id in sorted(replayed.modes):
        mode = replayed.modes[mode_id]
        mode_type = configuration["mode_types"].get(str(mode_id), {})
        if mode.state is None:
            modes.append(_erased_mode(mode, mode_type, account))
            continue
        modes.append(
            _mode_answer(mode, mode_type, replayed, account, at, configuration, contact_block)
        )
    return {
        "account": account.account_number,
        "at": iso(at),
        "CampaignID": account.campaign_id,
        "campaign_rules_set_by": rules["set_by"],
        "DNCContact": contact_block is not None,
        "DNCContactSetBy": contact_block.set_by if contact_block else None,
        "replayed": replayed.seqs,
        "erased": None,
        "Contactmodes": modes,
    }


def _erased_mode(mode: ModeAt, mode_type: dict, account: Account) -> dict:
    return {
        "ModeID": mode.mode_id,
        "ModeDesc": mode_type.get("name", ""),
        "CampaignID": account.campaign_id,
        "CValue": None,
        "E164": None,
        "PEWC": None,
        "DNC": None,
        "Callable": None,
        "Reason": "erased: the values this entry recorded are gone",
        "set_by": {"CValue": mode.set_by["*"]},
    }


def _mode_answer(mode, mode_type, replayed, account, at, configuration, contact_block) -> dict:
    state, set_by = mode.state, mode.set_by
    rules = configuration["campaign_rules"]
    number = clean(state["number"], state["e164"])
    number_blocks = [
        b
        for b in replayed.blocks.values()
        if b.scope == "number"
        and b.campaign in ("", account.campaign_id)
        and b.counts_at(at)
        and same_number(number, clean(b.number, b.e164))
    ]
    number_block = min(number_blocks, key=lambda b: b.seq) if number_blocks else None
    # The window (rule 3) and who set it.
    campaign_mode = rules["modes"].get(str(mode.mode_id)) or {}
    if state["window"]:
        window, window_by = state["window"], set_by["window"]
    elif campaign_mode.get("window"):
        window, window_by = campaign_mode["window"], rules["set_by"]
    elif rules["window"]:
        window, window_by = rules["window"], rules["set_by"]
    else:
        window, window_by = mode_type.get("window") or ["08:00", "21:00"], None
    account_info = configuration["account"]
    zones = dialable.time_zones(
        e164=state["e164"],
        override=state["time_zone"],
        account_time_zone=account_info["time_zone"],
        account_zip=account_info["zip_code"],
        account_country=account_info["country"],
        default_time_zone=configuration["default_time_zone"],
    )
    zone_by = {"mode": set_by["time_zone"], "number": set_by["e164"]}.get(zones.source)
    configured = _window(window)
    clock = dialable.callable_at(zones, configured, at)
    effective = configured
    if zones.names:
        day = at.astimezone(zoneinfo.ZoneInfo(zones.primary)).date()
        effective = dialable.effective_window(zones, configured, day)
    enabled = rules["every_mode_type"] or str(mode.mode_id) in rules["modes"]
    dnc = number_block is not None or contact_block is not None
    if contact_block is not None:
        reason = "on the do-not-call list (the whole contact)"
    elif number_block is not None:
        reason = "on the do-not-call list"
    elif not enabled:
        reason = f"mode {mode.mode_id} is not enabled by campaign {account.campaign_id}"
    elif rules["requires_consent"] and not state["pewc"]:
        reason = f"no written consent (PEWC), which campaign {account.campaign_id} requires"
    else:
        reason = clock.reason
    zone, zone1, zone2, zone3 = zones.reply()
    consent_missing = rules["requires_consent"] and not state["pewc"]
    callable_then = not dnc and enabled and not consent_missing and clock.callable
    return {
        "ModeID": mode.mode_id,
        "ModeDesc": mode_type.get("name", ""),
        "CampaignID": account.campaign_id,
        "CValue": state["number"],
        "ModeDialingStartTime": dialable.hhmm(effective.start) if effective else "",
        "ModeDialingEndTime": dialable.hhmm(effective.end) if effective else "",
        "Window": list(window),
        "TimeZone": zone,
        "TimeZone1": zone1,
        "TimeZone2": zone2,
        "TimeZone3": zone3,
        "TimeZones": list(zones.names),
        "TimeZoneSource": zones.source,
        "PEWC": state["pewc"],
        "PEWCSource": state["pewc_source"],
        "PEWCBy": state["pewc_by"],
        "PEWCAt": state["pewc_at"],
        "AreaCode": dialable.area_code(state["e164"]),
        "ZipCode": account_info["zip_code"],
        "DNC": dnc,
        "DNCNumber": number_block is not None,
        "DNCContact": contact_block is not None,
        "Callable": callable_then,
        "Reason": reason,
        "LocalTime": clock.local_time.strftime("%Y-%m-%dT%H:%M:%S%z") if clock.local_time else None,
        "E164": state["e164"],
        "ChannelType": campaign_mode.get("channel_type") or mode_type.get("channel_type", ""),
        "set_by": {
            "CValue": set_by["number"],
            "E164": set_by["e164"],
            "PEWC": set_by["pewc"],
            "PEWCSource": set_by["pewc_source"],
            "PEWCBy": set_by["pewc_by"],
            "PEWCAt": set_by["pewc_at"],
            "TimeZone": zone_by,
            "Window": window_by,
            "DNCNumber": number_block.set_by if number_block else None,
            "DNCContact": contact_block.set_by if contact_block else None,
        },
    }


# --- The proof bundle ----------------------------------------------------------


def proved_entry(entry: ModeChange) -> dict:
    """As `GET /api/lcm/mode-changes/<seq>/proof/` gives it, without the path
    (one rendering: `lcm.audit.checkpoints.proved_entry`)."""
    from .checkpoints import proved_entry as rendered

    return rendered(entry)


class NotCovered(Exception):
    pass


def bundle(result: Read, *, using: str = "default") -> dict:
    """Every entry the answer was made from, each with its inclusion proof in
    the latest signed checkpoint, the account's seqs up to the instant, and
    what the answer took from outside the log."""
    from .checkpoints import as_json

    checkpoint = AuditCheckpoint.objects.using(using).order_by("-tree_size").first()
    seqs = [r["seq"] for r in result.records]
    last = max(seqs, default=0)
    if checkpoint is None or checkpoint.tree_size < last:
        raise NotCovered(last)
    proofs = inclusion_proofs(seqs, checkpoint.tree_size, using)
    read = ModeChange.objects.using(using).select_related("erased_by").filter(seq__in=seqs)
    entries = []
    for entry in read.order_by("seq"):
        proved = proved_entry(entry)
        proved["leaf_index"] = entry.seq - 1
        proved["inclusion_proof"] = proofs[entry.seq]
        entries.append(proved)
    return {
        "format": "lcm as-of bundle v1",
        "account": result.account.account_number,
        "account_id": result.account.pk,
        "at": iso(result.at),
        "account_seqs": result.account_seqs,
        "configuration": result.configuration,
        "national_keys": _national_keys(result),
        "entries": entries,
        "checkpoint": as_json(checkpoint),
    }


def _national_keys(result: Read) -> dict[str, str]:
    """The national key lcm derives (phonenumbers) for each number the answer
    compares: the verifier matches numbers whose country is unknown on
    either side by them (derived, not sealed: stated)."""
    keys = {}
    for mode in result.answer["Contactmodes"]:
        if mode.get("CValue"):
            keys[mode["CValue"]] = national_key(mode["CValue"], mode.get("E164") or "")
    for entry in result.records:
        if entry["action"] in DNC_ACTIONS and entry["new_number"]:
            keys[entry["new_number"]] = national_key(entry["new_number"], entry["new_number_e164"])
    return keys
