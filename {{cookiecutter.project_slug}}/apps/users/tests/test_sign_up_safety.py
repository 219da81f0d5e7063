"""Sign-up tells no one which addresses are registered, and survives a mail server
that is down."""

import pytest
from django.contrib.messages import get_messages
from django.core import mail
from django.test import Client
from django.urls import reverse

from apps.users.models import User
from apps.users.tests.base_settings import read_base_settings
from tests.processes import free_port

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-unusual-passphrase"


def sign_up(email):
    """A sign-up from a fresh browser."""
    return Client().post(
        reverse("account_signup"),
        {"email": email, "password1": PASSWORD, "password2": PASSWORD},
    )


@pytest.fixture
def shared_account_settings(settings, monkeypatch):
    """The account settings of every environment but the tests' own (as local uses
    them with the .env that the project starts with)."""
    read = read_base_settings(monkeypatch, ACCOUNT_EMAIL_VERIFICATION=None)
    settings.ACCOUNT_EMAIL_VERIFICATION = read["ACCOUNT_EMAIL_VERIFICATION"]
    settings.ACCOUNT_PREVENT_ENUMERATION = read["ACCOUNT_PREVENT_ENUMERATION"]


def test_a_registered_address_gets_the_same_answer_as_a_new_one(
    user, shared_account_settings
):
    new = sign_up("new@example.com")
    registered = sign_up(user.email)

    assert registered.status_code == new.status_code == 302
    assert registered["Location"] == new["Location"]
    assert User.objects.filter(email=user.email).count() == 1
    # The address's owner hears of it by e-mail, not the visitor on the page.
    assert [message.to for message in mail.outbox] == [
        ["new@example.com"],
        [user.email],
    ]


def errors_shown(response) -> list[str]:
    messages = get_messages(response.wsgi_request)
    return [str(message) for message in messages if message.level_tag == "error"]


@pytest.fixture
def mail_server_down(settings):
    """SMTP to a port where nothing listens: every send is refused."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()


@pytest.mark.parametrize("verification", ["mandatory", "optional"])
def test_sign_up_with_the_mail_server_down_creates_the_account_and_says_so(
    settings, mail_server_down, verification
):
    settings.ACCOUNT_EMAIL_VERIFICATION = verification

    response = sign_up("new@example.com")

    assert response.status_code == 302
    assert User.objects.filter(email="new@example.com").exists()
    [error] = errors_shown(response)
    assert "could not send the confirmation e-mail" in error


def test_a_registered_address_gets_the_same_answer_with_the_mail_server_down(
    user, shared_account_settings, mail_server_down
):
    new = sign_up("new@example.com")
    registered = sign_up(user.email)

    assert (registered.status_code, registered["Location"]) == (
        new.status_code,
        new["Location"],
    )
    assert [str(m) for m in get_messages(registered.wsgi_request)] == [
        str(m) for m in get_messages(new.wsgi_request)
    ]


def test_password_reset_with_the_mail_server_down_says_to_try_again(
    client, user, mail_server_down
):
    response = client.post(reverse("account_reset_password"), {"email": user.email})

    assert response.status_code == 302
    [error] = errors_shown(response)
    assert "could not send" in error


def test_adding_an_address_with_the_mail_server_down_says_so(
    client, user, mail_server_down
):
    client.force_login(user)

    response = client.post(
        reverse("account_email"), {"email": "added@example.com", "action_add": ""}
    )

    assert response.status_code == 302
    [error] = errors_shown(response)
    assert "could not send the confirmation e-mail" in error
