"""The public front door: `/` for a visitor who is not signed in (members get their own home)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from vecinos.network import views as network_views


def home(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return network_views.home(request)
    return render(request, "onboarding/public_home.html")
