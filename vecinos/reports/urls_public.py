from django.urls import path

from vecinos.reports import views_public

urlpatterns = [
    path("report/", views_public.report_form, name="report_form"),
    path("report/thanks/<str:receipt>/", views_public.report_thanks, name="report_thanks"),
    path("rumors/", views_public.rumors, name="rumors"),
]
