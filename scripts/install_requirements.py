"""Install the kit's tools and the generated site's pinned dependencies into the running venv.

The site's pins are read from the template's pyproject.toml so they live in one place.
The Stripe emulator is installed editable from the template's tools/stripe-emulator, as
a generated project's `make install` installs its own copy, so its pytest fixture is
there for every bake's suite. A stamp in the venv records what was installed: a re-run
with the same files does nothing.
"""

import hashlib
import re
import subprocess
import sys
import tomllib
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
KIT_REQUIREMENTS = REPO_ROOT / "requirements.txt"
SITE_PYPROJECT = REPO_ROOT / "{{cookiecutter.project_slug}}" / "pyproject.toml"
EMULATOR = REPO_ROOT / "{{cookiecutter.project_slug}}" / "tools" / "stripe-emulator"
STAMP = Path(sys.prefix) / ".kit-requirements.sha256"
# Lines that are only Jinja tags ({% if ... %}) would not parse as TOML; their bodies do.
JINJA_TAG_LINE = re.compile(r"^\s*\{%.*%\}\s*$")
# Jinja expressions may hold quotes of their own (filters that escape the answers), so each
# one is replaced by a plain word before parsing; only the dependency pins are read.
JINJA_EXPRESSION = re.compile(r"\{\{.*?\}\}")


def read_pyproject(path):
    """Parse the template's pyproject.toml with its Jinja tags dropped and expressions blanked."""
    lines = path.read_text(encoding="utf-8").splitlines()
    text = "\n".join(
        JINJA_EXPRESSION.sub("jinja", line)
        for line in lines
        if not JINJA_TAG_LINE.match(line)
    )
    return tomllib.loads(text)


def dependency_group(groups, name):
    """Flatten a PEP 735 dependency group, following include-group entries."""
    requirements = []
    for entry in groups.get(name, []):
        if isinstance(entry, dict):
            requirements += dependency_group(groups, entry["include-group"])
        else:
            requirements.append(entry)
    return requirements


def site_requirements():
    """The generated site's runtime and dev pins, as pip requirement strings."""
    pyproject = read_pyproject(SITE_PYPROJECT)
    return pyproject["project"]["dependencies"] + dependency_group(
        pyproject.get("dependency-groups", {}), "dev"
    )


def fingerprint():
    """A hash of everything that decides what gets installed."""
    digest = hashlib.sha256()
    for path in (
        KIT_REQUIREMENTS,
        SITE_PYPROJECT,
        EMULATOR / "pyproject.toml",
        Path(__file__),
    ):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def pip(*args):
    subprocess.run(
        [sys.executable, "-m", "pip", "--disable-pip-version-check", *args], check=True
    )


def main():
    wanted = fingerprint()
    if STAMP.exists() and STAMP.read_text().strip() == wanted:
        print(f"{sys.prefix}: requirements already installed")
        return
    pip("install", "--quiet", "--upgrade", "pip")
    pip("install", "--quiet", "-r", str(KIT_REQUIREMENTS), *site_requirements())
    pip("install", "--quiet", "--no-deps", "-e", str(EMULATOR))
    STAMP.write_text(wanted + "\n")
    print(f"{sys.prefix}: requirements installed")


if __name__ == "__main__":
    main()
