"""Throwaway PostgreSQL and Redis servers on loopback, started and stopped by the tests.

Plain Python with no pytest import, so a generated project's end-to-end tests can use
the same recipe. A missing binary raises `ServiceUnavailable`; the caller decides
whether that is a skip or (with REQUIRE_SERVICES=1) a failure.
"""

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


class ServiceUnavailable(Exception):
    """A service cannot run here: its binary or the user it must run as is missing."""


def free_port():
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port, process=None, timeout=30.0):
    """Block until something accepts connections on 127.0.0.1:port."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(
                f"process exited with {process.returncode} before listening on port {port}"
            )
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout:.0f} s")


def postgres_bindir():
    """Return the directory holding initdb and pg_ctl, newest PostgreSQL first."""
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).parent
    # Debian keeps the server binaries out of PATH, one directory per major version.
    candidates = glob.glob("/usr/lib/postgresql/*/bin/initdb")
    candidates.sort(
        key=lambda path: (
            int(Path(path).parts[-3]) if Path(path).parts[-3].isdigit() else 0
        )
    )
    if not candidates:
        raise ServiceUnavailable(
            "PostgreSQL is not installed (no initdb on PATH or in /usr/lib/postgresql/*/bin)"
        )
    return Path(candidates[-1]).parent


class PostgresServer:
    """A PostgreSQL cluster in a temporary directory, trusting loopback connections."""

    user = "postgres"

    def __init__(self):
        self.bindir = postgres_bindir()
        self.port = free_port()
        self.datadir = None
        # PostgreSQL refuses to run as root: run it as the postgres system user instead.
        self.as_root = os.geteuid() == 0
        if self.as_root:
            try:
                self.owner = pwd.getpwnam("postgres")
            except KeyError as error:
                raise ServiceUnavailable(
                    "running as root and there is no 'postgres' system user"
                ) from error

    def _run(self, *args):
        command = [str(self.bindir / args[0]), *args[1:]]
        if self.as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, text=True)

    def start(self):
        """Create the cluster and start the server; return self."""
        self.datadir = tempfile.mkdtemp(prefix="kit-postgres-")
        if self.as_root:
            os.chown(self.datadir, self.owner.pw_uid, self.owner.pw_gid)
        self._run(
            "initdb",
            "-D",
            self.datadir,
            "-U",
            self.user,
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-locale",
        )
        # Durability is pointless for a database that lives as long as a test session.
        options = f"-p {self.port} -k {self.datadir} -c listen_addresses=127.0.0.1 -c fsync=off"
        options += " -c synchronous_commit=off -c full_page_writes=off"
        self._run(
            "pg_ctl",
            "-D",
            self.datadir,
            "-l",
            f"{self.datadir}/server.log",
            "-o",
            options,
            "-w",
            "start",
        )
        return self

    def url(self, database="postgres"):
        """Return a DATABASE_URL for a database on this server."""
        return f"postgres://{self.user}@127.0.0.1:{self.port}/{database}"

    def stop(self):
        """Stop the server and delete its files."""
        if self.datadir is None:
            return
        try:
            self._run("pg_ctl", "-D", self.datadir, "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.datadir, ignore_errors=True)
            self.datadir = None


class RedisServer:
    """A redis-server on a loopback port that keeps nothing on disk."""

    def __init__(self):
        self.binary = shutil.which("redis-server")
        if self.binary is None:
            raise ServiceUnavailable("Redis is not installed (no redis-server on PATH)")
        self.port = free_port()
        self.process = None

    def start(self):
        """Start the server and wait until it answers; return self."""
        self.workdir = tempfile.mkdtemp(prefix="kit-redis-")
        command = [
            self.binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ]
        self.process = subprocess.Popen(
            command,
            cwd=self.workdir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port, self.process)
        return self

    def url(self, db=0):
        """Return a REDIS_URL for one of this server's databases."""
        return f"redis://127.0.0.1:{self.port}/{db}"

    def stop(self):
        """Stop the server and delete its working directory."""
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.workdir, ignore_errors=True)
        self.process = None
