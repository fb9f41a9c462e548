import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from lcm.actions import campaigns
from lcm.actions.do_not_call import add_number
from lcm.models import Account, Agent, Call, ContactMode, DoNotCallNumber, ModeType
from lcm.numbers import identify


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("pw")


class ModeTypeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ModeType
        django_get_or_create = ["id"]

    id = factory.Sequence(lambda n: n + 1)
    name = factory.LazyAttribute(lambda o: f"Mode {o.id}")


class AgentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Agent

    agent_id = factory.Sequence(lambda n: f"agent{n}")
    user = factory.SubFactory(UserFactory, username=factory.SelfAttribute("..agent_id"))
    is_logged_in = True


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account

    account_number = factory.Sequence(lambda n: f"9|9|{n}|0|0|44|1")
    first_name = "Ada"
    last_name = factory.Sequence(lambda n: f"Customer{n}")

    @classmethod
    def _adjust_kwargs(cls, **kwargs):
        """`campaign="Autumn"`: the account of that CampaignID, created as an
        import would create it (every mode type) when missing."""
        campaign = kwargs.pop("campaign", "")
        if isinstance(campaign, str):
            campaigns.ensure([campaign])
            kwargs["campaign_id"] = campaign
        else:
            kwargs["campaign"] = campaign
        return kwargs


class ContactModeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ContactMode

    account = factory.SubFactory(AccountFactory)
    mode_type = factory.SubFactory(ModeTypeFactory)
    number = factory.Sequence(lambda n: f"20255{n:05d}")
    number_as_given = factory.SelfAttribute("number")
    # The identity columns, as the mode kernel computes them.
    number_e164 = factory.LazyAttribute(lambda o: identify(o.number).e164)
    number_national = factory.LazyAttribute(lambda o: identify(o.number).national)
    changed_at = factory.LazyFunction(timezone.now)


class CallFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Call

    callid = factory.Sequence(lambda n: f"c{n}")
    account = factory.SubFactory(AccountFactory)
    agent = factory.SubFactory(AgentFactory)
    state = Call.State.ACTIVE
    started_at = factory.LazyFunction(timezone.now)


class DoNotCallFactory(factory.django.DjangoModelFactory):
    """Through the one writer of the list, so entries carry their identity."""

    class Meta:
        model = DoNotCallNumber

    number = "2025550199"

    @classmethod
    def _create(cls, model_class, number, **kwargs):
        existing = model_class.objects.filter(number=number).first()
        return existing or add_number(number=number, **kwargs)[0]
