"""RDS data plane of the twin: a MariaDB primary and a cross-region replica.

Replication is real MariaDB binlog replication. The replica's IO thread reaches the primary
through ``DelayLink``, a TCP relay that plays the cross-region network: it delivers the
primary's bytes exactly ``delay_s`` later (millisecond resolution, unlike MASTER_DELAY's whole
seconds) and, when the link is cut, drops what is still in flight, which is how an
asynchronous replica loses the newest writes in a region outage.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pymysql

from drill.core.errors import DeadlineExceeded
from sandbox.client import find_binary, require_mariadb
from sandbox.rds.link import DelayLink


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@dataclass
class MariaDB:
    """One mariadbd process with its own data directory and port."""

    name: str
    base: Path
    port: int
    server_id: int
    host: str = "127.0.0.1"
    proc: subprocess.Popen[bytes] | None = None

    @property
    def datadir(self) -> Path:
        return self.base / self.name

    @property
    def socket_path(self) -> Path:
        return self.base / f"{self.name}.sock"

    def install(self, install_bin: str, template: Path | None = None) -> None:
        if template is not None:
            shutil.copytree(template, self.datadir)
            return
        self.datadir.mkdir(parents=True, exist_ok=True)
        cmd = [
            install_bin, "--no-defaults", f"--datadir={self.datadir}", "--user=root",
            "--auth-root-authentication-method=normal", "--skip-test-db",
            "--skip-name-resolve",
        ]
        res = subprocess.run(cmd, capture_output=True, timeout=120)
        if res.returncode != 0:
            tail = res.stderr.decode(errors="replace").strip().splitlines()[-1:]
            raise RuntimeError(f"mariadb-install-db failed: {' '.join(tail)}")

    def start(self, server_bin: str) -> None:
        log = open(self.base / f"{self.name}.err", "ab")
        cmd = [
            server_bin, "--no-defaults", f"--datadir={self.datadir}", f"--port={self.port}",
            f"--bind-address={self.host}", f"--socket={self.socket_path}",
            f"--pid-file={self.base / (self.name + '.pid')}", f"--server-id={self.server_id}",
            "--log-bin=binlog", "--binlog-format=ROW", "--log-slave-updates",
            "--skip-name-resolve", "--user=root", "--innodb-buffer-pool-size=16M",
            "--innodb-log-file-size=16M", "--performance-schema=OFF", "--skip-log-error",
            "--max-connections=300", "--slave-net-timeout=3700", "--innodb-flush-log-at-trx-commit=2",
            "--sync-binlog=0",
            # caches sized to the twin's data, not MariaDB's defaults (128 MB each for Aria's page
            # cache, used by the system tables and implicit temporary tables, and MyISAM's key
            # buffer; 16 MB of InnoDB log buffer): their pages become resident as they are first
            # used. This halved the server's resident size (117 -> 62 MB in bench/soak.py). Of its
            # steps through a drill, those at each rebuild were the dump's 1 MB statements (reseed);
            # the others (when connections come and go: docs/design-notes.md) are not attributed
            "--aria-pagecache-buffer-size=8M", "--key-buffer-size=8M", "--innodb-log-buffer-size=2M",
            # no idle threads kept for later connections: the default cache (11 here, bounded: not
            # a leak) filled as the drill's checks connected and went, and a soak counted them as
            # the server's threads growing (17 -> 30); a thread costs tens of microseconds to
            # start, once a connection
            "--thread-cache-size=0",
        ]
        # glibc gives each of mariadbd's threads an arena of its own (up to 8 a core) and keeps what
        # they freed: a server whose connections come and go (an outage, a failover) steps up by
        # megabytes each time. Two arenas limit how many such caches there are; bench/soak.py still
        # shows the server growing through a drill (docs/design-notes.md).
        env = dict(os.environ, MALLOC_ARENA_MAX="2")
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=log, start_new_session=True, env=env)
        log.close()

    def wait_ready(self, timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"{self.name}: mariadbd exited with {self.proc.returncode}")
            try:
                self.connect(user="root", password="", database=None).close()
                return
            except pymysql.err.OperationalError as exc:
                if exc.args and exc.args[0] == 1045:  # access denied: running, root secured
                    return
                time.sleep(0.05)
        raise DeadlineExceeded(f"{self.name}: mariadbd not ready after {timeout_s:.0f} s")

    def connect(self, user: str, password: str, database: str | None = None,
                timeout: float = 3.0) -> pymysql.connections.Connection[Any]:
        return pymysql.connect(
            host=self.host, port=self.port, user=user, password=password, database=database,
            connect_timeout=timeout, read_timeout=timeout, write_timeout=timeout, autocommit=True,
        )

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout_s: float = 15.0, hard: bool = False) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.kill() if hard else self.proc.terminate()
        try:
            self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)


DUMP_STATEMENT_BYTES = 16384  # the rebuild's INSERT statements (mysqldump's default: 1 MB)


@dataclass
class RdsPair:
    """Primary + replica servers, the replication link between them, and their users."""

    base: Path
    database: str
    admin_user: str
    admin_password: str
    app_user: str
    app_password: str
    delay_s: float
    host: str = "127.0.0.1"
    bin_dir: str | None = None
    ports: tuple[int, int] = (0, 0)
    tables: tuple[str, ...] = ()  # the applications' tables (the workloads' data: rds:<table>)
    servers: dict[str, MariaDB] = field(default_factory=dict)
    link: DelayLink | None = None
    repl_password: str = ""
    promoted: bool = False
    # which role currently replicates from which (failback reverses it)
    source_role: str = "primary"
    replica_role: str = "dr"

    def start(self) -> None:
        server_bin, install_bin = require_mariadb(self.bin_dir)
        self.base.mkdir(parents=True, exist_ok=True)
        p_port = self.ports[0] or free_port(self.host)
        r_port = self.ports[1] or free_port(self.host)
        primary = MariaDB("primary", self.base, p_port, 1, self.host)
        replica = MariaDB("dr", self.base, r_port, 2, self.host)
        primary.install(install_bin)
        replica.install(install_bin, template=primary.datadir)
        primary.start(server_bin)
        replica.start(server_bin)
        self.servers = {"primary": primary, "dr": replica}
        self._server_bin = server_bin
        primary.wait_ready()
        replica.wait_ready()
        self.repl_password = os.urandom(9).hex()
        with primary.connect("root", "") as conn, conn.cursor() as cur:
            for sql in self._bootstrap_sql():
                cur.execute(sql)
        self._configure_replica("dr", "primary", login=("root", ""))

    def _bootstrap_sql(self) -> list[str]:
        db = self.database
        return [
            f"CREATE DATABASE IF NOT EXISTS `{db}`",
            f"CREATE USER '{self.admin_user}'@'%' IDENTIFIED BY '{self.admin_password}'",
            f"GRANT ALL PRIVILEGES ON *.* TO '{self.admin_user}'@'%' WITH GRANT OPTION",
            f"CREATE USER '{self.app_user}'@'%' IDENTIFIED BY '{self.app_password}'",
            f"GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, INDEX, ALTER ON `{db}`.* TO '{self.app_user}'@'%'",
            f"CREATE USER 'repl'@'%' IDENTIFIED BY '{self.repl_password}'",
            "GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO 'repl'@'%'",
            *(f"CREATE TABLE IF NOT EXISTS `{db}`.`{t}` (id BIGINT AUTO_INCREMENT PRIMARY KEY, "
              "name VARCHAR(200) NOT NULL, owner VARCHAR(100) NOT NULL, region VARCHAR(32) NOT NULL, "
              "created_at DATETIME(6) NOT NULL)" for t in self.tables),
            # what RDS for MySQL offers its master user to stop and start a replica's replication
            "CREATE PROCEDURE mysql.rds_stop_replication() SQL SECURITY DEFINER "
            "BEGIN STOP SLAVE; SELECT 'Slave is down or disabled' AS Message; END",
            "CREATE PROCEDURE mysql.rds_start_replication() SQL SECURITY DEFINER "
            "BEGIN START SLAVE; SELECT 'Slave running normally' AS Message; END",
            f"GRANT EXECUTE ON PROCEDURE mysql.rds_stop_replication TO '{self.admin_user}'@'%'",
            f"GRANT EXECUTE ON PROCEDURE mysql.rds_start_replication TO '{self.admin_user}'@'%'",
            "ALTER USER 'root'@'localhost' IDENTIFIED BY '" + self.admin_password + "'",
        ]

    def admin(self, role: str) -> pymysql.connections.Connection[Any]:
        return self.servers[role].connect(self.admin_user, self.admin_password, self.database)

    def _configure_replica(self, replica_role: str, source_role: str,
                           login: tuple[str, str] | None = None) -> None:
        source = self.servers[source_role]
        if self.link is not None:
            self.link.close()
        self.link = DelayLink((source.host, source.port), self.delay_s, self.host)
        user, password = login or (self.admin_user, self.admin_password)
        with self.servers[replica_role].connect(user, password) as conn, conn.cursor() as cur:
            cur.execute("STOP SLAVE")
            cur.execute("RESET SLAVE ALL")
            cur.execute(
                f"CHANGE MASTER TO MASTER_HOST='{self.host}', MASTER_PORT={self.link.port}, "
                f"MASTER_USER='repl', MASTER_PASSWORD='{self.repl_password}', "
                "MASTER_CONNECT_RETRY=1, MASTER_HEARTBEAT_PERIOD=1, MASTER_USE_GTID=slave_pos"
            )
            cur.execute("SET GLOBAL read_only=1")
            cur.execute("START SLAVE")
        self.source_role, self.replica_role = source_role, replica_role
        self.promoted = False

    # ------------------------------------------------------------- state

    def replica_status(self) -> dict[str, Any]:
        role = self.replica_role
        if not self.servers[role].running():
            return {"role": role, "running": False}
        try:
            with self.servers[role].connect(self.admin_user, self.admin_password) as conn:
                with conn.cursor(pymysql.cursors.DictCursor) as cur:
                    cur.execute("SHOW SLAVE STATUS")
                    row = cur.fetchone() or {}
                    cur.execute("SELECT @@read_only AS ro")
                    ro = (cur.fetchone() or {}).get("ro")
        except pymysql.MySQLError as exc:
            return {"role": role, "running": True, "error": str(exc.args[-1])}
        return {
            "role": role,
            "running": True,
            "source": self.source_role if row else None,
            "io_running": row.get("Slave_IO_Running") == "Yes",
            "sql_running": row.get("Slave_SQL_Running") == "Yes",
            "seconds_behind": row.get("Seconds_Behind_Master"),
            "read_only": bool(ro),
            "link_delay_s": self.link.delay_s if self.link else None,
            "link_cut": self.link.cut if self.link else None,
            "promoted": self.promoted,
        }

    def lag_s(self) -> float | None:
        """What RDS publishes as ReplicaLag for the replica: seconds behind, -1 while replication
        is not running, None when no instance replicates (both writable)."""
        if self.promoted:
            return None
        st = self.replica_status()
        if not st.get("running") or not (st.get("io_running") and st.get("sql_running")):
            return -1.0
        behind = st.get("seconds_behind")
        return float(behind) if behind is not None else -1.0

    def healthy(self) -> tuple[bool, str]:
        up = {r: s.running() for r, s in self.servers.items()}
        if not all(up.values()):
            return False, "stopped: " + ",".join(r for r, ok in up.items() if not ok)
        st = self.replica_status()
        if self.promoted:
            return True, f"{self.replica_role} promoted (writable)"
        if not (st.get("io_running") and st.get("sql_running")):
            return False, f"replication {self.source_role}->{self.replica_role} not running"
        return True, f"replicating {self.source_role}->{self.replica_role}, behind {st.get('seconds_behind')} s"

    # ------------------------------------------------------------- actions and faults

    def set_delay(self, delay_s: float) -> None:
        self.delay_s = delay_s
        if self.link is not None:
            self.link.delay_s = delay_s

    def set_link_cut(self, cut: bool) -> None:
        if self.link is not None:
            self.link.set_cut(cut)

    def promote(self, role: str = "dr") -> None:
        """What RDS promote does: stop replication for good and make the instance writable."""
        with self.servers[role].connect(self.admin_user, self.admin_password) as conn, conn.cursor() as cur:
            cur.execute("STOP SLAVE")
            cur.execute("RESET SLAVE ALL")
            cur.execute("SET GLOBAL read_only=0")
        if self.link is not None:
            self.link.close()
            self.link = None
        self.promoted = True

    def stop_server(self, role: str) -> None:
        self.servers[role].stop(hard=True)

    def start_server(self, role: str) -> None:
        server = self.servers[role]
        if server.running():
            return
        server.start(self._server_bin)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                server.connect(self.admin_user, self.admin_password).close()
                return
            except pymysql.MySQLError:
                time.sleep(0.1)
        raise DeadlineExceeded(f"{role}: mariadbd did not come back within 30 s")

    def reseed(self, replica_role: str, source_role: str) -> None:
        """Rebuild ``replica_role`` as a fresh replica of ``source_role`` (new read replica).

        Data is copied with a consistent dump at the source's GTID position, the way RDS
        builds a new replica from a snapshot; then replication runs from that position.
        """
        dst = self.servers[replica_role]
        self.start_server(source_role)
        self.start_server(replica_role)
        client = find_binary("mariadb") or find_binary("mysql") or "mysql"
        env = dict(os.environ, MYSQL_PWD=self.admin_password)
        with dst.connect(self.admin_user, self.admin_password) as conn, conn.cursor() as cur:
            cur.execute("STOP SLAVE")
            cur.execute("RESET SLAVE ALL")
            cur.execute("SET GLOBAL read_only=0")
            cur.execute(f"DROP DATABASE IF EXISTS `{self.database}`")
        dumped = self.dump(source_role)
        found = re.search(rb"gtid_slave_pos\s*=\s*'([^']*)'", dumped)
        gtid = found.group(1).decode() if found else ""
        loaded = subprocess.run(
            [client, f"--host={dst.host}", f"--port={dst.port}", f"--user={self.admin_user}"],
            input=b"SET sql_log_bin=0;\n" + dumped,
            capture_output=True, env=env, timeout=120,
        )
        if loaded.returncode != 0:
            raise RuntimeError("load failed: " + loaded.stderr.decode(errors="replace")[-300:])
        with dst.connect(self.admin_user, self.admin_password) as conn, conn.cursor() as cur:
            cur.execute("SET GLOBAL gtid_slave_pos = %s", (gtid,))
        self._configure_replica(replica_role, source_role)

    def dump(self, source_role: str) -> bytes:
        """A consistent dump of the database at the source's GTID position, in INSERT statements
        of at most 16 KB (``DUMP_STATEMENT_BYTES``): the server that loads a statement parses it
        whole, and keeps much of what one of the default 1 MB statements took (a scratch server
        grew 6.6 MB loading a soak's 480 KB dump in two statements, 2.1 MB in 30: bench/soak.py
        saw steps of 5-8 MB at each rebuild, 1-2.5 MB since)."""
        src = self.servers[source_role]
        dump = find_binary("mariadb-dump") or find_binary("mysqldump") or "mysqldump"
        dumped = subprocess.run(
            [dump, f"--host={src.host}", f"--port={src.port}", f"--user={self.admin_user}",
             "--single-transaction", "--gtid", "--master-data=2", f"--net-buffer-length={DUMP_STATEMENT_BYTES}",
             "--databases", self.database],
            capture_output=True, env=dict(os.environ, MYSQL_PWD=self.admin_password), timeout=120,
        )
        if dumped.returncode != 0:
            raise RuntimeError("dump failed: " + dumped.stderr.decode(errors="replace")[-300:])
        return dumped.stdout

    def close(self) -> None:
        if self.link is not None:
            self.link.close()
        for server in self.servers.values():
            server.stop()
