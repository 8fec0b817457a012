from django.urls import include, path

urlpatterns = [
    path("", include("vecinos.reports.urls_public")),
    path("", include("vecinos.reports.urls_console")),
]
