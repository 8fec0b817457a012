from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NetworkConfig(AppConfig):
    name = "vecinos.network"
    label = "network"
    verbose_name = _("Coalition")

    def ready(self) -> None:
        from vecinos.core import roles
        from vecinos.network import inbound, selectors, signals  # noqa: F401

        roles.register("coordinator", selectors.is_coordinator)
        roles.register("coalition_coordinator", selectors.is_coalition_coordinator)
        roles.register_independence(selectors.independent_people)
        _navigation(selectors)
        _purge_steps()


def _purge_steps() -> None:
    from vecinos.core.extensions import add_purge_step, add_retention_step
    from vecinos.network import phone_change, purge

    # Last: every other app's rows point at members.
    add_purge_step("network.sign_in_attempts", purge.purge_sign_in_attempts, order=80)
    add_purge_step("network.members", purge.purge_members, order=90)
    add_purge_step("network.demo_credentials", purge.purge_demo_credentials, order=95)
    add_retention_step("network.phone_changes", phone_change.drop_expired, order=90)


def _navigation(selectors) -> None:
    from vecinos.core.extensions import add_nav

    add_nav("profile", _("My profile"), group="me", allowed=_anyone, order=10)
    add_nav("orgs", _("Organizations"), group="people", allowed=selectors.is_coordinator, order=10)
    add_nav("zones", _("Zones"), group="people", allowed=selectors.is_vouched, order=40)
    add_nav("vouch", _("Vouch"), group="people", allowed=selectors.is_vouched, order=50)
    add_nav("audit_log", _("Audit log"), group="people", allowed=selectors.can_read_audit, order=70)


def _anyone(member) -> bool:
    return True  # every signed-in member (extensions asks only about signed-in ones)
