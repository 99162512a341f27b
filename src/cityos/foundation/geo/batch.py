"""Batch geocoding of CSV and Excel files, as officials keep address lists.

A file goes in with an address column; two files come out: the same rows with the
geocoding columns added, and the rows that did not match with their candidates, to check
by hand. CSV input may be UTF-8 (with or without BOM), UTF-16 with BOM or GB18030 (which
covers GBK and GB2312, what Excel on a Chinese Windows saves); CSV output is UTF-8 with a
BOM so that Excel opens it with the right characters. Excel files are streamed
(openpyxl read-only in, write-only out), so large lists do not fill memory.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TextIO

from openpyxl import Workbook, load_workbook
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from cityos.foundation.geo.geocode import Gazetteer, GeocodeResult
from cityos.kernel.errors import UnsupportedMediaType, ValidationFailed

__all__ = [
    "FAILURE_COLUMNS",
    "RESULT_COLUMNS",
    "BatchSummary",
    "ProgressHook",
    "detect_encoding",
    "geocode_file",
    "rich_progress",
]

ProgressHook = Callable[[int, int | None], None]
"""Called with (rows done, rows in all or ``None`` when unknown)."""

RESULT_COLUMNS = (
    "status",
    "confidence",
    "code",
    "lon",
    "lat",
    "subdistrict",
    "community",
    "grid",
    "standard_address",
    "reason",
)
FAILURE_COLUMNS = (
    "row",
    "address",
    "status",
    "confidence",
    "reason",
    "detail",
    *(f"candidate_{i}" for i in range(1, 6)),
)
_EXCEL = {".xlsx", ".xlsm"}
_PROGRESS_EVERY = 200

Cell = str | float | int | None


@dataclass(frozen=True, slots=True)
class BatchSummary:
    """How a file went: counts per status and where the two output files are."""

    rows: int
    matched: int
    unsure: int
    not_found: int
    output: Path
    failures: Path


class _Writer(Protocol):
    def write(self, row: Sequence[Cell]) -> None: ...

    def close(self) -> None: ...


class _CsvWriter:
    def __init__(self, path: Path) -> None:
        self._handle: TextIO = path.open("w", encoding="utf-8-sig", newline="")
        self._csv = csv.writer(self._handle)

    def write(self, row: Sequence[Cell]) -> None:
        self._csv.writerow(["" if v is None else v for v in row])

    def close(self) -> None:
        self._handle.close()


class _ExcelWriter:
    def __init__(self, path: Path) -> None:
        self._path = path
        self._book = Workbook(write_only=True)
        self._sheet = self._book.create_sheet()

    def write(self, row: Sequence[Cell]) -> None:
        self._sheet.append(list(row))

    def close(self) -> None:
        self._book.save(self._path)


def _writer(path: Path) -> _Writer:
    suffix = path.suffix.lower()
    if suffix in _EXCEL:
        return _ExcelWriter(path)
    if suffix == ".csv":
        return _CsvWriter(path)
    raise UnsupportedMediaType(
        f"cannot write {path.name}: use .csv or .xlsx", code="unsupported_file_type"
    )


def detect_encoding(path: Path) -> tuple[str, int]:
    """The encoding of a CSV file and its number of lines (for progress).

    A BOM decides; otherwise the file is UTF-8 if all of it decodes as UTF-8, and GB18030
    if not.
    """
    with path.open("rb") as handle:
        head = handle.read(4)
        if head.startswith(codecs.BOM_UTF8):
            encoding = "utf-8-sig"
        elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            encoding = "utf-16"
        else:
            encoding = "utf-8"
        handle.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        lines = 0
        newline = b"" if encoding == "utf-16" else b"\n"
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            if newline:
                lines += chunk.count(newline)
            if encoding == "utf-8":
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    encoding = "gb18030"
        if encoding == "utf-8":
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                encoding = "gb18030"
    return encoding, lines


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


@contextmanager
def _rows(path: Path) -> Iterator[tuple[list[str], Iterator[list[Any]], int | None]]:
    """The header, the data rows and their count (when known) of a CSV or Excel file."""
    suffix = path.suffix.lower()
    if suffix in _EXCEL:
        book = load_workbook(path, read_only=True, data_only=True)
        try:
            sheet = book.worksheets[0]
            values = sheet.iter_rows(values_only=True)
            header = [_cell_text(v) for v in next(values, ())]
            total = sheet.max_row - 1 if sheet.max_row else None
            yield header, (list(row) for row in values), total
        finally:
            book.close()
    elif suffix == ".csv":
        encoding, lines = detect_encoding(path)
        with path.open(encoding=encoding, newline="") as handle:
            reader = csv.reader(handle)
            header = [_cell_text(v).lstrip("\ufeff") for v in next(reader, [])]
            yield header, reader, max(lines - 1, 0) or None
    else:
        raise UnsupportedMediaType(
            f"cannot read {path.name}: use .csv or .xlsx", code="unsupported_file_type"
        )


def _candidates(result: GeocodeResult) -> list[str]:
    texts = [f"{c.code} {c.address} ({c.score:.2f}; {c.reason})" for c in result.candidates[:5]]
    return texts + [""] * (5 - len(texts))


def geocode_file(
    path_in: Path,
    path_out: Path,
    failures_out: Path,
    *,
    column: str = "address",
    gazetteer: Gazetteer,
    progress: ProgressHook | None = None,
) -> BatchSummary:
    """Geocode every row's ``column``; write results to ``path_out``, misses to ``failures_out``.

    Output formats follow the suffixes (.csv or .xlsx). The results keep every input column
    and add ``RESULT_COLUMNS``; the failures file lists each row that is not ``matched``
    with up to five candidates. A header without ``column`` is a ``column_not_found`` error.
    """
    counts = {"matched": 0, "unsure": 0, "not_found": 0}
    cache: dict[str, GeocodeResult] = {}
    with _rows(Path(path_in)) as (header, rows, total):
        if column not in header:
            raise ValidationFailed(
                f"the file has no column “{column}”; its columns are: {', '.join(header)}",
                code="column_not_found",
                column=column,
                columns=header,
            )
        at = header.index(column)
        out, failures = _writer(Path(path_out)), _writer(Path(failures_out))
        try:
            out.write([*header, *RESULT_COLUMNS])
            failures.write(FAILURE_COLUMNS)
            done = 0
            for done, raw in enumerate(rows, start=1):
                row = [*raw, *[None] * (len(header) - len(raw))]
                address = _cell_text(row[at])
                result = cache.get(address)
                if result is None:
                    result = gazetteer.geocode(address)
                    cache[address] = result
                counts[result.status] += 1
                regions = result.regions
                out.write(
                    [
                        *row,
                        result.status,
                        round(result.confidence, 3),
                        result.code,
                        result.lon,
                        result.lat,
                        regions.subdistrict if regions else None,
                        regions.community if regions else None,
                        regions.grid if regions else None,
                        result.address,
                        result.reason,
                    ]
                )
                if result.status != "matched":
                    failures.write(
                        [
                            done + 1,  # the line in the file, the header being line 1
                            address,
                            result.status,
                            round(result.confidence, 3),
                            result.reason,
                            result.detail,
                            *_candidates(result),
                        ]
                    )
                if progress is not None and done % _PROGRESS_EVERY == 0:
                    progress(done, total)
            if progress is not None:
                progress(done, done)
        finally:
            out.close()
            failures.close()
    return BatchSummary(
        rows=done,
        matched=counts["matched"],
        unsure=counts["unsure"],
        not_found=counts["not_found"],
        output=Path(path_out),
        failures=Path(failures_out),
    )


@contextmanager
def rich_progress(description: str = "地理编码") -> Iterator[ProgressHook]:
    """A rich progress bar on the terminal, as a hook for ``geocode_file``."""
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, transient=False) as bar:
        task = bar.add_task(description, total=None)

        def hook(done: int, total: int | None) -> None:
            bar.update(task, completed=done, total=total)

        yield hook
