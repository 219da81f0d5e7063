import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_landing_page_renders_for_visitors(client):
    response = client.get(reverse("web:home"))
    assert response.status_code == 200
    assert b"Sign up" in response.content


def test_dashboard_requires_login(client):
    response = client.get(reverse("web:dashboard"))
    assert response.status_code == 302
    assert reverse("account_login") in response["Location"]


def test_dashboard_renders_for_a_signed_in_user(client, user):
    client.force_login(user)
    response = client.get(reverse("web:dashboard"))
    assert response.status_code == 200
    assert user.name.encode() in response.content
