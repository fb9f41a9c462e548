"""An account's business field values (spec campaign-services.md section 6):
the only writer of `BusinessFieldValue`. The values are the contact's
personal data: `erase_contact` removes them through `erase_for_account`.

(The agent's SetContactBusinessFields, typed validation and its audited
before/after are not built yet: issue 31's notes.)"""

from __future__ import annotations

from lcm.models import Account, BusinessFieldValue


def erase_for_account(account: Account) -> int:
    """Delete every business field value of `account`; returns how many."""
    count, _ = BusinessFieldValue.objects.filter(account=account).delete()
    return count


def holds_values(account: Account) -> bool:
    return BusinessFieldValue.objects.filter(account=account).exists()
