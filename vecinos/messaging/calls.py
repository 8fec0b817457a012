"""Voice calls and call recordings, as the domain apps see them (they never import transports).

Calls. Messaging places a voice delivery as a call whose first TwiML comes from the voice
webhook on flow ``CALL_FLOW``, with the delivery named by a signed token (``d``): the transport
builds that URL with the flow it is given. An app that answers such calls registers that flow
with the inbound router (``inbound.register_voice``) and builds the next steps of the call with
``call_path`` / ``gather``, passing its own flow name; ``call_delivery`` finds the delivery a
token names (None for a forged, mangled or expired token).

Recordings. The hotline's recordings stay at the provider until fetched: ``recording_ref``
checks the URL the provider sent (only a Recording on the configured API host), then
``recording_fetch`` and ``recording_delete`` do one step each, raising ``RecordingError``
(``busy``: the provider is unreachable or throttling) when the step must be tried again later.
"""

from __future__ import annotations

from typing import Any

from vecinos.messaging.models import Channel, Delivery
from vecinos.transports.twilio import recordings as twilio_recordings
from vecinos.transports.twilio import voice as twilio_voice

# The flow every call placed by messaging lands on. "alert" for history: the alerts app
# registered it first, and calls already placed keep their URLs (mobilize wraps it to answer
# call-outs' calls, told apart by their delivery).
CALL_FLOW = "alert"

RecordingRef = twilio_recordings.RecordingRef
RecordingError = twilio_recordings.RecordingError
delivery_token = twilio_voice.delivery_token


def call_path(token: str, *, flow: str = CALL_FLOW, **step: str) -> str:
    """The voice webhook path (with query) of a step of the call a token names."""
    return twilio_voice.call_path(token, flow=flow, **step)


def call_delivery(token: str, *, ref_type: str | None = None) -> Delivery | None:
    """The voice delivery a call's token names (of this ref_type, if given), or None."""
    delivery_id = twilio_voice.load_delivery_token(token)
    if delivery_id is None:
        return None
    rows = Delivery.objects.filter(pk=delivery_id, channel=Channel.VOICE)
    if ref_type is not None:
        rows = rows.filter(ref_type=ref_type)
    return rows.first()


def gather(twiml: Any, *, token: str, flow: str, timeout: int, **step: str) -> Any:
    """A one-key <Gather> whose answer comes back to this flow's step (TwiML verb to fill)."""
    return twiml.gather(
        num_digits=1,
        action=call_path(token, flow=flow, **step),
        method="POST",
        timeout=timeout,
    )


# --- recordings ----------------------------------------------------------------------------------


def recording_ref(url: str) -> RecordingRef | None:
    """The Recording a provider URL names, or None unless it is one on the configured host."""
    return twilio_recordings.parse_recording_url(url)


def recordings_configured() -> bool:
    return twilio_recordings.configured()


def recording_fetch(ref: RecordingRef) -> bytes | None:
    """The audio, or None when the provider has no such recording (any more)."""
    return twilio_recordings.fetch(ref)


def recording_delete(ref: RecordingRef) -> None:
    """Delete the recording at the provider (done, too, if it was gone already)."""
    twilio_recordings.delete(ref)
