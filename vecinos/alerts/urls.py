"""Pages of the alerts app, the acknowledgement link, subscriptions and the CAP feed.

Contract paths: /cap/alerts.atom and /cap/alerts/<id>.xml.
"""

from django.urls import path

from vecinos.alerts import views, views_mine

urlpatterns = [
    path("alerts/", views.alerts, name="alerts"),
    path("alerts/new/", views.alert_new, name="alert_new"),
    path("alerts/optouts/", views.optouts, name="optouts"),
    path("alerts/<int:alert_id>/", views.alert_detail, name="alert_detail"),
    path("alerts/<int:alert_id>/progress/", views.alert_progress, name="alert_progress"),
    path("alerts/<int:alert_id>/send/", views.alert_send, name="alert_send"),
    path("alerts/<int:alert_id>/approve/", views.alert_approve, name="alert_approve"),
    path("alerts/<int:alert_id>/cancel/", views.alert_cancel, name="alert_cancel"),
    path("alerts/<int:alert_id>/tree/", views.alert_tree, name="alert_tree"),
    path("a/<str:token>/", views.alert_ack, name="alert_ack"),
    path("tree/", views.captain, name="captain"),
    path("tree/<int:recipient_id>/mark/", views.captain_mark, name="captain_mark"),
    path("me/alerts/", views.my_subscriptions, name="my_subscriptions"),
    path("me/alerts/received/", views_mine.my_alerts, name="my_alerts"),
    path("me/push/", views.my_push, name="my_push"),
    path("me/alerts/areas/<int:area_id>/remove/", views.my_area_remove, name="my_area_remove"),
    path("subscribe/", views.subscribe, name="subscribe"),
    path("subscribe/confirm/", views.subscribe_confirm, name="subscribe_confirm"),
    path("outbox/", views.outbox, name="outbox"),
    path("cap/alerts.atom", views.cap_feed, name="cap_feed"),
    path("cap/alerts/<int:alert_id>.xml", views.cap_alert, name="cap_alert"),
]
