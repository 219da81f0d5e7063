"""A throwaway PostgreSQL server on loopback, for the tests that need its row locks.

SQLite queues every writing transaction, so races between two requests only show on
a server that runs them side by side. The server lives in a temporary folder, trusts
loopback connections and is stopped and deleted by the caller.
"""

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.processes import free_port, require


def postgres_bindir() -> Path | None:
    """The folder of initdb and pg_ctl: on PATH, or Debian's newest version."""
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).parent
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda path: (
            int(Path(path).parts[-3]) if Path(path).parts[-3].isdigit() else 0
        ),
    )
    return Path(found[-1]).parent if found else None


class PostgresServer:
    """A PostgreSQL cluster in a temporary folder; `url()` is its DATABASE_URL."""

    user = "postgres"

    def __init__(self):
        self.bindir = postgres_bindir()
        require(self.bindir is not None, "PostgreSQL is not installed (no initdb)")
        # PostgreSQL refuses to run as root: then it runs as the postgres user.
        self.as_root = os.geteuid() == 0
        if self.as_root:
            try:
                self.owner = pwd.getpwnam("postgres")
            except KeyError:
                require(False, "running as root and there is no 'postgres' user")
        self.port = free_port()
        self.datadir = None

    def _run(self, *args: str) -> None:
        command = [str(self.bindir / args[0]), *args[1:]]
        if self.as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, text=True)

    def start(self) -> "PostgresServer":
        self.datadir = tempfile.mkdtemp(prefix="test-postgres-")
        if self.as_root:
            os.chown(self.datadir, self.owner.pw_uid, self.owner.pw_gid)
        self._run(
            "initdb", "-D", self.datadir, "-U", self.user, "--auth=trust", "-E", "UTF8"
        )
        # Durability is pointless for a database that lives as long as one test.
        options = (
            f"-p {self.port} -k {self.datadir} -c listen_addresses=127.0.0.1"
            " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        log = f"{self.datadir}/server.log"
        self._run("pg_ctl", "-D", self.datadir, "-l", log, "-o", options, "-w", "start")
        return self

    def url(self, database: str = "postgres") -> str:
        return f"postgres://{self.user}@127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        if self.datadir is None:
            return
        try:
            self._run("pg_ctl", "-D", self.datadir, "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.datadir, ignore_errors=True)
            self.datadir = None
