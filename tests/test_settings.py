"""Settings: environment variables, and production mode's refusal of weak secrets."""

from __future__ import annotations

import pytest

from cityos.settings import InsecureSettingsError, Mode, Settings


def make(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def test_defaults_are_the_demo_on_sqlite() -> None:
    settings = make()
    assert settings.mode is Mode.DEMO
    assert settings.database_url == "sqlite:///./var/cityos.db"
    settings.check_production()  # demo mode has nothing to refuse


def test_environment_variables_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CITYOS_DATABASE_URL", "postgresql+psycopg://u@db/cityos")
    monkeypatch.setenv("CITYOS_NATS_URL", "nats://127.0.0.1:4222")
    monkeypatch.setenv("CITYOS_MODE", "production")
    settings = make()
    assert settings.database_url == "postgresql+psycopg://u@db/cityos"
    assert settings.nats_url == "nats://127.0.0.1:4222"
    assert settings.mode is Mode.PRODUCTION


def test_production_refuses_a_missing_secret_and_names_it() -> None:
    with pytest.raises(InsecureSettingsError, match="CITYOS_SECRET_KEY is missing"):
        make(mode="production").check_production()


@pytest.mark.parametrize("secret", ["change-me", "secret", "CITYOS"])
def test_production_refuses_a_default_secret(secret: str) -> None:
    with pytest.raises(InsecureSettingsError, match="CITYOS_SECRET_KEY is a default value"):
        make(mode="production", secret_key=secret).check_production()


def test_production_refuses_a_short_secret() -> None:
    with pytest.raises(InsecureSettingsError, match="shorter than 32"):
        make(mode="production", secret_key="x" * 20).check_production()


def test_production_with_s3_names_every_missing_secret() -> None:
    settings = make(mode="production", secret_key="k" * 40, file_store="s3")
    with pytest.raises(InsecureSettingsError) as caught:
        settings.check_production()
    assert "CITYOS_S3_ACCESS_KEY is missing" in str(caught.value)
    assert "CITYOS_S3_SECRET_KEY is missing" in str(caught.value)


def test_production_refuses_a_missing_pii_master_key_and_names_it() -> None:
    with pytest.raises(InsecureSettingsError, match="CITYOS_PII_MASTER_KEY is missing"):
        make(mode="production", secret_key="k" * 40).check_production()


def test_production_refuses_a_pii_master_key_equal_to_the_secret_key() -> None:
    settings = make(mode="production", secret_key="k" * 40, pii_master_key="k" * 40)
    with pytest.raises(InsecureSettingsError, match="must differ"):
        settings.check_production()


def test_production_refuses_a_short_pii_master_key() -> None:
    settings = make(mode="production", secret_key="k" * 40, pii_master_key="p" * 20)
    with pytest.raises(InsecureSettingsError, match="CITYOS_PII_MASTER_KEY is shorter than 32"):
        settings.check_production()


def test_production_with_a_strong_secret_starts() -> None:
    settings = make(mode="production", secret_key="k" * 40, pii_master_key="p" * 40)
    settings.check_production()
    assert settings.secret_key_value() == "k" * 40


def test_demo_secret_is_kept_in_the_data_folder(tmp_path: object) -> None:
    from pathlib import Path

    folder = Path(str(tmp_path))
    first = make(data_dir=folder).secret_key_value()
    assert (folder / "demo-secret.key").read_text().strip() == first
    assert make(data_dir=folder).secret_key_value() == first
    assert make(data_dir=folder / "other").secret_key_value() != first
