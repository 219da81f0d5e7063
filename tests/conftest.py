"""Shared bakes, service fixtures and the figures printed at the end of the run."""

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from cookiecutter.main import cookiecutter

from services import PostgresServer, RedisServer, ServiceUnavailable

REPO_ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
ARTIFACTS = REPO_ROOT / "test-artifacts"

# Stripe's example objects, from which the emulator's contract is derived; the kit's
# development tree and CI keep shared/ beside the template.
STRIPE_FIXTURES = REPO_ROOT.parent / "shared" / "stripe" / "fixtures3.json"

LONG_NAME = (
    "Bob's Extraordinarily Long Named Software As A Service Platform "
    "For Managing Absolutely Everything Under The Sun Ltd"
)

# Every option set the template supports, plus odd project names; each is baked once
# per test session and every check below runs on that one bake.
OPTION_SETS = {
    "team-per-seat": {"billing_subject": "team", "per_seat_billing": "y"},
    "team-flat": {"billing_subject": "team", "per_seat_billing": "n"},
    "user-per-seat": {"billing_subject": "user", "per_seat_billing": "y"},
    "user-flat": {"billing_subject": "user", "per_seat_billing": "n"},
    "non-ascii-name": {
        "project_name": "Café Ünïcode Säas",
        "billing_subject": "user",
        "per_seat_billing": "y",
    },
    "long-name": {
        "project_name": LONG_NAME,
        "billing_subject": "team",
        "per_seat_billing": "n",
    },
}

# The option sets whose generated project is set up and tested through its own
# README's commands (test_readme_commands.py): the default answers, and a user/flat site.
README_OPTION_SETS = ("team-per-seat", "user-flat")

# Figures gathered in this process; xdist workers hand theirs to the controller.
FIGURES = []


def record_figure(option_set, **values):
    """Keep a figure (bake time, suite size...) for the summary at the end of the run."""
    FIGURES.append({"option_set": option_set, **values})


def option_set_params(keep=lambda answers: True):
    """One pytest param per option set, grouped so xdist keeps a bake on one worker."""
    return [
        pytest.param(name, id=name, marks=pytest.mark.xdist_group(name))
        for name, answers in OPTION_SETS.items()
        if keep(answers)
    ]


@dataclass
class Bake:
    """A baked project and the answers it was baked with."""

    name: str
    path: Path
    context: dict
    seconds: float
    # Every file right after baking, before any test ran a command in the bake.
    files: frozenset = frozenset()

    @property
    def is_team_build(self):
        return self.context["billing_subject"] == "team"


def project_env(**overrides):
    """Environment for commands run inside a baked project: the shared venv first on PATH."""
    # The project's own settings decide these unless a test sets them.
    unset = {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"}
    env = {key: value for key, value in os.environ.items() if key not in unset}
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.update(overrides)
    return env


def run(command, cwd, env=None, timeout=1800):
    """Run a command in a baked project; fail the test with its output if it fails."""
    result = subprocess.run(
        [str(part) for part in command],
        check=False,
        cwd=cwd,
        env=env or project_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if result.returncode != 0:
        pytest.fail(
            f"{' '.join(map(str, command))} exited with {result.returncode} in {cwd}\n"
            f"--- stdout ---\n{result.stdout[-20000:]}\n--- stderr ---\n{result.stderr[-20000:]}",
            pytrace=False,
        )
    return result


def pytest_configure(config):
    # pytest-cookies bakes the template in the current directory unless told otherwise.
    if config.option.template == ".":
        config.option.template = str(REPO_ROOT)


@pytest.fixture(scope="session", params=option_set_params())
def bake(request, cookies_session):
    """The project baked once per session for the option set of the test's param."""
    name = request.param
    started = time.perf_counter()
    result = cookies_session.bake(extra_context=OPTION_SETS[name])
    seconds = time.perf_counter() - started
    if result.exception is not None:
        error = result.exception
        where = (
            f" at {error.filename}:{error.lineno}"
            if getattr(error, "filename", None)
            else ""
        )
        pytest.fail(f"baking {name} failed{where}: {error!r}", pytrace=False)
    record_figure(name, bake_seconds=round(seconds, 2))
    path = Path(result.project_path)
    return Bake(
        name=name,
        path=path,
        context=result.context,
        seconds=seconds,
        files=files_of(path),
    )


def files_of(path: Path) -> frozenset:
    return frozenset(str(f.relative_to(path)) for f in path.rglob("*") if f.is_file())


def bake_into(name: str, output_dir: Path) -> Bake:
    """A bake of its own for one test, so that the test can run on any xdist worker.

    The session's shared bakes keep every test of an option set on one worker; the
    slow tests (real migrations, the PostgreSQL suite, the emulator's suite) bake
    their own copy and their own group, which spreads them over the workers.
    """
    started = time.perf_counter()
    path = Path(
        cookiecutter(
            str(REPO_ROOT),
            no_input=True,
            output_dir=str(output_dir),
            extra_context=OPTION_SETS[name],
        )
    )
    return Bake(
        name=name,
        path=path,
        context=dict(OPTION_SETS[name]),
        seconds=time.perf_counter() - started,
        files=files_of(path),
    )


def require_service(start):
    """Start a service, or skip (fail under REQUIRE_SERVICES=1) when it cannot run here."""
    try:
        return start()
    except ServiceUnavailable as error:
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail(f"REQUIRE_SERVICES=1 but {error}", pytrace=False)
        pytest.skip(str(error))


@pytest.fixture(scope="session")
def postgres():
    """A PostgreSQL server for the session."""
    server = require_service(lambda: PostgresServer().start())
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_server():
    """A Redis server for the session."""
    server = require_service(lambda: RedisServer().start())
    yield server
    server.stop()


def pytest_sessionfinish(session):
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["kit_figures"] = json.dumps(FIGURES)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    FIGURES.extend(
        json.loads(getattr(node, "workeroutput", {}).get("kit_figures", "[]"))
    )


def pytest_terminal_summary(terminalreporter):
    if hasattr(terminalreporter.config, "workerinput") or not FIGURES:
        return
    by_set = {}
    for figure in FIGURES:
        by_set.setdefault(figure["option_set"], {}).update(figure)
    terminalreporter.section("template figures")
    for name, values in sorted(by_set.items()):
        details = ", ".join(
            f"{key}={value}" for key, value in values.items() if key != "option_set"
        )
        terminalreporter.write_line(f"{name}: {details}")
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "template-figures.json").write_text(
        json.dumps(by_set, indent=2, sort_keys=True) + "\n"
    )
    terminalreporter.write_line(
        f"(also written to {ARTIFACTS / 'template-figures.json'})"
    )
