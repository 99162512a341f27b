"""``cityos audit verify`` and ``cityos audit export`` as an operator runs them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from cityos.foundation.audit import cli, record
from cityos.kernel import migrate
from cityos.kernel.db import make_engine, make_sessionmaker
from cityos.kernel.registry import Registry
from cityos.kernel.uow import unit_of_work
from cityos.settings import get_settings
from tests.foundation.audit.conftest import unguarded

runner = CliRunner()


@pytest.fixture
def cli_engine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, registry: Registry
) -> Iterator[Engine]:
    """A migrated SQLite database of its own that the commands are pointed at."""
    url = f"sqlite:///{tmp_path / 'var' / 'cli.db'}"
    monkeypatch.setenv("CITYOS_DATABASE_URL", url)
    monkeypatch.setenv("CITYOS_DATA_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    engine = make_engine(url)
    migrate.upgrade(engine, registry)
    with unit_of_work(make_sessionmaker(engine)) as session:
        for i in range(3):
            record(
                session,
                actor="admin",
                action="auth.sign_in" if i else "case.register",
                target_type="user",
                target_id=f"u-{i}",
                outcome="success",
                details={},
            )
    yield engine
    engine.dispose()
    get_settings.cache_clear()


def test_verify_prints_the_head_hash_last(cli_engine: Engine) -> None:
    result = runner.invoke(cli, ["verify"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert lines[0].startswith("OK: 3 records")
    assert lines[-1].startswith("head hash ")
    assert len(lines[-1].split()[-1]) == 64


def test_verify_exits_1_naming_the_fault(cli_engine: Engine) -> None:
    with unit_of_work(make_sessionmaker(cli_engine)) as session, unguarded(session):
        session.execute(text("UPDATE audit_record SET actor = 'x' WHERE seq = 2"))
    result = runner.invoke(cli, ["verify"])
    assert result.exit_code == 1
    assert "changed at seq 2" in result.stderr


def test_export_writes_the_matching_records(cli_engine: Engine, tmp_path: Path) -> None:
    out = tmp_path / "audit.xlsx"
    result = runner.invoke(cli, ["export", str(out), "--action", "auth.", "--since", "2020-01-01"])
    assert result.exit_code == 0, result.output
    assert "2 records written" in result.stdout
    rows = list(load_workbook(out, read_only=True).active.iter_rows(values_only=True))
    assert [row[3] for row in rows[2:]] == ["auth.sign_in", "auth.sign_in"]


def test_export_refuses_a_bad_date(cli_engine: Engine, tmp_path: Path) -> None:
    result = runner.invoke(cli, ["export", str(tmp_path / "a.xlsx"), "--since", "yesterday"])
    assert result.exit_code == 2
    assert "--since" in result.stderr
