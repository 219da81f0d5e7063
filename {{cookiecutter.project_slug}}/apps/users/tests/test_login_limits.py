"""Failed logins lock out the client that made them, also behind a proxy.

Behind DJANGO_TRUSTED_PROXY_COUNT proxies allauth takes the client's address from
X-Forwarded-For; otherwise every client would share the proxy's address, and one
client's failures would lock out all of them.
"""

import pytest
from django.core.cache import cache
from django.urls import reverse

from apps.users.tests.base_settings import read_base_settings
from apps.users.tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db

PROXY = "10.0.0.2"
CLIENT_A, CLIENT_B = "203.0.113.10", "198.51.100.20"


@pytest.fixture
def proxies(settings, monkeypatch):
    """Set DJANGO_TRUSTED_PROXY_COUNT, read as the settings read it; allauth's limits."""

    def trust(count: int):
        read = read_base_settings(monkeypatch, DJANGO_TRUSTED_PROXY_COUNT=str(count))
        settings.ALLAUTH_TRUSTED_PROXY_COUNT = read["ALLAUTH_TRUSTED_PROXY_COUNT"]

    # The test settings switch rate limits off; these tests need allauth's defaults.
    settings.ACCOUNT_RATE_LIMITS = {}
    cache.clear()
    yield trust
    cache.clear()


def log_in(client, email, password, client_ip):
    return client.post(
        reverse("account_login"),
        {"login": email, "password": password},
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR=client_ip,
    )


def fail_ten_logins(client, client_ip):
    for n in range(10):
        log_in(client, f"nobody{n}@example.com", "wrong", client_ip)


def test_behind_one_proxy_failures_lock_out_only_their_client(client, user, proxies):
    proxies(1)
    fail_ten_logins(client, CLIENT_A)

    refused = log_in(client, user.email, DEFAULT_PASSWORD, CLIENT_A)
    admitted = log_in(client, user.email, DEFAULT_PASSWORD, CLIENT_B)

    assert refused.status_code == 200
    assert "Too many failed login attempts" in refused.content.decode()
    assert admitted.status_code == 302


def test_without_trusted_proxies_the_forwarded_header_is_ignored(client, user, proxies):
    proxies(0)
    fail_ten_logins(client, CLIENT_A)

    # A client cannot dodge the limit by writing the header itself.
    response = log_in(client, user.email, DEFAULT_PASSWORD, CLIENT_B)

    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
