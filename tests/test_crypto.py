import pytest
from cryptography.exceptions import InvalidTag
from django.test import override_settings

from vecinos.core.crypto import blind_index, decrypt, encrypt, generate_key


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
