"""Cloud settings: defaults, a TOML or YAML file, TRACEGATE_* variables; errors name the source."""

from __future__ import annotations

from pathlib import Path

import pytest

from cloud.settings import Settings, SettingsError, load_settings


def test_defaults_need_nothing() -> None:
    settings = load_settings(env={})
    assert settings.database_url == "sqlite+aiosqlite:///./tracegate.sqlite3"
    assert settings.topic_prefix == "tracegate/v1"
    assert settings.ingest_enabled is False
    assert settings.broker.host == "127.0.0.1" and settings.broker.port == 1883


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    file = tmp_path / "cloud.toml"
    file.write_text('topic_prefix = "plant/v1"\ningest_batch_max = 100\n')
    settings = load_settings(
        env={"TRACEGATE_INGEST_BATCH_MAX": "250", "TRACEGATE_CONFIG": str(file)},
    )
    assert (settings.topic_prefix, settings.ingest_batch_max) == ("plant/v1", 250)


def test_yaml_file_and_broker_credentials(tmp_path: Path) -> None:
    file = tmp_path / "cloud.yaml"
    file.write_text("mqtt_url: mqtts://ingest:s%40cret@broker.plant:8883\ningest_enabled: true\n")
    settings = load_settings(env={}, file=file)
    broker = settings.broker
    assert (broker.host, broker.port, broker.tls) == ("broker.plant", 8883, True)
    assert (broker.username, broker.password) == ("ingest", "s@cret")
    assert settings.ingest_enabled is True


def test_a_bad_variable_is_named() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(env={"TRACEGATE_INGEST_BATCH_MAX": "lots"})
    assert str(caught.value) == (
        "invalid settings: $TRACEGATE_INGEST_BATCH_MAX: ingest_batch_max: Input should be a "
        "valid integer, unable to parse string as an integer (got 'lots')"
    )


def test_an_unknown_key_in_the_file_is_refused(tmp_path: Path) -> None:
    file = tmp_path / "cloud.toml"
    file.write_text('databse_url = "sqlite+aiosqlite:///x"\n')
    with pytest.raises(SettingsError) as caught:
        load_settings(env={}, file=file)
    assert str(caught.value) == (
        f"invalid settings: {file}: databse_url: Extra inputs are not permitted "
        "(got 'sqlite+aiosqlite:///x')"
    )


def test_only_the_two_supported_drivers() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(env={"TRACEGATE_DATABASE_URL": "mysql://db/x"})
    assert "expected a sqlite+aiosqlite:// or postgresql+asyncpg:// URL, got 'mysql'" in str(
        caught.value
    )


def test_a_prefix_with_wildcards_is_refused() -> None:
    with pytest.raises(SettingsError, match=r"expected topic levels without wildcards"):
        load_settings(env={"TRACEGATE_TOPIC_PREFIX": "plant/#"})


def test_a_file_of_another_kind_is_refused(tmp_path: Path) -> None:
    file = tmp_path / "cloud.ini"
    file.write_text("x=1")
    with pytest.raises(SettingsError) as caught:
        load_settings(env={}, file=file)
    assert str(caught.value) == f"{file}: expected a .toml, .yaml or .yml file, got '.ini'"


def test_settings_are_immutable() -> None:
    settings = Settings()
    with pytest.raises(ValueError, match="frozen"):
        settings.topic_prefix = "x"  # type: ignore[misc]
