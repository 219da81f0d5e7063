"""Every supported option set bakes a site that is clean, checked, migrated and tested."""

import re
import sys
import time
import xml.etree.ElementTree as ET
from collections import Counter

import pytest

from conftest import (
    OPTION_SETS,
    README_OPTION_SETS,
    VENV_BIN,
    bake_into,
    option_set_params,
    project_env,
    record_figure,
    run,
)

# Anything of cookiecutter's Jinja that survived rendering.
TEMPLATE_SYNTAX = re.compile(
    r"\{\{-?\s*cookiecutter|\{%-?\s*(?:if|elif|for|set)\s+[^%]*cookiecutter|cookiecutter\.\w"
)


def project_text_files(root):
    """Yield (path, text) for every file of the bake that decodes as UTF-8."""
    for path in sorted(root.rglob("*")):
        if path.is_file():
            try:
                yield path, path.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                continue


def suite_figures(junit_xml):
    """Count and time of a pytest run, and why tests skipped, from its JUnit XML report."""
    root = ET.parse(junit_xml).getroot()
    suite = root if root.tag == "testsuite" else root.find("testsuite")
    figures = {
        key: suite.get(key)
        for key in ("tests", "failures", "errors", "skipped", "time")
    }
    figures["skip_reasons"] = Counter(
        skipped.get("message", "") for skipped in suite.iter("skipped")
    )
    return figures


def run_generated_suite(bake, tmp_path, label, *pytest_args, **env):
    """Run the baked project's own pytest suite in a subprocess and record its figures."""
    junit = tmp_path / f"{label}.xml"
    started = time.perf_counter()
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "--tb=short",
        f"--junitxml={junit}",
        *pytest_args,
    ]
    run(command, cwd=bake.path, env=project_env(**env))
    figures = suite_figures(junit)
    record_figure(
        bake.name,
        **{
            f"{label}_tests": int(figures["tests"]),
            f"{label}_skipped": int(figures["skipped"]),
            f"{label}_seconds": round(time.perf_counter() - started, 1),
            f"{label}_skip_reasons": dict(figures["skip_reasons"]),
        },
    )
    return figures


def test_no_template_syntax_left(bake):
    leftovers = [
        f"{path.relative_to(bake.path)}:{text.count(chr(10), 0, match.start()) + 1}: {match.group()}"
        for path, text in project_text_files(bake.path)
        for match in TEMPLATE_SYNTAX.finditer(text)
    ]
    leftovers += [str(path) for path in bake.path.rglob("*cookiecutter*")]

    assert not leftovers, "\n".join(leftovers)


def test_ruff_check_is_clean(bake):
    run([VENV_BIN / "ruff", "check", "--no-cache", "."], cwd=bake.path)


def test_ruff_format_is_clean(bake):
    run([VENV_BIN / "ruff", "format", "--check", "--no-cache", "."], cwd=bake.path)


def test_djlint_finds_nothing_in_templates(bake):
    templates = sorted(
        {str(path.relative_to(bake.path)) for path in bake.path.rglob("*.html")}
    )
    assert templates, "the bake has no templates"

    run([VENV_BIN / "djlint", "--lint", *templates], cwd=bake.path)
    # Formatted as the bake's own `djlint --reformat` would leave them.
    run([VENV_BIN / "djlint", "--check", *templates], cwd=bake.path)


def test_django_system_checks_pass(bake):
    run([sys.executable, "manage.py", "check"], cwd=bake.path)


def test_no_migrations_are_missing(bake):
    run(
        [sys.executable, "manage.py", "makemigrations", "--check", "--dry-run"],
        cwd=bake.path,
    )


# The README's option sets run their whole suite through `make test` (and their real
# migrations through `make migrate`) in test_readme_commands.py. The odd names run it
# here, in the kit's environment: each has the billing answers of one of the two other
# option sets (user per seat, team flat), so every combination runs its suite once.
SUITE_OPTION_SETS = ("non-ascii-name", "long-name")


@pytest.mark.parametrize(
    "bake",
    option_set_params(
        lambda answers: any(answers is OPTION_SETS[n] for n in SUITE_OPTION_SETS)
    ),
    indirect=True,
)
def test_generated_suite_passes(bake, tmp_path):
    # Its real-migrations test runs in `make test` of the README's option sets, and in
    # the PostgreSQL run (test_services.py); so does its browser test. The emulator's
    # own suite is not the site's: it runs once, below.
    figures = run_generated_suite(
        bake, tmp_path, "suite", "-m", "not migrations and not e2e"
    )

    assert int(figures["tests"]) > 0
    assert figures["failures"] == figures["errors"] == "0"


@pytest.mark.xdist_group("emulator")
def test_the_emulators_own_suite_passes_once(tmp_path):
    bake = bake_into("team-per-seat", tmp_path / "bake")
    # The emulator is the same in every bake; its suite runs from one, against the
    # bake's copy of its code.
    emulator = bake.path / "tools" / "stripe-emulator"
    junit = tmp_path / "emulator.xml"
    started = time.perf_counter()
    run(
        [sys.executable, "-m", "pytest", "-q", "--tb=short", f"--junitxml={junit}"],
        cwd=emulator,
        env=project_env(PYTHONPATH=str(emulator / "src")),
    )
    figures = suite_figures(junit)
    record_figure(
        bake.name,
        emulator_tests=int(figures["tests"]),
        emulator_skipped=int(figures["skipped"]),
        emulator_seconds=round(time.perf_counter() - started, 1),
    )

    assert int(figures["tests"]) > 0
    assert figures["failures"] == figures["errors"] == "0"


def test_the_suites_cover_every_combination_of_billing_answers():
    def billing(name):
        return tuple(
            OPTION_SETS[name][key] for key in ("billing_subject", "per_seat_billing")
        )

    run = {billing(name) for name in (*README_OPTION_SETS, *SUITE_OPTION_SETS)}
    assert run == {billing(name) for name in OPTION_SETS}
