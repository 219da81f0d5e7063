"""The template's own code (hooks, scripts, these tests) is held to ruff like a bake is."""

import pytest

from conftest import REPO_ROOT, VENV_BIN, run


@pytest.mark.parametrize(
    "command", [["check"], ["format", "--check"]], ids=["check", "format"]
)
def test_template_code_is_ruff_clean(command):
    run([VENV_BIN / "ruff", *command, "--no-cache", "."], cwd=REPO_ROOT)
