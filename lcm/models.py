"""The lcm domain: who calls whom, on which number, and what changed.

Business rules live in `lcm.services`; models hold fields, invariants
(constraints) and the indexes of the hot queries.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q


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
        if errors:
            raise ValidationError(errors)


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
    campaign = models.CharField(max_length=100, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["account_number"]

    def __str__(self) -> str:
        name = f"{self.first_name} {self.last_name}".strip()
        return f"{self.account_number} ({name})" if name else self.account_number


class ContactMode(models.Model):
    """One number slot of an account.

    A mode is never erased: deleting sets `deleted_at`, so a supervisor can
    restore it and the audit log keeps pointing at a real row. At most one
    *live* mode per (account, ModeID) — a partial unique index.
    """

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="modes")
    mode_type = models.ForeignKey(ModeType, on_delete=models.PROTECT, related_name="+")
    number = models.CharField(
        "CValue", max_length=21, help_text="The cleaned number: optional + and digits."
    )
    number_as_given = models.CharField(max_length=64, blank=True)
    number_e164 = models.CharField(
        "E.164", max_length=21, blank=True, help_text="Set when a default region is configured."
    )
    has_consent = models.BooleanField(
        "PEWC",
        default=False,
        help_text="Prior express written consent for this number. A new number starts without.",
    )
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
        ]
        indexes = [
            # Admin search "any of the contact's numbers".
            models.Index(fields=["number"], name="contactmode_number_idx"),
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

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name = "agent session event"
        indexes = [models.Index(fields=["agent", "-at"], name="agentsession_agent_at_idx")]

    def __str__(self) -> str:
        return f"{self.agent.agent_id} {self.event} at {self.at:%Y-%m-%d %H:%M:%S}"


class DoNotCallNumber(models.Model):
    """A number that must never be stored as a contact mode."""

    number = models.CharField(
        max_length=21, unique=True, help_text="Cleaned form: optional + and digits."
    )
    reason = models.CharField(max_length=200, blank=True)
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["number"]
        verbose_name = "do-not-call number"

    def __str__(self) -> str:
        return self.number

    def clean(self) -> None:
        """Store the cleaned form, the one modes are compared with."""
        from .errors import InvalidNumber
        from .numbers import clean_number

        try:
            self.number = clean_number(self.number or "", region="").number
        except InvalidNumber as exc:
            raise ValidationError({"number": exc.message}) from None


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
    modes deleted with it as ``[{"mode_id": 2, "number": "…"}, …]``.
    When and from where: `created_at`, `callid`, `client_ip`, `request_id`.

    Identifiers are copied as text, so the entry reads the same whatever
    happens to the rows it names; the foreign keys are PROTECT, so those rows
    cannot be deleted from under it. `seq`, `prev_hash` and `hash` chain the
    entries (see `lcm.audit`).
    """

    class Action(models.TextChoices):
        SET = "set", "Set number"
        REVERT = "revert", "Revert"
        RESTORE = "restore", "Restore"
        IMPORT = "import", "Import"

    seq = models.BigIntegerField(unique=True, editable=False)
    created_at = models.DateTimeField(editable=False)
    action = models.CharField(max_length=10, choices=Action, default=Action.SET)

    account = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="mode_changes", db_index=False
    )
    account_number = models.CharField("LCM key", max_length=128)
    call = models.ForeignKey(
        Call, on_delete=models.PROTECT, null=True, blank=True, related_name="mode_changes"
    )
    callid = models.CharField("Call ID", max_length=64, blank=True)
    agent = models.ForeignKey(
        Agent, on_delete=models.PROTECT, null=True, blank=True, related_name="mode_changes"
    )
    agent_code = models.CharField("AgentID", max_length=64, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="mode_changes",
    )
    username = models.CharField(max_length=150, blank=True)
    source = models.CharField("source app", max_length=100, blank=True)

    mode_id = models.PositiveSmallIntegerField("ModeID")
    old_number = models.CharField(max_length=21, blank=True)
    new_number = models.CharField(max_length=21)
    new_number_e164 = models.CharField(max_length=21, blank=True)
    deleted_modes = models.JSONField(default=list, blank=True)
    reverts = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="reverted_by"
    )

    client_ip = models.GenericIPAddressField(null=True, blank=True)
    request_id = models.CharField(max_length=64, blank=True)

    prev_hash = models.CharField(max_length=64, editable=False)
    hash = models.CharField(max_length=64, unique=True, editable=False)

    class Meta:
        ordering = ["-seq"]
        verbose_name = "mode change"
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
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.account_number} mode {self.mode_id}"


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
