"""Who may do what: the one home of authorization, for every action.

Every domain action checks its caller here, first thing, with `require`
(or, for the agent's identity rules, `may_act_for_agent`): the API views,
the console and the management commands call the action and render its
`errors.NotAllowed` as their door's 403. Views may *also* ask `may` to
decide what to show (a form, a button), never to let a write through.

The permission names are Django's (`app_label.codename`); the groups that
hold them are made by migrations (Supervisors, Auditors, Dialer
integration).
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.cache import cache

from lcm import errors
from lcm.conf import lcm_settings

User = AbstractBaseUser | AnonymousUser | None

ACT_FOR_ANY_AGENT = "lcm.act_for_any_agent"
CHANGE_MODES = "lcm.change_contactmode"
VIEW_MODES = "lcm.view_contactmode"
MANAGE_CALLS = "lcm.manage_calls"
MANAGE_AGENT_SESSIONS = "lcm.manage_agent_sessions"
IMPORT_ACCOUNTS = "lcm.import_accounts"
VIEW_ACCOUNTS = "lcm.view_account"
VIEW_DO_NOT_CALL = "lcm.view_donotcallnumber"
ERASE_CONTACT = "lcm.erase_contact"  # manage.py erase_contact (lcm.actions.erasure)
MANAGE_DO_NOT_CALL = "lcm.add_donotcallnumber"
# The console's actions on system-managed records (held by the Supervisors).
END_STUCK_CALLS = "lcm.change_call"
LOG_AGENTS_OUT = "lcm.change_agent"
MANAGE_CALLBACKS = "lcm.manage_callbacks"  # the dialer: list due callbacks, close them
CHANGE_CALLBACKS = "lcm.change_callback"  # supervisors: reassign, cancel
# Auditors and supervisors: the audit log, its proofs and the as-of reads
# replayed from it (lcm.api.audit, lcm.api.as_of, the console's "As of…").
READ_AUDIT_LOG = "lcm.view_modechange"
# Auditors and supervisors: the exports made (who, which list, when, the
# file's SHA-256), the console's list of export jobs (lcm.admin.export_job_list).
VIEW_EXPORT_JOBS = "lcm.view_exportjob"
CHANGE_TOKENS = "authtoken.change_tokenproxy"
DELETE_TOKENS = "authtoken.delete_tokenproxy"

# The group a dialer/CTI user joins (created by migration 0007, which keeps
# its own copy of this list, as migrations must).
DIALER_GROUP = "Dialer integration"
DIALER_PERMISSIONS = [MANAGE_CALLS, MANAGE_AGENT_SESSIONS, ACT_FOR_ANY_AGENT, IMPORT_ACCOUNTS]

# What the refusal says, per permission (the rest get the generic text).
REFUSALS = {
    CHANGE_MODES: errors.MAY_NOT_CHANGE_MODES,
    MANAGE_CALLS: "You may not register, wrap up or end calls (lcm.manage_calls).",
    MANAGE_AGENT_SESSIONS: "You may not log agents in or out (lcm.manage_agent_sessions).",
    IMPORT_ACCOUNTS: "You may not import accounts (lcm.import_accounts).",
    ERASE_CONTACT: "You may not erase contacts' personal data (lcm.erase_contact).",
    MANAGE_DO_NOT_CALL: "You may not change the do-not-call list.",
    END_STUCK_CALLS: "You may not end calls from the console.",
    LOG_AGENTS_OUT: "You may not log agents out from the console.",
    MANAGE_CALLBACKS: "You may not list or close callbacks (lcm.manage_callbacks).",
    CHANGE_CALLBACKS: "You may not reassign or cancel callbacks (lcm.change_callback).",
    READ_AUDIT_LOG: "Only auditors and supervisors may read the audit log.",
}


def may(user: User, perm: str) -> bool:
    return user is not None and user.is_authenticated and user.has_perm(perm)


def require(user: User, perm: str) -> None:
    """Refuse (403 `forbidden`) unless `user` holds `perm`. `user` None is
    the system itself (a management command run by an operator with shell
    access, who needs no Django permission)."""
    if user is None:
        return
    if not may(user, perm):
        raise errors.NotAllowed(REFUSALS.get(perm, f"You may not do this ({perm})."))


# Who may export a whole list as a background job (lcm.actions.export_jobs):
# whoever may read that list in the console, and whoever loads lists (the
# dialer's integration, the supervisors), who gets them back the same way.
EXPORT_PERMISSIONS = {"accounts": VIEW_ACCOUNTS, "do_not_call": VIEW_DO_NOT_CALL}


def require_export(user: User, list_name: str | None) -> None:
    """Refuse unless `user` may export `list_name` (None: any list)."""
    if user is None:
        return
    lists = [list_name] if list_name else list(EXPORT_PERMISSIONS)
    if may(user, IMPORT_ACCOUNTS) or any(may(user, EXPORT_PERMISSIONS[n]) for n in lists):
        return
    needed = " or ".join(EXPORT_PERMISSIONS[n] for n in lists)
    raise errors.NotAllowed(f"You may not export this list ({needed} or {IMPORT_ACCOUNTS}).")


def may_act_for_any_agent(user: User) -> bool:
    """`user.has_perm("lcm.act_for_any_agent")`, remembered per user for
    `LCM_PERMISSION_CACHE_SECONDS`.

    The auth backend spends two queries (user and group permissions) on the
    first `has_perm` of each request; an integration account sends every
    request of a campaign, so the answer is kept in the cache. A permission
    granted or revoked takes effect within that time.
    """
    if user is None or not user.is_authenticated:
        return False
    timeout = lcm_settings.LCM_PERMISSION_CACHE_SECONDS
    if not timeout:
        return user.has_perm(ACT_FOR_ANY_AGENT)
    key = f"lcm:act_for_any_agent:{user.pk}:{user.get_username()}"
    allowed = cache.get(key)
    if allowed is None:
        allowed = user.has_perm(ACT_FOR_ANY_AGENT)
        cache.set(key, allowed, timeout)
    return allowed


def may_act_for_agent(user: User, agent) -> bool:
    """An agent's own user acts as that agent; a holder of
    `lcm.act_for_any_agent` (an integration account) acts for anyone."""
    return (user is not None and agent.user_id == user.pk) or may_act_for_any_agent(user)


def may_read_any_contact(user: User) -> bool:
    """Integrations and staff with view rights read any contact's modes."""
    return may_act_for_any_agent(user) or may(user, VIEW_MODES)


def agent_pk_of(user: User) -> int | None:
    """The Agent row of `user` (an agent's token), or None."""
    if user is None or not user.is_authenticated:
        return None
    from lcm.models import Agent

    return Agent.objects.filter(user_id=user.pk).values_list("pk", flat=True).first()


def require_account_reader(user: User, account_id: int, account_number: str) -> None:
    """The read rule of GetContactModes without a callid, for every read of
    one account (SetCallOutComeOffline): integrations and staff with view
    rights read any account; an agent, the accounts of its own calls, while
    it is logged in or on an active call (else 409 `prerequisite_failed`)."""
    if may_read_any_contact(user):
        return
    agent_pk = agent_pk_of(user)
    if agent_pk is None:
        raise errors.NotAllowed("You may not read this account.")
    from lcm.models import Call

    if not Call.objects.filter(account_id=account_id, agent_id=agent_pk).exists():
        raise errors.NotAllowed(f"You have no call on account {account_number}.")
    require_agent_present(agent_pk)


def require_agent_present(agent_pk: int) -> None:
    """The vendor's pre-requisite: the agent is logged in or on an active call."""
    from lcm.models import Agent, Call

    if Agent.objects.filter(pk=agent_pk, is_logged_in=True).exists():
        return
    if Call.objects.filter(agent_id=agent_pk, state=Call.State.ACTIVE).exists():
        return
    raise errors.PrerequisiteFailed(
        "The agent is not logged in and is on no active call.",
        msg="The agent must be on an active call or logged in.",
    )


def username(user: User, default: str = "") -> str:
    """Who to record as the author: the user's name, else `default`."""
    return user.get_username() if user is not None and user.is_authenticated else default
