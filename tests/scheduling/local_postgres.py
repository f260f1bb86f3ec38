"""A throw-away PostgreSQL server for the Airflow metadata DB (Debian's postgresql-15 binaries; loopback only)."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from .airflow_deployment import free_port

# Debian's postgresql package: /usr/lib/postgresql/<major>/bin (the newest installed)
PG_BIN = max(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name),
             default=Path("/usr/lib/postgresql/15/bin"))


def available() -> bool:
    return (PG_BIN / "postgres").exists()


@dataclass
class LocalPostgres:
    port: int = field(default_factory=free_port)
    datadir: Path | None = None

    def _as_owner(self) -> list[str]:
        # the server refuses to run as root; run it as the packaged 'postgres' user then
        return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def start(self) -> LocalPostgres:
        self.datadir = Path(tempfile.mkdtemp(prefix="airflow-pg-"))
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            os.chown(self.datadir, pw.pw_uid, pw.pw_gid)
        run = self._as_owner()
        subprocess.run([*run, str(PG_BIN / "initdb"), "-D", str(self.datadir / "db"), "-U", "postgres",
                        "--auth=trust", "-E", "UTF8", "--no-sync"], check=True, capture_output=True)
        subprocess.run([*run, str(PG_BIN / "pg_ctl"), "-D", str(self.datadir / "db"), "-l", str(self.datadir / "log"),
                        "-w", "-t", "60", "-o",
                        f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.datadir} "
                        "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200",
                        "start"], check=True, capture_output=True)
        for _ in range(60):
            done = subprocess.run([*run, str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(self.port),
                                   "-U", "postgres", "airflow"], capture_output=True, text=True)
            if done.returncode == 0:
                return self
            time.sleep(0.5)
        raise RuntimeError(f"createdb failed: {done.stderr}")

    @property
    def url(self) -> str:
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/airflow"

    def stop(self) -> None:
        if self.datadir is None:
            return
        subprocess.run([*self._as_owner(), str(PG_BIN / "pg_ctl"), "-D", str(self.datadir / "db"), "-m", "fast",
                        "-w", "stop"], capture_output=True)
        shutil.rmtree(self.datadir, ignore_errors=True)
        self.datadir = None
