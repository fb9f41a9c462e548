"""The lcm domain: who calls whom, on which number, and what changed.

Business rules live in `lcm.actions`; models hold fields, invariants
(constraints) and the indexes of the hot queries.
"""

import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.db.models.functions import Right

DEFAULT_WINDOW_START = datetime.time(8, 0)
DEFAULT_WINDOW_END = datetime.time(21, 0)
WINDOW_END_BEFORE_START = "The end of the calling window must be after its start."


class ModeType(models.Model):
    """A number slot that contacts may fill (1 Home, 2 Office, 3 Mobile…).

    The primary key *is* the dialer's ModeID, so `ContactMode.mode_type_id`
    is the ModeID without a join.
    """

    class Channel(models.TextChoices):
        VOICE = "voice", "Voice"
        SMS = "sms", "SMS"

    id = models.PositiveSmallIntegerField(primary_key=True, verbose_name="ModeID")
    name = models.CharField(max_length=50, unique=True)
    channel_type = models.CharField(max_length=10, choices=Channel, default=Channel.VOICE)
    min_length = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Fewest digits a number may have (3 when empty)."
    )
    max_length = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Most digits a number may have (20 when empty)."
    )
    window_start = models.TimeField(
        "calling from",
        default=DEFAULT_WINDOW_START,
        help_text="Local time of the callee from which numbers of this type may be dialled.",
    )
    window_end = models.TimeField(
        "calling until",
        default=DEFAULT_WINDOW_END,
        help_text="Local time of the callee until which they may be dialled (08:00-21:00 is "
        "the TCPA's 8 a.m. to 9 p.m.).",
    )

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(min_length__isnull=True)
                | Q(max_length__isnull=True)
                | Q(min_length__lte=models.F("max_length")),
                name="modetype_min_le_max",
            ),
            models.CheckConstraint(condition=Q(id__gte=1), name="modetype_id_positive"),
            models.CheckConstraint(
                condition=Q(window_start__lt=models.F("window_end")),
                name="modetype_window_start_before_end",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.id} {self.name}"

    def clean(self) -> None:
        """Bounds a number can meet: 1 to 20 digits (CValue holds 21 characters
        with the +), the minimum not above the maximum."""
        from .numbers import MAX_DIGITS

        errors = {}
        for name in ("min_length", "max_length"):
            value = getattr(self, name)
            if value is not None and not 1 <= value <= MAX_DIGITS:
                errors[name] = f"Enter a number of digits from 1 to {MAX_DIGITS}."
        if (
            not errors
            and self.min_length is not None
            and self.max_length is not None
            and self.min_length > self.max_length
        ):
            errors["max_length"] = "The maximum cannot be below the minimum."
        if (
            self.window_start is not None
            and self.window_end is not None
            and self.window_start >= self.window_end
        ):
            errors["window_end"] = WINDOW_END_BEFORE_START
        if errors:
            raise ValidationError(errors)


class Campaign(models.Model):
    """A campaign (spec campaign-services.md section 1): which mode types its
    accounts may be dialled on, with their lengths and windows, its consent
    rule, how long a do-not-call outcome blocks, its outcomes and its typed
    business fields. `code` is the CampaignID, the key accounts point at
    (`Account.campaign` keeps the string in its column). Written only by
    `lcm.actions.campaigns`; the dialing rules are read in one place,
    `lcm.actions.campaigns.rules`."""

    class DncPeriod(models.TextChoices):
        PERMANENT = "Permanent", "Permanent"
        SPECIFIC_DAYS = "Specific Days", "Specific days"
        AGENT_SELECTION = "Agent Selection", "Agent selection"

    # Labels in the floor's words; the API's name (spec campaign-services.md)
    # in the help text, for whoever maps one to the other.
    code = models.CharField(
        "campaign ID",
        max_length=100,
        unique=True,
        blank=True,
        help_text='API: CampaignID. The key accounts and imports name ("": accounts without a '
        "campaign).",
    )
    name = models.CharField("name", max_length=100, help_text="API: CampaignName.")
    category = models.CharField(
        "category", max_length=100, blank=True, help_text="API: CampaignCategoryName."
    )
    time_zone = models.CharField(
        "time zone",
        max_length=64,
        blank=True,
        help_text="The campaign's own zone (IANA, e.g. America/New_York). API: TimeZone.",
    )
    window_start = models.TimeField(
        "calling from",
        null=True,
        blank=True,
        help_text="Default local start of its modes' window (empty: the mode type's).",
    )
    window_end = models.TimeField("calling until", null=True, blank=True)
    every_mode_type = models.BooleanField(
        "every mode type",
        default=True,
        help_text="Enable every mode type as the type defines it (today's and future ones); "
        "off: only the enabled modes listed below.",
    )
    requires_consent = models.BooleanField(
        "written consent required",
        default=False,
        help_text="Dial only numbers with written consent. API: CampaignPEWC.",
    )
    disposition_required = models.BooleanField(
        "outcome required",
        default=False,
        help_text="An outcome is required before wrap-up ends. API: DispositionRequired.",
    )
    dnc_period_type = models.CharField(
        "block lasts",
        max_length=20,
        choices=DncPeriod,
        default=DncPeriod.PERMANENT,
        help_text="How long a do-not-call outcome blocks the number. API: DNCPeriodType.",
    )
    dnc_days = models.PositiveSmallIntegerField(
        "days blocked", default=0, help_text="For a block of specific days. API: DNCDays."
    )
    dnc_end_of_day = models.BooleanField(
        "until the end of the last day",
        default=False,
        help_text="A block of days lasts to the end of its last day. API: DNCEOD.",
    )
    customer_dnc_time_zone = models.BooleanField(
        "days in the callee's zone",
        default=False,
        help_text="Count the days in the callee's zone. API: CustomerDNCTZEnabled.",
    )

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(window_start__isnull=True, window_end__isnull=True)
                | Q(window_start__lt=models.F("window_end")),
                name="campaign_window_both_or_none",
            ),
        ]

    def __str__(self) -> str:
        return self.name if self.name == self.code else f"{self.name} ({self.code})"


class CampaignMode(models.Model):
    """A mode type a campaign enables, with its own lengths and window."""

    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, to_field="code", related_name="modes"
    )
    mode_type = models.ForeignKey(ModeType, on_delete=models.PROTECT, related_name="+")
    channel_type = models.CharField(
        "channel", max_length=10, choices=ModeType.Channel, blank=True,
        help_text="Empty: the mode type's. API: ChannelType.",
    )  # fmt: skip
    min_length = models.PositiveSmallIntegerField(
        "shortest number",
        null=True,
        blank=True,
        help_text="Digits. Empty: the mode type's. API: MinLength.",
    )
    max_length = models.PositiveSmallIntegerField(
        "longest number",
        null=True,
        blank=True,
        help_text="Digits. Empty: the mode type's. API: MaxLength.",
    )
    window_start = models.TimeField(
        "calling from", null=True, blank=True, help_text="Empty: the campaign's window."
    )
    window_end = models.TimeField("calling until", null=True, blank=True)
    callback = models.BooleanField("callback mode", default=False)
    voicemail = models.BooleanField("voicemail allowed", default=False)

    class Meta:
        ordering = ["campaign_id", "mode_type_id"]
        verbose_name = "enabled mode"
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "mode_type"], name="campaignmode_one_per_type"
            ),
            models.CheckConstraint(
                condition=Q(window_start__isnull=True, window_end__isnull=True)
                | Q(window_start__lt=models.F("window_end")),
                name="campaignmode_window_both_or_none",
            ),
            models.CheckConstraint(
                condition=Q(min_length__isnull=True)
                | Q(max_length__isnull=True)
                | Q(min_length__lte=models.F("max_length")),
                name="campaignmode_min_le_max",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.mode_type.name} ({self.campaign_id})"  # the console's row title


class CampaignOutcome(models.Model):
    """A business outcome of a campaign (OutcomeID, Description)."""

    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, to_field="code", related_name="outcomes"
    )
    outcome_id = models.PositiveIntegerField("outcome ID", help_text="API: OutcomeID.")
    description = models.CharField("description", max_length=100)
    implies = models.PositiveSmallIntegerField(
        "telephony outcome",
        null=True,
        blank=True,
        help_text="The telephony OutComeID it implies (5: do-not-call).",
    )

    class Meta:
        ordering = ["campaign_id", "outcome_id"]
        verbose_name = "outcome"
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "outcome_id"], name="campaignoutcome_one_per_id"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.outcome_id} {self.description}"


class BusinessField(models.Model):
    """A typed business field of a campaign (section 6)."""

    class DataType(models.TextChoices):
        STRING = "String", "String"
        NUMBER = "Number", "Number"
        DATETIME = "DateTime", "DateTime"
        BOOLEAN = "Boolean", "Boolean"

    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, to_field="code", related_name="fields"
    )
    name = models.CharField("field name", max_length=100, help_text="API: FieldName.")
    data_type = models.CharField(
        "type", max_length=10, choices=DataType, help_text="API: DataType."
    )
    format = models.CharField(
        "Format",
        max_length=20,
        blank=True,
        help_text='String: max length ("" = 255); Number: "" integer or 0.00; DateTime: '
        "DD/MM/YYYY, DD/MM/YYYY HH:mm or YYYY-MM-DD.",
    )
    mandatory = models.BooleanField(default=False)
    agent_editable = models.BooleanField(default=True)
    dnc_field = models.BooleanField("DNC field", default=False)
    screen_pop = models.BooleanField("on the screen pop", default=False)

    class Meta:
        ordering = ["campaign_id", "id"]
        verbose_name = "business field"
        constraints = [
            models.UniqueConstraint(fields=["campaign", "name"], name="businessfield_one_name"),
        ]

    def __str__(self) -> str:
        return self.name


class BusinessFieldValue(models.Model):
    """An account's value of a business field (personal data: erased by
    `erase_contact`)."""

    account = models.ForeignKey("Account", on_delete=models.PROTECT, related_name="business_values")
    field = models.ForeignKey(BusinessField, on_delete=models.CASCADE, related_name="values")
    value = models.CharField(max_length=255)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "field"], name="businessvalue_one"),
        ]

    def __str__(self) -> str:
        return f"{self.field.name}={self.value}"


class AgentState(models.TextChoices):
    """What SendAgentState reports (spec campaign-services.md section 8)."""

    READY = "READY", "Ready"
    NOT_READY = "NOT_READY", "Not ready"
    TALKING = "TALKING", "Talking"
    WORK = "WORK", "Wrap-up work"


class Agent(models.Model):
    """A person taking calls, known to the dialer by `agent_id` (AgentID)."""

    agent_id = models.CharField("AgentID", max_length=64, unique=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="agent"
    )
    is_logged_in = models.BooleanField(
        default=False, help_text="Logged in to the agent application."
    )
    logged_in_changed_at = models.DateTimeField(null=True, blank=True)
    # The agent's state as the desktop last said it (SendAgentState, spec
    # campaign-services.md section 8): written only by lcm.actions.calls.
    state = models.CharField(
        "agent state", max_length=10, choices=AgentState, blank=True, default="",
        db_default="", help_text="READY, NOT_READY, TALKING or WORK; empty: never sent.",
    )  # fmt: skip
    state_changed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["agent_id"]
        permissions = [
            ("act_for_any_agent", "Can send web-service messages on behalf of any agent"),
            ("manage_agent_sessions", "Can log agents in and out (dialer/CTI integration)"),
        ]

    def __str__(self) -> str:
        return self.agent_id


class Account(models.Model):
    """One contact record of a campaign list, keyed by its LCM key."""

    account_number = models.CharField(
        "LCM key",
        max_length=128,
        unique=True,
        help_text="The AccountNumber of the dialer, e.g. 5|3|1|0|0|44|1.",
    )
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    campaign = models.ForeignKey(
        Campaign,
        on_delete=models.PROTECT,
        to_field="code",
        db_column="campaign",
        related_name="accounts",
        default="",
        blank=True,  # "" is a CampaignID: the Default campaign's
        help_text="Its campaign (CampaignID): the modes it may be dialled on, their windows "
        "and consent rule.",
    )
    country = models.CharField(
        max_length=2,
        blank=True,
        help_text="ISO 3166 code (US, ES…): where numbers without + are read, and the "
        "time zones of last resort.",
    )
    time_zone = models.CharField(
        max_length=64,
        blank=True,
        help_text="IANA zone (America/New_York) for numbers whose zone is unknown.",
    )
    zip_code = models.CharField("ZIP code", max_length=16, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # The import's memory of this account (lcm.actions.imports, "Fingerprints"):
    # a digest of the last imported row's normalised content, and the seq of
    # the account's last audit entry when it was stored. A row with the same
    # digest, while no entry has touched the account since, changes nothing:
    # a re-import skips it without locking the account or reading its modes.
    import_fingerprint = models.CharField(
        max_length=32, blank=True, default="", db_default="", editable=False
    )
    import_fingerprint_seq = models.BigIntegerField(default=0, db_default=0, editable=False)

    class Meta:
        ordering = ["account_number"]
        permissions = [
            ("import_accounts", "Can import account lists (CSV, JSON Lines)"),
            ("erase_contact", "Can erase a contact's personal data (manage.py erase_contact)"),
        ]

    def __str__(self) -> str:
        name = f"{self.first_name} {self.last_name}".strip()
        return f"{self.account_number} ({name})" if name else self.account_number


class ContactMode(models.Model):
    """One dialable channel of an account: a number slot (ModeID) with the
    number's identity, consent, time zone and calling window.

    Written only by the mode kernel (`lcm.actions.modes`). A mode is never
    erased: deleting sets `deleted_at`, so a supervisor can restore it and
    the audit log keeps pointing at a real row. At most one *live* mode per
    (account, ModeID) — a partial unique index. Do-not-call status is not
    stored: it is read live from the do-not-call list by identity
    (`lcm.actions.do_not_call`), so it can neither drift nor outlive an
    expired block.
    """

    class ConsentSource(models.TextChoices):
        IMPORT = "import", "Import"
        SUPERVISOR = "supervisor", "Supervisor"

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="modes")
    mode_type = models.ForeignKey(ModeType, on_delete=models.PROTECT, related_name="+")
    number = models.CharField(
        "CValue", max_length=21, help_text="The cleaned number: optional + and digits."
    )
    number_as_given = models.CharField(max_length=64, blank=True)
    number_e164 = models.CharField(
        "E.164", max_length=21, blank=True, help_text="Set when the number's country is known."
    )
    number_national = models.CharField(
        "national number",
        max_length=21,
        help_text="The national significant number (a best guess when the country is "
        "unknown): what do-not-call matching compares.",
    )
    has_consent = models.BooleanField(
        "PEWC",
        default=False,
        help_text="Prior express written consent for this number. A new number starts without.",
    )
    consent_source = models.CharField(max_length=20, choices=ConsentSource, blank=True)
    consent_by = models.CharField(max_length=150, blank=True)
    consent_at = models.DateTimeField(null=True, blank=True)
    time_zone = models.CharField(
        max_length=64, blank=True, help_text="Overrides the zones derived from the number."
    )
    window_start = models.TimeField(
        null=True, blank=True, help_text="Overrides the mode type's calling window."
    )
    window_end = models.TimeField(null=True, blank=True)
    changed_at = models.DateTimeField()
    changed_by = models.CharField(max_length=150, blank=True, help_text="Agent or user.")
    deleted_at = models.DateTimeField(null=True, blank=True)
    deleted_by = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["account_id", "mode_type_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "mode_type"],
                condition=Q(deleted_at__isnull=True),
                name="contactmode_one_live_per_modeid",
            ),
            models.CheckConstraint(
                condition=Q(window_start__isnull=True, window_end__isnull=True)
                | Q(window_start__lt=models.F("window_end")),
                name="contactmode_window_both_or_none",
            ),
        ]
        indexes = [
            # Admin search "any of the contact's numbers".
            models.Index(fields=["number"], name="contactmode_number_idx"),
            # Admin search by the last 4+ digits: an equality on the last 4.
            models.Index(Right("number", 4), name="contactmode_number_tail_idx"),
            # Do-not-call matching by identity (lcm.actions.do_not_call).
            models.Index(fields=["number_e164"], name="contactmode_e164_idx"),
            models.Index(fields=["number_national"], name="contactmode_national_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.account.account_number} mode {self.mode_type_id}: {self.number}"

    @property
    def is_live(self) -> bool:
        return self.deleted_at is None


class Call(models.Model):
    """One call delivered by the dialer to an agent, on one account."""

    class State(models.TextChoices):
        ACTIVE = "active", "Active"
        WRAP_UP = "wrapup", "Wrap-up"
        ENDED = "ended", "Ended"

    callid = models.CharField("Call ID", max_length=64, unique=True)
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="calls")
    agent = models.ForeignKey(Agent, on_delete=models.PROTECT, related_name="calls")
    state = models.CharField(max_length=10, choices=State, default=State.ACTIVE)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ended_at__isnull=True) | Q(ended_at__gte=models.F("started_at")),
                name="call_ends_after_start",
            ),
        ]
        indexes = [
            models.Index(fields=["state", "-started_at"], name="call_state_started_idx"),
            models.Index(fields=["agent", "state"], name="call_agent_state_idx"),
        ]
        permissions = [
            ("manage_calls", "Can register calls, move them to wrap-up and end them (dialer/CTI)"),
        ]

    def __str__(self) -> str:
        return self.callid


class CallEvent(models.Model):
    """One state change of a call, and who made it (the dialer's API or a
    supervisor). `Call.state` holds the current state; these rows keep every
    change. Written only by `lcm.actions.calls`."""

    class Event(models.TextChoices):
        REGISTERED = "registered", "Registered"
        WRAP_UP = "wrapup", "Moved to wrap-up"
        ENDED = "ended", "Ended"

    call = models.ForeignKey(Call, on_delete=models.PROTECT, related_name="events")
    event = models.CharField(max_length=12, choices=Event)
    at = models.DateTimeField(help_text="When it happened (the reporter's time, else now).")
    recorded_at = models.DateTimeField(auto_now_add=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    username = models.CharField(max_length=150, blank=True)
    reason = models.CharField(
        max_length=500, blank=True, help_text="Why, when a supervisor made the change."
    )

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["call", "-at"], name="callevent_call_at_idx")]

    def __str__(self) -> str:
        return f"{self.call.callid} {self.event} at {self.at:%Y-%m-%d %H:%M:%S}"


class AgentSessionEvent(models.Model):
    """One login or logout of an agent, as the dialer/CTI reported it.

    `at` is when it happened (the reporter's time, else when it was
    received); `recorded_at` when lcm stored it; `username` who reported it,
    copied as text like the audit log does. `Agent.is_logged_in` and
    `logged_in_changed_at` hold the current state; these rows keep every
    change. Only real changes are kept: a repeated login is not an event.
    """

    class Event(models.TextChoices):
        LOGIN = "login", "Login"
        LOGOUT = "logout", "Logout"

    agent = models.ForeignKey(Agent, on_delete=models.PROTECT, related_name="session_events")
    event = models.CharField(max_length=10, choices=Event)
    at = models.DateTimeField()
    recorded_at = models.DateTimeField(auto_now_add=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    username = models.CharField(max_length=150, blank=True)
    reason = models.CharField(
        max_length=500, blank=True, help_text="Why, when a supervisor made the change."
    )

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name = "agent session event"
        indexes = [models.Index(fields=["agent", "-at"], name="agentsession_agent_at_idx")]

    def __str__(self) -> str:
        return f"{self.agent.agent_id} {self.event} at {self.at:%Y-%m-%d %H:%M:%S}"


class DoNotCallNumber(models.Model):
    """One block of the do-not-call list: a number, or a whole contact.

    A *number* block (`scope` number) holds the number cleaned, with the same
    identity as modes (`lcm.numbers`), so it matches the number however it
    is typed, on every account. A *contact* block (`scope` contact) blocks
    every mode of `account`, whatever its number. `campaign` non-empty: the
    block counts only on accounts of that campaign (the vendor's
    CampaignSpecificDNC).

    An entry counts while it is not lifted, `starts_at` is empty or past,
    and `expires_at` is empty or ahead. Nothing is ever deleted: lifting a
    block records who, when and why (`lifted_*`), so the evidence stays.
    Who blocked it, from which call and with what comment is kept on the
    entry. Written only by `lcm.actions.do_not_call`.
    """

    class Scope(models.TextChoices):
        NUMBER = "number", "Number"
        CONTACT = "contact", "Whole contact"

    scope = models.CharField(max_length=10, choices=Scope, default=Scope.NUMBER)
    number = models.CharField(
        max_length=21, blank=True, help_text="Cleaned form: optional + and digits."
    )
    number_e164 = models.CharField("E.164", max_length=21, blank=True)
    number_national = models.CharField("national number", max_length=21, blank=True)
    account = models.ForeignKey(
        Account,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="do_not_call_entries",
        help_text="The contact blocked (whole contact), or whose call the block came from.",
    )
    account_number = models.CharField("LCM key", max_length=128, blank=True)
    mode_id = models.PositiveSmallIntegerField("ModeID", null=True, blank=True)
    campaign = models.CharField(
        max_length=100, blank=True, help_text="Only this campaign's accounts; empty: every one."
    )
    reason = models.CharField(max_length=200, blank=True)
    comments = models.CharField("agent comments", max_length=500, blank=True)
    added_at = models.DateTimeField(auto_now_add=True)
    added_by = models.CharField(max_length=150, blank=True)
    agent_code = models.CharField("AgentID", max_length=64, blank=True)
    call = models.ForeignKey(
        "Call", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    callid = models.CharField("Call ID", max_length=64, blank=True)
    starts_at = models.DateTimeField(
        null=True, blank=True, help_text="Empty: the block counts from when it was added."
    )
    expires_at = models.DateTimeField(
        null=True, blank=True, help_text="Empty: the block is permanent."
    )
    lifted_at = models.DateTimeField(null=True, blank=True)
    lifted_by = models.CharField(max_length=150, blank=True)
    lift_reason = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["number", "pk"]
        verbose_name = "do-not-call number"
        constraints = [
            models.CheckConstraint(
                condition=Q(scope="number", number__gt="")
                | Q(scope="contact", account__isnull=False),
                name="donotcall_number_or_contact",
            ),
            models.CheckConstraint(
                condition=Q(starts_at__isnull=True)
                | Q(expires_at__isnull=True)
                | Q(starts_at__lt=models.F("expires_at")),
                name="donotcall_starts_before_expiry",
            ),
        ]
        indexes = [
            models.Index(fields=["number_e164"], name="donotcall_e164_idx"),
            models.Index(fields=["number_national"], name="donotcall_national_idx"),
            models.Index(fields=["number"], name="donotcall_number_idx"),
        ]

    def __str__(self) -> str:
        if self.scope == self.Scope.CONTACT:
            return f"contact {self.account_number}"
        return self.number

    @property
    def is_lifted(self) -> bool:
        return self.lifted_at is not None


class AuditChainHead(models.Model):
    """The single row that serialises appends to the audit chain.

    Every append updates this row first (`UPDATE … RETURNING`), which takes
    its row lock until the transaction ends: concurrent appends queue here,
    so sequence numbers never fork or gap, and a rolled-back append gives its
    number back. Taken as the last step of a change, to hold it briefly.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    seq = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64, default="0" * 64)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(id=1), name="auditchainhead_single_row")]

    def __str__(self) -> str:
        return f"head #{self.seq} {self.hash[:12]}"


class ModeChange(models.Model):
    """The audit entry of one change to an account's modes. Append-only.

    Who: `agent_code` (the AgentID acted for) and `username` (the
    authenticated user), `source` (the app that sent it, `admin`, `import`).
    What: on `account_number`, mode `mode_id` went from `old_number` (empty
    when the mode was added) to `new_number`; `deleted_modes` lists the other
    modes deleted with it as ``[{"mode_id": 2, "number": "…"}, …]``. Those
    fields are the entry's headline; `modes` is the whole of it: for every
    mode the change touched, its state before and after
    (``[{"mode_id": 1, "before": {…} | null, "after": {…} | null}, …]``,
    null: no live mode; the state's keys are `lcm.actions.modes.STATE_KEYS`),
    so that undoing an entry reads the entry and nothing else.
    When and from where: `created_at`, `callid`, `client_ip`, `request_id`.

    A do-not-call entry added, changed or lifted in the console for every
    account (the list-wide kind) belongs to no account: `account` is None and
    `account_number` empty; `do_not_call` says what happened to the list.

    Identifiers are copied as text, so the entry reads the same whatever
    happens to the rows it names. The relations are PROTECT in the ORM (a
    row an entry names is not deleted through Django) but are no foreign keys
    in the database (`db_constraint=False`): an append must never make the
    database check or lock the live rows it names; the chain commits to every
    id, and the append-only triggers keep them (docs/audit.md, "The table").
    `seq`, `prev_hash` and `hash` chain the entries (see `lcm.audit`).
    """

    class Action(models.TextChoices):
        SET = "set", "Set number"
        REVERT = "revert", "Revert"
        RESTORE = "restore", "Restore"
        IMPORT = "import", "Import"
        SETTINGS = "settings", "Mode settings"
        DO_NOT_CALL = "dnc", "Do-not-call"
        LIFT_DO_NOT_CALL = "dnc_lift", "Do-not-call lifted"
        CHANGE_DO_NOT_CALL = "dnc_change", "Do-not-call changed"
        CALLBACK = "callback", "Callback"
        ERASE = "erase", "Personal data erased"
        CAMPAIGN = "campaign", "Campaign settings"
        OUTCOME = "outcome", "Call outcome"
        STATE_LAW = "state_law", "State calling rule"
        BUSINESS_FIELDS = "business_fields", "Business fields"
        AGENT_STATE = "agent_state", "Agent state"

    # The actions that change modes, and so may be reverted; the others
    # change a list (do-not-call, callbacks) and are undone there.
    MODE_ACTIONS = frozenset(
        {Action.SET, Action.REVERT, Action.RESTORE, Action.IMPORT, Action.SETTINGS}
    )

    seq = models.BigIntegerField(unique=True, editable=False)
    created_at = models.DateTimeField(editable=False)
    action = models.CharField(max_length=20, choices=Action, default=Action.SET)

    account = models.ForeignKey(
        Account,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="mode_changes",
        db_index=False,
        db_constraint=False,
        help_text="Empty only on a list-wide do-not-call entry: a number blocked on "
        "every account from the console, which belongs to no account.",
    )
    account_number = models.CharField("LCM key", max_length=128, blank=True)
    call = models.ForeignKey(
        Call,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="mode_changes",
        db_index=False,
        db_constraint=False,
    )
    callid = models.CharField("Call ID", max_length=64, blank=True)
    agent = models.ForeignKey(
        Agent,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="mode_changes",
        db_index=False,
        db_constraint=False,
    )
    agent_code = models.CharField("AgentID", max_length=64, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="mode_changes",
        db_index=False,
        db_constraint=False,
    )
    username = models.CharField(max_length=150, blank=True)
    source = models.CharField("source app", max_length=100, blank=True)

    mode_id = models.PositiveSmallIntegerField("ModeID")
    old_number = models.CharField(max_length=21, blank=True)
    new_number = models.CharField(max_length=21)
    new_number_e164 = models.CharField(max_length=21, blank=True)
    deleted_modes = models.JSONField(default=list, blank=True)
    modes = models.JSONField(
        null=True,
        blank=True,
        help_text="Every mode the change touched, before and after (lcm.actions.modes). "
        "Empty on entries written before it existed.",
    )
    do_not_call = models.JSONField(
        null=True,
        blank=True,
        help_text="A do-not-call block added or lifted (lcm.actions.do_not_call): scope, "
        "number, campaign, period, comment, reason. Empty on every other entry.",
    )
    reverts = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reverted_by",
        db_index=False,  # a partial index (Meta): almost every entry reverts none
        db_constraint=False,
    )
    callback = models.JSONField(
        null=True,
        blank=True,
        help_text="A callback entry's event (lcm.actions.callbacks): scheduled, done, "
        "cancelled or reassigned, with the callback's id, mode, window and who. Null on "
        "every other entry (and left out of its hash).",
    )

    client_ip = models.GenericIPAddressField(null=True, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    erasure = models.JSONField(
        null=True,
        blank=True,
        help_text="An erase entry's record (lcm.actions.erasure): the reason and the entries "
        "whose personal values it erased. Null on every other entry (and left out of its hash).",
    )

    details = models.JSONField(
        null=True,
        blank=True,
        help_text="A campaign or state calling rule entry's settings before and after "
        "(lcm.actions.campaigns, lcm.actions.compliance), a call outcome's before and after "
        "(lcm.actions.outcomes), or an agent state entry's state before and after "
        "(lcm.actions.calls). Null on every other entry (and left out of its hash).",
    )
    business_fields = models.JSONField(
        null=True,
        blank=True,
        help_text="A business fields entry's fields, each before and after "
        "(lcm.actions.business_fields): the contact's personal data, sealed and erased like "
        "the numbers. Null on every other entry (and left out of its hash).",
    )

    prev_hash = models.CharField(max_length=64, editable=False)
    hash = models.CharField(max_length=64, editable=False)  # not unique: seq is the identity

    # Not chained: how the personal fields are sealed, and their erasure
    # (lcm.audit "Personal fields", docs/audit.md "Erasure").
    salt = models.CharField(  # noqa: DJ001 (null: format 1 or erased, never "")
        max_length=64,
        null=True,
        blank=True,
        editable=False,
        help_text="The entry's secret (hex) from which each personal field's salt is derived. "
        "Null on entries sealed before format 2 (their values are in the hash) and once erased.",
    )
    digests = models.JSONField(
        null=True,
        blank=True,
        editable=False,
        help_text="The salted digests of the personal fields, kept when their values are erased "
        "(format 2): the hash is still recomputed from them.",
    )
    erased_by = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="erased_entries",
        db_index=False,  # a partial index (Meta): almost every entry is not erased
        db_constraint=False,  # the append-only trigger checks it names an erase entry
        help_text="The erase entry that removed this entry's personal values.",
    )
    # Chained through the entry layout's tag (lcm.audit.seal, "Format 3").
    version = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        editable=False,
        help_text="How the entry is sealed: 3 (format 3: byte layouts, one personal digest) "
        "or 4 (format 4: the same, with business_fields in the personal digest). Null on "
        "entries sealed before them (format 1 or 2).",
    )

    class Meta:
        ordering = ["-seq"]
        verbose_name = "audit entry"
        verbose_name_plural = "audit log"
        indexes = [
            models.Index(fields=["account", "-seq"], name="modechange_account_seq_idx"),
            models.Index(fields=["created_at"], name="modechange_created_idx"),
            models.Index(fields=["callid"], name="modechange_callid_idx"),
            models.Index(fields=["agent_code", "-seq"], name="modechange_agent_seq_idx"),
            # The auditors' filters and searches (lcm.admin.audit, lcm.api.audit):
            # each one an index scan, newest first, never a full scan.
            models.Index(fields=["source", "-seq"], name="modechange_source_seq_idx"),
            models.Index(fields=["mode_id", "-seq"], name="modechange_mode_seq_idx"),
            models.Index(fields=["new_number"], name="modechange_new_number_idx"),
            models.Index(fields=["old_number"], name="modechange_old_number_idx"),
            # Sparse columns, indexed where they are set: an entry's reverts
            # (the console's "already reverted", lcm.admin.shared.active_reverts),
            # the erased entries (verify_audit, erasure).
            models.Index(
                fields=["reverts"],
                name="modechange_reverts_idx",
                condition=Q(reverts__isnull=False),
            ),
            models.Index(
                fields=["erased_by"],
                name="modechange_erased_by_idx",
                condition=Q(erased_by__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        if subject := self.settings_subject:
            return f"#{self.seq} {subject}"
        if self.account_id is None:
            return f"#{self.seq} do-not-call list {self.new_number}"
        return f"#{self.seq} {self.account_number} mode {self.mode_id}"

    @property
    def settings_subject(self) -> str:
        """What an entry that belongs to no account is about, "" for the
        others: "campaign Spring", "state TX", "agent 1001's state" (the
        console's list, the entry's page and `str` say it the same way)."""
        details = self.details or {}
        if self.action == self.Action.AGENT_STATE:
            return f"agent {self.agent_code}'s state"
        if self.account_id is not None:
            return ""
        if self.action == self.Action.CAMPAIGN:
            return f"campaign {details.get('campaign', '')}"
        if self.action == self.Action.STATE_LAW:
            return f"state {details.get('state_law', '')}"
        return ""

    @property
    def changes_modes(self) -> bool:
        """Whether the entry changed modes (and so a revert may undo it)."""
        return self.action in self.MODE_ACTIONS


class Callback(models.Model):
    """A callback the contact asked for, bound to one of its modes.

    Bound by `account` + `mode_id` *and* the number's identity at scheduling
    time (`number`, `number_e164`, `number_national`): when the live mode of
    that ModeID later holds another number, is deleted, or its number goes on
    the do-not-call list, the callback is not due any more and needs a
    supervisor's attention (`lcm.actions.callbacks.status`). The window is
    stored as aware datetimes, computed from the callee's local time in
    `time_zone` (the mode's `TimeZone`). Written only by
    `lcm.actions.callbacks`, each change audited in the ModeChange chain.
    """

    class Kind(models.TextChoices):
        REGULAR = "regular", "Regular (any agent)"
        PERSONAL = "personal", "Personal (one agent)"

    class State(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        DONE = "done", "Done"
        CANCELLED = "cancelled", "Cancelled"

    kind = models.CharField(max_length=10, choices=Kind)
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="callbacks")
    mode_id = models.PositiveSmallIntegerField("ModeID")
    number = models.CharField(max_length=21, help_text="The mode's number when scheduled.")
    number_e164 = models.CharField(max_length=21, blank=True)
    number_national = models.CharField(max_length=21, blank=True)
    time_zone = models.CharField(max_length=64, help_text="The callee's zone of the window.")
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    start_date = models.DateField(help_text="The window's first day, in the callee's zone.")
    agent = models.ForeignKey(
        Agent, on_delete=models.PROTECT, related_name="callbacks", help_text="UserID."
    )
    call = models.ForeignKey(
        Call, on_delete=models.PROTECT, null=True, blank=True, related_name="callbacks"
    )
    callid = models.CharField("Call ID", max_length=64, blank=True)
    comments = models.CharField(max_length=500, blank=True)
    state = models.CharField(max_length=10, choices=State, default=State.SCHEDULED)
    outcome = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField()
    created_by = models.CharField(max_length=150, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["window_start", "id"]
        permissions = [("manage_callbacks", "Can list due callbacks and close them (the dialer)")]
        constraints = [
            models.CheckConstraint(
                condition=Q(window_start__lt=models.F("window_end")),
                name="callback_window_start_before_end",
            ),
        ]
        indexes = [
            models.Index(fields=["state", "window_start"], name="callback_state_start_idx"),
            models.Index(
                fields=["agent", "kind", "state", "window_start"], name="callback_agent_idx"
            ),
            models.Index(fields=["account", "state"], name="callback_account_idx"),
        ]

    def __str__(self) -> str:
        return f"callback #{self.pk} {self.account.account_number} mode {self.mode_id}"

    @property
    def identity(self) -> str:
        return self.number_e164 or self.number


class IdempotencyKey(models.Model):
    """One `Idempotency-Key` a user sent with a change, and the reply it got.

    Scoped per user: two users may send the same key. `fingerprint` is the
    SHA-256 of the request's canonical JSON, so a retry is recognised as the
    same request and a different request under a used key is refused.
    Only successful replies are stored, in the transaction of the change
    they report (`lcm.idempotency`): a refused request leaves no row.
    `response_status` is null only inside that transaction, while the change
    runs; no other transaction ever sees it so. Rows older than
    `IDEMPOTENCY_KEY_TTL_HOURS` count as absent and are deleted by
    `manage.py purge_idempotency_keys`.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="idempotency_keys",
        db_index=False,  # the unique (user, key) index leads with it
    )
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the request's JSON.")
    response_status = models.PositiveSmallIntegerField(null=True)
    response_body = models.TextField(blank=True, help_text="The reply envelope, as JSON.")
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = "idempotency key"
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotencykey_user_key_uniq")
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.user_id})"


class AuditCheckpoint(models.Model):
    """A signed statement of the audit log: its first `tree_size` entries have
    Merkle root `root_hash` (RFC 6962, `lcm.audit.merkle`), entry #tree_size has
    `head_hash`, at `timestamp`. Signed with Ed25519 by the key of
    `AUDIT_SIGNING_KEY_FILE` (`key_id` names it), which the database never
    holds: whoever can write this table cannot make a checkpoint. A copy goes
    to the witness outside the database; `witnessed_at` is null while that
    copy is still queued (`lcm.audit.checkpoints.deliver_pending`).
    """

    log = models.CharField(max_length=100)
    tree_size = models.PositiveBigIntegerField(unique=True)
    root_hash = models.CharField(max_length=64)
    head_hash = models.CharField(max_length=64)
    timestamp = models.DateTimeField()
    key_id = models.CharField(max_length=16)
    signature = models.CharField(max_length=100, help_text="Ed25519, base64.")
    witnessed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-tree_size"]
        verbose_name = "audit checkpoint"

    def __str__(self) -> str:
        return f"checkpoint #{self.tree_size} {self.root_hash[:12]}…"


class AuditTreeNode(models.Model):
    """A perfect subtree of the audit Merkle tree: leaves
    [index·2^level, (index+1)·2^level). Stored from level
    `lcm.audit.merkle.STORED_LEVEL` up, when a checkpoint completes it, so that a
    proof reads a few rows instead of the whole log. Never trusted: a wrong
    node only makes a proof fail against the signed root."""

    level = models.PositiveSmallIntegerField()
    index = models.PositiveBigIntegerField()
    hash = models.CharField(max_length=64)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["level", "index"], name="audittreenode_level_index_uniq"
            )
        ]

    def __str__(self) -> str:
        return f"node {self.level}/{self.index}"


class AuditTreeState(models.Model):
    """One row (id 1). `size`/`frontier`: the tree's right edge at the latest
    checkpoint, which the next one resumes from (its row lock serialises
    checkpointing). `verified_size`/`verified_frontier`: where `verify_audit`
    last found the log matching a signed checkpoint, so the next run starts
    there; a frontier that does not fold to that checkpoint's signed root is
    ignored."""

    size = models.PositiveBigIntegerField(default=0)
    frontier = models.JSONField(default=list)
    verified_size = models.PositiveBigIntegerField(default=0)
    verified_frontier = models.JSONField(default=list)
    verified_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"tree at #{self.size}, verified to #{self.verified_size}"


# Imports as background jobs: their tables live in a module of their own.
from .export_job_models import ExportJob  # noqa: E402, F401
from .import_job_models import ImportJob, ImportJobEvent, ImportJobRejected  # noqa: E402, F401

# Outcomes and state law (campaign-services.md sections 4 and 5).
from .outcome_models import (  # noqa: E402, F401
    CallOutcome,
    StateLaw,
    StateLawBarredDate,
    TelephonyOutcome,
)
