from django.urls import path

from vecinos.mobilize import views

urlpatterns = [
    path("mobilize/", views.callouts, name="mobilize"),
    path("mobilize/new/", views.callout_new, name="callout_new"),
    path("mobilize/<int:activation_id>/", views.callout_detail, name="callout_detail"),
    path("mobilize/<int:activation_id>/board/", views.callout_board, name="callout_board"),
    path("mobilize/<int:activation_id>/approve/", views.callout_approve, name="callout_approve"),
    path("mobilize/<int:activation_id>/message/", views.callout_message, name="callout_message"),
    path(
        "mobilize/<int:activation_id>/stand-down/",
        views.callout_stand_down,
        name="callout_stand_down",
    ),
    path("mobilize/<int:activation_id>/log/", views.callout_log, name="callout_log"),
    path("r/<str:token>/", views.callout_link, name="callout_link"),
    path("events/", views.event_list, name="events"),
    path("events/feed.ics", views.event_feed, name="event_feed"),
    path("events/new/", views.event_new, name="event_new"),
    path("events/<int:event_id>/", views.event_detail, name="event_detail"),
    path("events/<int:event_id>/qr.svg", views.event_qr, name="event_qr"),
    path("events/<int:event_id>/rsvp/<str:token>/", views.event_rsvp, name="event_rsvp"),
    path("events/<int:event_id>/edit/", views.event_edit, name="event_edit"),
    path("events/<int:event_id>/door/", views.event_door, name="event_door"),
    path(
        "events/<int:event_id>/door/<int:rsvp_id>/",
        views.event_check_in,
        name="event_check_in",
    ),
    path("events/<int:event_id>/walk-in/", views.event_walk_in, name="event_walk_in"),
]
