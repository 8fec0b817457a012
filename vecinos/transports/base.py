"""The one interface every provider adapter implements.

Transports know no domain: they take an address, a body and an idempotency key, and either
return the provider's message id or raise TransportError. ``permanent=True`` means "retrying
will never help" (invalid number, unsubscribed at the carrier): the delivery stops and the
contact point is marked unusable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


class TransportError(Exception):
    """``uncertain=True``: the request may have reached the provider (a timeout while waiting
    for the answer, a connection cut after sending). Before sending again, a transport that can
    look (``find_sent``) is asked whether the first attempt went through."""

    def __init__(
        self, message: str, *, permanent: bool = False, code: str = "", uncertain: bool = False
    ) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.code = code
        self.uncertain = uncertain


@dataclass(frozen=True)
class OutboundMessage:
    channel: str  # sms, voice, email, push, signal
    address: str  # E.164 phone, email address, push subscription JSON, ...
    body: str
    language: str
    idempotency_key: str
    subject: str = ""
    # Seconds after which the provider should drop the message instead of delivering it late.
    validity_seconds: int | None = None
    status_callback: str = ""
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True)
class SendResult:
    provider_id: str
    status: str = "sent"  # sent | delivered (console transports deliver at once)
    # When it went out, if earlier than now: a message found by a look-up (find_sent).
    sent_at: datetime | None = None


class Transport:
    channel: str = ""
    #: messages per second the workers keep to for this transport (0 = unlimited)
    rate_limit: float = 0
    #: True for transports that only write to our own database (run in the worker's thread)
    inline: bool = False
    #: True for transports whose receipts name a message by the provider's id alone (the
    #: Android gateway's): on PostgreSQL the worker lists those ids (messaging.dueset). Twilio's
    #: status callbacks name the delivery itself, in their URL.
    receipts_by_provider_id: bool = False

    def send(self, message: OutboundMessage) -> SendResult:
        raise NotImplementedError
