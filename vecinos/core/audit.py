from __future__ import annotations

from typing import Any

from vecinos.core.models import AuditEvent


def audit(
    action: str,
    *,
    actor: Any = None,
    target: Any = None,
    organization_id: int | None = None,
    **detail: Any,
) -> AuditEvent:
    """Record a sensitive action. ``detail`` must hold ids and labels only, never personal data."""
    actor_obj = actor if actor is not None and getattr(actor, "is_authenticated", False) else None
    return AuditEvent.objects.create(
        actor=actor_obj,
        action=action,
        target_type=target._meta.model_name if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        organization_id=organization_id,
        detail=detail,
    )
