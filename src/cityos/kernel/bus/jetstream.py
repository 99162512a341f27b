"""Publishing events to NATS JetStream from the relay's synchronous code.

nats-py is asyncio-only; the publisher runs one event loop in a daemon thread of its own and
hands it each publish, so the client keeps answering server pings between publishes. The
connection is opened on first use and reopened after it drops (nats-py's own reconnection is
off: the relay already retries with backoff and records every failure on the event).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Coroutine
from typing import Any, Protocol, TypeVar

import nats
from nats.errors import (
    ConnectionClosedError,
    ConnectionReconnectingError,
    NoServersError,
    StaleConnectionError,
)
from nats.js.errors import NoStreamResponseError, NotFoundError, ServiceUnavailableError

from cityos.kernel.bus.outbox import Event

log = logging.getLogger("cityos.bus")

DEFAULT_SUBJECT_PREFIX = "cityos"
# Re-publishes of one event (a relay that died after the ack, before recording it) carry the
# same Nats-Msg-Id; JetStream drops them within this window of the first.
DUPLICATE_WINDOW_SECONDS = 3600.0

T = TypeVar("T")


class NatsUnavailable(ConnectionError):
    """NATS takes no event at the moment (unreachable, closed, no stream): not one event's fault."""


# Failures of the connection rather than of the message (too large, refused by the stream).
_UNAVAILABLE = (
    OSError,
    ConnectionClosedError,
    ConnectionReconnectingError,
    StaleConnectionError,
    NoStreamResponseError,
    ServiceUnavailableError,
)


class Publisher(Protocol):
    """Where the relay sends each event besides in-process handlers."""

    def publish(self, event: Event) -> None:
        """Send one event; return only once it is stored, raise if it is not."""

    def close(self) -> None:
        """Release connections and threads."""


def subject_of(event_type: str, prefix: str = DEFAULT_SUBJECT_PREFIX) -> str:
    """The NATS subject of an event type: ``<prefix>.<type>``, by default ``cityos.<type>``."""
    return f"{prefix}.{event_type}"


class NatsPublisher:
    """Publishes events to a JetStream stream, creating it (``<prefix>.>``) if it is missing.

    The subject prefix is a setting so that two installations (or a test run) can share
    one NATS server without their streams' subjects overlapping.
    """

    def __init__(
        self,
        url: str,
        *,
        stream: str,
        subject_prefix: str = DEFAULT_SUBJECT_PREFIX,
        timeout: float = 5.0,
        connect_timeout: float = 2.0,
    ) -> None:
        self.url = url
        self.stream = stream
        self.subject_prefix = subject_prefix
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self._client: Any = None
        self._last_error: Exception | None = None
        self._jetstream: Any = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="cityos-nats-publisher", daemon=True
        )
        self._thread.start()

    def publish(self, event: Event) -> None:
        """Publish ``event`` and wait for JetStream's acknowledgement.

        Raises ``NatsUnavailable`` when NATS cannot take any event, another error when it
        refuses this one.
        """
        try:
            self._call(self._publish(event), self.connect_timeout + self.timeout + 1)
        except NatsUnavailable:
            raise
        except _UNAVAILABLE as exc:
            raise NatsUnavailable(f"NATS unavailable: {exc!r}") from exc

    def close(self) -> None:
        """Close the connection and stop the publisher's thread."""
        if not self._thread.is_alive():
            return
        try:
            self._call(self._disconnect(), self.timeout)
        except Exception as exc:  # closing must not fail the caller's shutdown
            log.warning("closing the NATS connection failed: %r", exc)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=self.timeout)
        if not self._thread.is_alive():
            self._loop.close()

    def _call(self, coroutine: Coroutine[Any, Any, T], timeout: float) -> T:
        future = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        try:
            return future.result(timeout=timeout)
        except TimeoutError:
            future.cancel()
            raise

    async def _publish(self, event: Event) -> None:
        jetstream = await self._connect()
        headers = {"Nats-Msg-Id": str(event.id), "CityOS-Event-Type": event.type}
        if event.key is not None:
            headers["CityOS-Event-Key"] = event.key
        ack = await jetstream.publish(
            subject_of(event.type, self.subject_prefix),
            event.to_json(),
            timeout=self.timeout,
            stream=self.stream,
            headers=headers,
        )
        if ack.duplicate:
            log.info("event %s was already in stream %s", event.id, self.stream)

    async def _connect(self) -> Any:
        if self._client is not None and self._client.is_connected:
            return self._jetstream
        await self._disconnect()
        try:
            self._client = await self._open()
        except NoServersError as exc:
            raise NatsUnavailable(f"cannot connect to NATS: {self._last_error!r}") from exc
        self._jetstream = self._client.jetstream(timeout=self.timeout)
        try:
            await self._jetstream.stream_info(self.stream)
        except NotFoundError:
            await self._jetstream.add_stream(
                name=self.stream,
                subjects=[f"{self.subject_prefix}.>"],
                duplicate_window=DUPLICATE_WINDOW_SECONDS,
            )
            log.info("created JetStream stream %s for %s.>", self.stream, self.subject_prefix)
        return self._jetstream

    async def _open(self) -> Any:
        return await nats.connect(
            self.url,
            name="cityos-outbox",
            connect_timeout=self.connect_timeout,
            allow_reconnect=False,
            # nats-py retries the first connection by itself; once is enough, the relay retries.
            max_reconnect_attempts=1,
            reconnect_time_wait=0.1,
            error_cb=self._on_error,
        )

    async def _disconnect(self) -> None:
        client, self._client, self._jetstream = self._client, None, None
        if client is not None and not client.is_closed:
            await client.close()

    async def _on_error(self, exc: Exception) -> None:
        self._last_error = exc
        log.warning("NATS: %r", exc)
