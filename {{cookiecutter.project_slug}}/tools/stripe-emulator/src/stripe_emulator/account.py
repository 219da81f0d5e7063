"""The account: the one Stripe account the emulator is (it has no connected accounts)."""

from . import shapes
from .errors import missing
from .params import LIST_PARAMS, check_params
from .shapes import JSON
from .store import Store

ACCOUNT_ID = "acct_1EmulatorLocal0"


def get_account(store: Store, params: JSON) -> JSON:
    check_params(params, set())
    return shapes.account(ACCOUNT_ID, store.created)


def retrieve_account(store: Store, params: JSON, id: str) -> JSON:
    check_params(params, set())
    if id != ACCOUNT_ID:
        raise missing("account", id)
    return shapes.account(ACCOUNT_ID, store.created)


def list_accounts(store: Store, params: JSON) -> JSON:
    # Connected accounts: this account has none.
    check_params(params, LIST_PARAMS | {"created"})
    return shapes.empty_list("/v1/accounts")
