"""The emergency purge's mobilize step: who answered which call-out, and every RSVP."""

from __future__ import annotations


def purge_personal() -> dict[str, int]:
    from vecinos.mobilize.models import Activation, ActivationMessage, Response, Rsvp

    counts = {
        "callout_responses": Response.objects.all().delete()[0],
        "callout_messages": ActivationMessage.objects.all().delete()[0],
        "rsvps": Rsvp.objects.all().delete()[0],
    }
    Activation.objects.update(staging_point="", after_action="", guidance={})
    return counts
