"""Signed-in pages of the reports pipeline: the dispatcher console, incidents, duty, the member
quick report, and the verifier's signed-link pages."""

from django.urls import path

from vecinos.reports import views_console as console
from vecinos.reports import views_media, views_member, views_mine, views_notify
from vecinos.reports import views_verify as verify

urlpatterns = [
    path("console/", console.console, name="console"),
    path("console/queue/", console.console_queue, name="console_queue"),
    path("console/reports/<int:report_id>/triage/", console.console_triage, name="console_triage"),
    path("console/reports/<int:report_id>/merge/", console.console_merge, name="console_merge"),
    path("console/reports/<int:report_id>/ban/", console.console_ban, name="console_ban"),
    path("console/reports/<int:report_id>/split/", console.console_split, name="console_split"),
    path("console/incidents/<int:incident_id>/", console.console_incident, name="console_incident"),
    path(
        "console/incidents/<int:incident_id>/live/",
        console.console_incident_live,
        name="console_incident_live",
    ),
    path("console/incidents/<int:incident_id>/lock/", console.console_lock, name="console_lock"),
    path(
        "console/incidents/<int:incident_id>/merge/",
        console.console_incident_merge,
        name="console_incident_merge",
    ),
    path("console/incidents/<int:incident_id>/close/", console.console_close, name="console_close"),
    path(
        "console/incidents/<int:incident_id>/dispatch/",
        console.console_dispatch,
        name="console_dispatch",
    ),
    path("console/media/<int:attachment_id>/", views_media.console_media, name="console_media"),
    path("console/heartbeat/", views_notify.console_heartbeat, name="console_heartbeat"),
    path(
        "console/incidents/<int:incident_id>/ask-responders/",
        views_notify.incident_ask_responders,
        name="incident_ask_responders",
    ),
    path(
        "console/incidents/<int:incident_id>/verified-otherwise/",
        views_notify.incident_verified_otherwise,
        name="incident_verified_otherwise",
    ),
    path("duty/", views_member.duty, name="duty"),
    path("me/requests/", views_mine.my_requests, name="my_requests"),
    path("quick-report/", views_member.quick_report, name="quick_report"),
    path("quick-report/sent/", views_member.quick_report_done, name="quick_report_done"),
    path("v/<str:token>/", verify.verify_request, name="verify_request"),
    path("v/<str:token>/respond/", verify.verify_respond, name="verify_respond"),
    path("v/<str:token>/outcome/", verify.verify_outcome, name="verify_outcome"),
    path("v/<str:token>/thanks/", verify.verify_thanks, name="verify_thanks"),
]
