"""The installer reads the site's pins from the template's pyproject.toml, Jinja and all."""

import importlib.util
import tomllib

from conftest import REPO_ROOT


def load_installer():
    spec = importlib.util.spec_from_file_location(
        "install_requirements", REPO_ROOT / "scripts" / "install_requirements.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_installer_reads_the_same_pins_a_bake_writes(cookies):
    # Quotes and backslashes in the answers are escaped by Jinja filters that hold quotes
    # themselves; the installer must still parse the unrendered template.
    result = cookies.bake(
        extra_context={
            "description": 'A "quoted" \\ description',
            "author_name": "O'Brien \\",
        }
    )
    assert result.exception is None, result.exception
    baked = tomllib.loads(
        (result.project_path / "pyproject.toml").read_text(encoding="utf-8")
    )
    expected = baked["project"]["dependencies"] + baked["dependency-groups"]["dev"]

    assert load_installer().site_requirements() == expected
