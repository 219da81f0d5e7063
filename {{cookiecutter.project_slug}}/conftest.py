"""Fixtures shared by every app's tests."""

import pytest

from apps.users.tests.factories import UserFactory


@pytest.fixture
def user(db):
    return UserFactory()
