"""The emergency purge's alerts step: subscribers (areas, recipients cascade), opt-outs, and the
texts and place labels of alerts (AlertsConfig.ready registers it)."""

from __future__ import annotations

from vecinos.alerts.models import Alert, OptOut, Subscriber


def purge_personal() -> dict[str, int]:
    counts = {
        "subscribers": Subscriber.objects.all().delete()[0],
        "opt_outs": OptOut.objects.all().delete()[0],
    }
    Alert.objects.update(messages={}, area_label="")
    return counts
