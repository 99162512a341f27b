"""District profiles: YAML and GeoJSON files validated by the modules' schemas and loaded
in one transaction.

Validation collects every error of every file, each with its file and line, before
anything is written. PyYAML gives node positions but pydantic does not know them, so a
small walker maps each data path to the line it came from (and catches duplicate keys,
which PyYAML would silently overwrite).
"""

from __future__ import annotations

import hashlib
import json
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
    """One fault in a profile file."""

    file: str
    line: int | None
    where: str
    message: str

    def __str__(self) -> str:
        position = f"{self.file}:{self.line}" if self.line else self.file
        where = f" [{self.where}]" if self.where else ""
        return f"{position}{where}: {self.message}"


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


@dataclass
class ProfileContext:
    """What a section's loader knows about the load it is part of."""

    name: str
    root: Path
    settings: Settings
    summary: dict[str, Any] = field(default_factory=dict)

    def count(self, key: str, n: int = 1) -> None:
        self.summary[key] = int(self.summary.get(key, 0)) + n


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


def parse_file(path: Path, root: Path) -> tuple[ParsedFile | None, list[ProfileIssue]]:
    """Read one YAML or JSON/GeoJSON file, keeping line numbers; faults as issues."""
    relative = str(path.relative_to(root))
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [ProfileIssue(relative, None, "", f"cannot read: {exc}")]
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
    root: Path, section: ProfileSection
) -> tuple[list[BaseModel], list[ProfileIssue], list[Path]]:
    files = _section_files(root, section)
    issues: list[ProfileIssue] = []
    if not files and section.required:
        wanted = ", ".join(section.files)
        issues.append(ProfileIssue(wanted, None, section.name, "required file is missing"))
    documents: list[BaseModel] = []
    for path in files:
        parsed, faults = parse_file(path, root)
        issues.extend(faults)
        if parsed is None:
            continue
        try:
            documents.append(section.schema.model_validate(parsed.data))
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
    return documents, issues, files


def validate(root: Path, registry: Registry) -> list[ProfileIssue]:
    """Every fault in the profile at ``root``; an empty list means it can be loaded."""
    issues: list[ProfileIssue] = []
    for section in registry.profile_sections():
        issues.extend(_validate_section(root, section)[1])
    return issues


def load(session: Session, *, root: Path, registry: Registry, settings: Settings) -> LoadResult:
    """Validate, then load every section in the caller's transaction; skip if unchanged.

    Raises ``ProfileInvalid`` with every fault before writing anything. Loading the same
    content twice changes nothing: the second load sees the same hash and stops.
    """
    sections = registry.profile_sections()
    validated: list[tuple[ProfileSection, list[BaseModel]]] = []
    issues: list[ProfileIssue] = []
    digest = hashlib.sha256()
    for section in sections:
        documents, faults, files = _validate_section(root, section)
        issues.extend(faults)
        validated.append((section, documents))
        for path in files:
            digest.update(str(path.relative_to(root)).encode())
            digest.update(path.read_bytes())
    if issues:
        raise ProfileInvalid(issues)
    content_hash = digest.hexdigest()
    name = root.name
    last = current_load(session, name)
    if last is not None and last.content_hash == content_hash:
        return LoadResult(name, content_hash, changed=False, summary=dict(last.summary))
    context = ProfileContext(name=name, root=root, settings=settings)
    for section, documents in validated:
        section.load(session, context, documents)
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
