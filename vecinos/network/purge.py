"""The emergency purge's network steps: sign-in throttling rows, members' personal data, the demo
passwords file (NetworkConfig.ready registers them; they run last: other apps' rows point at
members)."""

from __future__ import annotations

from axes.models import AccessAttempt, AccessFailureLog, AccessLog

from vecinos.network.demo import credentials_path
from vecinos.network.services import purge_personal_data


def purge_sign_in_attempts() -> dict[str, int]:
    """Sign-in throttling rows keep usernames and browser strings."""
    counts = {"sign_in_attempts": AccessAttempt.objects.all().delete()[0]}
    AccessLog.objects.all().delete()
    AccessFailureLog.objects.all().delete()
    return counts


def purge_members() -> dict[str, int]:
    return purge_personal_data()


def purge_demo_credentials() -> dict[str, int]:
    """The demo's passwords file names the demo accounts (and gives their passwords)."""
    credentials_path().unlink(missing_ok=True)
    return {}
