"""Providers come from settings: settings.TRANSPORTS maps a channel to a dotted path."""

from __future__ import annotations

from django.conf import settings
from django.utils.module_loading import import_string

from vecinos.core import threadsafe
from vecinos.transports.base import Transport


@threadsafe.cache  # one instance per transport, shared by the process's threads
def _load(path: str, rate: float) -> Transport:
    transport = import_string(path)()
    if rate:
        transport.rate_limit = rate
    return transport


def get_transport(channel: str) -> Transport:
    conf = settings.TRANSPORTS.get(channel)
    if conf is None:
        raise LookupError(f"no transport configured for channel {channel!r}")
    return _load(conf["path"], float(conf.get("rate", 0)))


def reset() -> None:
    _load.cache_clear()


CONSOLE_PATH = "vecinos.transports.console.transport.ConsoleTransport"


def is_configured(channel: str) -> bool:
    """True when a real provider (not the console Outbox) sends this channel.

    Used to offer optional channels such as Signal only on networks that set them up: a person
    must never pick a way to be reached that only ends up in the Outbox.
    """
    conf = settings.TRANSPORTS.get(channel)
    return conf is not None and conf.get("path", CONSOLE_PATH) != CONSOLE_PATH
