"""Only audit hooks live here: sign-ins happen inside django.contrib.auth."""

from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver

from vecinos.core.audit import audit


@receiver(user_logged_in)
def _audit_login(sender, request, user, **kwargs):
    audit("auth.login", actor=user, target=user)


@receiver(user_login_failed)
def _audit_login_failed(sender, credentials, request=None, **kwargs):
    # The attempted username is not stored: it may be someone's real name typed by mistake.
    audit("auth.login_failed")
