"""Coordinator and dispatcher pages of the patrols app, and the calendar feeds.

Included by ``vecinos/patrols/urls.py`` (mounted at ``/patrols/``).
"""

from django.urls import path

from vecinos.patrols import views_coord as views

urlpatterns = [
    # Places, templates, holidays, generation, logs (coordinators)
    path("coord/", views.places, name="patrol_coord"),
    path("coord/places/new/", views.place_new, name="patrol_place_new"),
    path("coord/places/<int:place_id>/", views.place_detail, name="patrol_place"),
    path(
        "coord/places/<int:place_id>/templates/",
        views.template_new,
        name="patrol_template_new",
    ),
    path("coord/holidays/", views.holidays, name="patrol_holidays"),
    path("coord/generate/", views.generate, name="patrol_generate"),
    path("coord/logs/", views.logs, name="patrol_logs"),
    # Coverage (dispatchers and coordinators)
    path("coverage/", views.coverage, name="patrol_coverage"),
    path("coverage/ask/", views.ask_fill, name="patrol_ask_fill"),
    # Calendar links (every member) and the feeds (the token is the credential)
    path("calendar/", views.calendar_page, name="patrol_calendar"),
    path(
        "calendar/<int:feed_id>/revoke/",
        views.calendar_revoke,
        name="patrol_calendar_revoke",
    ),
    path("cal/<str:token>.ics", views.feed, name="patrol_feed"),
]
