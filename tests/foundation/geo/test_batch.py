"""Batch geocoding of CSV and Excel files."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from cityos.foundation.geo.batch import (
    FAILURE_COLUMNS,
    RESULT_COLUMNS,
    detect_encoding,
    geocode_file,
    rich_progress,
)
from cityos.foundation.geo.geocode import Gazetteer, read_standard_addresses
from cityos.kernel.errors import UnsupportedMediaType, ValidationFailed

FIXTURES = Path(__file__).parent / "fixtures"
ROWS = [
    ("1", "深圳市罗湖区东门街道城东社区人民南路3002号国际贸易中心大厦A座1201", "漏水"),
    ("2", "人民南路３００２號國貿大廈Ｂ座", "噪音"),
    ("3", "人民南路3021号", "占道"),
    ("4", "福田区深南大道6008号", "其他"),
    ("5", "东门路1011号", ""),
    ("6", "", "空地址"),
]


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    with (FIXTURES / "geocode_regions.csv").open(encoding="utf-8") as handle:
        names = {row["code"]: row["name_zh"] for row in csv.DictReader(handle)}
    return Gazetteer(read_standard_addresses(FIXTURES / "geocode_addresses.csv"), names=names)


def write_csv(
    path: Path, encoding: str, header: tuple[str, ...] = ("编号", "地址", "类别")
) -> Path:
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(ROWS)
    return path


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_a_csv_file_in_any_common_encoding(
    tmp_path: Path, gazetteer: Gazetteer, encoding: str
) -> None:
    source = write_csv(tmp_path / "in.csv", encoding)
    detected, _ = detect_encoding(source)
    assert detected == encoding
    calls: list[tuple[int, int | None]] = []
    summary = geocode_file(
        source,
        tmp_path / "out.csv",
        tmp_path / "failures.csv",
        column="地址",
        gazetteer=gazetteer,
        progress=lambda done, total: calls.append((done, total)),
    )
    assert (summary.rows, summary.matched, summary.unsure, summary.not_found) == (6, 2, 1, 3)
    assert calls[-1] == (6, 6)

    rows = read_csv(tmp_path / "out.csv")
    assert list(rows[0]) == ["编号", "地址", "类别", *RESULT_COLUMNS]
    assert [r["类别"] for r in rows] == [r[2] for r in ROWS]
    first = rows[0]
    assert first["status"] == "matched"
    assert first["code"] == "4403030030010010001"
    assert (first["subdistrict"], first["community"], first["grid"]) == (
        "440303003",
        "440303003001",
        "440303003001001",
    )
    assert float(first["lon"]) == pytest.approx(114.116517)
    assert float(first["confidence"]) >= 0.95
    assert first["standard_address"].endswith("人民南路3002号国际贸易中心大厦A座")
    assert rows[1]["code"] == "4403030030010010002"
    assert [r["status"] for r in rows[2:]] == ["not_found", "not_found", "unsure", "not_found"]
    assert rows[2]["code"] == ""

    failures = read_csv(tmp_path / "failures.csv")
    assert list(failures[0]) == list(FAILURE_COLUMNS)
    assert [f["row"] for f in failures] == ["4", "5", "6", "7"]
    wrong_door = failures[0]
    assert wrong_door["reason"] == "number_not_found"
    assert "人民南路3020号" in wrong_door["candidate_1"]
    assert "conflicts: number" in wrong_door["candidate_1"]
    assert failures[1]["reason"] == "outside_district"
    assert failures[1]["candidate_1"] == ""
    ambiguous = failures[2]
    assert ambiguous["reason"] == "ambiguous"
    assert ambiguous["candidate_1"]
    assert ambiguous["candidate_2"]
    assert failures[3]["reason"] == "empty"


def test_an_excel_file_in_and_out(tmp_path: Path, gazetteer: Gazetteer) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(["序号", "address", "备注"])
    for number, address, note in ROWS:
        sheet.append([int(number), address or None, note])
    book.save(tmp_path / "in.xlsx")

    summary = geocode_file(
        tmp_path / "in.xlsx", tmp_path / "out.xlsx", tmp_path / "failures.xlsx", gazetteer=gazetteer
    )
    assert summary.matched == 2

    results = load_workbook(tmp_path / "out.xlsx", read_only=True)
    rows = list(results.worksheets[0].iter_rows(values_only=True))
    results.close()
    header = rows[0]
    assert header == ("序号", "address", "备注", *RESULT_COLUMNS)
    first = dict(zip(header, rows[1], strict=True))
    assert first["序号"] == 1
    assert first["status"] == "matched"
    assert first["code"] == "4403030030010010001"
    assert isinstance(first["lon"], float)
    assert len(rows) == 1 + len(ROWS)

    failures = load_workbook(tmp_path / "failures.xlsx", read_only=True)
    failed = list(failures.worksheets[0].iter_rows(values_only=True))
    failures.close()
    assert failed[0] == FAILURE_COLUMNS
    assert [row[0] for row in failed[1:]] == [4, 5, 6, 7]


def test_csv_in_excel_out(tmp_path: Path, gazetteer: Gazetteer) -> None:
    source = write_csv(tmp_path / "in.csv", "utf-8", header=("id", "address", "kind"))
    geocode_file(source, tmp_path / "out.xlsx", tmp_path / "failures.csv", gazetteer=gazetteer)
    book = load_workbook(tmp_path / "out.xlsx", read_only=True)
    assert next(book.worksheets[0].iter_rows(values_only=True))[1] == "address"
    book.close()


def test_a_missing_column_is_a_clear_error(tmp_path: Path, gazetteer: Gazetteer) -> None:
    source = write_csv(tmp_path / "in.csv", "utf-8")
    with pytest.raises(ValidationFailed) as raised:
        geocode_file(source, tmp_path / "out.csv", tmp_path / "f.csv", gazetteer=gazetteer)
    error = raised.value
    assert error.code == "column_not_found"
    assert error.extra["column"] == "address"
    assert error.extra["columns"] == ["编号", "地址", "类别"]
    assert "地址" in error.detail
    assert not (tmp_path / "out.csv").exists()


def test_other_file_types_are_refused(tmp_path: Path, gazetteer: Gazetteer) -> None:
    (tmp_path / "in.json").write_text("{}", encoding="utf-8")
    with pytest.raises(UnsupportedMediaType) as raised:
        geocode_file(
            tmp_path / "in.json", tmp_path / "o.csv", tmp_path / "f.csv", gazetteer=gazetteer
        )
    assert raised.value.code == "unsupported_file_type"
    source = write_csv(tmp_path / "in.csv", "utf-8", header=("id", "address", "kind"))
    with pytest.raises(UnsupportedMediaType):
        geocode_file(source, tmp_path / "o.pdf", tmp_path / "f.csv", gazetteer=gazetteer)


def test_the_rich_progress_hook(tmp_path: Path, gazetteer: Gazetteer) -> None:
    source = write_csv(tmp_path / "in.csv", "utf-8", header=("id", "address", "kind"))
    with rich_progress("测试") as hook:
        summary = geocode_file(
            source, tmp_path / "o.csv", tmp_path / "f.csv", gazetteer=gazetteer, progress=hook
        )
    assert summary.rows == len(ROWS)
