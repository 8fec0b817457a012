import pytest

from vecinos.core.env import ConfigError, env_bool, env_int, env_str


def test_env_bool_refuses_anything_but_true_or_false(monkeypatch):
    monkeypatch.setenv("VECINOS_X", "ture")
    with pytest.raises(ConfigError, match="VECINOS_X must be true or false"):
        env_bool("VECINOS_X", False)
    monkeypatch.setenv("VECINOS_X", "false")
    assert env_bool("VECINOS_X", True) is False


def test_env_int_checks_range(monkeypatch):
    monkeypatch.setenv("VECINOS_PORTX", "70000")
    with pytest.raises(ConfigError, match="at most 65535"):
        env_int("VECINOS_PORTX", 8000, maximum=65535)
    monkeypatch.setenv("VECINOS_PORTX", "eighty")
    with pytest.raises(ConfigError, match="whole number"):
        env_int("VECINOS_PORTX", 8000)


def test_secret_can_come_from_a_file(monkeypatch, tmp_path):
    secret = tmp_path / "s"
    secret.write_text("from-file\n")
    monkeypatch.setenv("VECINOS_S", "from-env")
    monkeypatch.setenv("VECINOS_S_FILE", str(secret))
    assert env_str("VECINOS_S") == "from-file"
    monkeypatch.setenv("VECINOS_S_FILE", str(tmp_path / "missing"))
    with pytest.raises(ConfigError, match="cannot be read"):
        env_str("VECINOS_S")
