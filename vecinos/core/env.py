"""Strict environment helpers: every setting comes from here.

A value that cannot be parsed stops the process with a message naming the variable, instead of
quietly falling back to a default (a typo in VECINOS_DEBUG must not turn debugging on or off).
Secrets may also come from ``NAME_FILE`` (a path whose contents are the value), the usual way
to pass Docker/systemd secrets without putting them in the environment.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path


class ConfigError(RuntimeError):
    pass


def env_str(name: str, default: str | None = None) -> str | None:
    file_path = os.environ.get(f"{name}_FILE")
    if file_path:
        try:
            return Path(file_path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(
                f"{name}_FILE points at {file_path!r}, which cannot be read: {exc}"
            ) from None
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value


def env_bool(name: str, default: bool) -> bool:
    value = env_str(name)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in ("true", "1", "yes", "on"):
        return True
    if lowered in ("false", "0", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false, not {value!r}")


def env_int(
    name: str, default: int, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    value = env_str(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {value!r}") from None
    if minimum is not None and number < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, not {number}")
    if maximum is not None and number > maximum:
        raise ConfigError(f"{name} must be at most {maximum}, not {number}")
    return number


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = env_str(name, default) or default
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, not {value!r}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    value = env_str(name)
    if value is None:
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


def env_networks(name: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """A comma-separated list of IP addresses or CIDR networks; empty when unset.

    A bare address is a one-address network. Host bits set under a mask (``10.0.0.1/8``) and
    "every address" (``0.0.0.0/0``, ``::/0``) are refused rather than guessed at.
    """
    value = env_str(name)
    if value is None:
        return ()
    networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        try:
            network = ipaddress.ip_network(item, strict=True)
        except ValueError:
            raise ConfigError(
                f"{name} must be a comma-separated list of IP addresses or networks "
                f"(like 127.0.0.1,10.0.0.0/8); {item!r} is not one"
            ) from None
        if network.prefixlen == 0:
            raise ConfigError(f"{name} must not trust every address ({item!r})")
        networks.append(network)
    return tuple(networks)


def secret_from_env_or_file(name: str, path: Path, generate) -> tuple[str, bool]:
    """Return (secret, came_from_env).

    When the variable is not set, the secret is read from ``path`` in the data directory,
    generating it there on first run (embedded mode). Production refuses that path through a
    system check, because a secret sitting beside the database is seized with it.
    """
    value = env_str(name)
    if value:
        return value, True
    if path.exists():
        return path.read_text(encoding="utf-8").strip(), False
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = generate()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(secret)
    return secret, False
