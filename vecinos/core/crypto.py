"""Field encryption and blind indexes.

Personal data (names, phone numbers, emails, notes) is stored as AES-256-GCM ciphertext; the key
comes from VECINOS_FIELD_KEY and never touches the database. Lookups by phone or email use a
blind index: HMAC-SHA256 under a separate key derived from the field key (HKDF), so the index
cannot be reversed or brute-forced without the key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from functools import lru_cache
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.db import models

PREFIX = "v1:"


class FieldKeyError(RuntimeError):
    pass


def _decode_key(raw: str) -> bytes:
    try:
        key = base64.urlsafe_b64decode(raw.encode() + b"=" * (-len(raw) % 4))
    except (ValueError, TypeError):
        raise FieldKeyError("VECINOS_FIELD_KEY must be 32 bytes in urlsafe base64") from None
    if len(key) != 32:
        raise FieldKeyError("VECINOS_FIELD_KEY must decode to exactly 32 bytes")
    return key


def _derive(master: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(master)


@lru_cache(maxsize=4)
def _keys(raw: str) -> tuple[AESGCM, bytes]:
    master = _decode_key(raw)
    return AESGCM(_derive(master, b"vecinos field encryption v1")), _derive(
        master, b"vecinos blind index v1"
    )


def generate_key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


def encrypt(plaintext: str) -> str:
    aead, _ = _keys(settings.FIELD_KEY)
    nonce = os.urandom(12)
    ct = aead.encrypt(nonce, plaintext.encode("utf-8"), None)
    return PREFIX + base64.b64encode(nonce + ct).decode("ascii")


def decrypt(token: str) -> str:
    if not token.startswith(PREFIX):
        raise FieldKeyError("value is not encrypted with a known scheme")
    aead, _ = _keys(settings.FIELD_KEY)
    blob = base64.b64decode(token[len(PREFIX) :])
    return aead.decrypt(blob[:12], blob[12:], None).decode("utf-8")


# Files (photos, hotline recordings): MAGIC, a 12-byte nonce, then AES-256-GCM ciphertext under
# a key of their own derived from the field key.
MEDIA_MAGIC = b"VREC1"


class Undecryptable(ValueError):
    """Not our ciphertext, damaged, or encrypted under another key."""


@lru_cache(maxsize=4)
def _media_key(raw: str) -> AESGCM:
    return AESGCM(_derive(_decode_key(raw), b"vecinos media encryption v1"))


def encrypt_bytes(content: bytes) -> bytes:
    nonce = os.urandom(12)
    return MEDIA_MAGIC + nonce + _media_key(settings.FIELD_KEY).encrypt(nonce, content, MEDIA_MAGIC)


def decrypt_bytes(blob: bytes) -> bytes:
    head = len(MEDIA_MAGIC) + 12
    if not blob.startswith(MEDIA_MAGIC) or len(blob) < head + 16:
        raise Undecryptable("not an encrypted file")
    try:
        return _media_key(settings.FIELD_KEY).decrypt(
            blob[len(MEDIA_MAGIC) : head], blob[head:], MEDIA_MAGIC
        )
    except InvalidTag:
        raise Undecryptable("file does not decrypt with this key") from None


def blind_index(value: str, *, purpose: str) -> str:
    """Deterministic keyed hash of a normalized value (a phone in E.164, a lowercased email)."""
    _, index_key = _keys(settings.FIELD_KEY)
    return hmac.new(index_key, f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()


class EncryptedTextField(models.TextField):
    """A text column holding AES-GCM ciphertext; Python code sees the plaintext.

    It cannot be filtered or ordered on (the ciphertext is randomized); pair it with a blind
    index column for lookups.
    """

    description = "Encrypted text"

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return decrypt(value)

    def to_python(self, value):
        if isinstance(value, str) and value.startswith(PREFIX):
            return decrypt(value)
        return value

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(str(value))


class EncryptedFloatField(EncryptedTextField):
    """A coordinate stored as AES-GCM ciphertext; Python code sees a float (or None).

    For positions that are only displayed or compared in Python (a verifier's duty position):
    queries keep a coarse cell beside it. A plaintext number left by an older schema still reads.
    """

    description = "Encrypted number"
    # What django-stubs' plugin reads as the attribute's types (annotations only).
    _pyi_private_set_type: float | int | str  # type: ignore[assignment]
    _pyi_private_get_type: float  # type: ignore[assignment]

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return None
        return float(decrypt(value) if str(value).startswith(PREFIX) else value)

    def to_python(self, value):
        if value is None or value == "":
            return None
        if isinstance(value, str) and value.startswith(PREFIX):
            value = decrypt(value)
        return float(value)

    def get_prep_value(self, value):
        if value is None or value == "":
            return None
        return encrypt(repr(float(value)))


class EncryptedJSONField(models.TextField):
    """A JSON value (a dict of texts by language) stored as AES-GCM ciphertext."""

    description = "Encrypted JSON"
    _pyi_private_set_type: Any
    _pyi_private_get_type: Any

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        if value.startswith(PREFIX):
            value = decrypt(value)
        return json.loads(value)

    def to_python(self, value):
        if isinstance(value, str):
            if value.startswith(PREFIX):
                value = decrypt(value)
            return json.loads(value) if value else value
        return value

    def get_prep_value(self, value):
        if value is None:
            return value
        return encrypt(json.dumps(value, ensure_ascii=False, sort_keys=True))

    def value_to_string(self, obj):
        return json.dumps(self.value_from_object(obj), ensure_ascii=False)
