"""The shared settings as a fresh process reads them from a given environment."""

import runpy

from config.settings import base


def read_base_settings(monkeypatch, **environ) -> dict:
    """config/settings/base.py run again with `environ` set (None: unset)."""
    for name, value in environ.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    return runpy.run_path(base.__file__)
