"""Local settings read .env before anything reads the environment, and every variable
that .env.example offers takes effect from there; the real environment still wins."""

import json
import os
import subprocess
import sys
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[2]

# Each variable of .env.example: the value the test writes into .env, and the
# settings expression that shows it took effect, with what that gives.
PROBES = {
    "DJANGO_SECRET_KEY": ("from-env-file-" + "k" * 50, "SECRET_KEY", None),
    "DJANGO_DEBUG": ("False", "DEBUG", False),
    "SITE_NAME": ("Env File Site", "SITE_NAME", None),
    "SITE_URL": ("https://env.test", "SITE_URL", None),
    "DJANGO_ALLOWED_HOSTS": ("a.test,b.test", "ALLOWED_HOSTS", ["a.test", "b.test"]),
    "DATABASE_URL": (
        "sqlite:////tmp/from-env-file.sqlite3",
        "DATABASES['default']['NAME']",
        "/tmp/from-env-file.sqlite3",
    ),
    "REDIS_URL": ("redis://127.0.0.1:6390/3", "CELERY_BROKER_URL", None),
    "DJANGO_EMAIL_BACKEND": (
        "django.core.mail.backends.locmem.EmailBackend",
        "EMAIL_BACKEND",
        None,
    ),
    "ACCOUNT_EMAIL_VERIFICATION": ("optional", "ACCOUNT_EMAIL_VERIFICATION", None),
    "STRIPE_EMULATOR": ("1", "STRIPE_EMULATOR", True),
    "STRIPE_EMULATOR_PORT": (
        "12345",
        "STRIPE_API_HOST",
        "http://127.0.0.1:12345",
    ),
    "STRIPE_TEST_SECRET_KEY": (
        "sk_test_fromenvfile0000000000000000",
        "STRIPE_TEST_SECRET_KEY",
        None,
    ),
    "STRIPE_TEST_PUBLIC_KEY": (
        "pk_test_fromenvfile0000000000000000",
        "STRIPE_TEST_PUBLIC_KEY",
        None,
    ),
    "SUBSCRIPTIONS_SYNC_INTERVAL": ("90", "SUBSCRIPTIONS_SYNC_INTERVAL", 90),
}

PRINT_SETTINGS = """
import json, sys
import django
django.setup()
from django.conf import settings


def value(expression):
    try:
        return eval("settings." + expression)
    except AttributeError:  # a setting that these variables leave unset
        return None


print(json.dumps({expression: value(expression) for expression in sys.argv[1:]}))
"""


def example_variables() -> set[str]:
    """The variables .env.example sets or shows commented out."""
    names = set()
    for line in (PROJECT_DIR / ".env.example").read_text().splitlines():
        name, sep, _ = line.lstrip("# ").partition("=")
        if sep and name.isupper() and " " not in name:
            names.add(name)
    return names


def local_settings(env_file: Path, **environ) -> dict:
    """The probed local settings of a fresh process with only `environ` set."""
    clean = {
        "PATH": os.environ["PATH"],
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "DJANGO_ENV_FILE": str(env_file),
        "CELERY_DATA_DIR": str(env_file.parent / "celery"),
        **environ,
    }
    expressions = [expression for _, expression, _ in PROBES.values()]
    result = subprocess.run(
        [sys.executable, "-c", PRINT_SETTINGS, *expressions],
        cwd=PROJECT_DIR,
        env=clean,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def write_env_file(path: Path) -> Path:
    path.write_text(
        "".join(f"{name}={value}\n" for name, (value, _, _) in PROBES.items())
    )
    return path


def test_every_variable_of_the_example_is_probed():
    assert example_variables() == set(PROBES)


def test_each_variable_in_env_file_takes_effect(tmp_path):
    settings = local_settings(write_env_file(tmp_path / ".env"))

    for name, (value, expression, expected) in PROBES.items():
        assert settings[expression] == (value if expected is None else expected), name


def test_the_real_environment_wins_over_env_file(tmp_path):
    settings = local_settings(
        write_env_file(tmp_path / ".env"),
        SITE_NAME="From The Environment",
        STRIPE_EMULATOR="0",
    )

    assert settings["SITE_NAME"] == "From The Environment"
    assert settings["STRIPE_EMULATOR"] is False
    assert settings["STRIPE_API_HOST"] is None
    assert settings["SECRET_KEY"] == PROBES["DJANGO_SECRET_KEY"][0]


def test_every_line_of_the_example_works_uncommented_as_written(tmp_path):
    lines = (PROJECT_DIR / ".env.example").read_text().splitlines()
    uncommented = [
        line.removeprefix("# ")
        for line in lines
        if "=" in line.removeprefix("# ").split(" ")[0]
    ]
    env_file = tmp_path / ".env"
    # As post-gen writes it: with a secret key of its own.
    secret = "DJANGO_SECRET_KEY=" + "s" * 50
    env_file.write_text(
        "\n".join(
            secret if line == "DJANGO_SECRET_KEY=" else line for line in uncommented
        )
        + "\n"
    )

    settings = local_settings(env_file)

    assert settings["SITE_URL"] == "http://localhost:8000"
    assert settings["SUBSCRIPTIONS_SYNC_INTERVAL"] == 60
    assert settings["STRIPE_EMULATOR"] is True
    assert settings["ACCOUNT_EMAIL_VERIFICATION"] == "optional"
    assert settings["STRIPE_API_HOST"] == "http://127.0.0.1:12111"


def test_make_dev_lets_the_real_environment_win_over_env_file(tmp_path):
    # The command `make dev` starts its processes with, run on a probe process list.
    venv = Path(sys.executable).parent.parent
    honcho = subprocess.run(
        ["make", "-s", f"VENV={venv}", "--eval=honcho: ; @echo $(HONCHO)", "honcho"],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    probe = "import os; print('X=' + os.environ.get('X', 'unset'))"
    procfile = honcho[honcho.index("-f") + 1]
    (tmp_path / procfile).write_text(f'probe: {sys.executable} -c "{probe}"\n')
    (tmp_path / ".env").write_text("X=from-env-file\n")

    started = subprocess.run(
        [*honcho, "probe"],
        cwd=tmp_path,
        env={**os.environ, "X": "from-environment"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert "X=from-environment" in started.stdout, started.stdout + started.stderr
