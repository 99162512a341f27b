"""Rules as the profile writes them (``packs/*/rules.yaml``), parsed at load.

A rule names what it watches (``device_type``, optionally narrowed to ``devices`` by code),
when it fires (``when``), when it clears (``clear``; by default as soon as ``when`` no longer
holds), the alarm's ``severity``, and optionally a time window (``during``), an escalation
delay (``escalate_after``), a case to open (``open_case``) and whether the alarm clears by
itself (``auto_clear``, default true; when false a person clears it, and a new firing
meanwhile counts on the open alarm).

``when`` and ``clear`` are expressions in a small grammar::

    trigger  := "no data for" INT "intervals"           (checked by a job every minute)
              | expr ["for" duration]                     (held that long before it counts)
    expr     := all ("or" all)*                           (any)
    all      := atom ("and" atom)*                        (all)
    atom     := "(" expr ")"
              | property CMP number                       (water_depth > 15)
              | ("rise" | "fall") "of" property CMP number "in" duration
                                                          (rise of river_level > 0.5 in 30 min)
    CMP      := > | >= | < | <= | == | !=
    duration := number ("s" | "min" | "h" | "d" and their long names)

Properties are the observed-property codes of the device type; a composite condition
judges the device's other datastreams by their latest values. A rise is the newest value
less the lowest in the window (a fall: the highest less the newest).

Instead of a string, ``when`` may be a mapping: ``{all: [expr, ...], for: 10 min}``,
``{any: [...]}``, or ``{kind: <name>, for: ..., ...parameters}`` for a condition kind
registered in code with ``register_rule_kind`` (the hook for model-based anomaly rules).

``during: "22:00-07:00"`` limits firing to that local time of day (``timezone``, default
Asia/Shanghai; a window may wrap past midnight); outside it the condition does not hold.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any, Literal, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cityos.foundation.telemetry.alarm_models import Severity
from cityos.foundation.telemetry.models import Observation
from cityos.kernel.i18n import LocalizedText

RULE_ID = r"^[a-z0-9][a-z0-9._-]{1,63}$"

# --- what a condition sees -----------------------------------------------------------------


@dataclass(frozen=True)
class Moment:
    """One device at one reading's time: the latest value of each of its properties (the
    reading's own included) and the datastream behind each property."""

    session: Session
    thing_id: int
    time: datetime
    values: Mapping[str, float]
    streams: Mapping[str, int]
    # The numbers a stream stored in a time range, from the batch's cache when the engine
    # keeps one (one query per batch instead of one per reading); None reads the table.
    window: Callable[[int, datetime, datetime], list[float]] | None = None


class Condition(Protocol):
    """Something that holds, or not, for a device at a moment."""

    @property
    def properties(self) -> frozenset[str]:
        """The property codes a reading must carry to make the condition worth judging."""
        ...

    def holds(self, at: Moment) -> bool:
        """Whether the condition holds at ``at`` (a missing value means it does not)."""
        ...


_COMPARE: dict[str, Callable[[float, float], bool]] = {
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
}


@dataclass(frozen=True)
class Compare:
    prop: str
    op: str
    value: float

    @property
    def properties(self) -> frozenset[str]:
        return frozenset({self.prop})

    def holds(self, at: Moment) -> bool:
        current = at.values.get(self.prop)
        return current is not None and _COMPARE[self.op](current, self.value)


@dataclass(frozen=True)
class Change:
    """``rise of p > x in w``: the newest value less the lowest within ``w`` before it."""

    direction: Literal["rise", "fall"]
    prop: str
    op: str
    value: float
    window: timedelta

    @property
    def properties(self) -> frozenset[str]:
        return frozenset({self.prop})

    def holds(self, at: Moment) -> bool:
        current, stream = at.values.get(self.prop), at.streams.get(self.prop)
        if current is None or stream is None:
            return False
        bound: float | None
        if at.window is not None:
            seen = at.window(stream, at.time - self.window, at.time)
            pick = min if self.direction == "rise" else max
            bound = pick(seen) if seen else None
        else:
            extreme = func.min if self.direction == "rise" else func.max
            bound = at.session.scalar(
                select(extreme(Observation.result_number)).where(
                    Observation.datastream_id == stream,
                    Observation.phenomenon_time >= at.time - self.window,
                    Observation.phenomenon_time <= at.time,
                )
            )
        if bound is None:
            return False
        change = current - bound if self.direction == "rise" else bound - current
        return _COMPARE[self.op](change, self.value)


@dataclass(frozen=True)
class AllOf:
    parts: tuple[Condition, ...]

    @property
    def properties(self) -> frozenset[str]:
        return frozenset().union(*(p.properties for p in self.parts))

    def holds(self, at: Moment) -> bool:
        return all(part.holds(at) for part in self.parts)


@dataclass(frozen=True)
class AnyOf:
    parts: tuple[Condition, ...]

    @property
    def properties(self) -> frozenset[str]:
        return frozenset().union(*(p.properties for p in self.parts))

    def holds(self, at: Moment) -> bool:
        return any(part.holds(at) for part in self.parts)


@dataclass(frozen=True)
class Trigger:
    """A condition and how long it must hold before it counts."""

    condition: Condition
    hold: timedelta = timedelta(0)


@dataclass(frozen=True)
class NoData:
    """Silent for ``intervals`` of the device type's expected interval."""

    intervals: int


# --- the anomaly hook ----------------------------------------------------------------------

RuleKind = Callable[[Mapping[str, Any]], Condition]
_kinds: dict[str, RuleKind] = {}


def register_rule_kind(name: str, build: RuleKind) -> None:
    """Make ``{kind: name, ...}`` usable in ``when``/``clear``: ``build`` gets the mapping's
    other keys (``for`` aside) at load and returns the condition, or raises ``ValueError``
    with a message for the profile's author. For model-based (anomaly) rules."""
    if not re.fullmatch(r"[a-z][a-z0-9_.-]*", name):
        raise ValueError(f"rule kind {name!r}: use lower-case letters, digits, '_', '.', '-'")
    _kinds[name] = build


def unregister_rule_kind(name: str) -> None:
    """Forget a registered kind (a test's, or a plug-in being unloaded)."""
    _kinds.pop(name, None)


# --- parsing -------------------------------------------------------------------------------

_UNITS = {
    "s": 1,
    "sec": 1,
    "secs": 1,
    "second": 1,
    "seconds": 1,
    "min": 60,
    "mins": 60,
    "minute": 60,
    "minutes": 60,
    "h": 3600,
    "hour": 3600,
    "hours": 3600,
    "d": 86400,
    "day": 86400,
    "days": 86400,
}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]+)\s*$")
_TOKEN = re.compile(r"\s*(?:(-?\d+(?:\.\d+)?)|([a-z_][a-z0-9_]*)|(>=|<=|==|!=|>|<)|([()]))")


def parse_duration(text: str) -> timedelta:
    """``10 min``, ``30 minutes``, ``2 h``, ``90 s``, ``1 day`` as a timedelta."""
    found = _DURATION.match(text.lower())
    if found is None or found[2] not in _UNITS:
        raise ValueError(f"{text!r} is not a duration: write e.g. '10 min', '2 h' or '90 s'")
    return timedelta(seconds=float(found[1]) * _UNITS[found[2]])


@dataclass
class _Tokens:
    text: str
    items: list[tuple[str, str, int]] = field(default_factory=list)
    at: int = 0

    @classmethod
    def of(cls, text: str) -> _Tokens:
        tokens = cls(text)
        position = 0
        while position < len(text):
            if text[position:].strip() == "":
                break
            found = _TOKEN.match(text, position)
            if found is None or found.end() == position:
                bad = text[position:].strip()[:1]
                raise ValueError(f"{text!r}: unexpected {bad!r} at character {position + 1}")
            group = found.lastindex or 1
            kind = ("number", "name", "op", "paren")[group - 1]
            tokens.items.append((kind, found[group], found.start(group)))
            position = found.end()
        return tokens

    def peek(self, value: str | None = None) -> bool:
        if self.at >= len(self.items):
            return False
        return value is None or self.items[self.at][1] == value

    def take(self, kind: str, what: str, value: str | None = None) -> str:
        if self.at >= len(self.items):
            raise ValueError(f"{self.text!r}: expected {what} at the end")
        got_kind, got, position = self.items[self.at]
        if got_kind != kind or (value is not None and got != value):
            raise ValueError(
                f"{self.text!r}: expected {what} at character {position + 1}, not {got!r}"
            )
        self.at += 1
        return got

    def duration(self) -> timedelta:
        amount = self.take("number", "a duration such as '10 min'")
        unit = self.take("name", "a unit (s, min, h, d)")
        return parse_duration(f"{amount} {unit}")

    def done(self) -> bool:
        return self.at >= len(self.items)


def _atom(tokens: _Tokens) -> Condition:
    if tokens.peek("("):
        tokens.take("paren", "'('")
        inner = _expr(tokens)
        tokens.take("paren", "')'", ")")
        return inner
    if tokens.peek("rise") or tokens.peek("fall"):
        direction = tokens.take("name", "rise or fall")
        tokens.take("name", "'of'", "of")
        prop = tokens.take("name", "a property code")
        op = tokens.take("op", "a comparison (> >= < <= == !=)")
        value = float(tokens.take("number", "a number"))
        tokens.take("name", "'in'", "in")
        window = tokens.duration()
        if window <= timedelta(0):
            raise ValueError(f"{tokens.text!r}: the window of a {direction} must be positive")
        return Change("rise" if direction == "rise" else "fall", prop, op, value, window)
    prop = tokens.take("name", "a property code such as 'water_depth'")
    op = tokens.take("op", "a comparison (> >= < <= == !=)")
    return Compare(prop, op, float(tokens.take("number", "a number")))


def _all(tokens: _Tokens) -> Condition:
    parts = [_atom(tokens)]
    while tokens.peek("and"):
        tokens.take("name", "'and'")
        parts.append(_atom(tokens))
    return parts[0] if len(parts) == 1 else AllOf(tuple(parts))


def _expr(tokens: _Tokens) -> Condition:
    parts = [_all(tokens)]
    while tokens.peek("or"):
        tokens.take("name", "'or'")
        parts.append(_all(tokens))
    return parts[0] if len(parts) == 1 else AnyOf(tuple(parts))


_NO_DATA = re.compile(r"^\s*no\s+data\s+for\s+(\d+)\s+intervals?\s*$")


def parse_trigger(text: str) -> Trigger | NoData:
    """An expression of the grammar in the module docstring; ``ValueError`` says where."""
    no_data = _NO_DATA.match(text)
    if no_data is not None:
        intervals = int(no_data[1])
        if intervals < 1:
            raise ValueError(f"{text!r}: at least one interval")
        return NoData(intervals)
    tokens = _Tokens.of(text)
    if tokens.done():
        raise ValueError("the condition is empty")
    condition = _expr(tokens)
    hold = timedelta(0)
    if tokens.peek("for"):
        tokens.take("name", "'for'")
        hold = tokens.duration()
    if not tokens.done():
        _, got, position = tokens.items[tokens.at]
        raise ValueError(f"{text!r}: unexpected {got!r} at character {position + 1}")
    return Trigger(condition, hold)


TriggerSpec = str | dict[str, Any]


def compile_trigger(spec: TriggerSpec) -> Trigger | NoData:
    """A ``when``/``clear`` value, string or mapping, compiled."""
    if isinstance(spec, str):
        return parse_trigger(spec)
    rest = dict(spec)
    hold = parse_duration(str(rest.pop("for"))) if "for" in rest else timedelta(0)
    shapes = [key for key in ("all", "any", "kind") if key in rest]
    if len(shapes) != 1:
        raise ValueError("a condition mapping has exactly one of 'all', 'any' or 'kind'")
    if shapes[0] == "kind":
        name = rest.pop("kind")
        build = _kinds.get(str(name))
        if build is None:
            known = ", ".join(sorted(_kinds)) or "none"
            raise ValueError(f"unknown rule kind {name!r} (registered: {known})")
        return Trigger(build(rest), hold)
    key = shapes[0]
    items = rest.pop(key)
    if rest:
        raise ValueError(f"unexpected keys beside {key!r}: {', '.join(map(str, rest))}")
    if not isinstance(items, list) or not items or not all(isinstance(i, str) for i in items):
        raise ValueError(f"{key!r} takes a list of expressions")
    parts: list[Condition] = []
    for item in items:
        parsed = parse_trigger(item)
        if isinstance(parsed, NoData) or parsed.hold:
            raise ValueError(f"{item!r}: inside {key!r}, plain conditions only ('for' goes beside)")
        parts.append(parsed.condition)
    return Trigger(AllOf(tuple(parts)) if key == "all" else AnyOf(tuple(parts)), hold)


@dataclass(frozen=True)
class Window:
    """A local time of day, ``start`` to ``end``, wrapping past midnight if ``end`` is
    earlier."""

    start: time
    end: time
    zone: ZoneInfo

    def contains(self, moment: datetime) -> bool:
        clock = moment.astimezone(self.zone).time()
        if self.start <= self.end:
            return self.start <= clock < self.end
        return clock >= self.start or clock < self.end


_WINDOW = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*[-–~]\s*(\d{1,2}):(\d{2})\s*$")


def parse_window(text: str, zone: str) -> Window:
    """``22:00-07:00`` in ``zone``."""
    found = _WINDOW.match(text)
    if found is None:
        raise ValueError(f"{text!r} is not a time window: write e.g. '22:00-07:00'")
    h1, m1, h2, m2 = (int(part) for part in found.groups())
    if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2 == 24 and m2):
        raise ValueError(f"{text!r}: hours run 00-24, minutes 00-59")
    try:
        tz = ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {zone!r}") from None
    end = time(0, 0) if h2 == 24 else time(h2, m2)
    return Window(time(h1, m1), end, tz)


# --- the YAML schema -----------------------------------------------------------------------


class OpenCase(BaseModel):
    """A case to open when the alarm is raised: its category, and optionally a description
    (the rule's name and the reading otherwise)."""

    model_config = ConfigDict(extra="forbid")

    category: str = Field(pattern=r"^\d{4,6}$")
    description: str | None = Field(default=None, max_length=500)


class RuleEntry(BaseModel):
    """One rule in ``packs/*/rules.yaml`` (see the module docstring)."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=RULE_ID)
    name: LocalizedText
    type: str | None = Field(default=None, pattern=r"^[a-z0-9_]+(\.[a-z0-9_]+)*$", max_length=100)
    device_type: str = Field(min_length=1, max_length=64)
    devices: list[str] = Field(default_factory=list)
    when: TriggerSpec
    clear: TriggerSpec | None = None
    during: str | None = None
    timezone: str = "Asia/Shanghai"
    severity: Severity
    escalate_after: str | None = None
    auto_clear: bool = True
    open_case: OpenCase | None = None

    @field_validator("when")
    @classmethod
    def _when(cls, value: TriggerSpec) -> TriggerSpec:
        compile_trigger(value)
        return value

    @field_validator("clear")
    @classmethod
    def _clear(cls, value: TriggerSpec | None) -> TriggerSpec | None:
        if value is not None and isinstance(compile_trigger(value), NoData):
            raise ValueError("'no data' fires a rule; data arriving is what clears it")
        return value

    @field_validator("escalate_after")
    @classmethod
    def _escalate_after(cls, value: str | None) -> str | None:
        if value is not None:
            parse_duration(value)
        return value

    @model_validator(mode="after")
    def _window(self) -> RuleEntry:
        if self.during is not None:
            parse_window(self.during, self.timezone)
        return self

    def compiled(self, position: int) -> CompiledRule:
        """The rule ready for the engine."""
        when = compile_trigger(self.when)
        clear = compile_trigger(self.clear) if self.clear is not None else None
        if isinstance(clear, NoData):  # refused by the validator; here for the type checker
            raise ValueError("'no data' cannot clear a rule")
        window = parse_window(self.during, self.timezone) if self.during else None
        escalate = parse_duration(self.escalate_after) if self.escalate_after else None
        touched: frozenset[str] = frozenset()
        for trigger in (when, clear):
            if isinstance(trigger, Trigger):
                touched |= trigger.condition.properties
        return CompiledRule(
            id=self.id,
            position=position,
            entry=self,
            when=when,
            clear=clear,
            window=window,
            escalate_after=escalate,
            properties=touched,
            devices=frozenset(self.devices),
        )

    def properties(self) -> frozenset[str]:
        """Every property code the rule reads, for checking against its device type."""
        return self.compiled(0).properties


class RulesFile(BaseModel):
    """``packs/<pack>/rules.yaml``: the pack's rules, judged in file order (files in path
    order)."""

    model_config = ConfigDict(extra="forbid")

    rules: list[RuleEntry] = Field(min_length=1)


@dataclass(frozen=True)
class CompiledRule:
    """A rule ready to judge readings."""

    id: str
    position: int
    entry: RuleEntry
    when: Trigger | NoData
    clear: Trigger | None
    window: Window | None
    escalate_after: timedelta | None
    properties: frozenset[str]
    devices: frozenset[str]

    def applies_to(self, device_type: str | None, device_code: str | None) -> bool:
        """Whether the rule watches a device of this type and code."""
        if device_type != self.entry.device_type:
            return False
        return not self.devices or device_code in self.devices


def compile_rules(documents: Sequence[tuple[int, dict[str, Any]]]) -> list[CompiledRule]:
    """Rules stored as (position, document), compiled in position order."""
    return [
        RuleEntry.model_validate(document).compiled(position)
        for position, document in sorted(documents, key=lambda item: item[0])
    ]
