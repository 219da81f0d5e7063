"""The billing life of a baked site, in Chromium: team with per-seat, and user.

Bakes each option set and runs its own browser test (tests/test_e2e_billing.py),
which starts the Stripe emulator and the site as real processes on loopback and
saves a screenshot per step; those are copied under test-artifacts/e2e/<option set>/.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cookiecutter.main import cookiecutter

pytestmark = pytest.mark.xdist_group("e2e")

TEMPLATE = Path(__file__).resolve().parent.parent
ARTIFACTS = TEMPLATE / "test-artifacts" / "e2e"


@pytest.mark.parametrize(
    ("billing_subject", "per_seat_billing"), [("team", "y"), ("user", "n")]
)
def test_a_baked_site_subscribes_changes_plan_and_cancels_in_a_browser(
    tmp_path, billing_subject, per_seat_billing
):
    if not Path("/usr/bin/chromium").exists():
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail("/usr/bin/chromium is not installed")
        pytest.skip("/usr/bin/chromium is not installed")
    site = Path(
        cookiecutter(
            str(TEMPLATE),
            no_input=True,
            output_dir=str(tmp_path),
            extra_context={
                "billing_subject": billing_subject,
                "per_seat_billing": per_seat_billing,
            },
        )
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "tests/test_e2e_billing.py",
            "-q",
            "-p",
            "no:cacheprovider",
        ],
        cwd=site,
        env={**os.environ, "REQUIRE_SERVICES": os.environ.get("REQUIRE_SERVICES", "")},
        capture_output=True,
        text=True,
        check=False,
    )
    shots = site / "test-artifacts" / "e2e-billing"
    target = ARTIFACTS / f"{billing_subject}-{per_seat_billing}"
    shutil.rmtree(target, ignore_errors=True)
    if shots.exists():
        shutil.copytree(shots, target)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and "skipped" not in result.stdout
