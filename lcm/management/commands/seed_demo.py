"""Load the demo data set (idempotent): run it as often as you like.

Demo users get passwords only from here, never from a fixture in the repo:
the password is `DEMO_PASSWORD` from the environment, or generated and
printed on the first run.
"""

from __future__ import annotations

import contextlib
import secrets
from datetime import time, timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management.base import BaseCommand
from django.db import transaction
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from lcm.actions import RequestContext, campaigns, compliance, outcomes
from lcm.actions.do_not_call import add_number
from lcm.actions.imports import import_accounts
from lcm.actions.permissions import DIALER_GROUP, DIALER_PERMISSIONS
from lcm.conf import lcm_settings
from lcm.errors import InvalidNumber
from lcm.imports import ImportMode, ImportRow
from lcm.models import Account, Agent, BusinessFieldValue, Call, Campaign, DoNotCallNumber, ModeType
from lcm.numbers import clean_for_mode

NAME_FIELDS = ("first_name", "last_name", "campaign_id", "country", "time_zone", "zip_code")

MODE_TYPES = [(1, "Home"), (2, "Office"), (3, "Mobile")]
AGENTS = [("testagent", True), ("otheragent", True), ("offagent", False)]
# LCM key, first and last name, campaign, country, time zone, ZIP code, modes.
ACCOUNTS = [
    ("5|3|1|0|0|44|1", "David", "Berry", "Spring", "US", "America/New_York", "20500",
     {1: "6491462346", 2: "2025550143"}),
    ("596|485|587|0|0|44|59", "Maria", "Lopez", "Spring", "US", "", "",
     {1: "2025550111"}),
]  # fmt: skip
CALLS = [
    ("12345", "testagent", "5|3|1|0|0|44|1", Call.State.ACTIVE),
    ("12346", "otheragent", "596|485|587|0|0|44|59", Call.State.ACTIVE),
    ("12300", "testagent", "5|3|1|0|0|44|1", Call.State.ENDED),
    ("12301", "offagent", "5|3|1|0|0|44|1", Call.State.ENDED),
]
# The demo campaign (spec campaign-services.md section 1, "Demo data").
SPRING = "Spring"
SPRING_SETTINGS = {
    "name": "Spring",
    "category": "Sales",
    "time_zone": "America/New_York",
    "window_start": time(8, 0),
    "window_end": time(21, 0),
    "every_mode_type": False,
    "requires_consent": False,
    "disposition_required": True,
    "dnc_period_type": Campaign.DncPeriod.PERMANENT,
    "dnc_days": 0,
    "dnc_end_of_day": False,
    "customer_dnc_time_zone": False,
}
SPRING_MODES = {
    mode_id: {
        "channel_type": ModeType.Channel.VOICE,
        "min_length": 3,
        "max_length": 20,
        "window_start": None,
        "window_end": None,
        "callback": mode_id in (2, 3),
        "voicemail": True,
    }
    for mode_id in (1, 2, 3)
}
SPRING_OUTCOMES = [(101, "Sale", None), (102, "Not interested", None), (103, "Do not call", 5)]
_POP = {"mandatory": False, "screen_pop": True}
SPRING_FIELDS = [
    {"name": "CustomerRef", "data_type": "String", "format": "20", "dnc_field": True,
     "agent_editable": False, **_POP},
    {"name": "Balance", "data_type": "Number", "format": "0.00", "dnc_field": False,
     "agent_editable": True, **_POP},
    {"name": "DueDate", "data_type": "DateTime", "format": "DD/MM/YYYY", "dnc_field": False,
     "agent_editable": True, **_POP},
    {"name": "Email", "data_type": "String", "format": "100", "dnc_field": False,
     "agent_editable": True, **_POP},
]  # fmt: skip
# Set once (a value an agent changed since is kept).
BUSINESS_VALUES = [
    ("5|3|1|0|0|44|1", "CustomerRef", "DB-0001"),
    ("5|3|1|0|0|44|1", "Balance", "120.50"),
]
DNC_NUMBERS = [("2025550199", "Customer asked not to be called")]
SUPERVISOR = "supervisor"  # staff in the Supervisors group (migration 0005), not superuser
SUPERUSER = "admin"
INTEGRATION = "dialer"
AUDITOR = "auditor"
AUDITORS_GROUP = "Auditors"  # created by migration 0004
# With LCM_DEFAULT_REGION set, every number must be valid in its account's
# country: a demo number that is not (David's mode 1, on purpose: its zone is
# the account's) is left out, and the summary says so. The rest loads.
DEMO_NUMBER_LEFT_OUT = (
    "Left out under LCM_DEFAULT_REGION={region}: mode {mode_id} of {account} ({number}): {reason}"
)


class Command(BaseCommand):
    help = "Create or refresh the demo data set (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--password",
            default=None,
            help="Password for every demo user (default: $DEMO_PASSWORD, else generated "
            "once; existing users keep theirs).",
        )
        parser.add_argument(
            "--base-url",
            default="http://127.0.0.1:8000",
            help="Where the site is served, for the URLs printed at the end "
            "(default http://127.0.0.1:8000; make run passes its HOST and PORT).",
        )

    @transaction.atomic
    def handle(self, *args, password=None, base_url="http://127.0.0.1:8000", **options):
        import os

        given = (
            "--password" if password else "DEMO_PASSWORD" if os.environ.get("DEMO_PASSWORD") else ""
        )
        password = password or os.environ.get("DEMO_PASSWORD") or None
        generated = None
        User = get_user_model()
        now = timezone.now()

        def user(username: str, **flags):
            nonlocal generated
            obj, created = User.objects.get_or_create(
                **{User.USERNAME_FIELD: username}, defaults=flags
            )
            for key, value in flags.items():
                setattr(obj, key, value)
            if password:
                obj.set_password(password)
            elif created or not obj.has_usable_password():
                generated = generated or secrets.token_urlsafe(12)
                obj.set_password(generated)
            obj.save()
            return obj

        for mode_id, name in MODE_TYPES:
            ModeType.objects.update_or_create(
                id=mode_id, defaults={"name": name, "channel_type": ModeType.Channel.VOICE}
            )

        campaigns.ensure([campaigns.DEFAULT_CAMPAIGN])
        spring = campaigns.save_demo(
            code=SPRING,
            values=SPRING_SETTINGS,
            modes=SPRING_MODES,
            outcomes=SPRING_OUTCOMES,
            fields=SPRING_FIELDS,
        )

        outcomes.ensure_catalogue()  # the vendor's telephony outcomes (migration 0027's)
        compliance.save_demo()  # section 5's state rows: illustrative, not legal advice

        agents = {}
        for agent_id, logged_in in AGENTS:
            agents[agent_id], _ = Agent.objects.update_or_create(
                agent_id=agent_id,
                defaults={
                    "user": user(agent_id),
                    "is_logged_in": logged_in,
                    "logged_in_changed_at": now,
                },
            )

        # New demo accounts come in as an import would bring them (their
        # modes through the mode kernel, each audited); re-seeding never
        # overwrites accounts or numbers changed since.
        mode_types = {m.id: m for m in ModeType.objects.all()}
        new_rows, left_out = [], []
        for n, (key, *fields, numbers) in enumerate(ACCOUNTS, start=1):
            if Account.objects.filter(account_number=key).exists():
                continue
            names = dict(zip(NAME_FIELDS, fields, strict=True))
            row_modes = {}
            for mode_id, number in numbers.items():
                # Read in the account's country, as the import reads a row.
                try:
                    clean = clean_for_mode(number, mode_types[mode_id], country=names["country"])
                except InvalidNumber as exc:
                    left_out.append(
                        DEMO_NUMBER_LEFT_OUT.format(
                            region=lcm_settings.LCM_DEFAULT_REGION,
                            mode_id=mode_id,
                            account=key,
                            number=number,
                            reason=exc.message,
                        )
                    )
                    continue
                row_modes[mode_id] = ImportMode(mode_types[mode_id], clean, number)
            new_rows.append(ImportRow(line=n, account_number=key, names=names, modes=row_modes))
        if new_rows:
            import_accounts(rows=new_rows, source="seed_demo")
        accounts = {a.account_number: a for a in Account.objects.filter(
            account_number__in=[key for key, *_ in ACCOUNTS])}  # fmt: skip
        fields = {f.name: f for f in spring.fields.all()}
        for key, name, value in BUSINESS_VALUES:
            BusinessFieldValue.objects.get_or_create(
                account=accounts[key], field=fields[name], defaults={"value": value}
            )

        for callid, agent_id, key, state in CALLS:
            Call.objects.update_or_create(
                callid=callid,
                defaults={
                    "agent": agents[agent_id],
                    "account": accounts[key],
                    "state": state,
                    "started_at": now - timedelta(minutes=10),
                    "ended_at": now - timedelta(minutes=5) if state == Call.State.ENDED else None,
                },
            )

        for number, reason in DNC_NUMBERS:
            if not DoNotCallNumber.objects.filter(number=number).exists():
                add_number(number=number, reason=reason, context=RequestContext(source="seed_demo"))

        supervisor = user(SUPERVISOR, is_staff=True, is_superuser=False)
        supervisor.groups.add(Group.objects.get(name="Supervisors"))

        dialer = user(INTEGRATION)
        dialer.user_permissions.add(
            Permission.objects.get(codename="act_for_any_agent", content_type__app_label="lcm")
        )
        # The calls and agent sessions API. Migration 0007 creates the group;
        # recreated here when a test database was flushed since.
        group, _ = Group.objects.get_or_create(name=DIALER_GROUP)
        group.permissions.add(
            *(
                Permission.objects.get(content_type__app_label="lcm", codename=perm.split(".")[1])
                for perm in DIALER_PERMISSIONS
            )
        )
        dialer.groups.add(group)
        user(SUPERUSER, is_staff=True, is_superuser=True)
        user(AUDITOR, is_staff=True).groups.add(Group.objects.get(name=AUDITORS_GROUP))

        self._print_summary(
            base_url.rstrip("/"), password=password, given=given, generated=generated
        )
        for line in left_out:
            self.stdout.write(line)

    def _print_summary(self, base_url: str, *, password, given: str, generated) -> None:
        """What a newcomer needs, once, at the end: who, with which password, where."""
        out = self.stdout.write
        out(self.style.SUCCESS("Demo data ready."))
        users = ", ".join([SUPERUSER, SUPERVISOR, INTEGRATION, AUDITOR] + [a for a, _ in AGENTS])
        out(f"Demo users: {users}")
        if generated:
            out(
                f"Password:   {generated}  (generated now and shown only this once; "
                "set DEMO_PASSWORD to choose one)"
            )
        elif password:
            out(f"Password:   {password}  (from {given})")
        else:
            out(
                "Password:   unchanged: the one printed when the users were created "
                "(set DEMO_PASSWORD or pass --password to reset it)"
            )
        out(
            f"Admin:      {base_url}{reverse('admin:index')}  (user '{SUPERUSER}'; "
            f"'{SUPERVISOR}' runs the console, '{AUDITOR}' reads only)"
        )
        out(
            f"API:        POST {base_url}{reverse('lcm-api:webservice')}  with a token from "
            "`python manage.py drf_create_token testagent`"
        )
        with contextlib.suppress(NoReverseMatch):  # a host may serve no docs page
            out(f"API docs:   {base_url}{reverse('api-docs')}")
