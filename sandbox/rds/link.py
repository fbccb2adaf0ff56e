"""The cross-region replication link of the RDS data plane: a TCP relay replica -> primary that
plays the network between the regions. It delivers the primary's binlog bytes exactly
``delay_s`` later (millisecond resolution, unlike MASTER_DELAY's whole seconds) and, when cut,
drops what is still in flight: how an asynchronous replica loses the newest writes."""

from __future__ import annotations

import collections
import socket
import threading
import time


class DelayLink:
    """TCP relay replica -> primary that delays primary->replica bytes and can be cut."""

    def __init__(self, target: tuple[str, int], delay_s: float, host: str = "127.0.0.1"):
        self.target = target
        self.delay_s = delay_s
        self.cut = False
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind((host, 0))
        self._listener.listen(16)
        self.port = int(self._listener.getsockname()[1])
        self._conns: list[tuple[socket.socket, socket.socket]] = []
        self._lock = threading.Lock()
        self._closed = False
        self._acceptor = threading.Thread(target=self._accept, name="delaylink-accept", daemon=True)
        self._acceptor.start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self.cut:
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=2)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._conns.append((client, upstream))
            queue: collections.deque[tuple[float, bytes]] = collections.deque()
            cond = threading.Condition()
            streaming = threading.Event()
            threading.Thread(target=self._pump_up, args=(client, upstream, streaming), daemon=True).start()
            threading.Thread(target=self._read_down, args=(upstream, queue, cond, streaming), daemon=True).start()
            threading.Thread(target=self._write_down, args=(client, upstream, queue, cond), daemon=True).start()

    def _pump_up(self, client: socket.socket, upstream: socket.socket, streaming: threading.Event) -> None:
        """Replica -> primary, undelayed. Watches for COM_BINLOG_DUMP: from then on the primary's
        bytes are the binlog stream, which is what the link delays (the handshake is not)."""
        buf = b""
        try:
            while True:
                data = client.recv(65536)
                if not data or self.cut:
                    break
                if not streaming.is_set():
                    buf += data
                    while len(buf) >= 4:
                        length = int.from_bytes(buf[:3], "little")
                        if len(buf) < 4 + length:
                            break
                        seq, payload = buf[3], buf[4:4 + length]
                        buf = buf[4 + length:]
                        if seq == 0 and payload[:1] == b"\x12":  # COM_BINLOG_DUMP
                            streaming.set()
                upstream.sendall(data)
        except OSError:
            pass
        self._close_pair(client, upstream)

    def _read_down(self, upstream: socket.socket, queue: collections.deque[tuple[float, bytes]],
                   cond: threading.Condition, streaming: threading.Event) -> None:
        last_due = 0.0
        try:
            while True:
                data = upstream.recv(65536)
                if not data:
                    break
                delay = self.delay_s if streaming.is_set() else 0.0
                due = max(last_due, time.monotonic() + delay)
                last_due = due
                with cond:
                    queue.append((due, data))
                    cond.notify()
        except OSError:
            pass
        with cond:
            queue.append((0.0, b""))
            cond.notify()

    def _write_down(self, client: socket.socket, upstream: socket.socket,
                    queue: collections.deque[tuple[float, bytes]], cond: threading.Condition) -> None:
        try:
            while True:
                with cond:
                    while not queue:
                        cond.wait(0.5)
                        if self.cut:
                            raise OSError("cut")
                    due, data = queue[0]
                    if not data:
                        break
                    wait = due - time.monotonic()
                    if wait > 0:
                        cond.wait(min(wait, 0.05))
                        continue
                    queue.popleft()
                if self.cut:
                    break
                client.sendall(data)
        except OSError:
            pass
        self._close_pair(client, upstream)

    def _close_pair(self, client: socket.socket, upstream: socket.socket) -> None:
        for s in (client, upstream):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()
        with self._lock:
            self._conns = [c for c in self._conns if c[0] is not client]

    def set_cut(self, cut: bool) -> None:
        """Cut: drop every connection and everything in flight; refuse new ones until healed."""
        self.cut = cut
        if cut:
            with self._lock:
                conns = list(self._conns)
            for client, upstream in conns:
                self._close_pair(client, upstream)

    def close(self) -> None:
        """Drop every connection and end the accept thread. Closing a listening socket does not
        wake a thread blocked in its accept() on Linux (each replaced link left one behind: four a
        drill, from the promotion to the failback); shutting it down first does."""
        self._closed = True
        self.set_cut(True)
        try:
            self._listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        if self._acceptor is not threading.current_thread():
            self._acceptor.join(2.0)  # before the fd number can be reused by a new link's listener
        self._listener.close()
