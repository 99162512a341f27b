"""The cityos command as an operator uses it: clear one-line errors, idempotent commands."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

CITYOS = [sys.executable, "-m", "cityos.cli"]


def run(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        "CITYOS_DATA_DIR": str(tmp_path / "var"),
        "CITYOS_DATABASE_URL": f"sqlite:///{tmp_path / 'var' / 'cli.db'}",
        "COLUMNS": "200",
        **env,
    }
    return subprocess.run(
        [*CITYOS, *args], capture_output=True, text=True, env=environment, timeout=120, check=False
    )


def test_help_is_everywhere(tmp_path: Path) -> None:
    for args in (["--help"], ["db", "--help"], ["profile", "--help"], ["serve", "--help"]):
        result = run(args, tmp_path)
        assert result.returncode == 0, result.stderr
        assert "Usage" in result.stdout


def test_db_upgrade_is_idempotent_and_current_says_so(tmp_path: Path) -> None:
    empty = run(["db", "current"], tmp_path)
    assert empty.returncode == 1
    assert "pending" in empty.stdout
    for _ in range(2):
        upgraded = run(["db", "upgrade"], tmp_path)
        assert upgraded.returncode == 0, upgraded.stderr
    current = run(["db", "current"], tmp_path)
    assert current.returncode == 0
    assert "up to date" in current.stdout


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql+psycopg://postgres@127.0.0.1:1/none", "cannot reach the database"),
        ("mysql://root@localhost/db", "unsupported database 'mysql'"),
        ("not a url", "invalid database URL"),
    ],
)
def test_a_bad_database_url_is_one_clear_line(tmp_path: Path, url: str, expected: str) -> None:
    result = run(["db", "upgrade"], tmp_path, CITYOS_DATABASE_URL=url)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error:")
    assert expected in lines[0]


def test_production_without_a_secret_refuses_and_names_it(tmp_path: Path) -> None:
    result = run(["db", "upgrade"], tmp_path, CITYOS_MODE="production", CITYOS_SECRET_KEY="")
    assert result.returncode == 2
    assert "CITYOS_SECRET_KEY is missing" in result.stderr


def test_profile_validate_and_load(tmp_path: Path) -> None:
    assert run(["profile", "validate", "luohu"], tmp_path).returncode == 0
    assert run(["db", "upgrade"], tmp_path).returncode == 0
    first = run(["profile", "load", "luohu"], tmp_path)
    assert first.returncode == 0, first.stderr
    assert "departments" in first.stdout
    second = run(["profile", "load", "luohu"], tmp_path)
    assert second.returncode == 0
    assert "nothing changed" in second.stdout


def test_profile_validate_lists_errors_and_fails(tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "district.yaml").write_text('code: "1"\nname: {zh: 罗湖区}\n', encoding="utf-8")
    result = run(["profile", "validate", str(bad)], tmp_path)
    assert result.returncode == 1
    assert "district.yaml:1 [code]" in result.stderr
    assert "district.yaml:2 [name.en]" in result.stderr
    assert "departments.yaml [departments]: required file is missing" in result.stderr
