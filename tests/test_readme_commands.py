"""A generated project works from its own README, as a new user would run it.

For the default answers and a user/flat site: bake, then, in a clean environment
(nothing of this process's variables but the machine's PATH, HOME, locale and pip's
own settings), run the README's commands: `make install`, `make migrate`, `make lint`
and `make test` (its whole suite, the browser test and the real migrations included,
with nothing skipped under REQUIRE_SERVICES=1). Then start `make dev` and, in
Chromium, sign up on the home page and buy the Pro plan against the emulator it
started. A third site has its Stripe emulator folder deleted, as a user with a Stripe
account may do: it still installs and passes, the emulator's tests skipping with one
reason (failing under REQUIRE_SERVICES=1).
"""

import os
import re
import shutil
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from cookiecutter.main import cookiecutter

from conftest import (
    ARTIFACTS,
    OPTION_SETS,
    README_OPTION_SETS,
    REPO_ROOT,
    VENV_BIN,
    record_figure,
)
from services import free_port

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SUMMARY = re.compile(r"^=+ (.*(?:passed|failed|error).*) in [\d.]+s", re.MULTILINE)


def clean_env(**extra) -> dict:
    """What a user's shell has: the machine's PATH (no virtualenv), HOME, locale, pip."""
    path = os.pathsep.join(
        part
        for part in os.environ["PATH"].split(os.pathsep)
        if part and Path(part) != VENV_BIN
    )
    env = {"PATH": path, "HOME": os.environ.get("HOME", "/root"), "LANG": "C.UTF-8"}
    env.update({k: v for k, v in os.environ.items() if k.startswith("PIP_")})
    if os.environ.get("REQUIRE_SERVICES"):
        env["REQUIRE_SERVICES"] = os.environ["REQUIRE_SERVICES"]
    env.update(extra)
    return env


def bake(option_set: str, output_dir: Path) -> Path:
    return Path(
        cookiecutter(
            str(REPO_ROOT),
            no_input=True,
            output_dir=str(output_dir),
            extra_context=OPTION_SETS[option_set],
        )
    )


def make(site: Path, *targets: str, env=None, timeout=1500) -> str:
    """Run `make <targets>` in the site as its README says; fail with its output."""
    started = time.perf_counter()
    result = subprocess.run(
        ["make", *targets],
        cwd=site,
        env=env or clean_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    output = result.stdout + result.stderr
    if result.returncode != 0:
        pytest.fail(
            f"make {' '.join(targets)} exited with {result.returncode} in {site}\n"
            + output[-15000:],
            pytrace=False,
        )
    record_figure(
        site.name,
        **{f"make_{'_'.join(targets)}_seconds": round(time.perf_counter() - started)},
    )
    return output


def pytest_summary(output: str) -> str:
    found = SUMMARY.findall(output)
    assert found, output[-3000:]
    return found[-1]


def require_chromium():
    if not Path(CHROMIUM).exists():
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail(f"REQUIRE_SERVICES=1 but {CHROMIUM} is not installed")
        pytest.skip(f"{CHROMIUM} is not installed")


class Dev:
    """`make dev` as a process group, with its output in a log file."""

    def __init__(self, site: Path, log: Path):
        self.port, self.emulator_port = free_port(), free_port()
        # As a user would move the emulator: one line in .env.
        with (site / ".env").open("a") as env_file:
            env_file.write(f"STRIPE_EMULATOR_PORT={self.emulator_port}\n")
        self.log = log
        self.process = subprocess.Popen(
            ["make", "dev", f"PORT={self.port}"],
            cwd=site,
            env=clean_env(),
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.url = f"http://127.0.0.1:{self.port}"

    def wait_until_up(self, timeout=240):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail("make dev exited:\n" + self.log.read_text()[-5000:])
            try:
                with urllib.request.urlopen(self.url + "/", timeout=5) as response:
                    return response.status, response.read().decode()
            except OSError:
                time.sleep(0.5)
        pytest.fail("make dev never answered:\n" + self.log.read_text()[-5000:])

    def stop(self):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def confirmation_link(log: Path, timeout=30) -> str:
    """The newest sign-up confirmation link that `make dev` printed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = re.findall(r"http://\S+/accounts/confirm-email/\S+/", log.read_text())
        if found:
            return found[-1]
        time.sleep(0.2)
    pytest.fail("make dev printed no confirmation e-mail:\n" + log.read_text()[-5000:])


def buy_pro_in_chromium(dev: Dev, shots: Path) -> str:
    """Sign up from the home page, buy Pro on the emulator's Checkout; the plan shown."""
    from playwright.sync_api import sync_playwright

    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS
        )
        page = browser.new_page()
        page.set_default_timeout(30_000)
        page.goto(dev.url + "/")
        page.screenshot(path=shots / "01-home.png")
        page.click("text=Get started")
        page.fill("input[name=email]", "first.customer@example.com")
        page.fill("input[name=password1]", "a-long-unusual-passphrase")
        page.fill("input[name=password2]", "a-long-unusual-passphrase")
        page.click("form button[type=submit]")
        page.wait_for_load_state()
        # The address is confirmed first, through the link make dev prints.
        page.goto(confirmation_link(dev.log))
        page.click("form button[type=submit]")
        page.wait_for_load_state()
        page.click("nav >> text=Subscription")
        page.wait_for_load_state()
        page.screenshot(path=shots / "02-plans.png")
        page.locator("article[data-plan=pro] .plan-interval-month button").click()
        page.wait_for_url(re.compile(r".*/checkout/.*"))
        page.screenshot(path=shots / "03-checkout.png")
        page.click("#pay-success")
        page.wait_for_url(re.compile(r".*/subscription/confirm/.*"))
        page.screenshot(path=shots / "04-confirmed.png")
        plan = page.locator("[data-testid=confirmed-plan]").inner_text()
        browser.close()
    return plan


@pytest.mark.parametrize(
    "option_set",
    [
        pytest.param(name, marks=pytest.mark.xdist_group(f"readme-{name}"))
        for name in README_OPTION_SETS
    ],
)
def test_the_readme_commands_work_on_a_fresh_project(option_set, tmp_path):
    require_chromium()
    site = bake(option_set, tmp_path)

    make(site, "install")
    make(site, "migrate")
    # The real migrations, dj-stripe's included, all applied to a fresh database.
    shown = subprocess.run(
        [str(site / ".venv" / "bin" / "python"), "manage.py", "showmigrations"],
        cwd=site,
        env=clean_env(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "[X]" in shown and "[ ]" not in shown, shown
    make(site, "lint")
    tested = make(site, "test")
    shutil.rmtree(ARTIFACTS / "e2e" / option_set, ignore_errors=True)
    if (site / "test-artifacts" / "e2e-billing").exists():
        shutil.copytree(
            site / "test-artifacts" / "e2e-billing", ARTIFACTS / "e2e" / option_set
        )
    summary = pytest_summary(tested)
    record_figure(option_set, readme_make_test=summary)
    assert "failed" not in summary and "error" not in summary, summary
    if os.environ.get("REQUIRE_SERVICES") == "1":
        assert "skipped" not in summary, summary

    dev = Dev(site, tmp_path / "make-dev.log")
    try:
        status, home = dev.wait_until_up()
        assert status == 200 and "Sign up" in home
        plan = buy_pro_in_chromium(dev, ARTIFACTS / "make-dev" / option_set)
    finally:
        dev.stop()
    assert plan == "Pro"


@pytest.mark.xdist_group("readme-no-emulator")
def test_a_project_without_its_emulator_installs_and_passes(tmp_path):
    site = bake("user-flat", tmp_path)
    shutil.rmtree(site / "tools" / "stripe-emulator")
    # Pointed at a Stripe test account instead, as the README says.
    with (site / ".env").open("a") as env_file:
        env_file.write(
            "STRIPE_EMULATOR=0\nSTRIPE_TEST_SECRET_KEY=sk_test_" + "a" * 24 + "\n"
        )

    make(site, "install")
    tested = make(site, "test", env=clean_env(REQUIRE_SERVICES="0"))
    summary = pytest_summary(tested)
    skip_reasons = set(re.findall(r"SKIPPED \[\d+\] [^:]+:\d+: (.+)", tested))

    assert "failed" not in summary and "skipped" in summary, summary
    assert skip_reasons == {
        "the Stripe emulator is not installed (pip install -e tools/stripe-emulator)"
    }, skip_reasons

    required = subprocess.run(
        [
            str(site / ".venv" / "bin" / "python"),
            "-m",
            "pytest",
            "-q",
            "-rs",
            "apps/subscriptions/tests/test_checkout.py",
            "-x",
        ],
        cwd=site,
        env=clean_env(REQUIRE_SERVICES="1"),
        capture_output=True,
        text=True,
        check=False,
    )
    assert required.returncode != 0
    assert (
        "REQUIRE_SERVICES=1 but the Stripe emulator is not installed" in required.stdout
    )
