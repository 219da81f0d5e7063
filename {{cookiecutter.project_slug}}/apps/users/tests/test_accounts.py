import re

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.urls import reverse

from apps.users.models import User
from apps.users.tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-unusual-passphrase"


def sign_up(client, email="new@example.com"):
    return client.post(
        reverse("account_signup"),
        {"email": email, "password1": PASSWORD, "password2": PASSWORD},
    )


def test_sign_up_creates_a_user_keyed_by_email(client):
    response = sign_up(client)
    assert response.status_code == 302
    user = User.objects.get(email="new@example.com")
    assert not hasattr(user, "username") or user.username is None
    assert user.check_password(PASSWORD)


def test_sign_up_sends_a_verification_email(client):
    sign_up(client)
    assert len(mail.outbox) == 1
    assert "new@example.com" in mail.outbox[0].to


def test_following_the_emailed_link_verifies_the_address(client):
    sign_up(client)
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", mail.outbox[0].body)
    assert link, mail.outbox[0].body
    client.post(link.group(0))
    assert EmailAddress.objects.get(email="new@example.com").verified


def test_mandatory_verification_keeps_unverified_users_out(client, settings):
    settings.ACCOUNT_EMAIL_VERIFICATION = "mandatory"
    sign_up(client)
    response = client.get(reverse("web:dashboard"))
    assert response.status_code == 302
    assert reverse("account_login") in response["Location"]


def test_log_in_with_email_and_password(client, user):
    response = client.post(
        reverse("account_login"), {"login": user.email, "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 302
    assert client.get(reverse("web:dashboard")).status_code == 200


def test_log_in_with_a_wrong_password_is_refused(client, user):
    response = client.post(
        reverse("account_login"), {"login": user.email, "password": "wrong"}
    )
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_log_out(client, user):
    client.force_login(user)
    client.post(reverse("account_logout"))
    assert "_auth_user_id" not in client.session


def test_password_reset_mails_a_link(client, user):
    client.post(reverse("account_reset_password"), {"email": user.email})
    assert len(mail.outbox) == 1
    assert "/accounts/password/reset/key/" in mail.outbox[0].body


@pytest.mark.parametrize(
    "name",
    [
        "account_login",
        "account_signup",
        "account_reset_password",
    ],
)
def test_account_pages_render_in_the_site_layout(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 200
    assert b"css/site.css" in response.content


@pytest.mark.parametrize(
    "name", ["account_email", "account_change_password", "mfa_index"]
)
def test_account_management_pages_render(client, user, name):
    client.force_login(user)
    response = client.get(reverse(name))
    assert response.status_code == 200
    assert b"css/site.css" in response.content


def test_two_factor_setup_offers_a_totp_secret_after_reauthentication(client, user):
    client.force_login(user)
    activate = reverse("mfa_activate_totp")
    assert reverse("account_reauthenticate") in client.get(activate)["Location"]
    client.post(reverse("account_reauthenticate"), {"password": DEFAULT_PASSWORD})
    response = client.get(activate)
    assert response.status_code == 200
    assert response.context["form"].secret


def test_create_superuser_without_username():
    admin = User.objects.create_superuser(email="root@example.com", password="x")
    assert admin.is_staff and admin.is_superuser
    assert str(admin) == "root@example.com"


def test_account_mail_names_the_site(client, settings):
    settings.SITE_NAME = "Rocket Ledger"
    sign_up(client)
    assert "Rocket Ledger" in mail.outbox[0].body
