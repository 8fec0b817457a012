"""Pages of the alerts app, the acknowledgement link, subscriptions and the CAP feed.

Contract paths: /cap/alerts.atom and /cap/alerts/<id>.xml.
"""

from django.urls import path

from vecinos.alerts import (
    views_ack,
    views_compose,
    views_manage,
    views_mine,
    views_recordings,
    views_subscribe,
)

urlpatterns = [
    path("alerts/", views_compose.alerts, name="alerts"),
    path("alerts/new/", views_compose.alert_new, name="alert_new"),
    path("alerts/optouts/", views_manage.optouts, name="optouts"),
    path("alerts/recordings/", views_recordings.recordings, name="alert_recordings"),
    path(
        "alerts/recordings/hotline/",
        views_recordings.hotline_recordings,
        name="hotline_recordings",
    ),
    path(
        "alerts/voice/<str:token>/",
        views_recordings.recording_audio,
        name="alert_recording_audio",
    ),
    path("alerts/<int:alert_id>/", views_compose.alert_detail, name="alert_detail"),
    path("alerts/<int:alert_id>/progress/", views_compose.alert_progress, name="alert_progress"),
    path("alerts/<int:alert_id>/send/", views_compose.alert_send, name="alert_send"),
    path("alerts/<int:alert_id>/approve/", views_compose.alert_approve, name="alert_approve"),
    path("alerts/<int:alert_id>/cancel/", views_compose.alert_cancel, name="alert_cancel"),
    path("alerts/<int:alert_id>/tree/", views_compose.alert_tree, name="alert_tree"),
    path("a/<str:token>/", views_ack.alert_ack, name="alert_ack"),
    path("tree/", views_ack.captain, name="captain"),
    path("tree/<int:recipient_id>/mark/", views_ack.captain_mark, name="captain_mark"),
    path("me/alerts/", views_subscribe.my_subscriptions, name="my_subscriptions"),
    path("me/alerts/received/", views_mine.my_alerts, name="my_alerts"),
    path("me/push/", views_subscribe.my_push, name="my_push"),
    path(
        "me/alerts/areas/<int:area_id>/remove/",
        views_subscribe.my_area_remove,
        name="my_area_remove",
    ),
    path("subscribe/", views_subscribe.subscribe, name="subscribe"),
    path("subscribe/confirm/", views_subscribe.subscribe_confirm, name="subscribe_confirm"),
    path("outbox/", views_manage.outbox, name="outbox"),
    path("cap/alerts.atom", views_manage.cap_feed, name="cap_feed"),
    path("cap/alerts/<int:alert_id>.xml", views_manage.cap_alert, name="cap_alert"),
]
