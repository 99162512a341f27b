"""A private Mosquitto for one test: tuned as docs/mqtt.md says, on a free port, with its
persistence in a temporary folder, and restartable on the same port and state."""

from __future__ import annotations

import getpass
import shutil
import socket
import subprocess
import time
from pathlib import Path

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


class Mosquitto:
    """One broker process; ``start``/``stop`` may be called again to restart it."""

    def __init__(self, folder: Path, *, port: int | None = None) -> None:
        self.folder = folder
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None
        folder.mkdir(parents=True, exist_ok=True)
        self.config = folder / "mosquitto.conf"
        self.config.write_text(
            f"listener {self.port} 127.0.0.1\n"
            "allow_anonymous true\n"
            "max_inflight_messages 1000\n"
            # Mosquitto drops QoS 1 messages beyond this queue (1000 by default) when a
            # subscriber falls behind: at-least-once needs a deep queue.
            "max_queued_messages 1000000\n"
            "set_tcp_nodelay true\n"
            "persistence true\n"
            f"persistence_location {folder}/\n"
            # Started as root, Mosquitto would switch to its own user, which cannot write here.
            f"user {getpass.getuser()}\n"
            f"log_dest file {folder}/mosquitto.log\n",
            encoding="utf-8",
        )

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [MOSQUITTO, "-c", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"mosquitto exited: see {self.folder}/mosquitto.log")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"mosquitto did not listen on {self.port}")

    def stop(self) -> None:
        """Terminate (SIGTERM), which saves the persistence file, as a service stop does."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.process = None
