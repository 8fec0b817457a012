"""Provider webhooks, mounted at /hooks/ (contract: /hooks/twilio/sms, /voice, /status;
/hooks/android/ for SMS Gateway for Android's delivery receipts)."""

from django.urls import path

from vecinos.messaging import views

urlpatterns = [
    path("twilio/sms", views.twilio_sms, name="twilio_sms"),
    path("twilio/voice", views.twilio_voice, name="twilio_voice"),
    path("twilio/status", views.twilio_status, name="twilio_status"),
    path("android/", views.android_webhook, name="android_webhook"),
]
