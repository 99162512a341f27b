"""Jobs and timers: scheduling, claiming, retries, leases, recurring timers, worker threads,
and two real worker processes sharing PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import Engine, delete, func, select, text, update
from sqlalchemy.orm import Session

from cityos.kernel.bus import Event, OutboxDelivery, OutboxEvent, emit
from cityos.kernel.clock import utcnow
from cityos.kernel.jobs import (
    Job,
    JobStatus,
    JobWorker,
    job_counts,
    purge_finished,
    run_pending,
    schedule,
)
from cityos.kernel.registry import Module, Registry
from cityos.kernel.runtime import Runtime, build_runtime
from cityos.kernel.workers import start_workers
from cityos.settings import Settings

if TYPE_CHECKING:
    from tests.conftest import TestDatabase

REPO = Path(__file__).resolve().parents[2]
RuntimeFactory = Callable[..., Runtime]


def _clear(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(delete(Job))
        connection.execute(delete(OutboxDelivery))
        connection.execute(delete(OutboxEvent))


@pytest.fixture
def clean(engine: Engine) -> Iterator[Engine]:
    """These tests commit for real: start and end with no jobs or events."""
    _clear(engine)
    yield engine
    _clear(engine)


@pytest.fixture
def runtimes(settings: Settings, registry: Registry, clean: Engine) -> Iterator[RuntimeFactory]:
    """Runtimes on the test database whose registry adds the given test modules."""
    opened: list[Runtime] = []

    def make(*modules: Module) -> Runtime:
        runtime = build_runtime(settings, registry=Registry((*registry.modules, *modules)))
        opened.append(runtime)
        return runtime

    yield make
    for runtime in opened:
        runtime.close()


class Calls:
    """Handlers that record what they were given, from any thread."""

    def __init__(self) -> None:
        self.payloads: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def record(self, session: Session, payload: dict[str, Any]) -> None:
        with self.lock:
            self.payloads.append(payload)


def job(session: Session, job_id: Any) -> Job:
    found = session.get(Job, job_id, populate_existing=True)
    assert found is not None
    return found


def make_due(engine: Engine) -> None:
    """Bring every pending job's retry time to now, as if its backoff had passed."""
    with engine.begin() as connection:
        connection.execute(
            update(Job).where(Job.status == JobStatus.PENDING).values(due_at=utcnow())
        )


# --- scheduling ------------------------------------------------------------------------------


def test_schedule_adds_a_job_in_the_callers_transaction(session: Session) -> None:
    for dedupe_key in (None, "once"):
        scheduled = schedule(session, name="test.noop", payload={"n": 1}, dedupe_key=dedupe_key)
        session.flush()
        assert scheduled.status is JobStatus.PENDING
        assert scheduled.attempts == 0
        assert session.get(Job, scheduled.id) is scheduled

        job_id = scheduled.id
        session.rollback()  # had schedule committed, the row would outlive this
        assert session.get(Job, job_id) is None


def test_schedule_refuses_a_naive_due_time_and_a_payload_that_is_not_json(
    session: Session,
) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        schedule(session, name="test.noop", payload={}, due_at=utcnow().replace(tzinfo=None))
    with pytest.raises(ValueError, match="not JSON"):
        schedule(session, name="test.noop", payload={"when": utcnow()})


def test_dedupe_key_keeps_one_live_job_per_key(runtimes: RuntimeFactory) -> None:
    calls = Calls()
    runtime = runtimes(Module(name="jobs_test", jobs={"test.record": calls.record}))
    with runtime.unit_of_work() as session:
        first = schedule(session, name="test.record", payload={"n": 1}, dedupe_key="sla:42")
        again = schedule(session, name="test.record", payload={"n": 2}, dedupe_key="sla:42")
    with runtime.unit_of_work() as session:
        later = schedule(session, name="test.record", payload={"n": 3}, dedupe_key="sla:42")

    assert first.id == again.id == later.id
    assert run_pending(runtime, worker_id="w1") == 1
    assert calls.payloads == [{"n": 1}]

    # Once done, the key is free for the next occurrence.
    with runtime.unit_of_work() as session:
        next_one = schedule(session, name="test.record", payload={"n": 4}, dedupe_key="sla:42")
    assert next_one.id != first.id
    assert run_pending(runtime, worker_id="w1") == 1
    assert calls.payloads == [{"n": 1}, {"n": 4}]


def test_dedupe_holds_between_concurrent_transactions(
    runtimes: RuntimeFactory, database: TestDatabase
) -> None:
    runtime = runtimes()
    key = "report:2026-11"
    with runtime.unit_of_work() as first:
        a = schedule(first, name="test.record", payload={}, dedupe_key=key)
        first.flush()
        if database.backend == "postgresql":
            # The second insert waits for the first transaction, then yields to it.
            result: list[Job] = []

            def second() -> None:
                with runtime.unit_of_work() as session:
                    result.append(
                        schedule(
                            session, name="test.record", payload={}, dedupe_key="report:2026-11"
                        )
                    )

            thread = threading.Thread(target=second)
            thread.start()
            time.sleep(0.3)
            assert thread.is_alive()
    if database.backend == "postgresql":
        thread.join(5)
        assert result[0].id == a.id
    with runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Job)) == 1


# --- running ---------------------------------------------------------------------------------


def test_a_job_due_later_is_not_run_early(runtimes: RuntimeFactory) -> None:
    calls = Calls()
    runtime = runtimes(Module(name="jobs_test", jobs={"test.record": calls.record}))
    with runtime.unit_of_work() as session:
        later = schedule(
            session, name="test.record", payload={"n": 1}, due_at=utcnow() + timedelta(hours=1)
        )

    assert run_pending(runtime, worker_id="w1") == 0
    assert calls.payloads == []

    make_due(runtime.engine)
    assert run_pending(runtime, worker_id="w1") == 1
    assert calls.payloads == [{"n": 1}]
    with runtime.sessions() as session:
        done = job(session, later.id)
        assert done.status is JobStatus.DONE
        assert done.attempts == 1
        assert done.finished_at is not None
        assert done.locked_by is None


def test_due_jobs_run_in_due_order(runtimes: RuntimeFactory) -> None:
    calls = Calls()
    runtime = runtimes(Module(name="jobs_test", jobs={"test.record": calls.record}))
    now = utcnow()
    with runtime.unit_of_work() as session:
        for n in (3, 1, 2):
            schedule(session, name="test.record", payload={"n": n}, due_at=now - timedelta(n))
    assert run_pending(runtime, worker_id="w1") == 3
    assert [p["n"] for p in calls.payloads] == [3, 2, 1]


def test_a_handlers_writes_commit_with_the_done_mark(runtimes: RuntimeFactory) -> None:
    def remind(session: Session, payload: dict[str, Any]) -> None:
        emit(session, type="case.reminded", payload=payload, key=payload["case"])
        schedule(session, name="test.follow_up", payload=payload)

    runtime = runtimes(
        Module(name="jobs_test", jobs={"test.remind": remind, "test.follow_up": Calls().record})
    )
    with runtime.unit_of_work() as session:
        reminder = schedule(session, name="test.remind", payload={"case": "C-1"})

    assert run_pending(runtime, worker_id="w1", limit=1) == 1
    with runtime.sessions() as session:
        assert job(session, reminder.id).status is JobStatus.DONE
        events = session.scalars(select(OutboxEvent)).all()
        assert [(e.type, e.key) for e in events] == [("case.reminded", "C-1")]
        follow_up = session.scalars(select(Job).where(Job.name == "test.follow_up")).one()
        assert follow_up.status is JobStatus.PENDING


def test_a_failing_handler_is_rolled_back_retried_and_finally_failed(
    runtimes: RuntimeFactory,
) -> None:
    runs: list[int] = []

    def broken(session: Session, payload: dict[str, Any]) -> None:
        emit(session, type="case.reminded", payload={})
        runs.append(len(runs) + 1)
        raise RuntimeError(f"gateway down (run {len(runs)})")

    runtime = runtimes(Module(name="jobs_test", jobs={"test.broken": broken}))
    with runtime.unit_of_work() as session:
        failing = schedule(session, name="test.broken", payload={}, max_attempts=3)

    for attempt in (1, 2):
        before = utcnow()
        assert run_pending(runtime, worker_id="w1") == 1
        with runtime.sessions() as session:
            row = job(session, failing.id)
            assert row.status is JobStatus.PENDING
            assert row.attempts == attempt
            assert row.last_error == f"RuntimeError: gateway down (run {attempt})"
            assert row.due_at > before + timedelta(seconds=4)  # backed off, not run again now
            assert row.locked_by is None
        assert run_pending(runtime, worker_id="w1") == 0
        make_due(runtime.engine)

    assert run_pending(runtime, worker_id="w1") == 1
    assert runs == [1, 2, 3]
    with runtime.sessions() as session:
        row = job(session, failing.id)
        assert row.status is JobStatus.FAILED
        assert row.attempts == 3
        assert row.last_error == "RuntimeError: gateway down (run 3)"
        assert row.finished_at is not None
        # Each run's event was rolled back with it.
        assert session.scalar(select(func.count()).select_from(OutboxEvent)) == 0
        assert job_counts(session)[JobStatus.FAILED] == 1
    make_due(runtime.engine)
    assert run_pending(runtime, worker_id="w1") == 0


def test_a_job_without_a_handler_fails_like_a_failing_handler(runtimes: RuntimeFactory) -> None:
    runtime = runtimes()
    with runtime.unit_of_work() as session:
        orphan = schedule(session, name="test.nobody", payload={}, max_attempts=1)
    assert run_pending(runtime, worker_id="w1") == 1
    with runtime.sessions() as session:
        row = job(session, orphan.id)
        assert row.status is JobStatus.FAILED
        assert "no handler is registered for job 'test.nobody'" in (row.last_error or "")


def test_a_job_whose_lease_expired_is_reclaimed(runtimes: RuntimeFactory) -> None:
    calls = Calls()
    runtime = runtimes(Module(name="jobs_test", jobs={"test.record": calls.record}))
    with runtime.unit_of_work() as session:
        stranded = schedule(session, name="test.record", payload={"n": 7}, max_attempts=2)
    with runtime.engine.begin() as connection:  # as a worker that died mid-run leaves it
        lease_end = utcnow() + timedelta(minutes=1)
        connection.execute(
            update(Job)
            .where(Job.id == stranded.id)
            .values(status=JobStatus.RUNNING, locked_by="dead", locked_until=lease_end, attempts=1)
        )

    assert run_pending(runtime, worker_id="w2") == 0  # its lease still runs

    with runtime.engine.begin() as connection:
        connection.execute(
            update(Job).where(Job.id == stranded.id).values(locked_until=utcnow() - timedelta(1))
        )
    assert run_pending(runtime, worker_id="w2") == 1
    assert calls.payloads == [{"n": 7}]
    with runtime.sessions() as session:
        row = job(session, stranded.id)
        assert (row.status, row.attempts) == (JobStatus.DONE, 2)


def test_a_job_that_keeps_killing_its_worker_ends_failed(runtimes: RuntimeFactory) -> None:
    calls = Calls()
    runtime = runtimes(Module(name="jobs_test", jobs={"test.record": calls.record}))
    with runtime.unit_of_work() as session:
        deadly = schedule(session, name="test.record", payload={}, max_attempts=2)
    with runtime.engine.begin() as connection:
        connection.execute(
            update(Job)
            .where(Job.id == deadly.id)
            .values(
                status=JobStatus.RUNNING,
                locked_by="dead",
                locked_until=utcnow() - timedelta(seconds=1),
                attempts=2,
            )
        )
    assert run_pending(runtime, worker_id="w2") == 1
    assert calls.payloads == []
    with runtime.sessions() as session:
        row = job(session, deadly.id)
        assert row.status is JobStatus.FAILED
        assert "lease expired" in (row.last_error or "")


def test_a_worker_that_lost_its_lease_does_not_commit(runtimes: RuntimeFactory) -> None:
    runtime_box: list[Runtime] = []

    def slow(session: Session, payload: dict[str, Any]) -> None:
        # While this run is slow, another worker takes the job over (as after a lease expiry).
        with runtime_box[0].engine.begin() as connection:
            connection.execute(update(Job).values(locked_by="other worker"))
        schedule(session, name="test.follow_up", payload={})

    runtime = runtimes(Module(name="jobs_test", jobs={"test.slow": slow}))
    runtime_box.append(runtime)
    with runtime.unit_of_work() as session:
        taken = schedule(session, name="test.slow", payload={})

    assert run_pending(runtime, worker_id="w1") == 1
    with runtime.sessions() as session:
        row = job(session, taken.id)
        assert (row.status, row.locked_by) == (JobStatus.RUNNING, "other worker")
        assert session.scalar(select(func.count()).where(Job.name == "test.follow_up")) == 0


def test_a_recurring_timer_comes_back_one_period_later(runtimes: RuntimeFactory) -> None:
    calls = Calls()
    runtime = runtimes(Module(name="jobs_test", jobs={"test.record": calls.record}))
    with runtime.unit_of_work() as session:
        timer = schedule(
            session, name="test.record", payload={"check": "no-data"}, every=600, dedupe_key="t"
        )
        first_due = timer.due_at

    assert run_pending(runtime, worker_id="w1") == 1
    assert run_pending(runtime, worker_id="w1") == 0
    with runtime.sessions() as session:
        row = job(session, timer.id)
        assert row.status is JobStatus.PENDING
        assert row.attempts == 0
        assert row.due_at == first_due + timedelta(seconds=600)
    with runtime.unit_of_work() as session:
        assert schedule(session, name="test.record", payload={}, dedupe_key="t").id == timer.id

    make_due(runtime.engine)
    assert run_pending(runtime, worker_id="w1") == 1
    assert len(calls.payloads) == 2


def test_purge_removes_old_done_jobs_only(runtimes: RuntimeFactory) -> None:
    runtime = runtimes(Module(name="jobs_test", jobs={"test.record": Calls().record}))
    with runtime.unit_of_work() as session:
        done = schedule(session, name="test.record", payload={})
        waiting = schedule(session, name="test.record", payload={}, due_at=utcnow() + timedelta(1))
    run_pending(runtime, worker_id="w1")
    with runtime.unit_of_work() as session:
        assert purge_finished(session, before=utcnow() - timedelta(days=7)) == 0
        assert purge_finished(session, before=utcnow() + timedelta(seconds=1)) == 1
    with runtime.sessions() as session:
        assert session.get(Job, done.id) is None
        assert session.get(Job, waiting.id) is not None


# --- worker threads --------------------------------------------------------------------------


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.02)


def cityos_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("cityos-")]


def test_the_worker_thread_is_woken_by_the_commit_that_schedules(
    runtimes: RuntimeFactory,
) -> None:
    calls = Calls()
    runtime = runtimes(Module(name="jobs_test", jobs={"test.record": calls.record}))
    worker = JobWorker(runtime, poll_interval=30)  # only the wake-up can explain a prompt run
    worker.start()
    try:
        time.sleep(0.2)
        with runtime.unit_of_work() as session:
            schedule(session, name="test.record", payload={"n": 1})
        wait_for(lambda: calls.payloads == [{"n": 1}], timeout=3)
    finally:
        worker.stop()
    assert not worker.is_alive()


def test_start_workers_runs_jobs_and_events_and_stops_promptly(
    runtimes: RuntimeFactory,
) -> None:
    seen: list[Event] = []

    def escalate(session: Session, payload: dict[str, Any]) -> None:
        emit(session, type="case.escalated", payload=payload)

    def on_escalated(session: Session, event: Event) -> None:
        seen.append(event)

    runtime = runtimes(
        Module(
            name="jobs_test",
            jobs={"test.escalate": escalate},
            event_handlers=(("case.escalated", on_escalated),),
        )
    )
    before = set(cityos_threads())
    stop = start_workers(runtime)
    try:
        with runtime.unit_of_work() as session:
            schedule(session, name="test.escalate", payload={"case": "C-9"})
        wait_for(lambda: [e.payload for e in seen] == [{"case": "C-9"}], timeout=5)
    finally:
        started = time.monotonic()
        stop()
        stopped_in = time.monotonic() - started

    assert stopped_in < 2
    assert set(cityos_threads()) == before
    with runtime.sessions() as session:
        timers = session.scalars(select(Job).where(Job.name.in_(["bus.purge", "jobs.purge"])))
        assert sorted((t.name, t.every_seconds) for t in timers) == [
            ("bus.purge", 86400),
            ("jobs.purge", 86400),
        ]
    start_workers(runtime)()  # a second start schedules no second set of timers
    with runtime.sessions() as session:
        assert session.scalar(select(func.count()).where(Job.name.like("%.purge"))) == 2


# --- two worker processes on PostgreSQL ------------------------------------------------------

JOBS = 1000
LEASE = 2.0


def _spawn(worker_id: str, database: TestDatabase, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "CITYOS_DATABASE_URL": database.url, "CITYOS_DATA_DIR": str(log.parent)}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.kernel.job_worker_process", worker_id, str(LEASE)],
        cwd=REPO,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )


@pytest.mark.slow
# Claiming across processes uses FOR UPDATE SKIP LOCKED, which only PostgreSQL has.
@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
def test_two_worker_processes_run_each_job_once_and_retry_a_killed_workers_job(
    database: TestDatabase, clean: Engine, tmp_path: Path
) -> None:
    """A test runs two worker processes on PostgreSQL over 1,000 jobs: each runs exactly once,
    none is lost, a worker killed mid-job has its job retried."""
    engine = clean
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE job_test_run (job_n INTEGER NOT NULL, pid INTEGER)"))
        connection.execute(
            text("CREATE TABLE job_test_victim (id INTEGER PRIMARY KEY, pid INTEGER)")
        )
    processes: dict[str, subprocess.Popen[bytes]] = {}
    try:
        start = utcnow() - timedelta(seconds=JOBS)
        with Session(engine) as session:
            for n in range(JOBS):
                schedule(
                    session,
                    name="test.record",
                    payload={"n": n},
                    due_at=start + timedelta(seconds=n),
                )
            # Due among the others, so both workers are busy when one of them is killed.
            schedule(
                session,
                name="test.victim",
                payload={"n": JOBS},
                due_at=start + timedelta(seconds=JOBS // 3, milliseconds=500),
            )
            session.commit()

        for name in ("worker-a", "worker-b"):
            processes[name] = _spawn(name, database, tmp_path / f"{name}.log")

        def victim_pid() -> int | None:
            with engine.connect() as connection:
                return connection.scalar(text("SELECT pid FROM job_test_victim"))

        # Generous bounds: these wait for processes to start and leases to lapse on a
        # machine that may be busy; a healthy run returns as soon as the condition holds.
        wait_for(lambda: victim_pid() is not None, timeout=120)
        killed_pid = victim_pid()
        assert killed_pid is not None
        os.kill(killed_pid, signal.SIGKILL)
        killed = next(name for name, p in processes.items() if p.pid == killed_pid)
        processes[killed].wait(5)

        def done() -> int:
            with engine.connect() as connection:
                return int(connection.scalar(select(func.count()).where(Job.status == "done")) or 0)

        wait_for(lambda: done() == JOBS + 1, timeout=120)

        survivor = next(p for name, p in processes.items() if name != killed)
        survivor.send_signal(signal.SIGTERM)
        assert survivor.wait(5) == 0

        with engine.connect() as connection:
            runs = connection.execute(
                text("SELECT job_n, count(*), min(pid) FROM job_test_run GROUP BY job_n")
            ).all()
            victim_job = connection.execute(
                select(Job.attempts, Job.status).where(Job.name == "test.victim")
            ).one()
            pids = set(connection.scalars(text("SELECT DISTINCT pid FROM job_test_run")))
        assert len(runs) == JOBS + 1  # none lost
        assert all(count == 1 for _, count, _ in runs)  # none run twice
        assert {n for n, _, _ in runs} == set(range(JOBS + 1))
        assert {n: pid for n, _, pid in runs}[JOBS] == survivor.pid  # retried elsewhere
        assert tuple(victim_job) == (2, "done")
        assert pids == {killed_pid, survivor.pid}  # both worked before the kill
    except BaseException:
        for name in processes:
            log = (tmp_path / f"{name}.log").read_text(errors="replace")
            print(f"--- {name} ---\n{log[-3000:]}")
        raise
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.kill()
                process.wait(5)
        with engine.begin() as connection:
            connection.execute(text("DROP TABLE IF EXISTS job_test_run"))
            connection.execute(text("DROP TABLE IF EXISTS job_test_victim"))
