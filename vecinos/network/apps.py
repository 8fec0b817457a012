from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

# What each audit action this app writes means, for the audit log (core.extensions).
AUDIT_ACTIONS = {
    "auth.login": _("Signed in"),
    "auth.login_failed": _("Sign-in failed"),
    "auth.signout_all": _("Signed out everywhere"),
    "2fa.enroll": _("Two-step sign-in set up"),
    "2fa.failed": _("Wrong two-step sign-in code"),
    "2fa.recovery_codes": _("New recovery codes made"),
    "contact.view": _("Contact details viewed"),
    "roster.export": _("Roster exported"),
    "invite.create": _("Invitation link created"),
    "invite.revoke": _("Invitation link cancelled"),
    "invite.accept": _("Invitation accepted"),
    "role.grant": _("Role given"),
    "role.revoke": _("Role removed"),
    "vetting.vouch": _("Vouch recorded"),
    "vetting.training": _("Training recorded"),
    "vetting.tier": _("Vetting level raised"),
    "member.deactivate": _("Account deactivated"),
    "profile.phone_code_sent": _("Code sent to confirm a new phone"),
    "profile.phone_code_wrong": _("Wrong code for a new phone"),
    "profile.phone_confirmed": _("New phone confirmed"),
    "token.create": _("API token created"),
    "token.revoke": _("API token revoked"),
    "zone.save": _("Zone saved"),
    "purge.personal_data": _("All personal data purged"),
    "demo.load": _("Demo data loaded"),
}


class NetworkConfig(AppConfig):
    name = "vecinos.network"
    label = "network"
    verbose_name = _("Coalition")

    def ready(self) -> None:
        from vecinos.core import roles
        from vecinos.core.extensions import add_audit_actions
        from vecinos.network import inbound, selectors, signals  # noqa: F401

        roles.register("coordinator", selectors.is_coordinator)
        roles.register("coalition_coordinator", selectors.is_coalition_coordinator)
        roles.register_independence(selectors.independent_people)
        _navigation(selectors)
        _purge_steps()
        add_audit_actions(AUDIT_ACTIONS)


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
