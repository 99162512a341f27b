"""The bus: domain events written to an outbox in the caller's transaction, published after
commit to in-process handlers and, when ``CITYOS_NATS_URL`` is set, to NATS JetStream.

``emit(session, type=..., payload=...)`` records an event; modules subscribe with
``Module.event_handlers = (("case.*", handler), ...)``, a handler being
``handler(session, event: Event)`` run in a transaction of its own, at least once per event.
``OutboxRelay`` is the publishing thread (started by ``cityos.kernel.workers``); ``drain``
publishes in the calling thread. ``cityos.kernel.bus.relay`` explains the guarantees.
"""

from __future__ import annotations

from pathlib import Path

from cityos.kernel.bus.jetstream import NatsPublisher, Publisher, subject_of
from cityos.kernel.bus.models import OutboxDelivery, OutboxEvent
from cityos.kernel.bus.outbox import Event, emit, purge_job, purge_published
from cityos.kernel.bus.relay import OutboxRelay, Relay, backlog, drain, retry_delay
from cityos.kernel.registry import Module

module = Module(
    name="bus",
    models=("cityos.kernel.bus.models",),
    migrations=Path(__file__).parent / "migrations",
    jobs={"bus.purge": purge_job},
)

__all__ = [
    "Event",
    "NatsPublisher",
    "OutboxDelivery",
    "OutboxEvent",
    "OutboxRelay",
    "Publisher",
    "Relay",
    "backlog",
    "drain",
    "emit",
    "module",
    "purge_published",
    "retry_delay",
    "subject_of",
]
