"""A small audit log for the auditors' tests: three changes by two agents."""

from django.contrib.auth import get_user_model

from lcm.actions import RequestContext, agent_requests
from lcm.models import ModeChange

DAVID = "5|3|1|0|0|44|1"
MARIA = "596|485|587|0|0|44|59"


def set_number(callid, account, agent, mode_id, number, *, delete_others=False, source=""):
    return agent_requests.set_new_mode_number(
        callid=callid,
        account_number=account,
        mode_id=mode_id,
        contact_number=number,
        delete_other_modes=delete_others,
        agent_id=agent,
        actor=get_user_model().objects.get(username=agent),
        context=RequestContext(source=source, client_ip="10.0.0.7", request_id="r1"),
    )


def make_log() -> list[ModeChange]:
    """#1 testagent sets David's Home, #2 otheragent sets Maria's Home,
    #3 testagent sets David's Office and deletes his other modes."""
    return [
        set_number("12345", DAVID, "testagent", 1, "300 555 0101", source="agentapp"),
        set_number("12346", MARIA, "otheragent", 1, "3005550202", source="crm"),
        set_number(
            "12345", DAVID, "testagent", 2, "3005550303", delete_others=True, source="agentapp"
        ),
    ]
