"""The embedded default: every message is recorded in the Outbox instead of leaving the server."""

from __future__ import annotations

import uuid

from vecinos.transports.base import OutboundMessage, SendResult, Transport, TransportError


class ConsoleTransport(Transport):
    channel = "any"
    rate_limit = 0
    inline = True

    def send(self, message: OutboundMessage) -> SendResult:
        from vecinos.transports.models import OutboxMessage

        if not message.address:
            raise TransportError("no address", permanent=True, code="no-address")
        row, _created = OutboxMessage.objects.get_or_create(
            idempotency_key=message.idempotency_key,
            defaults={
                "channel": message.channel,
                "address": message.address,
                "subject": message.subject,
                "body": message.body,
                "language": message.language,
                "provider_id": f"console-{uuid.uuid4().hex[:16]}",
            },
        )
        return SendResult(provider_id=row.provider_id, status="delivered")
