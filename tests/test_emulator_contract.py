"""The emulator's committed contract is what Stripe's own example objects say.

The emulator's tests read `tests/contract.json`, derived from Stripe's fixtures3.json,
so they run anywhere; this checks the derivation against the file itself, which only
the kit's development tree has (`../shared/stripe/`).
"""

import json
import os

import pytest

from conftest import REPO_ROOT, STRIPE_FIXTURES

CONTRACT = (
    REPO_ROOT / "{{cookiecutter.project_slug}}" / "tools" / "stripe-emulator" / "tests"
) / "contract.json"


def test_the_committed_contract_is_derived_from_stripes_fixtures():
    from stripe_emulator.contract import SOURCE_COMMIT, derive

    if not STRIPE_FIXTURES.is_file():
        message = f"Stripe's fixtures3.json is not at {STRIPE_FIXTURES}"
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail(f"REQUIRE_SERVICES=1 but {message}")
        pytest.skip(message)
    committed = json.loads(CONTRACT.read_text())
    derived = derive(json.loads(STRIPE_FIXTURES.read_text()))

    assert committed["source"]["commit"] == SOURCE_COMMIT
    assert committed["resources"] == derived["resources"]
