"""How long an alert's first messages will take at the providers' configured rates.

Shown on the alert's review page, so a coordinator sees before sending that 50,000 texts at
10 a second take 83 minutes: with a faster carrier campaign they raise the rate setting, and
without one they ask people to add push.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext, ngettext

from vecinos.alerts.models import Subscriber
from vecinos.core.bulk import with_ids
from vecinos.messaging import selectors as messaging_selectors

# The setting each channel's rate comes from (what to raise), and its default when the
# configured transport sets none (the console Outbox of development is unlimited: the estimate
# is still for the provider a real network would use).
RATE_SETTINGS = {
    "sms": ("VECINOS_TWILIO_SMS_RATE", "TWILIO_SMS_RATE"),
    "voice": ("VECINOS_TWILIO_VOICE_RATE", "TWILIO_VOICE_RATE"),
    "email": ("VECINOS_EMAIL_RATE", "EMAIL_RATE"),
    "push": ("VECINOS_PUSH_RATE", "PUSH_RATE"),
    "signal": ("VECINOS_SIGNAL_RATE", "SIGNAL_RATE"),
}
SLOW_SECONDS = 10 * 60


@dataclass(frozen=True)
class ChannelTime:
    channel: str
    count: int
    rate: float
    seconds: int
    setting: str

    @property
    def minutes(self) -> int:
        return round(self.seconds / 60)

    @property
    def duration(self) -> str:
        if self.seconds < 60:
            return gettext("less than a minute")
        return ngettext("about %(n)s minute", "about %(n)s minutes", self.minutes) % {
            "n": self.minutes
        }

    @property
    def slow(self) -> bool:
        return self.seconds >= SLOW_SECONDS


def channel_rate(channel: str) -> tuple[float, str]:
    env_name, setting_name = RATE_SETTINGS.get(channel, ("", ""))
    if channel == "sms" and settings.TRANSPORTS["sms"]["path"].endswith("AndroidSmsTransport"):
        env_name, setting_name = "VECINOS_ANDROID_SMS_RATE", "ANDROID_SMS_RATE"
    rate = messaging_selectors.channel_rate(channel)
    if not rate:
        rate = float(getattr(settings, setting_name, 0) or 0) if setting_name else 0.0
    return rate, env_name


def first_channels(subscriber_ids: list[int]) -> Counter:
    """How many people get their first message by each channel (their first choice)."""
    counts: Counter = Counter()
    for i in range(0, len(subscriber_ids), 5000):
        chunk = subscriber_ids[i : i + 5000]
        for chans in with_ids(Subscriber.objects.all(), chunk).values_list("channels", flat=True):
            counts[chans[0] if chans else "sms"] += 1
    return counts


def delivery_estimate(subscriber_ids: list[int]) -> list[ChannelTime]:
    return estimate_for_counts(first_channels(subscriber_ids))


def estimate_for_counts(counts: Counter) -> list[ChannelTime]:
    rows = []
    for channel, count in sorted(counts.items()):
        rate, setting = channel_rate(channel)
        seconds = int(-(-count // rate)) if rate else 0
        rows.append(ChannelTime(channel, count, rate, seconds, setting))
    return rows
