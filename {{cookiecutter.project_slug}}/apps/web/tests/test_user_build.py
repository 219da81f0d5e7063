"""User builds bill each user: no team code, URLs or templates may remain."""

import importlib.util

import pytest
from django.conf import settings
from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from django.urls import Resolver404, resolve


def test_teams_app_is_absent():
    assert "apps.teams" not in settings.INSTALLED_APPS
    assert importlib.util.find_spec("apps.teams") is None


@pytest.mark.parametrize("path", ["/a/", "/a/some-team/", "/a/some-team/settings/"])
def test_team_urls_do_not_resolve(path):
    with pytest.raises(Resolver404):
        resolve(path)


def test_team_templates_are_gone():
    with pytest.raises(TemplateDoesNotExist):
        get_template("teams/dashboard.html")


def test_the_user_is_the_subscriber():
    assert settings.DJSTRIPE_SUBSCRIBER_MODEL == settings.AUTH_USER_MODEL
