from django.urls import path

from vecinos.onboarding import views, views_coalition

urlpatterns = [
    path("coalition/", views_coalition.coalition_settings, name="coalition_settings"),
    path("import/", views.import_start, name="import_start"),
    path("import/<int:job_id>/", views.import_job, name="import_job"),
    path("import/<int:job_id>/progress/", views.import_progress, name="import_progress"),
    path("import/<int:job_id>/report.csv", views.import_report, name="import_report"),
]
