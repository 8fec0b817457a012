import pytest
from cryptography.exceptions import InvalidTag
from django.test import override_settings

from vecinos.core.crypto import (
    Undecryptable,
    blind_index,
    decrypt,
    decrypt_bytes,
    encrypt,
    encrypt_bytes,
    generate_key,
)


def test_encryption_round_trips_and_is_randomized():
    a, b = encrypt("María Pérez"), encrypt("María Pérez")
    assert a != b
    assert "María" not in a
    assert decrypt(a) == decrypt(b) == "María Pérez"


def test_blind_index_is_deterministic_and_keyed():
    first = blind_index("+12135550101", purpose="phone")
    assert first == blind_index("+12135550101", purpose="phone")
    assert first != blind_index("+12135550101", purpose="email")
    with override_settings(FIELD_KEY=generate_key()):
        assert blind_index("+12135550101", purpose="phone") != first


def test_ciphertext_does_not_open_with_another_key():
    token = encrypt("secret")
    with override_settings(FIELD_KEY=generate_key()), pytest.raises(InvalidTag):
        decrypt(token)


def test_files_are_encrypted_authenticated_and_keyed():
    photo = b"\xff\xd8\xff\xe0 a photo"
    blob = encrypt_bytes(photo)
    assert photo not in blob and blob != encrypt_bytes(photo)  # random nonce
    assert decrypt_bytes(blob) == photo
    tampered = blob[:-1] + bytes([blob[-1] ^ 1])
    for bad in (tampered, photo, b""):
        with pytest.raises(Undecryptable):
            decrypt_bytes(bad)
    with override_settings(FIELD_KEY=generate_key()), pytest.raises(Undecryptable):
        decrypt_bytes(blob)
