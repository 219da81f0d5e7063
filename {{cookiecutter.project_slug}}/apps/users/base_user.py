"""The user of this site, without its models.py: who logs in, and how."""

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from .managers import UserManager


class EmailUser(AbstractUser):
    """A person who logs in with an e-mail address; no username."""

    username = None
    first_name = None
    last_name = None
    name = models.CharField(_("name"), max_length=255, blank=True)
    email = models.EmailField(_("email address"), unique=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS = []

    objects = UserManager()

    class Meta:
        abstract = True
        ordering = ["email"]

    def __str__(self) -> str:
        return self.email

    def get_display_name(self) -> str:
        """The name if given, else the e-mail address."""
        return self.name or self.email
