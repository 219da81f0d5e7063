"""The emulator's contract: the top-level keys, and the JSON type of each, of every
resource the emulator serves, as Stripe's own example objects have them.

Stripe publishes an example of every API resource in `openapi/fixtures3.json` of its
stripe/openapi repository. This module derives the contract from that file; the
result is kept in the emulator's tests (`tests/contract.json`), so the contract
tests need nothing outside this folder. To derive it again from a newer file:

    python -m stripe_emulator.contract PATH/TO/fixtures3.json --commit SHA
"""

import argparse
import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any

SOURCE_REPOSITORY = "stripe/openapi"
SOURCE_PATH = "openapi/fixtures3.json"
SOURCE_COMMIT = "f0758b15a2cf53779d699452f4ab07d11076af0f"
# Where a checkout of this project's development tree keeps Stripe's file.
SHARED_FIXTURES = Path("shared") / "stripe" / "fixtures3.json"
# Every resource the emulator serves, by its name in fixtures3.json.
SERVED_RESOURCES = (
    "account",
    "billing_portal.configuration",
    "billing_portal.session",
    "charge",
    "checkout.session",
    "coupon",
    "customer",
    "customer_balance_transaction",
    "deleted_coupon",
    "deleted_customer",
    "deleted_discount",
    "deleted_product",
    "deleted_test_helpers.test_clock",
    "deleted_webhook_endpoint",
    "discount",
    "event",
    "invoice",
    "invoice_payment",
    "item",
    "line_item",
    "payment_intent",
    "payment_method",
    "plan",
    "price",
    "product",
    "promotion_code",
    "refund",
    "subscription",
    "subscription_item",
    "test_helpers.test_clock",
    "webhook_endpoint",
)


def json_type(value: Any) -> str:
    """The JSON type of a value: null, boolean, number, string, array or object."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return {str: "string", list: "array", dict: "object"}[type(value)]


def derive(
    fixtures: dict[str, Any], commit: str = SOURCE_COMMIT, sha256: str | None = None
) -> dict[str, Any]:
    """The contract of the served resources, from fixtures3.json's parsed content."""
    resources = fixtures["resources"]
    return {
        "source": {
            "repository": SOURCE_REPOSITORY,
            "path": SOURCE_PATH,
            "commit": commit,
            "sha256": sha256,
        },
        "resources": {
            name: {
                key: json_type(value) for key, value in sorted(resources[name].items())
            }
            for name in SERVED_RESOURCES
        },
    }


def mismatches(served: dict[str, Any], shape: dict[str, str]) -> list[str]:
    """Keys missing or extra, and values whose JSON type differs from the contract's.

    Null matches any type on either side: Stripe allows null for many fields, and its
    example leaves some fields null that the emulator fills (and the other way round).
    """
    problems = [f"missing {k}" for k in sorted(set(shape) - set(served))]
    problems += [f"extra {k}" for k in sorted(set(served) - set(shape))]
    for key in sorted(set(served) & set(shape)):
        ours, theirs = json_type(served[key]), shape[key]
        if "null" not in (ours, theirs) and ours != theirs:
            problems.append(f"{key}: {ours} where Stripe has {theirs}")
    return problems


def find_fixtures(start: Path) -> Path | None:
    """fixtures3.json from $STRIPE_FIXTURES, or `shared/stripe/` in a folder above."""
    if os.environ.get("STRIPE_FIXTURES"):
        return Path(os.environ["STRIPE_FIXTURES"])
    for folder in [start.resolve(), *start.resolve().parents]:
        if (folder / SHARED_FIXTURES).is_file():
            return folder / SHARED_FIXTURES
    return None


def default_output() -> Path:
    """tests/contract.json of the emulator's folder (src/stripe_emulator/ is two below)."""
    return Path(__file__).resolve().parents[2] / "tests" / "contract.json"


def write(contract: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(contract, indent=2, sort_keys=True) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m stripe_emulator.contract",
        description="Derive the emulator's contract from Stripe's fixtures3.json.",
    )
    parser.add_argument(
        "fixtures",
        nargs="?",
        type=Path,
        help="fixtures3.json (default: $STRIPE_FIXTURES or shared/stripe/ above here)",
    )
    parser.add_argument(
        "--commit", default=SOURCE_COMMIT, help="the stripe/openapi commit of the file"
    )
    parser.add_argument(
        "--output", type=Path, default=None, help="default: tests/contract.json"
    )
    args = parser.parse_args(argv)
    source = args.fixtures or find_fixtures(Path.cwd()) or find_fixtures(Path(__file__))
    if source is None or not source.is_file():
        print(
            "stripe_emulator.contract: fixtures3.json not found; pass its path"
            " or set STRIPE_FIXTURES",
            file=sys.stderr,
        )
        return 1
    raw = source.read_bytes()
    try:
        contract = derive(json.loads(raw), args.commit, hashlib.sha256(raw).hexdigest())
    except (ValueError, KeyError) as error:
        print(
            f"stripe_emulator.contract: {source} is not Stripe's fixtures3.json"
            f" ({error!r})",
            file=sys.stderr,
        )
        return 1
    output = args.output or default_output()
    write(contract, output)
    count = len(contract["resources"])
    print(f"Wrote the contract of {count} resources from {source} to {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
