from django.urls import path

from vecinos.rights import views

urlpatterns = [
    path("", views.index, name="rights_index"),
    path("sw.js", views.service_worker, name="rights_sw"),
    path("offline.json", views.offline_urls, name="rights_offline"),
    path("cards/<str:lang>.pdf", views.cards_pdf, name="rights_cards"),
    path("flyer/<str:lang>.pdf", views.flyer_pdf, name="rights_flyer"),
    path("review/<int:pk>/", views.review, name="rights_review"),
    path("translations/", views.translations, name="rights_translations"),
    path("recordings/", views.recordings, name="rights_recordings"),
    path("audio/<str:token>/", views.audio, name="rights_audio"),
    path("<slug:slug>/", views.article, name="rights_article"),
    path("<slug:slug>/edit/", views.edit, name="rights_edit"),
]
