"""District profiles: YAML, GeoJSON and CSV files validated by the modules' schemas and
loaded in one transaction.

Validation collects every error of every file, each with its file and line, before
anything is written. PyYAML gives node positions but pydantic does not know them, so a
small walker maps each data path to the line it came from (and catches duplicate keys,
which PyYAML would silently overwrite). A CSV file becomes a list of rows keyed by its
header, row ``i`` mapped to the line it was read from.

A section may also ``check`` what its schema cannot see: faults across its files (a child
region outside its parent in another file) or against the sections validated before it.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from cityos.kernel.errors import DomainError
from cityos.kernel.registry import ProfileSection, Registry
from cityos.kernel.system.models import ProfileLoad
from cityos.settings import Settings

PROFILES_DIR = Path(__file__).resolve().parent.parent / "profiles"

DataPath = tuple[str | int, ...]


@dataclass(frozen=True)
class ProfileIssue:
    """One fault in a profile file; ``position`` is the (lon, lat) of a geometric fault."""

    file: str
    line: int | None
    where: str
    message: str
    position: tuple[float, float] | None = None

    def __str__(self) -> str:
        position = f"{self.file}:{self.line}" if self.line else self.file
        where = f" [{self.where}]" if self.where else ""
        at = f" at {self.position[0]:.6f}, {self.position[1]:.6f}" if self.position else ""
        return f"{position}{where}: {self.message}{at}"


class ProfileInvalid(DomainError):
    """The profile has faults; nothing was loaded."""

    status = 422
    code = "profile_invalid"

    def __init__(self, issues: list[ProfileIssue]) -> None:
        super().__init__(
            f"{len(issues)} error(s) in the profile",
            errors=[issue.__dict__ for issue in issues],
        )
        self.issues = issues


@dataclass
class ParsedFile:
    """A profile file's data and the line each data path starts on."""

    path: Path
    relative: str
    data: Any
    lines: dict[DataPath, int]

    def line_of(self, where: DataPath) -> int | None:
        """The line of the deepest known part of ``where``."""
        for end in range(len(where), -1, -1):
            line = self.lines.get(where[:end])
            if line is not None:
                return line
        return None


@dataclass(frozen=True)
class ValidatedFile:
    """A file its section's schema accepted: the parsed data and the validated document."""

    parsed: ParsedFile
    document: BaseModel

    @property
    def relative(self) -> str:
        return self.parsed.relative

    def line_of(self, where: DataPath) -> int | None:
        return self.parsed.line_of(where)


@dataclass(frozen=True)
class ProfileDocuments:
    """What a section's ``check`` sees: its own files, and the files of each earlier section
    (by name) whose validation found no fault."""

    files: list[ValidatedFile]
    earlier: Mapping[str, list[ValidatedFile]]


@dataclass
class ProfileContext:
    """What a section's loader knows about the load it is part of.

    ``files`` are the profile-relative paths of the documents the running section's loader
    was given, in the same order.
    """

    name: str
    root: Path
    settings: Settings
    summary: dict[str, Any] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)

    def count(self, key: str, n: int = 1) -> None:
        self.summary[key] = int(self.summary.get(key, 0)) + n


def sync_by_code(
    session: Session,
    model: type[Any],
    wanted: Mapping[str, Mapping[str, Any]],
    *,
    context: ProfileContext,
    counter: str,
) -> None:
    """Make ``model``'s rows (keyed by ``code``, with an ``active`` flag) what a section
    declares: ``wanted`` maps each code to its column values. New codes are added, changed
    rows updated, and rows the profile no longer has retired (kept, inactive: records name
    them). Counts ``counter`` and ``<counter>_retired`` in the load's summary."""
    existing = {row.code: row for row in session.scalars(select(model))}
    for code, values in wanted.items():
        row = existing.get(code)
        if row is None:
            session.add(model(code=code, active=True, **values))
        elif row.active and all(getattr(row, k) == v for k, v in values.items()):
            continue
        else:
            for name, value in {**values, "active": True}.items():
                setattr(row, name, value)
        context.count(counter)
    for code, row in existing.items():
        if code not in wanted and row.active:
            row.active = False
            context.count(f"{counter}_retired")
    session.flush()


@dataclass(frozen=True)
class LoadResult:
    profile: str
    content_hash: str
    changed: bool
    summary: dict[str, Any]


def resolve(name_or_path: str) -> Path:
    """A profile folder: a path, or the name of one shipped under ``cityos/profiles``."""
    candidate = Path(name_or_path)
    if candidate.is_dir():
        return candidate.resolve()
    shipped = PROFILES_DIR / name_or_path
    if shipped.is_dir():
        return shipped
    raise ProfileInvalid(
        [ProfileIssue(name_or_path, None, "", "no such profile folder or shipped profile")]
    )


def _walk(node: yaml.Node, where: DataPath, lines: dict[DataPath, int], faults: list[str]) -> None:
    lines.setdefault(where, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set[Any] = set()
        for key_node, value_node in node.value:
            key = key_node.value
            if key in seen:
                faults.append(f"{key_node.start_mark.line + 1}:duplicate key {key!r}")
            seen.add(key)
            lines[(*where, key)] = key_node.start_mark.line + 1
            _walk(value_node, (*where, key), lines, faults)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*where, index), lines, faults)


def _parse_csv(
    path: Path, relative: str, text: str
) -> tuple[ParsedFile | None, list[ProfileIssue]]:
    # Each row is keyed by (index,) to the line it ends on: row i is line i + 2 unless a
    # quoted value spans lines. A row longer than the header is a fault (DictReader would
    # file the extra values under None); a repeated column name too (it would overwrite).
    reader = csv.DictReader(io.StringIO(text.removeprefix("\ufeff")))
    rows: list[dict[str, str | None]] = []
    lines: dict[DataPath, int] = {}
    issues: list[ProfileIssue] = []
    try:
        header = reader.fieldnames or []
        repeated = sorted({name for name in header if header.count(name) > 1})
        if repeated:
            message = f"duplicate column {', '.join(map(repr, repeated))}"
            issues.append(ProfileIssue(relative, 1, "", message))
        for index, row in enumerate(reader):
            lines[(index,)] = reader.line_num
            extra = row.pop(None, None)
            if extra:
                message = f"{len(extra)} more value(s) than the header has columns"
                issues.append(ProfileIssue(relative, reader.line_num, str(index), message))
            rows.append(row)
    except csv.Error as exc:
        return None, [ProfileIssue(relative, reader.line_num, "", f"invalid CSV: {exc}")]
    return ParsedFile(path, relative, rows, lines), issues


def parse_file(path: Path, root: Path) -> tuple[ParsedFile | None, list[ProfileIssue]]:
    """Read one YAML, JSON/GeoJSON or CSV file, keeping line numbers; faults as issues."""
    relative = str(path.relative_to(root))
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [ProfileIssue(relative, None, "", f"cannot read: {exc}")]
    if path.suffix == ".csv":
        return _parse_csv(path, relative, text)
    if path.suffix in {".json", ".geojson"}:
        try:
            return ParsedFile(path, relative, json.loads(text), {}), []
        except json.JSONDecodeError as exc:
            return None, [ProfileIssue(relative, exc.lineno, "", f"invalid JSON: {exc.msg}")]
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        return None, [ProfileIssue(relative, line, "", f"invalid YAML: {problem}")]
    finally:
        loader.dispose()
    lines: dict[DataPath, int] = {}
    faults: list[str] = []
    if node is not None:
        _walk(node, (), lines, faults)
    issues = []
    for fault in faults:
        line, _, message = fault.partition(":")
        issues.append(ProfileIssue(relative, int(line), "", message))
    return ParsedFile(path, relative, data, lines), issues


def _section_files(root: Path, section: ProfileSection) -> list[Path]:
    found: list[Path] = []
    for pattern in section.files:
        found.extend(sorted(p for p in root.glob(pattern) if p.is_file()))
    return found


def _validate_section(
    root: Path, section: ProfileSection, earlier: Mapping[str, list[ValidatedFile]]
) -> tuple[list[ValidatedFile], list[ProfileIssue], list[Path]]:
    files = _section_files(root, section)
    issues: list[ProfileIssue] = []
    if not files and section.required:
        wanted = ", ".join(section.files)
        issues.append(ProfileIssue(wanted, None, section.name, "required file is missing"))
    validated: list[ValidatedFile] = []
    for path in files:
        parsed, faults = parse_file(path, root)
        issues.extend(faults)
        if parsed is None:
            continue
        try:
            validated.append(ValidatedFile(parsed, section.schema.model_validate(parsed.data)))
        except ValidationError as exc:
            for error in exc.errors():
                where = tuple(error["loc"])
                issues.append(
                    ProfileIssue(
                        parsed.relative,
                        parsed.line_of(where),
                        ".".join(str(part) for part in where),
                        error["msg"],
                    )
                )
    # Checks across files see only schema-valid data, so they never report a fault's echo.
    if section.check is not None and not issues:
        issues.extend(section.check(ProfileDocuments(validated, earlier)))
    return validated, issues, files


def _validate_all(
    root: Path, registry: Registry
) -> tuple[list[tuple[ProfileSection, list[ValidatedFile], list[Path]]], list[ProfileIssue]]:
    """Every section in load order, each checked against the earlier sections that passed."""
    results: list[tuple[ProfileSection, list[ValidatedFile], list[Path]]] = []
    issues: list[ProfileIssue] = []
    passed: dict[str, list[ValidatedFile]] = {}
    for section in registry.profile_sections():
        validated, faults, files = _validate_section(root, section, passed)
        issues.extend(faults)
        results.append((section, validated, files))
        if not faults:
            passed[section.name] = validated
    return results, issues


def validate(root: Path, registry: Registry) -> list[ProfileIssue]:
    """Every fault in the profile at ``root``; an empty list means it can be loaded."""
    return _validate_all(root, registry)[1]


def load(session: Session, *, root: Path, registry: Registry, settings: Settings) -> LoadResult:
    """Validate, then load every section in the caller's transaction; skip if unchanged.

    Raises ``ProfileInvalid`` with every fault before writing anything. Loading the same
    content twice changes nothing: the second load sees the same hash and stops.
    """
    validated, issues = _validate_all(root, registry)
    if issues:
        raise ProfileInvalid(issues)
    digest = hashlib.sha256()
    for _, _, files in validated:
        for path in files:
            digest.update(str(path.relative_to(root)).encode())
            digest.update(path.read_bytes())
    content_hash = digest.hexdigest()
    name = root.name
    last = current_load(session, name)
    if last is not None and last.content_hash == content_hash:
        return LoadResult(name, content_hash, changed=False, summary=dict(last.summary))
    context = ProfileContext(name=name, root=root, settings=settings)
    for section, files_validated, _ in validated:
        context.files = [f.relative for f in files_validated]
        section.load(session, context, [f.document for f in files_validated])
    session.add(ProfileLoad(profile=name, content_hash=content_hash, summary=context.summary))
    session.flush()
    return LoadResult(name, content_hash, changed=True, summary=context.summary)


def current_load(session: Session, name: str) -> ProfileLoad | None:
    """The newest load of the named profile, if any."""
    return session.scalars(
        select(ProfileLoad)
        .where(ProfileLoad.profile == name)
        .order_by(ProfileLoad.loaded_at.desc())
    ).first()
