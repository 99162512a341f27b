"""Encryption at rest, blind-index lookups and key rotation, on SQLite and PostgreSQL.

The demo table lives on its own MetaData (no production table is encrypted yet) and is
created and dropped around each test; these tests commit for real, as rotation does.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine, MetaData, String, Text, delete, select, text, type_coerce
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from typer.testing import CliRunner

from cityos.foundation.privacy import (
    DecryptionFailed,
    EncryptedString,
    KeyRingNotInstalled,
    KeyRingProvider,
    PrivacyError,
    PrivacyKey,
    blind_index,
    ensure_active_key,
    install_keyring,
    key_usage,
    reencrypt,
    register_encrypted_column,
    rotate,
)
from cityos.foundation.privacy import cli as keys_cli
from cityos.foundation.privacy.crypto import create_key, key_id_of, load_keyring
from cityos.foundation.privacy.rotation import reencrypt_batch, unregister_encrypted_column
from cityos.kernel.registry import Registry
from cityos.kernel.runtime import Runtime
from cityos.kernel.uow import unit_of_work
from cityos.settings import Settings


class DemoBase(DeclarativeBase):
    metadata = MetaData()


class DemoPerson(DemoBase):
    """How a module declares an encrypted, searchable field."""

    __tablename__ = "privacy_demo_person"

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str | None] = mapped_column(
        EncryptedString("mobile", aad="privacy_demo_person.phone")
    )
    phone_bidx: Mapped[str | None] = mapped_column(String(64), index=True)
    id_number: Mapped[str | None] = mapped_column(
        EncryptedString("id_number", aad="privacy_demo_person.id_number")
    )


RAW_PHONE = type_coerce(DemoPerson.__table__.c.phone, Text())


@pytest.fixture
def pii_settings(tmp_path: Path, settings: Settings) -> Settings:
    return settings.model_copy(update={"pii_master_key": SecretStr("m" * 40), "data_dir": tmp_path})


@pytest.fixture
def sessions(engine: Engine, pii_settings: Settings) -> Iterator[sessionmaker[Session]]:
    """Real sessions on a demo table, with a key ring installed; everything undone after."""
    DemoBase.metadata.create_all(engine)
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    with unit_of_work(factory) as session:
        before = set(session.scalars(select(PrivacyKey.id)))
        # Keys of earlier tests were made under other master keys; set them aside.
        session.execute(delete(PrivacyKey))
    register_encrypted_column(DemoPerson.__table__, "id", "phone")  # type: ignore[arg-type]
    register_encrypted_column(DemoPerson.__table__, "id", "id_number")  # type: ignore[arg-type]
    with unit_of_work(factory) as session:
        ensure_active_key(session, pii_settings)
    install_keyring(KeyRingProvider(engine, pii_settings, refresh_seconds=0))
    try:
        yield factory
    finally:
        install_keyring(None)
        unregister_encrypted_column(DemoPerson.__table__, "phone")  # type: ignore[arg-type]
        unregister_encrypted_column(DemoPerson.__table__, "id_number")  # type: ignore[arg-type]
        DemoBase.metadata.drop_all(engine)
        with unit_of_work(factory) as session:
            session.execute(delete(PrivacyKey))
        assert not before, "privacy_key held keys before the test"


def _add(factory: sessionmaker[Session], count: int) -> None:
    with unit_of_work(factory) as session:
        for n in range(count):
            phone = f"1381234{n:04d}"
            session.add(DemoPerson(id=n + 1, phone=phone, phone_bidx=blind_index("mobile", phone)))


def _phones(factory: sessionmaker[Session]) -> list[str | None]:
    with unit_of_work(factory) as session:
        return list(session.scalars(select(DemoPerson.phone).order_by(DemoPerson.id)))


def test_values_are_stored_encrypted_and_read_back(sessions: sessionmaker[Session]) -> None:
    with unit_of_work(sessions) as session:
        session.add(DemoPerson(id=1, phone="13812345678", id_number="11010519491231002X"))
    with unit_of_work(sessions) as session:
        stored = session.scalar(select(RAW_PHONE))
        person = session.get_one(DemoPerson, 1)
        assert (person.phone, person.id_number) == ("13812345678", "11010519491231002X")
    assert stored is not None
    assert stored.startswith("v1:")
    assert "13812345678" not in stored
    assert len(stored.split(":")) == 4


def test_blind_index_finds_rows_by_the_normalised_value(sessions: sessionmaker[Session]) -> None:
    _add(sessions, 3)
    with unit_of_work(sessions) as session:
        found = session.scalars(
            select(DemoPerson).where(
                DemoPerson.phone_bidx == blind_index("mobile", "+86 138-1234-0002")
            )
        ).all()
    assert [p.id for p in found] == [3]
    assert blind_index("id_number", "11010519491231002x") == blind_index(
        "id_number", "11010519491231002X"
    )
    assert blind_index("mobile", "13812340002") != blind_index("id_number", "13812340002")


def test_a_tampered_value_or_one_moved_to_another_column_does_not_decrypt(
    sessions: sessionmaker[Session], engine: Engine
) -> None:
    _add(sessions, 2)
    with engine.begin() as connection:
        token = connection.execute(
            text("SELECT phone FROM privacy_demo_person WHERE id = 1")
        ).scalar_one()
        forged = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
        connection.execute(
            text("UPDATE privacy_demo_person SET phone = :t WHERE id = 1"), {"t": forged}
        )
        connection.execute(
            text("UPDATE privacy_demo_person SET id_number = :t WHERE id = 2"), {"t": token}
        )
    with unit_of_work(sessions) as session, pytest.raises(DecryptionFailed, match="altered"):
        session.scalar(select(DemoPerson.phone).where(DemoPerson.id == 1))
    with unit_of_work(sessions) as session, pytest.raises(DecryptionFailed, match="another column"):
        session.scalar(select(DemoPerson.id_number).where(DemoPerson.id == 2))


def test_keys_do_not_open_under_another_master_key(
    sessions: sessionmaker[Session], engine: Engine, pii_settings: Settings
) -> None:
    other = pii_settings.model_copy(update={"pii_master_key": SecretStr("o" * 40)})
    with engine.connect() as connection, pytest.raises(PrivacyError, match="master key"):
        load_keyring(connection, other)


def test_rotation_keeps_every_value_readable_before_during_and_after(
    sessions: sessionmaker[Session], pii_settings: Settings
) -> None:
    _add(sessions, 10)
    expected = [f"1381234{n:04d}" for n in range(10)]
    with unit_of_work(sessions) as session:
        old_key = ensure_active_key(session, pii_settings)
        lookup_before = session.scalar(
            select(DemoPerson.id).where(
                DemoPerson.phone_bidx == blind_index("mobile", "13812340007")
            )
        )

    with unit_of_work(sessions) as session:
        new_key = create_key(session, pii_settings).id
    with unit_of_work(sessions) as session:
        ring = load_keyring(session, pii_settings)
        target = next(c for c in _columns() if c.name == "privacy_demo_person.phone")
        half = reencrypt_batch(session, ring, target, after=None, size=5)
    assert half.rewritten == 5
    with unit_of_work(sessions) as session:
        ids = {key_id_of(t) for t in session.scalars(select(RAW_PHONE))}
        session.add(DemoPerson(id=99, phone="13900000000"))  # written mid-rotation: new key
    assert ids == {old_key, new_key}
    assert _phones(sessions) == [*expected, "13900000000"]

    report = reencrypt(sessions.begin, pii_settings, batch_size=3)
    assert report.key_id == new_key
    assert report.rewritten == 5
    assert report.failed == []
    with unit_of_work(sessions) as session:
        assert {key_id_of(t) for t in session.scalars(select(RAW_PHONE))} == {new_key}
        usage = {k.id: (k.status, k.values) for k in key_usage(session)}
        lookup_after = session.scalar(
            select(DemoPerson.id).where(
                DemoPerson.phone_bidx == blind_index("mobile", "13812340007")
            )
        )
    assert usage == {new_key: ("active", 11), old_key: ("retired", 0)}
    assert _phones(sessions) == [*expected, "13900000000"]
    assert lookup_before == lookup_after == 8


def test_rotate_reports_values_it_cannot_decrypt(
    sessions: sessionmaker[Session], engine: Engine, pii_settings: Settings
) -> None:
    _add(sessions, 4)
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE privacy_demo_person SET phone = 'v1:nokey:AAAA:AAAA' WHERE id = 2")
        )
    seen: list[tuple[int, int]] = []
    report = rotate(
        sessions.begin, pii_settings, batch_size=2, progress=lambda c, d, t: seen.append((d, t))
    )
    assert report.rewritten == 3
    assert len(report.failed) == 1
    assert "privacy_demo_person.phone 2" in report.failed[0]
    assert seen[-1] == (4, 4)


def test_cli_rotate_and_status(
    sessions: sessionmaker[Session],
    pii_settings: Settings,
    engine: Engine,
    registry: Registry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _add(sessions, 3)
    runtime = Runtime(settings=pii_settings, engine=engine, sessions=sessions, registry=registry)
    monkeypatch.setattr(keys_cli, "cli_runtime", lambda **_: runtime)
    rotated = CliRunner().invoke(keys_cli.cli, ["rotate", "--batch-size", "2"])
    assert rotated.exit_code == 0, rotated.output
    assert "3 values re-encrypted" in rotated.output
    status = CliRunner().invoke(keys_cli.cli, ["status"])
    assert status.exit_code == 0, status.output
    assert "retired" in status.output
    assert "active" in status.output
    assert _phones(sessions) == ["13812340000", "13812340001", "13812340002"]


def test_using_encryption_before_install_fails_clearly() -> None:
    install_keyring(None)
    with pytest.raises(KeyRingNotInstalled, match="install"):
        blind_index("mobile", "13812345678")


def _columns() -> list[object]:
    from cityos.foundation.privacy import encrypted_columns

    return list(encrypted_columns())
