"""gunicorn (wsgi, asgi) and Celery start on the same settings unless told otherwise:
the production ones."""

import os

import pytest

from .test_security_settings import PROJECT_DIR, run_python

# What DJANGO_SETTINGS_MODULE each entry point sets when the environment has none.
# (Importing config.wsgi or config.asgi would load the settings; the default is read
# from the source of each, the way Python would set it, instead.)
DEFAULT_OF = """
import os, runpy, sys
import django.core.asgi, django.core.wsgi
django.core.wsgi.get_wsgi_application = django.core.asgi.get_asgi_application = (
    lambda: None
)
runpy.run_path(sys.argv[1])
print(os.environ["DJANGO_SETTINGS_MODULE"])
"""


def default_settings_of(module_file: str) -> str:
    environ = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    return run_python(DEFAULT_OF, environ, str(PROJECT_DIR / module_file)).strip()


@pytest.mark.parametrize("module_file", ["config/asgi.py", "config/celery_app.py"])
def test_each_entry_point_defaults_to_the_settings_of_wsgi(module_file):
    assert default_settings_of(module_file) == default_settings_of("config/wsgi.py")
    assert default_settings_of(module_file) == "config.settings.production"
