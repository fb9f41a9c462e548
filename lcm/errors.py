"""Domain errors: each carries a stable `code`, the actual text and the
user-facing message. The API renders them as envelopes (`lcm.api.envelope`),
the admin as form errors. Texts are constants here; tests import them.
"""

from __future__ import annotations

# The vendor's documented texts, to the letter.
CALLID_EMPTY = "Callid is empty"
INVALID_CALL_ID = "Invalid Call ID:{callid}"
INVALID_CALL_ID_MSG = "Invalid Call ID."


class LcmError(Exception):
    """Base of every refusal the domain knows. `status` is the HTTP class."""

    code = "error"
    status = 400
    error_type = "WS_Error"
    retry_after: int | None = None  # seconds, sent as Retry-After when set

    def __init__(self, message: str, *, msg: str | None = None, fields: dict | None = None):
        super().__init__(message)
        self.message = message
        self.msg = msg if msg is not None else message
        self.fields = fields


class InvalidInput(LcmError):
    code = "invalid_fields"
    status = 400


class CallidEmpty(InvalidInput):
    code = "callid_empty"

    def __init__(self, *, fields: dict | None = None):
        super().__init__(CALLID_EMPTY, msg=INVALID_CALL_ID_MSG, fields=fields)


class InvalidNumber(InvalidInput):
    code = "invalid_number"


class UnknownModeType(InvalidInput):
    code = "unknown_mode"


class NotAllowed(LcmError):
    code = "forbidden"
    status = 403


class NotFound(LcmError):
    status = 404


class UnknownCall(NotFound):
    code = "unknown_call"

    def __init__(self, callid: str):
        super().__init__(INVALID_CALL_ID.format(callid=callid), msg=INVALID_CALL_ID_MSG)


class UnknownAccount(NotFound):
    code = "unknown_account"


class UnknownAgent(NotFound):
    code = "unknown_agent"


class UnknownModeChange(NotFound):
    code = "unknown_mode_change"


class UnknownEndpoint(NotFound):
    code = "unknown_endpoint"

    def __init__(self, path: str, docs_url: str | None = None):
        listed = f" The endpoints are listed at {docs_url}." if docs_url else ""
        super().__init__(f"No API endpoint at {path}.{listed}")


class Conflict(LcmError):
    status = 409


# --- Supervisors' console (lcm.actions.supervisor: set_mode_number_as_supervisor,
# revert_mode_change, restore_mode). Texts are format strings; tests import them.

STALE_FORM = (
    "Account {account} was changed (audit entry #{seq}) after this page was shown. "
    "Nothing was saved: look at its modes again and redo the change if it still applies."
)
MODE_SLOT_TAKEN = (
    "Mode {mode_id} already holds {number}. Confirm replacing it to restore {restored}."
)
NOTHING_TO_RESTORE = "This mode is not deleted (or is not a mode of account {account})."
ALREADY_REVERTED = "Audit entry #{seq} was already reverted by entry #{by}."
SUPERSEDED = (
    "Later changes ({seqs}) touched the same modes as entry #{seq}. Reverting overwrites "
    "them: confirm explicitly to go ahead."
)
NOTHING_TO_REVERT = "Entry #{seq} changed nothing that a revert would put back."
NOT_A_MODE_CHANGE = (
    "Entry #{seq} ({action}) changed no mode, so there is nothing to revert: "
    "do-not-call blocks are lifted from the do-not-call list, callbacks cancelled "
    "from the callbacks list."
)
UNKNOWN_MODE_CHANGE = "There is no audit entry {ref}."
MAY_NOT_CHANGE_MODES = "You may not change contact modes."


class StaleForm(Conflict):
    """The account changed between showing a form and submitting it."""

    code = "stale_form"


class ModeSlotTaken(Conflict):
    """Restoring a mode whose ModeID is held by a live mode, without confirming."""

    code = "mode_slot_taken"


class AlreadyReverted(Conflict):
    code = "already_reverted"


class Superseded(Conflict):
    """Reverting an entry that later entries overwrote, without confirming."""

    code = "superseded"


class NothingToRevert(Conflict):
    code = "nothing_to_revert"


class CallAccountMismatch(Conflict):
    code = "call_account_mismatch"


class CallAgentMismatch(Conflict):
    code = "call_agent_mismatch"


class PrerequisiteFailed(Conflict):
    code = "prerequisite_failed"


class DoNotCall(Conflict):
    code = "do_not_call"


class NothingToRestore(Conflict):
    code = "nothing_to_restore"


# --- Mode settings and the do-not-call list (lcm.actions.supervisor, .do_not_call)

NO_LIVE_MODE = "Mode {mode_id} has no live number: set one first."
NOTHING_CHANGED = "Mode {mode_id} already has these settings; nothing was changed."
EXPIRY_IN_THE_PAST = "The end of the block must be in the future (leave it empty: permanent)."


class NoLiveMode(Conflict):
    code = "no_live_mode"


class NothingChanged(Conflict):
    code = "nothing_changed"


class AlreadyListed(Conflict):
    code = "already_listed"


# --- SetDNC and lifting a block (lcm.actions.do_not_call) -----------------------

DNC_MODE_ID_REQUIRED = "ModeID is required when isPhoneNoDNC is true (which number to block)."
DNC_NO_LIVE_MODE = "Account {account_number} has no live mode with ModeID {mode_id}."
DNC_END_BEFORE_START = "DNCBlockEndDate {end} is before DNCBlockStartDate {start}."
DNC_START_IN_THE_PAST = "DNCBlockStartDate {start} is in the past (leave it out: from now)."
DNC_END_IN_THE_PAST = "DNCBlockEndDate {end} is in the past: the period is over."
LIFT_REASON_REQUIRED = "Say why the block is lifted."
# Erasure (lcm.actions.erasure, manage.py erase_contact).
ERASURE_REASON_REQUIRED = "Say why the contact's personal data is erased (--reason)."
ERASURE_REASON_TOO_LONG = "The reason is longer than {limit} characters."
UNKNOWN_ACCOUNT_KEY = "There is no account with LCM key {key!r}: nothing was erased."
ERASURE_BROKEN_ENTRY = (
    "Audit entry #{seq} of this account does not match its hash: erasing it would destroy the "
    "evidence. Nothing was erased; run `python manage.py verify_audit`."
)
ALREADY_LIFTED = "This block was already lifted on {at} by {by}."


class InvalidDate(InvalidInput):
    """A DD/MM/YYYY of the right shape that the calendar lacks."""

    code = "invalid_date"


class PeriodInThePast(InvalidInput):
    code = "period_in_the_past"


# --- Dialer intake: calls and agent sessions ----------------------------------

CALL_START_MISMATCH = "Call {callid} is already registered with start time {started_at}."
CALL_ACCOUNT_TAKEN = "Call {callid} is already registered on account {account_number}."
CALL_AGENT_TAKEN = "Call {callid} is already registered for agent {agent_id}."
CALL_ENDED = "Call {callid} ended at {ended_at}."
END_BEFORE_START = "EndTime {ended_at} is before the call's StartTime {started_at}."
UNKNOWN_ACCOUNT = "Unknown AccountNumber: {account_number}"
UNKNOWN_AGENT = "Unknown AgentID: {agent_id}"
STALE_SESSION_EVENT = (
    "Agent {agent_id} changed state at {changed_at}, after this {event} at {at}; ignored."
)


REASON_REQUIRED = "Say why: the reason is kept with the call's or the agent's history."
CALL_ALREADY_ENDED = "Call {callid} has already ended (at {ended_at}): nothing to do."
AGENT_NOT_LOGGED_IN = "Agent {agent_id} is not logged in: nothing to do."


class ReasonRequired(InvalidInput):
    code = "reason_required"


class AgentNotLoggedIn(Conflict):
    code = "agent_not_logged_in"


class CallStartMismatch(Conflict):
    code = "call_start_mismatch"


class CallEnded(Conflict):
    code = "call_ended"


class EndBeforeStart(InvalidInput):
    code = "end_before_start"


class StaleSessionEvent(Conflict):
    code = "stale_session_event"


# --- Idempotency-Key (lcm.idempotency) ---------------------------------------

INVALID_IDEMPOTENCY_KEY = (
    "Idempotency-Key must be 1 to 255 visible ASCII characters (no spaces or control "
    "characters); a UUID is a good key."
)
IDEMPOTENCY_KEY_REUSED = (
    "Idempotency-Key {key} was already used for a different request. Nothing was done: "
    "send a new key with each new request, and the same key only to retry the same request."
)
IDEMPOTENCY_KEY_REUSED_MSG = "This Idempotency-Key was already used for a different request."


class InvalidIdempotencyKey(InvalidInput):
    code = "invalid_idempotency_key"

    def __init__(self):
        super().__init__(INVALID_IDEMPOTENCY_KEY)


class IdempotencyKeyReused(LcmError):
    code = "idempotency_key_reused"
    status = 422

    def __init__(self, key: str):
        super().__init__(IDEMPOTENCY_KEY_REUSED.format(key=key), msg=IDEMPOTENCY_KEY_REUSED_MSG)


# --- Failures that are not refusals: the database, a bug -----------------------

DATABASE_UNAVAILABLE = (
    "The database is unavailable. Retry in a moment, with the same Idempotency-Key."
)
INTERNAL_ERROR = (
    "Internal error, request id {request_id}. Retry with the same Idempotency-Key; "
    "quote the request id if it persists."
)
# A PostgreSQL restart or failover takes a few seconds.
DATABASE_RETRY_AFTER_SECONDS = 2


class DatabaseUnavailable(LcmError):
    """The database cannot be reached or dropped the connection (503).
    The transaction did not commit, unless the connection broke on COMMIT
    itself: the client cannot know, hence the Idempotency-Key."""

    code = "database_unavailable"
    status = 503
    retry_after = DATABASE_RETRY_AFTER_SECONDS

    def __init__(self):
        super().__init__(DATABASE_UNAVAILABLE)


# The database is up but refuses every write: its disk is full, or it is
# read-only (a standby: a failover moved the primary elsewhere, or
# default_transaction_read_only). docs/operations.md, "Faults".
DATABASE_FULL = (
    "The database's disk is full, so nothing can be saved: nothing was. Retry later with the "
    "same Idempotency-Key; the operator must free disk space."
)
DATABASE_READ_ONLY = (
    "The database is read-only (a standby, or during a failover), so nothing can be saved: "
    "nothing was. Retry in a moment with the same Idempotency-Key."
)
# Freeing a disk takes an operator: retrying every 2 s would only add load.
DATABASE_FULL_RETRY_AFTER_SECONDS = 60
# The auditors' read replica (lcm.replica): down, or too far behind.
REPLICA_DOWN = (
    "The audit log's read replica ({alias}) does not answer, so the audit log cannot be read "
    "right now. The agents' work is not affected. Retry in a moment."
)
REPLICA_BEHIND = (
    "The audit log's read replica ({alias}) is {lag} behind the primary (more than "
    "LCM_AUDIT_REPLICA_MAX_LAG, {bound:g} s), so it would show an out-of-date log. The agents' "
    "work is not affected. Retry in a moment."
)


class DatabaseFull(DatabaseUnavailable):
    """A write the database refused for want of disk space (SQLSTATE 53100,
    SQLite's SQLITE_FULL): the transaction rolled back (503)."""

    code = "database_full"
    retry_after = DATABASE_FULL_RETRY_AFTER_SECONDS

    def __init__(self):
        LcmError.__init__(self, DATABASE_FULL)


class DatabaseReadOnly(DatabaseUnavailable):
    """A write sent to a database that takes none (SQLSTATE 25006, SQLite's
    SQLITE_READONLY): the transaction rolled back (503)."""

    code = "database_read_only"

    def __init__(self):
        LcmError.__init__(self, DATABASE_READ_ONLY)


class ReplicaUnavailable(DatabaseUnavailable):
    """The auditors' replica does not answer, or lags past the bound (503,
    `database_unavailable` like any other unreachable database)."""

    def __init__(self, message: str):
        LcmError.__init__(self, message)


class InternalError(LcmError):
    """An exception no code raises on purpose (500); logged with its traceback."""

    code = "internal_error"
    status = 500

    def __init__(self, request_id: str):
        super().__init__(INTERNAL_ERROR.format(request_id=request_id))


# --- The auditors' proofs (lcm.api.audit: ModeChangeProof, CheckpointConsistency).

NOT_CHECKPOINTED = (
    "No signed checkpoint covers entry #{seq} yet: one is made every "
    "LCM_AUDIT_CHECKPOINT_EVERY entries or LCM_AUDIT_CHECKPOINT_MINUTES minutes."
)
UNKNOWN_CHECKPOINT = "There is no signed checkpoint #{size}."
UNKNOWN_IMPORT = "There is no import {job_id}."
UNKNOWN_EXPORT = "There is no export {job_id}."
EXPORT_NOT_READY = "Export {job} is not done ({state}): its file is not ready yet."
EXPORT_NOT_RESUMABLE = "Export {job} cannot be resumed: it is {state}."
EXPORT_EXPIRED = (
    "Export {job} has expired: its file was deleted {hours} hours after it was written "
    "(LCM_EXPORT_KEEP_HOURS). Export the list again."
)
NO_CHECKPOINT_YET = "There is no signed checkpoint yet."
NOT_A_TREE_SIZE = "'{value}' is not a checkpoint's tree size."
FIRST_AFTER_SECOND = "The first checkpoint must not be the later one."
PARAMETER_REQUIRED = "This parameter is required."


class NotCheckpointed(Conflict):
    """An entry no signed checkpoint covers yet: there is no proof to give."""

    code = "not_checkpointed"


class UnknownCheckpoint(NotFound):
    code = "unknown_checkpoint"


# --- Outcomes and ComplianceCheck (campaign-services.md sections 4 and 5) ----------

UNKNOWN_BUSINESS_OUTCOME = "{field} {value} is not an outcome of campaign {campaign}."
UNKNOWN_CALL_OUTCOME = "CallOutcome {value!r} is not a telephony outcome (SetCallOutComeOffline)."
DNC_END_DATE_REQUIRED = (
    "DNCBlockEndDate is required: campaign {campaign} lets the agent choose how long a "
    "do-not-call outcome blocks (Agent Selection)."
)
UNKNOWN_CAMPAIGN = "Unknown campaign: {name}"


class UnknownOutcome(InvalidInput):
    code = "unknown_outcome"


class UnknownCampaign(NotFound):
    code = "unknown_campaign"


# --- As-of reads (lcm.api.as_of): an account's modes at an instant, from the log.

AT_NOT_AN_INSTANT = (
    "'{value}' is not an instant: give an ISO 8601 date and time, such as "
    "2026-03-14T10:02:00Z (without an offset: the server's TIME_ZONE)."
)
AT_IN_THE_FUTURE = "{at} is in the future: the log can only say what was known until now."
UNKNOWN_ACCOUNT_KEY_AS_OF = "There is no account with LCM key {key}."
BEFORE_ACCOUNT = "Account {key} did not exist at {at}: it was created at {created}."
AS_OF_NOT_CHECKPOINTED = (
    "No signed checkpoint covers entry #{seq}, the last one this answer reads, yet: "
    "ask again without proof=1, or after the next checkpoint."
)


class AccountNotYet(NotFound):
    """An as-of instant before the account was created."""

    code = "account_not_yet_created"


# --- Business fields (lcm.actions.business_fields, spec campaign-services.md §6) --

UNKNOWN_BUSINESS_FIELD = "Campaign {campaign} has no business field {name}."
FIELD_TYPE_MISMATCH = "Business field {name} is a {expected}, not a {given}."
BUSINESS_FIELD_READ_ONLY = "Business field {name} is not editable by agents."
BUSINESS_FIELD_TWICE = "Business field {name} is given more than once."


class UnknownBusinessField(InvalidInput):
    code = "unknown_business_field"


class FieldTypeMismatch(InvalidInput):
    code = "field_type_mismatch"


class InvalidBusinessField(InvalidInput):
    code = "invalid_business_field"
