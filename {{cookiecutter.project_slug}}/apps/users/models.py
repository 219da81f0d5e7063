from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _
{%- if cookiecutter.billing_subject == "user" %}

from apps.subscriptions.models import SubscriptionModelBase
{%- endif %}

from .managers import UserManager


{%- if cookiecutter.billing_subject == "user" %}


class User(SubscriptionModelBase, AbstractUser):
    """A person who logs in with an e-mail address; also the one who subscribes."""
{%- else %}


class User(AbstractUser):
    """A person who logs in with an e-mail address."""
{%- endif %}

    username = None
    first_name = None
    last_name = None
    name = models.CharField(_("name"), max_length=255, blank=True)
    email = models.EmailField(_("email address"), unique=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS = []

    objects = UserManager()

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        return self.email

    def get_display_name(self) -> str:
        """The name if given, else the e-mail address."""
        return self.name or self.email
