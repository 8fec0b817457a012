"""Alerts: subscriptions, targeting, the two-person rule, fan-out, acknowledgement, escalation.

*What* to say to *whom*; messaging does the *how*. Every alert's deliveries are written in the
same transaction that marks it sent; acknowledgements and escalation steps are conditional
updates, so two workers (or a worker and the auditor) never run one step twice.

This module is the alerts app's one public door for other apps: it re-exports the functions of
the modules the work is split into (issue 10), so callers need not know where each one lives:

    rules          who may alert or approve, message checks, escalation policy, errors
    subscriptions  joining, confirming, STOP, a member's own subscription, push
    selection      which subscribers an alert reaches
    lifecycle      alert_create, alert_send, alert_approve, alert_cancel
    approvals      telling approvers a public alert waits
    fanout         recipient rows and first deliveries
    bodies         the text each person reads
    acks           acknowledgement links and replies
    escalation     voice / captain steps, fall-back channels, the phone tree
    stopping       all-clear, correction, cancel, expiry
    budgets        the monthly budget and an alert's progress
"""

from __future__ import annotations

from vecinos.alerts.acks import (
    ack_link,
    ack_token,
    acknowledge,
    acknowledge_by_phone,
    load_ack_token,
)
from vecinos.alerts.approvals import (
    approval_reach,
    approvers,
    remind_approvers,
    vetted_only_by_author,
)
from vecinos.alerts.bodies import (
    message_for,
)
from vecinos.alerts.budgets import (
    budget_status,
    progress,
)
from vecinos.alerts.escalation import (
    _contact_for,
    captain_mark,
    captain_queue,
    escalate_due,
    fall_back_failed,
)
from vecinos.alerts.fanout import finish_fan_out, resume_fan_outs, watch_fan_out
from vecinos.alerts.lifecycle import (
    alert_approve,
    alert_cancel,
    alert_create,
    alert_send,
)
from vecinos.alerts.rules import (
    APPROVAL_REF,
    APPROVAL_WIDEN_AFTER,
    CONTROL_CHARS,
    DEFAULT_ESCALATION,
    DEFAULT_EXPIRY,
    FALLBACK_LANGUAGES,
    FOLLOWUP_KINDS,
    LANGUAGE_TAG,
    MAX_APPROVERS_NOTIFIED,
    MAX_MESSAGE,
    THROTTLE_EXEMPT,
    THROTTLE_PER_HOUR,
    AlertError,
    NotAllowed,
    can_alert,
    incident_confirmed,
    may_approve,
    needs_second_person,
    validate_messages,
)
from vecinos.alerts.selection import (
    CELL7_REACH_M,
    CELL8_REACH_M,
    MAX_AREA_RADIUS_M,
    Target,
    _stopped_large,
    select_recipients,
    subscribers_in_area,
    subscribers_in_polygon,
)
from vecinos.alerts.stopping import stop_expired
from vecinos.alerts.subscriptions import (
    MAX_AREAS,
    area_remove,
    ensure_member_subscriber,
    has_room_for_area,
    is_opted_out,
    opt_out,
    opt_out_import,
    opt_out_undo,
    push_attach,
    push_detach,
    resolve_place,
    subscribe,
    subscribe_public,
    subscription_confirm,
    subscription_resume,
)

__all__ = [
    "area_remove",
    "_contact_for",
    "_stopped_large",
    "ack_link",
    "ack_token",
    "acknowledge",
    "acknowledge_by_phone",
    "alert_approve",
    "alert_cancel",
    "alert_create",
    "alert_send",
    "AlertError",
    "APPROVAL_REF",
    "APPROVAL_WIDEN_AFTER",
    "approval_reach",
    "approvers",
    "budget_status",
    "can_alert",
    "captain_mark",
    "captain_queue",
    "CELL7_REACH_M",
    "CELL8_REACH_M",
    "CONTROL_CHARS",
    "DEFAULT_ESCALATION",
    "DEFAULT_EXPIRY",
    "ensure_member_subscriber",
    "escalate_due",
    "has_room_for_area",
    "MAX_AREAS",
    "fall_back_failed",
    "FALLBACK_LANGUAGES",
    "FOLLOWUP_KINDS",
    "incident_confirmed",
    "is_opted_out",
    "LANGUAGE_TAG",
    "load_ack_token",
    "MAX_APPROVERS_NOTIFIED",
    "MAX_AREA_RADIUS_M",
    "MAX_MESSAGE",
    "may_approve",
    "message_for",
    "needs_second_person",
    "NotAllowed",
    "opt_out",
    "opt_out_import",
    "opt_out_undo",
    "progress",
    "push_attach",
    "push_detach",
    "remind_approvers",
    "resolve_place",
    "finish_fan_out",
    "resume_fan_outs",
    "watch_fan_out",
    "select_recipients",
    "stop_expired",
    "subscribe",
    "subscribe_public",
    "subscribers_in_area",
    "subscribers_in_polygon",
    "subscription_confirm",
    "subscription_resume",
    "Target",
    "THROTTLE_EXEMPT",
    "THROTTLE_PER_HOUR",
    "validate_messages",
    "vetted_only_by_author",
]
