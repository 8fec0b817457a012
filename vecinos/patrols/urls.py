"""Patrol pages: the member side here, the coordinator side in urls_coord."""

from django.urls import include, path

from vecinos.patrols import views

urlpatterns = [
    path("", views.shifts, name="patrol_shifts"),
    path("shifts/<int:shift_id>/", views.shift_page, name="patrol_shift"),
    path("shifts/<int:shift_id>/signup/", views.signup, name="patrol_signup"),
    path("shifts/<int:shift_id>/withdraw/", views.withdraw, name="patrol_withdraw"),
    path("shifts/<int:shift_id>/swap/offer/", views.swap_offer, name="patrol_swap_offer"),
    path("shifts/<int:shift_id>/swap/take/", views.swap_take, name="patrol_swap_take"),
    path("shifts/<int:shift_id>/check-in/", views.check_in, name="patrol_check_in"),
    path("shifts/<int:shift_id>/check-out/", views.check_out, name="patrol_check_out"),
    path("shifts/<int:shift_id>/outcome/", views.outcome, name="patrol_outcome"),
    path("shifts/<int:shift_id>/log/", views.log_add, name="patrol_log_add"),
    path("shifts/<int:shift_id>/report/", views.report, name="patrol_report"),
    path("shifts/<int:shift_id>/report/sent/", views.report_done, name="patrol_report_done"),
    path("", include("vecinos.patrols.urls_coord")),
]
