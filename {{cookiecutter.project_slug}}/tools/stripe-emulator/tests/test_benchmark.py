"""The benchmark script runs both doors and prints its figures (no timing is asserted)."""

import stripe

from stripe_emulator import benchmark


def test_benchmark_prints_rates_and_ratios(capsys):
    before = stripe.default_http_client, stripe.api_base

    benchmark.main(["--requests", "3"])

    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("3 calls each")
    assert lines[2].startswith("subscription retrieve") and lines[2].endswith("x")
    assert lines[3].startswith("subscription update") and lines[3].endswith("x")
    assert "engine alone" in lines[4]
    assert (stripe.default_http_client, stripe.api_base) == before
