"""Outcomes and state law (spec campaign-services.md sections 4 and 5).

- `TelephonyOutcome`: the telephony catalogue SetCallOutComeOffline reads
  (the vendor's system rows 0 Success … 9 Reject, migration 0027).
- `CallOutcome`: the one outcome a call holds; a later one replaces it (the
  audit entry keeps the old). Written only by `lcm.actions.outcomes`.
- `StateLaw`, `StateLawBarredDate`: the per-US-state calling rules
  ComplianceCheck applies, edited by supervisors in the console. Written only
  by `lcm.actions.compliance`. The demo's rows are illustrative data, no
  legal claim: the operator's counsel owns them.
"""

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # date.weekday() order
STATE_UNKNOWN = '"{state}" is not a US state code; use two letters such as TX or FL.'
DAY_HALF = "Give {day} both a start and an end, or neither (no calls on a {day})."
DAY_ORDER = "The hours of {day} must end after they start: they cannot run over midnight."
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class TelephonyOutcome(models.Model):
    """A telephony outcome (OutComeID, Description). System rows are the
    vendor's and are never changed; 5 is do-not-call."""

    DNC = 5

    id = models.PositiveSmallIntegerField(primary_key=True, verbose_name="OutComeID")
    description = models.CharField("Description", max_length=100, unique=True)
    system = models.BooleanField(default=False, help_text="One of the vendor's rows.")

    class Meta:
        ordering = ["id"]
        verbose_name = "telephony outcome"

    def __str__(self) -> str:
        return f"{self.id} {self.description}"


class CallOutcome(models.Model):
    """The outcome a call holds: its campaign's business outcome, optionally
    a telephony outcome, the agent's comment, lead score and target amount.
    `do_not_call`: the block a DNC outcome made (`lcm.actions.do_not_call`)."""

    call = models.OneToOneField("lcm.Call", on_delete=models.PROTECT, related_name="outcome")
    account = models.ForeignKey(
        "lcm.Account", on_delete=models.PROTECT, related_name="call_outcomes"
    )
    business_outcome = models.PositiveIntegerField("BusinessOutcome")
    description = models.CharField("Description", max_length=100)
    call_outcome = models.ForeignKey(
        TelephonyOutcome,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="CallOutcome",
    )
    mode_id = models.PositiveSmallIntegerField("ModeID", null=True, blank=True)
    comments = models.CharField("AgentComments", max_length=500, blank=True)
    lead_score = models.PositiveSmallIntegerField("LeadScore", default=0)
    target_amount = models.DecimalField("TargetAmount", max_digits=14, decimal_places=2, default=0)
    do_not_call = models.ForeignKey(
        "lcm.DoNotCallNumber", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    set_at = models.DateTimeField()
    agent_code = models.CharField("AgentID", max_length=64)
    username = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["-set_at"]
        verbose_name = "call outcome"
        constraints = [
            models.CheckConstraint(condition=Q(lead_score__lte=100), name="calloutcome_score_100"),
            models.CheckConstraint(
                condition=Q(target_amount__gte=0), name="calloutcome_amount_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.call_id}: {self.business_outcome} {self.description}"


def _day_fields():
    fields = {}
    for day, name in zip(WEEKDAYS, WEEKDAY_NAMES, strict=True):
        fields[f"{day}_start"] = models.TimeField(
            f"{name} from",
            null=True,
            blank=True,
            help_text=f"Local time of the callee. Empty (both): no calls on a {name}.",
        )
        fields[f"{day}_end"] = models.TimeField(f"{name} until", null=True, blank=True)
    return fields


class StateLaw(models.Model):
    """One US state's calling rules: local hours per weekday (a day without
    hours is barred), barred dates, whether voicemail may be left, a note."""

    state = models.CharField(
        "State", max_length=2, unique=True, help_text="Two-letter USPS code, e.g. TX."
    )
    # mon_start, mon_end, … sun_end: fourteen TimeFields, made by _day_fields (the
    # class body's namespace takes them like written-out fields; makemigrations sees them).
    locals().update(_day_fields())
    voicemail_allowed = models.BooleanField("voicemail allowed", default=True)
    note = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["state"]
        verbose_name = "state calling rule"
        constraints = [
            *(
                models.CheckConstraint(
                    condition=Q(**{f"{d}_start__isnull": True, f"{d}_end__isnull": True})
                    | Q(**{f"{d}_start__lt": models.F(f"{d}_end")}),
                    name=f"statelaw_{d}_both_or_none",
                )
                for d in WEEKDAYS
            ),
        ]

    def __str__(self) -> str:
        return self.state

    def clean(self) -> None:
        """A US state's two-letter code; each day's hours both or neither,
        the end after the start (no hours over midnight)."""
        import us

        problems = {}
        code = (self.state or "").strip().upper()
        found = us.states.lookup(code) if len(code) == 2 else None
        if found is None or found.abbr != code:
            problems["state"] = STATE_UNKNOWN.format(state=self.state)
        else:
            self.state = code
        for day, name in zip(WEEKDAYS, WEEKDAY_NAMES, strict=True):
            start, end = getattr(self, f"{day}_start"), getattr(self, f"{day}_end")
            if (start is None) != (end is None):
                problems[f"{day}_end" if end is None else f"{day}_start"] = DAY_HALF.format(
                    day=name
                )
            elif start is not None and start >= end:
                problems[f"{day}_end"] = DAY_ORDER.format(day=name)
        if problems:
            raise ValidationError(problems)

    def hours(self, weekday: int):
        """(start, end) of `weekday` (0 Monday), or None: no calls that day."""
        day = WEEKDAYS[weekday]
        start, end = getattr(self, f"{day}_start"), getattr(self, f"{day}_end")
        return (start, end) if start is not None and end is not None else None


class StateLawBarredDate(models.Model):
    """A date on which a state bars calls (a holiday, an emergency)."""

    state_law = models.ForeignKey(StateLaw, on_delete=models.CASCADE, related_name="barred_dates")
    date = models.DateField()
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["state_law_id", "date"]
        verbose_name = "barred date"
        constraints = [
            models.UniqueConstraint(fields=["state_law", "date"], name="statelaw_date_once"),
        ]

    def __str__(self) -> str:
        return f"{self.state_law_id} {self.date:%Y-%m-%d}"
