"""Small request helpers shared by the apps' views."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from vecinos.network.models import Member


def member_of(request: HttpRequest) -> Member:
    """The signed-in member making this request.

    For views already behind ``login_required`` (or an explicit ``is_authenticated`` check):
    it types ``request.user`` as the user model. A signed-out request gets PermissionDenied.
    """
    user = request.user
    if not user.is_authenticated:
        raise PermissionDenied
    return user  # narrowed to the user model by is_authenticated
