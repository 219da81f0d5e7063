"""Real processes for the tests that run the site as it runs in production: free
ports, waiting for a server to listen, starting processes with a log each, and
skipping (or failing, with REQUIRE_SERVICES=1) when something is not installed."""

import importlib.util
import os
import socket
import subprocess
import time
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parent.parent
EMULATOR_MISSING = (
    "the Stripe emulator is not installed (pip install -e tools/stripe-emulator)"
)


def require(available: bool, reason: str) -> None:
    """Skip the test when something it needs is missing; fail under REQUIRE_SERVICES=1."""
    if available:
        return
    if os.environ.get("REQUIRE_SERVICES") == "1":
        pytest.fail(f"REQUIRE_SERVICES=1 but {reason}")
    pytest.skip(reason)


def emulator_installed() -> bool:
    return importlib.util.find_spec("stripe_emulator") is not None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def wait_for(condition, what: str, processes=(), timeout: float = 90) -> None:
    """Wait until `condition()` holds; fail if it does not or a process exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for process in processes:
            if process.poll() is not None:
                pytest.fail(f"{process.args[0:4]} exited while waiting for {what}")
        if condition():
            return
        time.sleep(0.1)
    pytest.fail(f"Gave up waiting for {what} after {timeout:.0f} s")


class Processes:
    """Processes started by one test, each with its own log, all stopped at the end."""

    def __init__(self, log_dir: Path):
        self.log_dir = log_dir
        self.started = []

    def start(self, name, args, env=None, port=None):
        """Start a process logging to `<name>.log`; with `port`, wait until it listens."""
        log = open(self.log_dir / f"{name}.log", "wb")  # noqa: SIM115 - kept open
        process = subprocess.Popen(
            args, cwd=PROJECT_DIR, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        self.started.append((process, log))
        if port is not None:
            wait_for(lambda: port_open(port), f"{name} on port {port}", [process])
        return process

    def stop_all(self):
        for process, _ in reversed(self.started):
            if process.poll() is None:
                process.terminate()
        for process, log in reversed(self.started):
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            log.close()

    def logs(self) -> str:
        """The end of every log, for a failure message."""
        return "\n".join(
            f"--- {path.name}\n{path.read_text(errors='replace')[-3000:]}"
            for path in sorted(self.log_dir.glob("*.log"))
        )
