"""Process settings, read from ``CITYOS_*`` environment variables and ``.env``.

Demo mode runs with throw-away secrets so ``make run`` needs no set-up; production mode
refuses to start while any secret is missing or still a known default, naming each one.
"""

from __future__ import annotations

import secrets
from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

# Secrets that ship in this repository's examples; production must never run with them.
KNOWN_DEFAULT_SECRETS = frozenset({"", "change-me", "changeme", "secret", "cityos", "demo"})
# Keys derived from these must resist guessing. The personal-data master key is separate
# from the signing secret so that rotating the one never makes encrypted data unreadable.
_LONG_SECRETS = frozenset({"CITYOS_SECRET_KEY", "CITYOS_PII_MASTER_KEY"})


class Mode(StrEnum):
    DEMO = "demo"
    PRODUCTION = "production"


class InsecureSettingsError(RuntimeError):
    """Production mode was asked for with secrets that are missing or defaults."""


class Settings(BaseSettings):
    """Everything a CityOS process reads from its environment."""

    model_config = SettingsConfigDict(
        env_prefix="CITYOS_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    mode: Mode = Mode.DEMO
    database_url: str = "sqlite:///./var/cityos.db"
    data_dir: Path = Path("./var")
    profile: str = "luohu"
    host: str = "127.0.0.1"
    port: int = 8000
    nats_url: str | None = None
    nats_stream: str = "CITYOS"
    nats_subject_prefix: str = Field(default="cityos", pattern=r"^[A-Za-z0-9_-]+$")
    mqtt_url: str | None = None
    # The MQTT ingester's client id prefix (host name by default) and shared-subscription
    # group: processes of one group split the messages between them; empty subscribes
    # without sharing (one ingester; see docs/mqtt.md on broker restarts).
    mqtt_client_id: str | None = None
    mqtt_group: str = Field(default="cityos-ingest", pattern=r"^[A-Za-z0-9_-]*$")
    # Days of raw device observations kept (rollups for charts outlive them).
    telemetry_raw_days: int = Field(default=400, ge=1)
    secret_key: SecretStr | None = None
    pii_master_key: SecretStr | None = None
    file_store: str = "local"
    s3_endpoint_url: str | None = None
    s3_bucket: str = "cityos"
    s3_access_key: SecretStr | None = None
    s3_secret_key: SecretStr | None = None
    s3_region: str = "us-east-1"
    max_upload_bytes: int = Field(default=50 * 1024 * 1024, ge=1)
    log_level: str = "INFO"
    log_json: bool = True
    web_dist: Path | None = None
    issuer: str = "http://127.0.0.1:8000"
    token_max_ttl: int = Field(default=24 * 3600, ge=60)
    # Upstream identity providers users may sign in through (``identity.federation``).
    federation_file: Path | None = None
    # "console" prints codes (demo); otherwise "package.module:Class", built with the settings.
    sms_gateway: str = "console"

    @property
    def files_dir(self) -> Path:
        return self.data_dir / "files"

    def secret_key_value(self) -> str:
        """The signing secret; demo mode makes one per process when none is set."""
        if self.secret_key is not None and self.secret_key.get_secret_value():
            return self.secret_key.get_secret_value()
        if self.mode is Mode.PRODUCTION:
            raise InsecureSettingsError("CITYOS_SECRET_KEY is not set")
        return _demo_secret(self.data_dir)

    def check_production(self) -> None:
        """Raise naming every secret that is missing or a default, in production mode."""
        if self.mode is not Mode.PRODUCTION:
            return
        problems: list[str] = []
        required: dict[str, SecretStr | None] = {
            "CITYOS_SECRET_KEY": self.secret_key,
            "CITYOS_PII_MASTER_KEY": self.pii_master_key,
        }
        if self.file_store == "s3":
            required["CITYOS_S3_ACCESS_KEY"] = self.s3_access_key
            required["CITYOS_S3_SECRET_KEY"] = self.s3_secret_key
        for name, value in required.items():
            if value is None or not value.get_secret_value():
                problems.append(f"{name} is missing")
            elif value.get_secret_value().lower() in KNOWN_DEFAULT_SECRETS:
                problems.append(f"{name} is a default value")
            elif name in _LONG_SECRETS and len(value.get_secret_value()) < 32:
                problems.append(f"{name} is shorter than 32 characters")
        if self.pii_master_key is not None and self.pii_master_key == self.secret_key:
            problems.append("CITYOS_PII_MASTER_KEY must differ from CITYOS_SECRET_KEY")
        if problems:
            raise InsecureSettingsError("production mode refuses to start: " + "; ".join(problems))


@lru_cache(maxsize=4)
def _demo_secret(data_dir: Path) -> str:
    """A demo secret kept in the data folder, so restarts keep sessions and every process agrees."""
    path = data_dir / "demo-secret.key"
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    path.write_text(value, encoding="utf-8")
    path.chmod(0o600)
    return value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
