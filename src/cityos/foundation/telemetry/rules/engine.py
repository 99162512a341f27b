"""The rule engine: each batch's new readings judged on arrival, in the batch's transaction.

A reading reaches its rules through its Datastream's observed property code and its
Thing's device type (and code, for rules naming devices). The device's readings are judged
in time order and, for each, its rules in profile order. Each (rule, device) has a state
row (``RuleState``): whether the rule is raised, since when the awaited condition holds
(for ``... for 10 min``) and the newest reading judged. The state is the only memory, so a
restarted process, or another worker, carries on without firing again; the rows are read
``FOR UPDATE`` on PostgreSQL, so two workers judging one device take turns.

Hysteresis: a raised rule clears only when its ``clear`` condition has held for its
duration (by default as soon as ``when`` stops holding), so values between the two
thresholds change nothing. A reading older than the newest judged (ingesters sharing a
subscription commit one device's readings out of order) does not reopen an alarm the
later readings cleared, but a firing it completes is not lost: for a rule with a hold time,
the device's readings around it are judged again in time order (see ``_late``).

Silence (``no data for N intervals``) is found by ``check_silence``, a job every minute,
and cleared by the device's next reading.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import and_, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from cityos.foundation.telemetry.alarm_models import Alarm, Rule, RuleState
from cityos.foundation.telemetry.alarms import Firing, clear_by_rule, raise_alarm
from cityos.foundation.telemetry.ingest import Stored
from cityos.foundation.telemetry.models import (
    Datastream,
    DeviceType,
    Observation,
    ObservedProperty,
    Thing,
)
from cityos.foundation.telemetry.rules.definition import (
    AllOf,
    AnyOf,
    Change,
    Compare,
    CompiledRule,
    Moment,
    NoData,
    RuleEntry,
    Trigger,
)
from cityos.kernel.clock import utcnow
from cityos.kernel.db import is_postgresql

log = logging.getLogger("cityos.telemetry.rules")

# --- the rules, compiled once per change -------------------------------------------------

_lock = threading.Lock()
_compiled: dict[str, tuple[tuple[Any, ...], list[CompiledRule]]] = {}


def active_rules(session: Session) -> list[CompiledRule]:
    """The active rules in profile order, compiled again only when the table changed (a
    count and the newest change time, asked once per batch)."""
    version = tuple(session.execute(select(func.count(), func.max(Rule.updated_at))).one())
    database = str(session.get_bind().engine.url)
    with _lock:
        cached = _compiled.get(database)
        if cached is not None and cached[0] == version:
            return cached[1]
    rules: list[CompiledRule] = []
    for rule_id, position, document in session.execute(
        select(Rule.id, Rule.position, Rule.document).where(Rule.active).order_by(Rule.position)
    ):
        try:
            rules.append(RuleEntry.model_validate(document).compiled(position))
        except (ValidationError, ValueError) as exc:
            # A kind registered by a module this process lacks: the rest still run.
            log.error("rule %s cannot be compiled here and is skipped: %s", rule_id, exc)
    with _lock:
        _compiled[database] = (version, rules)
    return rules


def forget_compiled_rules() -> None:
    """Drop the compiled rules, as a freshly started process has none."""
    with _lock:
        _compiled.clear()


# --- state rows --------------------------------------------------------------------------


def _states(session: Session, pairs: Iterable[tuple[str, int]]) -> dict[tuple[str, int], RuleState]:
    """The state rows of these (rule, thing) pairs, made where missing, locked on PostgreSQL.

    Read first and made only where missing: in the steady state every pair has its row,
    and a batch then costs one locking read rather than an insert of every pair as well.
    """
    wanted = set(pairs)
    if not wanted:
        return {}

    def locked(things: set[int]) -> dict[tuple[str, int], RuleState]:
        found = session.scalars(
            select(RuleState)
            .where(RuleState.thing_id.in_(things))
            .order_by(RuleState.thing_id, RuleState.rule_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return {(s.rule_id, s.thing_id): s for s in found if (s.rule_id, s.thing_id) in wanted}

    states = locked({thing for _, thing in wanted})
    missing = sorted(wanted - states.keys())
    if missing:
        insert = postgresql.insert if is_postgresql(session) else sqlite.insert
        session.execute(
            insert(RuleState)
            .values([{"rule_id": r, "thing_id": t, "raised": False} for r, t in missing])
            .on_conflict_do_nothing()
        )
        states.update(locked({thing for _, thing in missing}))
    return states


# --- judging -------------------------------------------------------------------------------


def _longest_window(condition: object) -> timedelta | None:
    """The longest rate-of-change window in a condition tree (None: it has none)."""
    if isinstance(condition, Change):
        return condition.window
    if isinstance(condition, AllOf | AnyOf):
        found = [w for part in condition.parts if (w := _longest_window(part)) is not None]
        return max(found) if found else None
    return None


class _Windows:
    """The batch's rate-of-change history: the stored numbers of the batch's streams from
    the longest window before its first reading to its last, read in one query on first
    use (a stream outside the batch is read on its own when asked)."""

    def __init__(self, session: Session, streams: set[int], start: datetime, end: datetime) -> None:
        self.session, self.streams, self.start, self.end = session, streams, start, end
        self.points: dict[int, list[tuple[datetime, float]]] | None = None

    def _load(self, streams: set[int]) -> dict[int, list[tuple[datetime, float]]]:
        found: dict[int, list[tuple[datetime, float]]] = {s: [] for s in streams}
        for stream, moment, number in self.session.execute(
            select(
                Observation.datastream_id, Observation.phenomenon_time, Observation.result_number
            )
            .where(
                Observation.datastream_id.in_(streams),
                Observation.phenomenon_time >= self.start,
                Observation.phenomenon_time <= self.end,
                Observation.result_number.is_not(None),
            )
            .order_by(Observation.datastream_id, Observation.phenomenon_time)
        ):
            if stream is not None and number is not None:
                found.setdefault(stream, []).append((moment, number))
        return found

    def __call__(self, stream: int, lo: datetime, hi: datetime) -> list[float]:
        if self.points is None:
            self.points = self._load(self.streams)
        if stream not in self.points:
            self.points.update(self._load({stream}))
        return [n for t, n in self.points[stream] if lo <= t <= hi]


def _value(item: Stored) -> float | None:
    if item.number is not None:
        return item.number
    if isinstance(item.reading.result, bool):  # a cover open or not: 1 or 0 to the rules
        return 1.0 if item.reading.result else 0.0
    return None


def _fires(rule: CompiledRule, at: Moment) -> bool:
    assert isinstance(rule.when, Trigger)
    if rule.window is not None and not rule.window.contains(at.time):
        return False
    return rule.when.condition.holds(at)


def _clears(rule: CompiledRule, at: Moment) -> tuple[bool, timedelta]:
    if rule.clear is not None:
        return rule.clear.condition.holds(at), rule.clear.hold
    return not _fires(rule, at), timedelta(0)


def _step(
    session: Session,
    rule: CompiledRule,
    state: RuleState,
    at: Moment,
    thing: Thing,
    value: float,
) -> None:
    """Move one rule's state on one device by one reading (``value``, which the alarm
    shows)."""
    if state.last_time is not None and at.time < state.last_time:
        _late(session, rule, state, at, thing, value)
        return
    state.last_time = at.time
    if not state.raised:
        assert isinstance(rule.when, Trigger)
        holds, hold = _fires(rule, at), rule.when.hold
    else:
        holds, hold = _clears(rule, at)
    if not holds:
        state.since = None
        return
    state.since = state.since or at.time
    if at.time - state.since < hold:
        return
    state.since = None
    state.raised = not state.raised
    if state.raised:
        raise_alarm(session, Firing(rule, thing, value, at.time))
    elif rule.entry.auto_clear:
        clear_by_rule(session, rule_id=rule.id, thing_id=thing.id)


def _late(
    session: Session,
    rule: CompiledRule,
    state: RuleState,
    at: Moment,
    thing: Thing,
    value: float,
) -> None:
    """A reading older than what the rule has already judged on the device. With the state
    raised now it changes nothing; otherwise a firing it would have been is not lost.

    Without a hold time the alarm is raised as of the reading and, the later readings having
    found the condition gone, cleared again (an alarm a person must clear stays open). With
    one, the device's stored readings around it are judged again in time order (``_replay``).
    Rules with a rate of change or a registered kind are not replayed, so with a hold time a
    late reading is ignored there: their conditions read the stored history themselves, and
    a late reading would change the judgement of the readings after it too."""
    assert isinstance(rule.when, Trigger)
    if state.raised:
        return
    if rule.when.hold > timedelta(0):
        if _replayable(rule.when.condition):
            _replay(session, rule, state, at, thing, value)
        return
    if not _fires(rule, at):
        return
    raise_alarm(session, Firing(rule, thing, value, at.time))
    if rule.entry.auto_clear:
        clear_by_rule(session, rule_id=rule.id, thing_id=thing.id)


# How far beyond the hold a replay reads on either side: past the reading before the span
# and the one completing it, for devices reporting at least hourly.
_REPLAY_MARGIN = timedelta(hours=2)


def _replayable(condition: object) -> bool:
    """Whether a condition reads nothing but the values of its moment (thresholds)."""
    if isinstance(condition, Compare):
        return True
    if isinstance(condition, AllOf | AnyOf):
        return all(_replayable(part) for part in condition.parts)
    return False


def _history(
    session: Session, streams: Mapping[int, str], start: datetime, end: datetime
) -> list[tuple[datetime, str, float]]:
    """The streams' stored readings from ``start`` to ``end`` as (time, property, number),
    in time order, in one query."""
    found: list[tuple[datetime, str, float]] = []
    for moment, stream, number, result in session.execute(
        select(
            Observation.phenomenon_time,
            Observation.datastream_id,
            Observation.result_number,
            Observation.result_json,
        )
        .where(
            Observation.datastream_id.in_(list(streams)),
            Observation.phenomenon_time >= start,
            Observation.phenomenon_time <= end,
        )
        .order_by(Observation.phenomenon_time, Observation.datastream_id)
    ):
        reading = number if number is not None else _number(result)
        if stream is not None and reading is not None:
            found.append((moment, streams[stream], reading))
    return found


def _replay(
    session: Session,
    rule: CompiledRule,
    state: RuleState,
    at: Moment,
    thing: Thing,
    value: float,
) -> None:
    """Judge a rule with a hold time again over the device's readings around a late one, as
    ``_step`` would have in time order, from not raised a margin before the hold.

    A firing whose span (from when the condition began to hold until it had held long
    enough) the late reading's value takes part in is raised as of when the hold was met,
    unless an alarm of the rule on the device already covers that span. If the readings
    reach the newest judged, the state becomes what in-order judging would have made it: an
    episode still under way stays raised, and a span being waited on starts where the
    readings say. Otherwise the later readings decided the state, and the alarm clears again
    when the rule clears by itself."""
    assert isinstance(rule.when, Trigger)
    assert state.last_time is not None
    hold = rule.when.hold
    inside = state.since is not None and state.since <= at.time
    # Alone on its property, a reading that holds matters only before the span being waited
    # on (it can start it earlier, or complete a span of its own); one that does not hold,
    # only inside it (it breaks it).
    if len(rule.properties) == 1 and _fires(rule, at) == inside:
        return
    end = min(at.time + hold + _REPLAY_MARGIN, state.last_time)
    if state.since is not None and state.since <= end:
        end = state.last_time
    streams = {at.streams[p]: p for p in rule.properties if p in at.streams}
    values: dict[str, float] = {}
    raised, since = False, None
    firing: tuple[datetime, datetime, float] | None = None  # span start, hold met, value
    cleared: datetime | None = None
    # The late reading's property, and when a newer reading of it took its value's place.
    late: str | None = None
    replaced: datetime | None = None
    for moment, prop, number in _history(session, streams, at.time - hold - _REPLAY_MARGIN, end):
        if late is None and moment == at.time and number == value:
            late = prop
        elif prop == late and replaced is None:
            replaced = moment
        values[prop] = number
        now = Moment(
            session=session, thing_id=thing.id, time=moment, values=values, streams=at.streams
        )
        holds, needed = _clears(rule, now) if raised else (_fires(rule, now), hold)
        if not holds:
            since = None
            continue
        since = since or moment
        if moment - since < needed:
            continue
        if not raised and at.time <= moment and (replaced is None or since < replaced):
            firing = (since, moment, number)
        elif raised and firing is not None and cleared is None:
            cleared = moment
        since, raised = None, not raised
    caught_up = end == state.last_time
    if firing is None:
        if caught_up and not raised and state.since is not None:
            state.since = since
        return
    start, met, number = firing
    under_way = caught_up and raised and cleared is None
    if under_way:
        state.raised, state.since = True, since
    covering = select(Alarm.id).where(
        Alarm.rule_id == rule.id, Alarm.thing_id == thing.id, Alarm.observed_at >= start
    )
    if cleared is not None:
        covering = covering.where(or_(Alarm.open_key.is_not(None), Alarm.observed_at <= cleared))
    if session.scalar(covering.limit(1)) is not None:
        return
    raise_alarm(session, Firing(rule, thing, number, met))
    if not under_way and rule.entry.auto_clear:
        clear_by_rule(session, rule_id=rule.id, thing_id=thing.id)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    return float(value) if isinstance(value, int | float) else None


def on_arrival(session: Session, stored: Sequence[Stored]) -> None:
    """The arrival hook: judge a batch's newly stored readings (see the module docstring)."""
    rules = active_rules(session)
    if not rules:
        return
    things = {
        thing.id: thing
        for thing in session.scalars(
            select(Thing).where(Thing.id.in_({item.thing_id for item in stored}))
        )
    }
    watching: dict[int, list[CompiledRule]] = {}
    for thing in things.values():
        mine = [r for r in rules if r.applies_to(thing.device_type_code, thing.code)]
        if mine:
            watching[thing.id] = mine
    if not watching:
        return
    prop_of: dict[int, str] = {}
    streams: dict[int, dict[str, int]] = defaultdict(dict)
    values: dict[int, dict[str, float]] = defaultdict(dict)
    for ds_id, thing_id, code, last in session.execute(
        select(Datastream.id, Datastream.thing_id, ObservedProperty.code, Datastream.last_result)
        .join(ObservedProperty, ObservedProperty.id == Datastream.observed_property_id)
        .where(Datastream.thing_id.in_(watching), ObservedProperty.code.is_not(None))
    ):
        prop_of[ds_id] = code
        streams[thing_id][code] = ds_id
        latest = _number(last)
        if latest is not None:
            values[thing_id][code] = latest
    readings: dict[int, list[tuple[str, float, Stored]]] = defaultdict(list)
    for item in stored:
        code = prop_of.get(item.reading.datastream_id or 0)
        number = _value(item)
        if item.thing_id in watching and code is not None and number is not None:
            readings[item.thing_id].append((code, number, item))
    pairs = [
        (rule.id, thing_id)
        for thing_id, mine in watching.items()
        for rule in mine
        if isinstance(rule.when, NoData)
        or any(c in rule.properties for c, _, _ in readings[thing_id])
    ]
    states = _states(session, pairs)
    window = None
    longest = [
        w
        for mine in watching.values()
        for rule in mine
        if isinstance(rule.when, Trigger) and (w := _longest_window(rule.when.condition))
    ]
    if longest:
        moments = [item.reading.phenomenon_time for item in stored]
        window = _Windows(
            session,
            {item.reading.datastream_id for item in stored if item.reading.datastream_id},
            min(moments) - max(longest),
            max(moments),
        )
    for thing_id, mine in watching.items():
        thing = things[thing_id]
        for rule in mine:
            state = states.get((rule.id, thing_id))
            if isinstance(rule.when, NoData) and state is not None and state.raised:
                state.raised, state.since = False, None
                if rule.entry.auto_clear:
                    clear_by_rule(session, rule_id=rule.id, thing_id=thing_id)
        ordered = sorted(readings[thing_id], key=lambda r: r[2].reading.phenomenon_time)
        for code, number, item in ordered:
            values[thing_id][code] = number
            at = Moment(
                session=session,
                thing_id=thing_id,
                time=item.reading.phenomenon_time,
                values=values[thing_id],
                streams=streams[thing_id],
                window=window,
            )
            for rule in mine:
                state = states.get((rule.id, thing_id))
                if (
                    state is not None
                    and not isinstance(rule.when, NoData)
                    and code in rule.properties
                ):
                    _step(session, rule, state, at, thing, number)
    session.flush()


# --- silence -------------------------------------------------------------------------------


def check_silence(session: Session, *, now: datetime | None = None) -> int:
    """Raise the ``no data`` rules of devices silent for their intervals; returns how many
    alarms were raised. A device that never reported counts from when it was registered."""
    now = now or utcnow()
    raised = 0
    for rule in active_rules(session):
        if not isinstance(rule.when, NoData):
            continue
        interval = session.scalar(
            select(DeviceType.interval_seconds).where(DeviceType.code == rule.entry.device_type)
        )
        if not interval:
            continue
        cutoff = now - timedelta(seconds=interval * rule.when.intervals)
        stmt = (
            select(Thing)
            .outerjoin(
                RuleState,
                and_(RuleState.thing_id == Thing.id, RuleState.rule_id == rule.id),
            )
            .where(
                Thing.device_type_code == rule.entry.device_type,
                func.coalesce(Thing.last_seen_at, Thing.created_at) < cutoff,
                or_(RuleState.raised.is_(None), RuleState.raised.is_(False)),
            )
            .order_by(Thing.id)
        )
        if rule.devices:
            stmt = stmt.where(Thing.code.in_(rule.devices))
        silent = list(session.scalars(stmt))
        states = _states(session, [(rule.id, thing.id) for thing in silent])
        for thing in silent:
            state = states[(rule.id, thing.id)]
            if state.raised:  # raised meanwhile by another worker
                continue
            state.raised, state.since = True, None
            raise_alarm(session, Firing(rule, thing, None, None))
            raised += 1
    session.flush()
    return raised


def silence_job(session: Session, payload: dict[str, Any]) -> None:
    """The ``telemetry.rules_silence`` job (every minute): ``check_silence``."""
    check_silence(session)
