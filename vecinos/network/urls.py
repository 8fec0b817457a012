from django.urls import path

from vecinos.network import views

urlpatterns = [
    path("", views.home, name="home"),
    # Sign in, two-step sign-in, sign out
    path("signin/", views.sign_in, name="login"),
    path("signout/", views.sign_out, name="logout"),
    path("signout/everywhere/", views.sign_out_everywhere, name="logout_everywhere"),
    path("2fa/setup/", views.two_factor_setup, name="two_factor_setup"),
    path("2fa/verify/", views.two_factor_verify, name="two_factor_verify"),
    path("2fa/recovery-codes/", views.two_factor_recovery, name="two_factor_recovery"),
    # Own account
    path("me/", views.profile, name="profile"),
    path("me/phone/", views.profile_phone, name="profile_phone"),
    path("me/tokens/", views.tokens, name="tokens"),
    path("me/tokens/<int:token_id>/revoke/", views.token_revoke, name="token_revoke"),
    # Organizations and rosters (coordinators)
    path("orgs/", views.orgs, name="orgs"),
    path("orgs/<int:org_id>/members/", views.roster, name="roster"),
    path("orgs/<int:org_id>/members.csv", views.roster_export, name="roster_export"),
    path("orgs/<int:org_id>/invites/", views.invite_create, name="invite_create"),
    path(
        "orgs/<int:org_id>/invites/<int:invitation_id>/revoke/",
        views.invite_revoke,
        name="invite_revoke",
    ),
    path("orgs/<int:org_id>/members/<int:member_id>/", views.roster_member, name="roster_member"),
    path("orgs/<int:org_id>/members/<int:member_id>/role/", views.roster_role, name="roster_role"),
    path(
        "orgs/<int:org_id>/members/<int:member_id>/vouch/",
        views.roster_vouch,
        name="roster_vouch",
    ),
    path(
        "orgs/<int:org_id>/members/<int:member_id>/training/",
        views.roster_training,
        name="roster_training",
    ),
    path(
        "orgs/<int:org_id>/members/<int:member_id>/deactivate/",
        views.roster_deactivate,
        name="roster_deactivate",
    ),
    # Members and vetting
    path("members/<int:member_id>/", views.member_detail, name="member_detail"),
    path("members/<int:member_id>/contact/", views.member_contact, name="member_contact"),
    path("vouch/", views.vouch, name="vouch"),
    # Public: joining by invitation
    path("join/<str:token>/", views.join, name="join"),
    # Map and audit
    path("zones/", views.zones, name="zones"),
    path("audit/", views.audit_log, name="audit_log"),
]
